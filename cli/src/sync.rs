//! `synchub sync`: starts runs by the same code path the schedule uses
//! (lock, checkpoints, normalization, enqueue) against the configured
//! endpoints, working them in this process with a progress line per data
//! type, then prints a table of the runs. A tenant on a connector POS is
//! pulled from it (one run per data type and POS that pulls it).

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::time::Duration;
use synchub_connectors::pos::{none_pulls, pulling};
use synchub_connectors::{PosConnection, SQUARE_CONNECTOR};
use synchub_core::app::daily_sync::{continue_run, dry_run, start_run_for, Progress, Start};
use synchub_core::domain::sync_run::{SyncRun, Trigger};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::domain::TenantId;
use synchub_core::ports::TenantDirectory;
use synchub_lambda::DailySync;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// One line of the final table.
#[expect(
    clippy::large_enum_variant,
    reason = "one line per data type, printed once: boxing the run would buy nothing"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum RunLine {
    Ran(SyncRun),
    Skipped { data_type: DataType, why: String },
}

fn bar(progress: &MultiProgress, data_type: DataType) -> ProgressBar {
    let bar = progress.add(ProgressBar::new_spinner());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix:<11} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(data_type.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Runs the data types for a tenant; `hidden` turns the progress lines off (tests).
pub async fn sync(
    sync: &DailySync,
    tenant: &TenantId,
    data_types: &[DataType],
    force: bool,
    hidden: bool,
) -> Result<Vec<RunLine>, Error> {
    let progress = if hidden {
        MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
    } else {
        MultiProgress::new()
    };
    let sources = sync
        .tenants
        .settings(tenant)
        .await?
        .map_or_else(|| vec![PosConnection::square()], |s| s.pos_sources());
    let mut lines = Vec::new();
    for &data_type in data_types {
        let covering = pulling(&sources, data_type);
        if covering.is_empty() {
            lines.push(RunLine::Skipped {
                data_type,
                why: none_pulls(&sources, data_type),
            });
        }
        for pos in covering {
            let start = start_run_for(
                &sync.ports(),
                tenant.as_str(),
                Some(pos),
                data_type,
                Trigger::Manual,
                force,
                now_millis(),
            )
            .await?;
            lines.push(match start {
                Start::Started(run) => {
                    RunLine::Ran(work(sync, run, bar(&progress, data_type)).await?)
                }
                Start::AlreadyRunning { run_id } => RunLine::Skipped {
                    data_type,
                    why: format!("a run is in progress ({run_id}); not started"),
                },
                Start::DoneToday { run_id } => RunLine::Skipped {
                    data_type,
                    why: format!(
                        "today's run already succeeded ({run_id}); --force starts another"
                    ),
                },
            });
        }
    }
    Ok(lines)
}

/// Works a started run to its end in this process, its progress on `bar`.
async fn work(sync: &DailySync, run: SyncRun, bar: ProgressBar) -> Result<SyncRun, Error> {
    let done = match continue_run(
        &sync.ports(),
        run,
        || Duration::from_secs(3600),
        now_millis,
        |r| {
            bar.set_message(format!(
                "{} fetched, {} enqueued, {} rejected, {} pages",
                r.fetched, r.enqueued, r.rejected, r.pages
            ))
        },
    )
    .await?
    {
        Progress::Finished(run) | Progress::Paused(run) => run,
    };
    bar.finish_with_message(
        format!(
            "{:?}: {} fetched, {} enqueued, {} rejected",
            done.status, done.fetched, done.enqueued, done.rejected
        )
        .to_lowercase(),
    );
    Ok(done)
}

pub fn table(lines: &[RunLine]) -> String {
    let mut out = format!(
        "{:<11} {:<10} {:>8} {:>8} {:>8} {:>6}  {}\n",
        "data type", "status", "fetched", "enqueued", "rejected", "pages", "run (correlation id)"
    );
    for line in lines {
        match line {
            RunLine::Ran(r) => {
                out += &format!(
                    "{:<11} {:<10} {:>8} {:>8} {:>8} {:>6}  {}{}\n",
                    r.data_type.to_string(),
                    format!("{:?}", r.status).to_lowercase(),
                    r.fetched,
                    r.enqueued,
                    r.rejected,
                    r.pages,
                    match r.source() {
                        SQUARE_CONNECTOR => r.run_id.clone(),
                        pos => format!("{} ({pos})", r.run_id),
                    },
                    r.error_message
                        .as_ref()
                        .map(|m| format!(
                            "  {}: {m}",
                            r.error_class.map(|c| c.as_str()).unwrap_or("")
                        ))
                        .unwrap_or_default()
                );
                for (id, why) in &r.rejections {
                    out += &format!("{:<11}   rejected {id}: {why}\n", "");
                }
            }
            RunLine::Skipped { data_type, why } => {
                out += &format!("{:<11} {:<10} {why}\n", data_type.to_string(), "skipped")
            }
        }
    }
    out
}

/// `--dry-run`: what each data type's pull would change; writes nothing.
pub async fn dry(
    sync: &DailySync,
    tenant: &TenantId,
    data_types: &[DataType],
) -> Result<String, Error> {
    let mut out = format!(
        "{:<11} {:>8} {:>6} {:>8} {:>10} {:>8} {:>13}\n",
        "data type", "fetched", "new", "changed", "unchanged", "rejected", "would delete"
    );
    for &data_type in data_types {
        let r = dry_run(&sync.ports(), tenant, data_type, now_millis()).await?;
        out += &format!(
            "{:<11} {:>8} {:>6} {:>8} {:>10} {:>8} {:>13}\n",
            data_type.to_string(),
            r.fetched,
            r.new,
            r.changed,
            r.unchanged,
            r.rejected,
            r.would_delete
        );
    }
    out += "dry run: nothing was written or enqueued\n";
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_core::domain::sync_run::RunStatus;

    #[test]
    fn the_run_table_pads_the_data_type_column() {
        let run: SyncRun = serde_json::from_value(serde_json::json!({
            "runId": "sync-acme-1-ab", "tenantId": "acme", "dataType": "locations",
            "trigger": "manual", "status": "succeeded", "startedAt": "2026-06-01T02:00:00.000Z",
            "startedMillis": 0, "fetched": 2, "enqueued": 2, "rejected": 0, "pages": 1,
            "lastProgressMillis": 0
        }))
        .unwrap();
        assert_eq!(run.status, RunStatus::Succeeded);
        let text = table(&[RunLine::Ran(run)]);
        assert_eq!(
            text.lines().nth(1),
            Some("locations   succeeded         2        2        0      1  sync-acme-1-ab")
        );
    }
}
