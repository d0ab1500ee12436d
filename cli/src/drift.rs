//! `synchub drift --tenant T [--data-type D] [--run R]`: what a tenant's
//! full pulls found that webhooks had not delivered (missed), delivered
//! otherwise (changed, with the fields), or that the source no longer has
//! (gone), per id.

use crate::args::{DataType, Output, TenantArg};
use clap::Args;
use std::fmt::Write as _;
use synchub_core::app::daily_sync::{drift, DriftReport};
use synchub_lambda::DailySync;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Only this data type (a full one: catalog, categories, locations).
    #[arg(long, value_enum)]
    pub data_type: Option<DataType>,
    /// One run by id (as `synchub runs` lists them) instead of the newest.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    #[command(flatten)]
    pub output: Output,
}

/// The report `args` ask for, from the daily sync's run store.
pub async fn report(sync: &DailySync, args: &DriftArgs) -> Result<DriftReport, Error> {
    Ok(drift(
        &sync.runs,
        &args.tenant.tenant,
        args.data_type.map(Into::into),
        args.run.as_deref(),
    )
    .await?)
}

pub fn render(report: &DriftReport) -> String {
    if report.runs.is_empty() {
        return format!(
            "tenant {}: no complete full pull has recorded drift yet\n",
            report.tenant_id
        );
    }
    let mut out = String::new();
    for run in &report.runs {
        let c = run.counts;
        let _ = writeln!(
            out,
            "{} from {} — run {} started {} ({:?}): {} missed, {} changed, {} gone",
            run.data_type,
            run.source,
            run.run_id,
            run.started_at,
            run.status,
            c.missed,
            c.changed,
            c.gone
        );
        for e in &run.entries {
            let fields = match e.fields.is_empty() {
                true => String::new(),
                false => format!(" ({})", e.fields.join(", ")),
            };
            let _ = writeln!(out, "  {:<8} {}{fields}", e.kind.as_str(), e.id);
        }
    }
    out
}

/// Runs `synchub drift`: the text to print.
pub async fn run(args: DriftArgs) -> Result<String, Error> {
    let config = synchub_lambda::config::Config::from_env(&[])?;
    let aws = synchub_lambda::aws_config().await;
    let sync = DailySync::new(&aws, &config);
    let report = report(&sync, &args).await?;
    Ok(crate::ops::answer(&report, args.output.json, render)?)
}
