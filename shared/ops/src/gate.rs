//! The launch gate: over a window, the signals the catalog sync is judged by
//! (stale items < 1 %, queue lag < 90 s, storefront publish errors < 0.5 %,
//! trace coverage 100 %), for every active tenant and all together. Computed
//! from the worker's per-(tenant, hour) counters, never typed in; a query per
//! tenant over the window's hours, whatever the size of the audit table.

use super::OpsError;
use serde::Serialize;
use synchub_core::domain::metrics::{hour_of, launch_signals, Signal, Tally};
use synchub_core::domain::time::{canonical_time, parse_rfc3339_millis};
use synchub_core::domain::ValidationError;
use synchub_core::ports::{MetricsLedger, TenantRoster};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateReport {
    pub since: String,
    pub until: String,
    /// Every signal of the whole fleet passes.
    pub pass: bool,
    pub signals: Vec<Signal>,
    pub totals: Tally,
    pub tenants: Vec<TenantGate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantGate {
    pub tenant_id: String,
    pub pass: bool,
    pub signals: Vec<Signal>,
    pub totals: Tally,
}

/// A window given as RFC 3339 `since` and `until`, checked and made canonical.
pub fn window(since: &str, until: &str) -> Result<(String, String), ValidationError> {
    let (s, s_ms) =
        parse_rfc3339_millis(since).map_err(|rule| ValidationError::new("since", rule))?;
    let (u, u_ms) =
        parse_rfc3339_millis(until).map_err(|rule| ValidationError::new("until", rule))?;
    if u_ms < s_ms {
        return Err(ValidationError::new("until", "must not be before since"));
    }
    Ok((canonical_time(s), canonical_time(u)))
}

pub async fn gate<L: MetricsLedger, T: TenantRoster>(
    ledger: &L,
    tenants: &T,
    since: &str,
    until: &str,
) -> Result<GateReport, OpsError> {
    let (since, until) = window(since, until)?;
    let (first, last) = (hour_of(&since), hour_of(&until));
    let mut all = Tally::default();
    let mut per_tenant = Vec::new();
    for settings in tenants.active().await? {
        let mut totals = Tally::default();
        for (_, hour) in ledger.hours(&settings.tenant_id, &first, &last).await? {
            totals.add(&hour);
        }
        all.add(&totals);
        let signals = launch_signals(&totals);
        per_tenant.push(TenantGate {
            tenant_id: settings.tenant_id,
            pass: signals.iter().all(|s| s.pass),
            signals,
            totals,
        });
    }
    let signals = launch_signals(&all);
    Ok(GateReport {
        since,
        until,
        pass: signals.iter().all(|s| s.pass),
        signals,
        totals: all,
        tenants: per_tenant,
    })
}
