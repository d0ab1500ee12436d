//! CloudWatch metrics as Embedded Metric Format (EMF) lines on stdout: the
//! `metrics` facade records, the `metrics_cloudwatch_embedded` collector
//! keeps the values, and each function flushes them once per invocation (or
//! batch), so CloudWatch gets one JSON document per invocation, not per event.
//!
//! Namespace `synchub`; every metric has the `function` dimension, and a few
//! a second bounded one. What each function emits (counts unless named `Ms`):
//!
//! - every function: `ColdStart`, with its first invocation's line.
//! - webhook-ingest: `WebhooksRefused` by `class` (the six error classes).
//!   An accepted webhook records nothing, so its invocation writes no line
//!   (the dashboard counts acceptances as invocations less refusals).
//! - sync-worker, per batch: `BatchRecords`, `EventsApplied`, `EventsStale`,
//!   `EventsDuplicate`, `EventsRejected`, `RecordsRetried`, `PublishOk`,
//!   `PublishFailed`, `PublishRecovered`, `TargetsSucceeded`,
//!   `TargetsSkipped`, `TargetsFailed`, and `QueueLagMaxMs`.
//! - daily-sync: `RunsFinished` with `RunDurationMs`, `ObjectsFetched`,
//!   `ObjectsEnqueued` and `ObjectsRejected`; `RunsFailed`.
//! - failure-notifier: `FailuresRecorded`, `EmailsSent`.
//! - sync-api: `Requests` by `route` (method and path template) and `status`
//!   class (`2xx` ... `5xx`).
//!
//! A count that stayed zero is left out of the line (CloudWatch then has no
//! data point, which dashboards fill as zero); the histograms
//! (`QueueLagMaxMs`, `RunDurationMs`) are arrays of the values recorded since
//! the last flush. Recording happens in the use cases (as logging does); with
//! no recorder installed (the CLI, most tests) it costs next to nothing.

use metrics::{counter, describe_counter, describe_histogram, histogram, Unit};
use metrics_cloudwatch_embedded::{Builder, Collector};
use std::io::Write;
use std::sync::OnceLock;
use synchub_core::app::apply::BatchReport;
use synchub_core::domain::metrics::Tally;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "synchub";

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Installs the EMF recorder for the process, `function` being the value of
/// every metric's `function` dimension (the function's name in the project,
/// stable across deploys, unlike the Lambda function's physical name), and
/// counts the cold start. Once per process: a second call changes nothing.
pub fn init_metrics(function: &'static str) {
    if COLLECTOR.get().is_some() {
        return;
    }
    let installed = Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension(FUNCTION_DIMENSION, function)
        .init();
    match installed {
        Ok(collector) => {
            let _ = COLLECTOR.set(collector);
            describe();
            counter!("ColdStart").increment(1);
        }
        Err(e) => tracing::warn!(error = %e, "metrics recorder not installed; no EMF lines"),
    }
}

/// The dimension every metric has: the function's name in the project.
pub const FUNCTION_DIMENSION: &str = "function";

/// Every count a function emits (see the module doc for which and when).
pub const COUNTS: &[&str] = &[
    "ColdStart",
    "WebhooksRefused",
    "BatchRecords",
    "EventsApplied",
    "EventsStale",
    "EventsDuplicate",
    "EventsRejected",
    "RecordsRetried",
    "BatchesHandedBack",
    "RecordsHandedBack",
    "PublishOk",
    "PublishFailed",
    "PublishRecovered",
    "TargetsSucceeded",
    "TargetsSkipped",
    "TargetsFailed",
    "RunsFinished",
    "RunsFailed",
    "ObjectsFetched",
    "ObjectsEnqueued",
    "ObjectsRejected",
    "FailuresRecorded",
    "EmailsSent",
    "Requests",
];

/// Every histogram, in milliseconds.
pub const HISTOGRAMS: &[&str] = &["QueueLagMaxMs", "RunDurationMs"];

/// Units, so CloudWatch shows milliseconds as such.
fn describe() {
    for &name in COUNTS {
        describe_counter!(name, Unit::Count, "");
    }
    for &name in HISTOGRAMS {
        describe_histogram!(name, Unit::Milliseconds, "");
    }
}

