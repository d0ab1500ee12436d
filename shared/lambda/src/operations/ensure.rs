//! Sync on demand on the sync API's adapters, asked the same way by the
//! sync-api router and the CLI: `ensure` and `method-stats`.

use crate::Api;
use synchub_core::domain::time::{canonical_time, now_millis};
use synchub_core::domain::TenantId;
use synchub_ops::ensure::{
    self, EnsureError, EnsurePolicy, EnsurePorts, EnsureReport, EnsureRequest, MethodStatsReport,
};
use synchub_ops::OpsError;

impl Api {
    /// Brings the tenant's data types up to date by its sync method, within
    /// the request's timeout (falling back to the other method once).
    pub async fn ensure(
        &self,
        tenant: &TenantId,
        request: &EnsureRequest,
    ) -> Result<EnsureReport, EnsureError> {
        let policy = EnsurePolicy::default();
        let ports: EnsurePorts<'_, (crate::LiveSync, _, _)> = EnsurePorts {
            sync: self.sync.ports(),
            tenants: &self.sync.tenants,
            stats: &self.method_stats,
            policy: &policy,
        };
        ensure::ensure(&ports, tenant, request).await
    }

    /// How each sync method did over `since`..`until` (RFC 3339; the last
    /// 24 hours where either is not given).
    pub async fn method_stats(
        &self,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<MethodStatsReport, OpsError> {
        let now = now_millis();
        let at = |millis: i64| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
                .map(canonical_time)
                .unwrap_or_default()
        };
        let since = since.map_or_else(|| at(now - 86_400_000), str::to_owned);
        let until = until.map_or_else(|| at(now), str::to_owned);
        ensure::method_stats(&self.method_stats, &since, &until).await
    }
}
