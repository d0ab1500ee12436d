//! `synchub metrics`: the sync's metrics over a window. The answer is
//! `app::ops::metrics`'s (through the sync API's adapters); this renders it
//! as tables: the fleet's deliveries and targets, then each tenant's
//! deliveries, then each tenant's runs per data type.

use crate::ops::word;
use synchub_core::domain::metrics::TargetTally;
use synchub_ops::metrics::DataTypeMetrics;
use synchub_ops::{MetricsReport, WindowMetrics};

/// The fleet's summary, then one table of deliveries and one of runs per tenant.
pub fn render(report: &MetricsReport) -> String {
    let tenants = report.tenants.len();
    let mut out = format!(
        "metrics  {} .. {}  ({tenants} tenant{})\n",
        report.since,
        report.until,
        if tenants == 1 { "" } else { "s" }
    );
    out += &summary(&report.fleet);
    out += "\ndeliveries per tenant\n";
    out += &delivery_table(report);
    out += "\nruns that started in the window, per tenant and data type\n";
    out += &run_table(report);
    out
}

fn summary(m: &WindowMetrics) -> String {
    let d = &m.deliveries;
    let mut out = format!(
        "  deliveries  received {}  audited {}  applied {}  stale {}  duplicate {}  rejected {}\n",
        d.received, d.audited, d.applied, d.stale, d.duplicate, d.rejected
    );
    out += &format!(
        "  stale items {}  publish errors {:.3} %  trace coverage {:.3} %  queue lag max {}\n",
        m.stale_items,
        m.publish_error_rate_percent,
        m.trace_coverage_percent,
        duration(Some(m.queue_lag_max_ms as i64))
    );
    out += &format!(
        "\n  {:<11} {:>10} {:>8} {:>8}\n",
        "target", "succeeded", "skipped", "failed"
    );
    let t = &m.targets;
    for (name, counts) in [
        ("pos", &t.pos),
        ("crm", &t.crm),
        ("storefront", &t.storefront),
    ] {
        out += &target_line(name, counts);
    }
    if t.storefront_recovered > 0 {
        out += &format!(
            "  ({} failed storefront publishes went through on a retry)\n",
            t.storefront_recovered
        );
    }
    out
}

fn target_line(name: &str, t: &TargetTally) -> String {
    format!(
        "  {:<11} {:>10} {:>8} {:>8}\n",
        name, t.succeeded, t.skipped, t.failed
    )
}

fn delivery_table(report: &MetricsReport) -> String {
    if report.tenants.is_empty() {
        return "  no active tenants\n".to_owned();
    }
    let width = tenant_width(report);
    let mut out = format!(
        "  {:<width$} {:>9} {:>8} {:>7} {:>9} {:>8} {:>11} {:>11} {:>10}\n",
        "tenant",
        "received",
        "applied",
        "stale",
        "duplicate",
        "rejected",
        "stale items",
        "publish err",
        "coverage"
    );
    for t in &report.tenants {
        let (m, d) = (&t.metrics, &t.metrics.deliveries);
        out += &format!(
            "  {:<width$} {:>9} {:>8} {:>7} {:>9} {:>8} {:>11} {:>9.3} % {:>8.3} %\n",
            t.tenant_id,
            d.received,
            d.applied,
            d.stale,
            d.duplicate,
            d.rejected,
            m.stale_items,
            m.publish_error_rate_percent,
            m.trace_coverage_percent
        );
    }
    out
}

fn run_table(report: &MetricsReport) -> String {
    let rows: Vec<(&str, &DataTypeMetrics)> = report
        .tenants
        .iter()
        .flat_map(|t| {
            t.metrics
                .data_types
                .iter()
                .map(move |d| (t.tenant_id.as_str(), d))
        })
        .collect();
    if rows.is_empty() {
        return "  no runs started in the window\n".to_owned();
    }
    let width = tenant_width(report);
    let mut out = format!(
        "  {:<width$} {:<11} {:>5} {:>8} {:>9} {:>9} {:>8} {:>8}  {}\n",
        "tenant", "data type", "runs", "success", "p50", "p95", "objects", "rejected", "errors"
    );
    for (tenant, d) in rows {
        let success = d
            .success_rate_percent
            .map_or_else(|| "-".to_owned(), |p| format!("{p:.1} %"));
        let errors: Vec<String> = d
            .error_classes
            .iter()
            .map(|c| format!("{} ×{}", word(&c.class), c.runs))
            .collect();
        out += &format!(
            "  {:<width$} {:<11} {:>5} {:>8} {:>9} {:>9} {:>8} {:>8}  {}\n",
            tenant,
            d.data_type.to_string(),
            d.runs,
            success,
            duration(d.duration_ms_p50),
            duration(d.duration_ms_p95),
            d.objects,
            d.rejected,
            if errors.is_empty() {
                "-".to_owned()
            } else {
                errors.join(", ")
            }
        );
    }
    out
}

