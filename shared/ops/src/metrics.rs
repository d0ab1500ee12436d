//! The sync's metrics over a window, per tenant and for the fleet: the runs
//! that started in it per data type (count, success rate, durations p50 and
//! p95, objects, error classes), what the deliveries came to (applied,
//! stale, duplicate, rejected), what each target did (POS, CRM, storefront),
//! stale items, the storefront publish error rate and trace coverage.
//!
//! Deliveries and targets come from the worker's per-(tenant, hour)
//! counters and runs from the run log's keys, which sort by start: a question
//! costs a counter query and a run read per tenant, each as long as its
//! window, whatever the size of the audit table or the run history.

use super::gate::window;
use super::OpsError;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use synchub_core::domain::metrics::{hour_of, Tally, TargetTally};
use synchub_core::domain::sync_run::{RunStatus, SyncRun};
use synchub_core::domain::time::parse_rfc3339_millis;
use synchub_core::domain::DataType;
use synchub_core::domain::TenantId;
use synchub_core::ports::{MetricsLedger, PortError, RunLog, TenantDirectory, TenantRoster};
use synchub_core::ErrorClass;

/// Tenants read at once: the reads are independent, one tenant's latency
/// need not wait for the previous one's.
const TENANT_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsReport {
    pub since: String,
    pub until: String,
    /// The tenants below together.
    pub fleet: WindowMetrics,
    pub tenants: Vec<TenantMetrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantMetrics {
    pub tenant_id: String,
    #[serde(flatten)]
    pub metrics: WindowMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowMetrics {
    /// The runs that started in the window, per data type that ran.
    pub data_types: Vec<DataTypeMetrics>,
    pub deliveries: Deliveries,
    pub targets: Targets,
    /// Applied changes whose storefront publish failed and has not gone
    /// through since.
    pub stale_items: u64,
    pub publish_error_rate_percent: f64,
    /// Deliveries with an audit row explaining them, per delivery received.
    pub trace_coverage_percent: f64,
    /// The longest a delivery waited on the sync queue.
    pub queue_lag_max_ms: u64,
}

/// What the worker's deliveries came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deliveries {
    pub received: u64,
    pub audited: u64,
    pub applied: u64,
    pub stale: u64,
    pub duplicate: u64,
    pub rejected: u64,
}

/// What each target did with the applied changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    pub pos: TargetTally,
    pub crm: TargetTally,
    pub storefront: TargetTally,
    /// Failed storefront publishes that went through on a later retry.
    pub storefront_recovered: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataTypeMetrics {
    pub data_type: DataType,
    pub runs: u64,
    pub succeeded: u64,
    pub partial: u64,
    pub failed: u64,
    pub running: u64,
    /// Succeeded runs per finished run, in percent (a partial run, with
    /// rejected objects, counts against it); `None` when none finished.
    pub success_rate_percent: Option<f64>,
    /// Durations of the finished runs (nearest rank).
    pub duration_ms_p50: Option<i64>,
    pub duration_ms_p95: Option<i64>,
    /// Objects the runs fetched from the source; of them, enqueued and rejected.
    pub objects: u64,
    pub enqueued: u64,
    pub rejected: u64,
    /// Runs that ended with an error, by class, most frequent first.
    pub error_classes: Vec<ErrorClassCount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorClassCount {
    pub class: ErrorClass,
    pub runs: u64,
}

synchub_core::port_kinds! {
    /// The kinds of port the metrics read, as one bound: the hourly counters,
    /// the runs and the tenants.
    pub trait MetricsDeps {
        Ledger: MetricsLedger,
        Runs: RunLog,
        Tenants: TenantRoster + TenantDirectory,
    }
}

/// What the metrics read.
pub struct MetricsPorts<'a, M: MetricsDeps> {
    pub ledger: &'a M::Ledger,
    pub runs: &'a M::Runs,
    pub tenants: &'a M::Tenants,
}

/// The metrics over `since`..`until` (RFC 3339) of every active tenant, or
/// of `tenant` alone (any known tenant, active or not).
pub async fn metrics<M: MetricsDeps>(
    ports: &MetricsPorts<'_, M>,
    since: &str,
    until: &str,
    tenant: Option<&TenantId>,
) -> Result<MetricsReport, OpsError> {
    let (ledger, runs, tenants) = (ports.ledger, ports.runs, ports.tenants);
    let (since, until) = window(since, until)?;
    let millis = |t: &str| parse_rfc3339_millis(t).map(|(_, ms)| ms).unwrap_or(0);
    let (since_ms, until_ms) = (millis(&since), millis(&until));
    let ids: Vec<String> = match tenant {
        Some(t) => match tenants.settings(t).await? {
            Some(_) => vec![t.to_string()],
            None => return Err(OpsError::UnknownTenant(t.to_string())),
        },
        None => tenants
            .active()
            .await?
            .into_iter()
            .map(|s| s.tenant_id)
            .collect(),
    };
    let (first, last) = (hour_of(&since), hour_of(&until));
    let (first, last) = (first.as_str(), last.as_str());
    let read = |id: String| async move {
        let (hours, in_window) = futures::try_join!(
            ledger.hours(&id, first, last),
            runs.started_between(&id, since_ms, until_ms)
        )?;
        let mut totals = Tally::default();
        for (_, hour) in &hours {
            totals.add(hour);
        }
        Ok::<_, PortError>((id, totals, in_window))
    };
    let read: Vec<(String, Tally, Vec<SyncRun>)> = stream::iter(ids)
        .map(read)
        .buffered(TENANT_CONCURRENCY)
        .try_collect()
        .await?;
    let mut fleet_tally = Tally::default();
    let mut fleet_runs: Vec<&SyncRun> = Vec::new();
    for (_, totals, runs) in &read {
        fleet_tally.add(totals);
        fleet_runs.extend(runs);
    }
    let fleet = window_metrics(&fleet_tally, &fleet_runs);
    let tenants = read
        .iter()
        .map(|(id, totals, runs)| TenantMetrics {
            tenant_id: id.clone(),
            metrics: window_metrics(totals, &runs.iter().collect::<Vec<_>>()),
        })
        .collect();
    Ok(MetricsReport {
        since,
        until,
        fleet,
        tenants,
    })
}

/// A window's metrics from its counters and the runs that started in it.
pub fn window_metrics(t: &Tally, runs: &[&SyncRun]) -> WindowMetrics {
    WindowMetrics {
        data_types: DataType::ALL
            .into_iter()
            .filter_map(|d| {
                let of_type: Vec<&SyncRun> =
                    runs.iter().copied().filter(|r| r.data_type == d).collect();
                (!of_type.is_empty()).then(|| data_type_metrics(d, &of_type))
            })
            .collect(),
        deliveries: Deliveries {
            received: t.received,
            audited: t.audited,
            applied: t.applied,
            stale: t.stale,
            duplicate: t.duplicate,
            rejected: t.rejected,
        },
        targets: Targets {
            pos: t.pos,
            crm: t.crm,
            storefront: TargetTally {
                succeeded: t.publish_ok,
                skipped: t.publish_skipped,
                failed: t.publish_failed,
            },
            storefront_recovered: t.publish_recovered,
        },
        stale_items: t.stale_items(),
        publish_error_rate_percent: t.publish_error_rate_percent(),
        trace_coverage_percent: t.trace_coverage_percent(),
        queue_lag_max_ms: t.lag_max_ms,
    }
}

/// One data type's runs (all of that type).
pub fn data_type_metrics(data_type: DataType, runs: &[&SyncRun]) -> DataTypeMetrics {
    let count = |status: RunStatus| runs.iter().filter(|r| r.status == status).count() as u64;
    let (succeeded, partial, failed, running) = (
        count(RunStatus::Succeeded),
        count(RunStatus::Partial),
        count(RunStatus::Failed),
        count(RunStatus::Running),
    );
    let finished = succeeded + partial + failed;
    let mut durations: Vec<i64> = runs.iter().filter_map(|r| duration_ms(r)).collect();
    durations.sort_unstable();
    let mut classes: Vec<ErrorClassCount> = Vec::new();
    for class in runs.iter().filter_map(|r| r.error_class) {
        match classes.iter_mut().find(|c| c.class == class) {
            Some(c) => c.runs += 1,
            None => classes.push(ErrorClassCount { class, runs: 1 }),
        }
    }
    classes
        .sort_by(|a, b| (b.runs.cmp(&a.runs)).then_with(|| a.class.as_str().cmp(b.class.as_str())));
    DataTypeMetrics {
        data_type,
        runs: runs.len() as u64,
        succeeded,
        partial,
        failed,
        running,
        success_rate_percent: (finished > 0).then(|| 100.0 * succeeded as f64 / finished as f64),
        duration_ms_p50: percentile(&durations, 50),
        duration_ms_p95: percentile(&durations, 95),
        objects: runs.iter().map(|r| r.fetched).sum(),
        enqueued: runs.iter().map(|r| r.enqueued).sum(),
        rejected: runs.iter().map(|r| r.rejected).sum(),
        error_classes: classes,
    }
}

/// A finished run's duration; `None` while it runs.
fn duration_ms(run: &SyncRun) -> Option<i64> {
    if run.status == RunStatus::Running {
        return None;
    }
    let (_, end) = parse_rfc3339_millis(run.finished_at.as_deref()?).ok()?;
    Some((end - run.started_millis).max(0))
}

/// The nearest-rank `p`th percentile of sorted values: the smallest value
/// with at least `p` % of the values at or below it.
pub fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank.min(sorted.len()) - 1])
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
