//! `method-stats`: per sync method over a window, how `ensure` did: calls,
//! success rate, fallbacks and p50/p95 duration, from the per-(method, hour)
//! counters (the window widened to whole hours), never from a scan.

use crate::gate::window;
use crate::OpsError;
use serde::Serialize;
use synchub_core::domain::ensure::{MethodTally, SyncMethod};
use synchub_core::domain::metrics::hour_of;
use synchub_core::ports::method_stats::MethodStats;

/// One method's calls over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodLine {
    pub method: SyncMethod,
    /// `ensure` calls of tenants with this method (fallbacks included).
    pub calls: u64,
    /// Calls that ended with every data type asked for fresh.
    pub succeeded: u64,
    /// Percent of calls that succeeded; absent without calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_rate_percent: Option<f64>,
    /// Calls that fell back to the other method.
    pub fallbacks: u64,
    /// Duration percentiles, estimated inside the histogram bucket that
    /// holds them (absent without calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms_p50: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms_p95: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms_mean: Option<u64>,
}

impl MethodLine {
    pub fn new(method: SyncMethod, t: &MethodTally) -> Self {
        Self {
            method,
            calls: t.calls,
            succeeded: t.succeeded,
            success_rate_percent: t.success_rate_percent(),
            fallbacks: t.fallbacks,
            duration_ms_p50: t.percentile_ms(0.50),
            duration_ms_p95: t.percentile_ms(0.95),
            duration_ms_mean: (t.calls > 0).then(|| t.duration_ms_total / t.calls),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodStatsReport {
    pub since: String,
    pub until: String,
    /// Every method, each once, `queued` first.
    pub methods: Vec<MethodLine>,
}

/// The methods' stats over `since`..`until` (RFC 3339).
pub async fn method_stats<S: MethodStats>(
    stats: &S,
    since: &str,
    until: &str,
) -> Result<MethodStatsReport, OpsError> {
    let (since, until) = window(since, until)?;
    let (first, last) = (hour_of(&since), hour_of(&until));
    let mut methods = Vec::new();
    for method in SyncMethod::ALL {
        let mut total = MethodTally::default();
        for (_, hour) in stats.hours(method, &first, &last).await? {
            total.add(&hour);
        }
        methods.push(MethodLine::new(method, &total));
    }
    Ok(MethodStatsReport {
        since,
        until,
        methods,
    })
}