fn tenant_width(report: &MetricsReport) -> usize {
    report
        .tenants
        .iter()
        .map(|t| t.tenant_id.chars().count())
        .max()
        .unwrap_or(0)
        .max("tenant".len())
}

/// A duration for a person: `-` when there is none.
fn duration(millis: Option<i64>) -> String {
    match millis {
        None => "-".to_owned(),
        Some(ms) if ms < 1_000 => format!("{ms} ms"),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1_000.0),
        Some(ms) => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_core::domain::metrics::Tally;
    use synchub_core::domain::sync_run::{RunStatus, SyncRun, Trigger};
    use synchub_core::domain::DataType;
    use synchub_core::ErrorClass;
    use synchub_ops::metrics::{data_type_metrics, window_metrics};
    use synchub_ops::TenantMetrics;

    fn run(status: RunStatus, ms: i64) -> SyncRun {
        SyncRun {
            run_id: "sync-acme-1-x".into(),
            tenant_id: "acme".into(),
            data_type: DataType::Orders,
            trigger: Trigger::Schedule,
            status,
            started_at: "2026-12-02T09:00:00.000Z".into(),
            started_millis: 1_796_202_000_000,
            finished_at: Some(format!("2026-12-02T09:00:{:02}.000Z", ms / 1_000)),
            updated_after: None,
            updated_before: None,
            fetched: 50,
            enqueued: 49,
            rejected: 1,
            pages: 1,
            cursor: None,
            complete: true,
            last_progress_millis: 0,
            invocations: 1,
            error_class: (status == RunStatus::Failed).then_some(ErrorClass::TimeoutError),
            error_message: None,
            rejections: vec![],
            pos: None,
            drift: Default::default(),
            duplicates: 0,
            duplicate_ids: Vec::new(),
        }
    }

    #[test]
    fn the_tables_show_each_tenants_deliveries_targets_and_runs() {
        let tally = Tally {
            received: 20,
            audited: 20,
            applied: 18,
            stale: 2,
            publish_ok: 17,
            publish_failed: 1,
            pos: TargetTally {
                succeeded: 4,
                skipped: 2,
                failed: 1,
            },
            lag_max_ms: 2_500,
            ..Tally::default()
        };
        let runs = [
            run(RunStatus::Succeeded, 4_000),
            run(RunStatus::Failed, 8_000),
        ];
        let refs: Vec<&SyncRun> = runs.iter().collect();
        let metrics = window_metrics(&tally, &refs);
        assert_eq!(
            metrics.data_types[0],
            data_type_metrics(DataType::Orders, &refs)
        );
        let report = MetricsReport {
            since: "2026-12-02T00:00:00.000Z".into(),
            until: "2026-12-03T00:00:00.000Z".into(),
            fleet: metrics.clone(),
            tenants: vec![TenantMetrics {
                tenant_id: "acme".into(),
                metrics,
            }],
        };

        let text = render(&report);

        assert!(
            text.starts_with(
                "metrics  2026-12-02T00:00:00.000Z .. 2026-12-03T00:00:00.000Z  (1 tenant)\n"
            ),
            "{text}"
        );
        assert!(text.contains("  deliveries  received 20  audited 20  applied 18  stale 2  duplicate 0  rejected 0\n"), "{text}");
        assert!(text.contains("queue lag max 2.5 s"), "{text}");
        assert!(
            text.contains("  pos                  4        2        1\n"),
            "{text}"
        );
        assert!(
            text.contains("  storefront          17        0        1\n"),
            "{text}"
        );
        assert!(
            text.contains("  acme   orders          2   50.0 %     4.0 s     8.0 s      100        2  TIMEOUT_ERROR ×1\n"),
            "{text}"
        );
        assert!(
            text.contains("  acme          20       18       2         0        0           1     5.556 %  100.000 %\n"),
            "{text}"
        );
    }

    #[test]
    fn an_empty_window_says_so() {
        let report = MetricsReport {
            since: "a".into(),
            until: "b".into(),
            fleet: window_metrics(&Tally::default(), &[]),
            tenants: vec![],
        };
        let text = render(&report);
        assert!(text.contains("(0 tenants)"), "{text}");
        assert!(text.contains("no active tenants"), "{text}");
        assert!(text.contains("no runs started in the window"), "{text}");
    }
}
