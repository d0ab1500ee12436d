//! The metrics on the sync API's adapters, asked the same way by the sync-api
//! router and the CLI.

use super::Api;
use synchub_core::domain::time::{canonical_time, now_millis};
use synchub_core::domain::TenantId;
use synchub_ops::metrics::MetricsPorts;
use synchub_ops::{self as ops, MetricsReport, OpsError};

/// The last 24 hours, as the gate's window, where `since` or `until` is not given.
fn default_window(since: Option<&str>, until: Option<&str>) -> (String, String) {
    let now = now_millis();
    let at = |millis: i64| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .map(canonical_time)
            .unwrap_or_default()
    };
    (
        since.map_or_else(|| at(now - 86_400_000), str::to_owned),
        until.map_or_else(|| at(now), str::to_owned),
    )
}

impl Api {
    /// The metrics over `since`..`until` (RFC 3339; the last 24 hours by
    /// default) of every active tenant, or of `tenant` alone.
    pub async fn metrics(
        &self,
        since: Option<&str>,
        until: Option<&str>,
        tenant: Option<&TenantId>,
    ) -> Result<MetricsReport, OpsError> {
        let (since, until) = default_window(since, until);
        let ports: MetricsPorts<(_, _, _)> = MetricsPorts {
            ledger: &self.metrics,
            runs: &self.sync.runs,
            tenants: &self.sync.tenants,
        };
        ops::metrics(&ports, &since, &until, tenant).await
    }
}
