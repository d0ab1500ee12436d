//! The tenant switches the dashboard flips, on the sync API's adapters.

use super::Api;
use synchub_core::domain::TenantId;
use synchub_ops::tenants::{switch_target, TargetSwitched, TenantAdminError};

impl Api {
    /// Turns one of the tenant's targets on or off; the tenant's targets and
    /// flags in effect afterwards.
    pub async fn switch_target(
        &self,
        tenant: &TenantId,
        target: &str,
        enabled: bool,
    ) -> Result<TargetSwitched, TenantAdminError> {
        switch_target(&self.sync.tenants, &self.flags, tenant, target, enabled).await
    }
}
