//! `synchub status`, `synchub flags` and `synchub runs`: what a tenant's runs
//! did and which flags are in effect. The answers are `app::ops::status`'s
//! (and the run log's lines); this renders them as tables.

use crate::ops::word;
use synchub_ops::{FlagValue, RunLine, TenantStatus};

/// 1 when a collection's last run failed, else 0.
pub fn exit_status(status: &TenantStatus) -> u8 {
    u8::from(!status.failed_collections.is_empty())
}

/// The tenant, its last run per data type, failed collections, flags, sync method.
pub fn render(status: &TenantStatus) -> String {
    let mut out = format!(
        "tenant       {} ({})\nsync method  {}\ntargets off  {}\n",
        status.tenant_id,
        if status.active { "active" } else { "inactive" },
        status.sync_method,
        list_or_none(&status.targets_disabled)
    );
    out += "\nlast run per data type\n";
    out += &run_table(&status.last_runs);
    let failed: Vec<String> = status
        .failed_collections
        .iter()
        .map(ToString::to_string)
        .collect();
    out += &format!("failed collections  {}\n", list_or_none(&failed));
    out += "\nflags in effect\n";
    out += &flag_table(&status.flags);
    out
}

/// Each flag, its value and where the value comes from.
pub fn flag_table(flags: &[FlagValue]) -> String {
    let mut out = format!("  {:<20} {:<5} {}\n", "flag", "value", "source");
    for flag in flags {
        out += &format!(
            "  {:<20} {:<5} {}\n",
            flag.name,
            if flag.value { "on" } else { "off" },
            word(&flag.source)
        );
    }
    out
}

/// Runs, one line each (their error under a failed one); the run id is the
/// correlation id to search the logs for.
pub fn run_table(runs: &[RunLine]) -> String {
    if runs.is_empty() {
        return "  no runs recorded (run records expire after the audit TTL)\n".to_owned();
    }
    let mut out = format!(
        "  {:<11} {:<10} {:<9} {:<24} {:>10} {:>8} {:>8} {:>8} {:>6}  {}\n",
        "data type",
        "status",
        "trigger",
        "started",
        "duration",
        "fetched",
        "enqueued",
        "rejected",
        "pages",
        "run (correlation id)"
    );
    for run in runs {
        out += &format!(
            "  {:<11} {:<10} {:<9} {:<24} {:>10} {:>8} {:>8} {:>8} {:>6}  {}\n",
            run.data_type.to_string(),
            word(&run.status),
            word(&run.trigger),
            run.started_at,
            duration(run.duration_ms),
            run.fetched,
            run.enqueued,
            run.rejected,
            run.pages,
            run.run_id
        );
        if let Some(message) = &run.error_message {
            let class = run.error_class.map(|c| word(&c)).unwrap_or_default();
            out += &format!("  {:<11} {class}: {message}\n", "");
        }
    }
    out
}

/// A run's duration for a person: `-` while it runs.
fn duration(millis: Option<i64>) -> String {
    match millis {
        None => "-".to_owned(),
        Some(ms) if ms < 1_000 => format!("{ms} ms"),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1_000.0),
        Some(ms) => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1_000),
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_core::domain::sync_run::{RunStatus, Trigger};
    use synchub_core::domain::DataType;
    use synchub_core::ErrorClass;
    use synchub_ops::FlagSource;

    fn run(data_type: DataType, status: RunStatus, duration_ms: Option<i64>) -> RunLine {
        let failed = status == RunStatus::Failed;
        RunLine {
            run_id: format!("sync-acme-1-{data_type}"),
            data_type,
            status,
            trigger: Trigger::Schedule,
            started_at: "2026-06-01T02:00:00.000Z".into(),
            finished_at: None,
            duration_ms,
            fetched: 12,
            enqueued: 11,
            rejected: 1,
            pages: 2,
            duplicates: 0,
            error_class: failed.then_some(ErrorClass::AuthError),
            error_message: failed.then(|| "Square answered 401".into()),
        }
    }

    fn status(failed: &[DataType]) -> TenantStatus {
        TenantStatus {
            tenant_id: "acme".into(),
            active: true,
            last_runs: vec![
                run(DataType::Orders, RunStatus::Succeeded, Some(83_000)),
                run(DataType::Catalog, RunStatus::Failed, Some(450)),
            ],
            failed_collections: failed.to_vec(),
            flags: vec![
                FlagValue {
                    name: "ENABLE_POS_SYNC",
                    value: true,
                    source: FlagSource::Canary,
                },
                FlagValue {
                    name: "ENABLE_CRM_SYNC",
                    value: false,
                    source: FlagSource::Tenant,
                },
            ],
            targets_disabled: vec!["crm".into()],
            sync_method: "queued".into(),
        }
    }

    #[test]
    fn a_failed_collection_fails_the_command() {
        assert_eq!(exit_status(&status(&[])), 0);
        assert_eq!(exit_status(&status(&[DataType::Catalog])), 1);
    }

    #[test]
    fn the_status_names_runs_failures_flags_and_method() {
        let text = render(&status(&[DataType::Catalog]));
        assert!(
            text.starts_with("tenant       acme (active)\nsync method  queued\ntargets off  crm\n"),
            "{text}"
        );
        assert!(text.contains("failed collections  catalog\n"), "{text}");
        assert!(
            text.contains("  ENABLE_POS_SYNC      on    canary\n"),
            "{text}"
        );
        assert!(
            text.contains("  ENABLE_CRM_SYNC      off   tenant\n"),
            "{text}"
        );
    }

    #[test]
    fn a_run_line_has_its_counts_duration_and_correlation_id() {
        let text = run_table(&[
            run(DataType::Orders, RunStatus::Succeeded, Some(83_000)),
            run(DataType::Catalog, RunStatus::Failed, Some(450)),
            run(DataType::Inventory, RunStatus::Running, None),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "  data type   status     trigger   started                    duration  fetched enqueued rejected  pages  run (correlation id)"
        );
        assert_eq!(
            lines[1],
            "  orders      succeeded  schedule  2026-06-01T02:00:00.000Z 1 min 23 s       12       11        1      2  sync-acme-1-orders"
        );
        assert!(lines[2].contains(" 450 ms "), "{text}");
        assert_eq!(lines[3], "              AUTH_ERROR: Square answered 401");
        assert!(
            lines[4].contains("running") && lines[4].contains("        - "),
            "{text}"
        );
    }

    #[test]
    fn no_runs_is_said_plainly() {
        assert!(run_table(&[]).contains("no runs recorded"));
        assert_eq!(duration(Some(1_500)), "1.5 s");
    }
}