/// Writes what was recorded since the last flush, one EMF document per line
/// (one per dimension set), and starts counting afresh. Nothing is written
/// when nothing was recorded or no recorder is installed.
pub fn flush_to(writer: impl Write) -> std::io::Result<()> {
    match COLLECTOR.get() {
        Some(collector) => collector.flush(writer),
        None => Ok(()),
    }
}

/// [`flush_to`] stdout, once at the end of every invocation. The lock is
/// held for the whole flush, so no log line lands inside a document.
pub fn flush() {
    if let Err(e) = flush_to(std::io::stdout().lock()) {
        tracing::warn!(error = %e, "EMF metrics not written");
    }
}

/// One sync-worker batch: its size and what it did, summed over its
/// tenants (the per-tenant tallies go to the gate's counters, not here:
/// tenants are not a bounded dimension).
pub fn count_sync_batch(records: usize, report: &BatchReport) {
    let mut sum = Tally::default();
    for tally in report.tallies.values() {
        sum.add(tally);
    }
    counter!("BatchRecords").increment(records as u64);
    counter!("EventsApplied").increment(sum.applied);
    counter!("EventsStale").increment(sum.stale);
    counter!("EventsDuplicate").increment(sum.duplicate);
    counter!("EventsRejected").increment(sum.rejected);
    counter!("RecordsRetried").increment(report.retry.len() as u64);
    counter!("PublishOk").increment(sum.publish_ok);
    counter!("PublishFailed").increment(sum.publish_failed);
    counter!("PublishRecovered").increment(sum.publish_recovered);
    counter!("TargetsSucceeded").increment(report.targets.succeeded);
    counter!("TargetsSkipped").increment(report.targets.skipped);
    counter!("TargetsFailed").increment(report.targets.failed);
    histogram!("QueueLagMaxMs").record(sum.lag_max_ms as f64);
}

/// The `route` of a sync-api request: its method and path template, or
/// `other` (bounded whatever the caller sends).
pub fn api_route(method: &http::Method, path: &str) -> &'static str {
    let Some(rest) = path.trim_end_matches('/').strip_prefix("/api/") else {
        return "other";
    };
    let about_tenant = rest
        .strip_prefix("tenants/")
        .and_then(|r| r.split_once('/'))
        .filter(|(tenant, what)| !tenant.is_empty() && !what.contains('/'))
        .map(|(_, what)| what);
    match (method.as_str(), about_tenant, rest) {
        ("GET", None, "health") => "GET /api/health",
        ("GET", None, "gate") => "GET /api/gate",
        ("GET", Some("status"), _) => "GET /api/tenants/{tenantId}/status",
        ("GET", Some("trace"), _) => "GET /api/tenants/{tenantId}/trace",
        ("GET", Some("runs"), _) => "GET /api/tenants/{tenantId}/runs",
        ("POST", Some("runs"), _) => "POST /api/tenants/{tenantId}/runs",
        _ => "other",
    }
}

/// One sync-api request, by route and status class.
pub fn count_api_request(route: &'static str, status: u16) {
    let class = match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    counter!("Requests", "route" => route, "status" => class).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn api_routes_are_templates_so_the_dimension_stays_bounded() {
        let (get, post) = (Method::GET, Method::POST);
        assert_eq!(api_route(&get, "/api/health"), "GET /api/health");
        assert_eq!(api_route(&get, "/api/gate/"), "GET /api/gate");
        assert_eq!(
            api_route(&get, "/api/tenants/acme/status"),
            "GET /api/tenants/{tenantId}/status"
        );
        assert_eq!(
            api_route(&get, "/api/tenants/other-shop/trace"),
            "GET /api/tenants/{tenantId}/trace"
        );
        assert_eq!(
            api_route(&post, "/api/tenants/acme/runs"),
            "POST /api/tenants/{tenantId}/runs"
        );
        for (method, path) in [
            (&Method::DELETE, "/api/tenants/acme/runs"),
            (&get, "/api/tenants//runs"),
            (&get, "/api/tenants/acme/runs/extra"),
            (&get, "/api/tenants/acme/secrets"),
            (&get, "/webhooks/supplier/acme"),
            (&post, "/api/health"),
        ] {
            assert_eq!(api_route(method, path), "other", "{method} {path}");
        }
    }
}
