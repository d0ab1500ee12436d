//! The fleet questions on the sync API's adapters (every active tenant's
//! status, recent failures by tenant and class), asked the same way by the
//! sync-api router and the dashboard.

use super::Api;
use synchub_core::domain::time::now_millis;
use synchub_ops::{self as ops, OpsError, RecentFailures, TenantsPage};

impl Api {
    /// A page of the active tenants with their status.
    pub async fn tenants(
        &self,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<TenantsPage, OpsError> {
        let (runs, roster) = (&self.sync.runs, &self.sync.tenants);
        ops::tenants(runs, roster, &self.flags, limit, cursor).await
    }

    /// The newest failures per tenant and class over `since`..`until`.
    pub async fn failures(
        &self,
        since: Option<&str>,
        until: Option<&str>,
        limit: Option<&str>,
    ) -> Result<RecentFailures, OpsError> {
        let roster = &self.sync.tenants;
        ops::failures(&self.failures, roster, since, until, limit, now_millis()).await
    }
}
