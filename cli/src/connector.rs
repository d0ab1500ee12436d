//! `synchub connector check FILE`: validates a manifest offline (the JSON
//! Schema, then the format's rules; every error names the file, line and
//! key) and prints what it would request per data type.
//! `synchub connector pull --tenant T --data-type D --dry-run`: the first
//! page of the tenant's POS, normalized as its run would enqueue it; nothing
//! is written or enqueued.

use crate::args::{DataType, Output, TenantArg};
use clap::{Args, Subcommand};
use std::fmt::Write as _;
use synchub_connectors::describe::{describe, ManifestPlan};
use synchub_connectors::{self as connector, PosConnection};
use synchub_core::app::daily_sync::{first_page, FirstPage};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::TenantId;
use synchub_core::ports::TenantDirectory;
use synchub_lambda::DailySync;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Subcommand)]
pub enum ConnectorCommand {
    /// Validate a manifest offline and print what it would request for each
    /// data type. Exit status 1 when it is invalid (each error names the
    /// file, line and key).
    Check {
        /// The manifest (connectors/<name>.yaml).
        file: std::path::PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// Pull the first page of a data type from the tenant's POS and print
    /// its normalized entities; writes and enqueues nothing.
    Pull(PullArgs),
}

#[derive(Debug, Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    #[arg(long, value_enum)]
    pub data_type: DataType,
    /// Which of the tenant's POS (needed when it runs several).
    #[arg(long)]
    pub connector: Option<String>,
    /// Only show what would be pulled (the only mode: the daily sync writes).
    #[arg(long, required = true)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: Output,
}

/// Checks a manifest's text as `file`: the text to print and whether it is valid.
pub fn check(file: &str, text: &str, json: bool) -> (String, bool) {
    match connector::load(file, text) {
        Ok(manifest) => {
            let plan = describe(&manifest);
            let out = match json {
                true => serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n",
                false => render_plan(file, &plan),
            };
            (out, true)
        }
        Err(errors) => {
            let mut out = format!("{file}: invalid ({} error(s))\n", errors.len());
            for e in errors {
                let _ = writeln!(out, "  {e}");
            }
            (out, false)
        }
    }
}

pub fn render_plan(file: &str, plan: &ManifestPlan) -> String {
    let mut out = format!(
        "{file}: valid — {} (format v{}, {})\n",
        plan.title, plan.version, plan.status
    );
    for (env, url) in &plan.environments {
        let _ = writeln!(out, "  environment {env:<10} {url}");
    }
    let list = |items: &[String]| match items.is_empty() {
        true => "none".to_owned(),
        false => items.join(", "),
    };
    let _ = writeln!(out, "  auth        {}", plan.auth);
    let _ = writeln!(out, "  secrets     {}", list(&plan.secrets));
    let _ = writeln!(out, "  settings    {}", list(&plan.settings));
    for s in &plan.streams {
        let query: Vec<String> = s.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut line = format!("{} {}", s.method, s.path);
        if !query.is_empty() {
            line.push('?');
            line.push_str(&query.join("&"));
        }
        let _ = writeln!(out, "{:<11} {line}", s.data_type.as_str());
        if let Some(body) = s.body {
            let _ = writeln!(out, "            with a {body} body");
        }
        if let Some(each) = &s.for_each {
            let _ = writeln!(out, "            once per item of {each}");
        }
        let _ = writeln!(out, "            pages: {}", s.pagination);
        let _ = writeln!(
            out,
            "            records at {}; id {}; updated {}{}",
            s.records,
            s.id,
            s.updated_at,
            s.incremental
                .as_ref()
                .map(|i| format!("; window on {i}"))
                .unwrap_or_default()
        );
    }
    out
}

/// The tenant's POS `connector` names, or its only one (Square when it names none).
pub fn chosen(
    tenant: &TenantId,
    sources: &[PosConnection],
    connector: Option<&str>,
) -> Result<PosConnection, Error> {
    let names: Vec<&str> = sources.iter().map(|p| p.connector.as_str()).collect();
    match connector {
        Some(name) => sources
            .iter()
            .find(|p| p.connector == name)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "tenant {tenant} does not run {name} (its POS: {})",
                    names.join(", ")
                )
                .into()
            }),
        None if sources.len() == 1 => Ok(sources[0].clone()),
        None => Err(format!(
            "tenant {tenant} runs several POS ({}): name one with --connector",
            names.join(", ")
        )
        .into()),
    }
}

/// Pulls the first page for `args` with the daily sync's adapters.
pub async fn pull(sync: &DailySync, args: &PullArgs) -> Result<FirstPage, Error> {
    let tenant = &args.tenant.tenant;
    let settings = sync
        .tenants
        .settings(tenant)
        .await?
        .ok_or_else(|| format!("unknown tenant {tenant}"))?;
    let pos = chosen(tenant, &settings.pos_sources(), args.connector.as_deref())?;
    Ok(first_page(
        &sync.source,
        &sync.tokens,
        tenant,
        &pos,
        args.data_type.into(),
        &sync.policy,
        now_millis(),
    )
    .await?)
}

pub fn render_page(page: &FirstPage) -> String {
    let mut out = format!(
        "{} {} for {}: {} record(s) on the first page, {} entit{} (dry run: nothing written){}\n",
        page.source,
        page.data_type,
        page.tenant_id,
        page.fetched,
        page.entities.len(),
        if page.entities.len() == 1 { "y" } else { "ies" },
        if page.more { "; more pages follow" } else { "" }
    );
    for e in &page.entities {
        let _ = writeln!(
            out,
            "  {:<28} {} {}{} {}",
            e.id,
            e.updated_at,
            e.event_id,
            if e.deleted { " (deleted)" } else { "" },
            serde_json::Value::Object(e.attributes.clone())
        );
    }
    for (id, why) in &page.rejected {
        let _ = writeln!(out, "  rejected {id}: {why}");
    }
    out
}

/// Runs a connector command; the text to print and the exit status.
pub async fn run(command: ConnectorCommand) -> Result<(String, u8), Error> {
    match command {
        ConnectorCommand::Check { file, output } => {
            let name = file.display().to_string();
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("cannot read {name}: {e}"))?;
            let (out, valid) = check(&name, &text, output.json);
            Ok((out, u8::from(!valid)))
        }
        ConnectorCommand::Pull(args) => {
            let config = synchub_lambda::config::Config::from_env(&[])?;
            let aws = synchub_lambda::aws_config().await;
            let sync = DailySync::new(&aws, &config);
            let page = pull(&sync, &args).await?;
            let out = crate::ops::answer(&page, args.output.json, render_page)?;
            Ok((out, 0))
        }
    }
}
