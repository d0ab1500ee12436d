//! `synchub`: the operator CLI. `health`, `status`, `flags`, `runs` and
//! `trace` answer the operator's questions through the use cases the sync API
//! calls (`--json` prints the same JSON); `replay`, `sync` and `backfill` act
//! on a tenant's data through the same use cases the functions run. Every AWS
//! call goes to the endpoints the standard `AWS_*` variables name. With the
//! `demo` feature, `synchub demo` runs the local demo.

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;
use synchub_cli::args::{Cli, Command, Output, ReplayArgs, SyncArgs, Target};
use synchub_cli::ops::{answer, with_dead_letter_queues, Operations};
use synchub_cli::sync::RunLine;
use synchub_core::domain::sync_run::RunStatus;
use synchub_core::domain::DataType;
use synchub_core::domain::{EntityKey, TargetStatus, TenantId};
use synchub_lambda::config::Config;
use synchub_ops::ReplayRequest;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The exit status of a command that either did all it was asked or did not.
fn done(all_ok: bool) -> u8 {
    u8::from(!all_ok)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&synchub_cli::help::command().get_matches())
        .unwrap_or_else(|e| e.exit());
    match run(cli.command).await {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("{}", synchub_cli::error_report(&*e));
            ExitCode::from(2)
        }
    }
}

/// Runs the command; its exit status (2 for an error, as clap's for a usage error).
async fn run(command: Command) -> Result<u8, Error> {
    match command {
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args).await.map(done),
        Command::Dashboard(args) => synchub_cli::dashboard::run(args).await.map(|()| 0),
        Command::Cost(args) => synchub_cli::cost::run(&args).map(printed),
        Command::Replay(args) => replay_command(args).await,
        Command::Sync(args) => sync_command(args).await,
        Command::Backfill {
            tenant,
            target,
            since,
            dry_run,
        } => backfill(&tenant.tenant, target, since.as_deref(), dry_run)
            .await
            .map(done),
        Command::Maintenance { action, output } => {
            synchub_cli::maintenance::command(action, output.json).await
        }
        Command::Ensure(args) => synchub_cli::ensure::ensure(*args).await,
        Command::Trace {
            tenant,
            entity,
            output,
        } => trace_command(tenant.tenant, &entity, &output).await,
        Command::Health { output } => health(&output).await,
        Command::Reshard {
            from,
            to,
            dry_run,
            output,
        } => reshard(from, to, dry_run, &output).await,
        Command::Gate {
            since,
            until,
            output,
        } => gate(since.as_deref(), until.as_deref(), &output).await,
        Command::Metrics {
            since,
            until,
            tenant,
            output,
        } => metrics(since.as_deref(), until.as_deref(), tenant.as_ref(), &output).await,
        Command::MethodStats(args) => synchub_cli::ensure::method_stats(args).await,
        Command::Status { tenant, output } => status(&tenant.tenant, &output).await,
        Command::Flags { tenant, output } => flags(&tenant.tenant, &output).await,
        Command::Runs {
            tenant,
            limit,
            output,
        } => runs(&tenant.tenant, limit, &output).await,
        Command::Tenant { command } => tenant(command).await,
        Command::Drift(args) => synchub_cli::drift::run(args).await.map(printed),
        Command::Connector { command } => synchub_cli::connector::run(command)
            .await
            .map(printed_with_status),
    }
}

/// Prints a command's text answer; exit status 0.
fn printed(text: String) -> u8 {
    printed_with_status((text, 0))
}

/// Prints a command's text answer; its exit status.
fn printed_with_status((text, status): (String, u8)) -> u8 {
    print!("{text}");
    status
}

/// Pulls now: the data type asked for, or all of them.
async fn sync_command(args: SyncArgs) -> Result<u8, Error> {
    let data_types = args
        .data_type
        .map_or_else(|| DataType::ALL.to_vec(), |d| vec![d.into()]);
    sync(&args.tenant.tenant, &data_types, args.dry_run, args.force)
        .await
        .map(done)
}

/// Replays a window: the request from the command line's arguments.
async fn replay_command(args: ReplayArgs) -> Result<u8, Error> {
    let request = ReplayRequest {
        since: args.since.unwrap_or_else(|| hours_ago(24)),
        until: args.until.unwrap_or_else(|| hours_ago(0)),
        kinds: args.kinds.into_iter().map(Into::into).collect(),
        republish: args.republish,
        dry_run: !args.apply,
        error_class: args.error_class.map(Into::into),
    };
    replay(&args.tenant.tenant, &request, &args.output).await
}

/// Moves the items between shard counts, printing what it did.
async fn reshard(from: u16, to: u16, dry_run: bool, output: &Output) -> Result<u8, Error> {
    let report = synchub_cli::reshard::run(from, to, dry_run).await?;
    if output.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            synchub_cli::reshard::render(&report, from, to, dry_run)
        );
    }
    Ok(done(report.foreign.is_empty()))
}

/// Traces one entity, its id checked before any AWS call (the id's rule
/// depends on the kind).
async fn trace_command(
    tenant: TenantId,
    entity: &synchub_cli::args::EntityArgs,
    output: &Output,
) -> Result<u8, Error> {
    let key = entity
        .key(tenant)
        .unwrap_or_else(|e| usage_error("trace", format!("invalid --id: {e}")));
    trace(&key, output).await
}

/// Exits as clap does for a bad argument (status 2, the subcommand's usage).
fn usage_error(subcommand: &str, message: String) -> ! {
    let mut cli = Cli::command();
    cli.build();
    let command = cli
        .find_subcommand_mut(subcommand)
        .expect("the subcommand exists");
    command
        .error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

async fn replay(tenant: &TenantId, request: &ReplayRequest, output: &Output) -> Result<u8, Error> {
    let ops = operations(&Config::from_env(&["SYNC_QUEUE_URL"])?).await;
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    bar.set_message("reading the window");
    let report = ops.api.replay(tenant, request, &progress).await;
    bar.finish_and_clear();
    let report = report?;
    print!(
        "{}",
        answer(&report, output.json, synchub_cli::replay::render)?
    );
    Ok(synchub_cli::replay::exit_status(&report))
}

/// RFC 3339 `hours` ago.
fn hours_ago(hours: i64) -> String {
    let at = time::OffsetDateTime::now_utc() - time::Duration::hours(hours);
    synchub_core::domain::time::canonical_time(at)
}

/// Runs (or, with `dry_run`, compares) the pulls; false when a run failed.
async fn sync(
    tenant: &TenantId,
    data_types: &[DataType],
    dry_run: bool,
    force: bool,
) -> Result<bool, Error> {
    // A dry run only reads; a run enqueues what it pulls.
    let required = if dry_run {
        &[][..]
    } else {
        synchub_lambda::config::DAILY_SYNC
    };
    let config = Config::from_env(required)?;
    let aws = synchub_lambda::aws_config().await;
    let sync = synchub_lambda::DailySync::new(&aws, &config);
    if dry_run {
        print!(
            "{}",
            synchub_cli::sync::dry(&sync, tenant, data_types).await?
        );
        return Ok(true);
    }
    let lines = synchub_cli::sync::sync(&sync, tenant, data_types, force, false).await?;
    print!("{}", synchub_cli::sync::table(&lines));
    Ok(!lines
        .iter()
        .any(|l| matches!(l, RunLine::Ran(r) if r.status == RunStatus::Failed)))
}

/// Backfills one target; false when a customer could not be sent.
async fn backfill(
    tenant: &TenantId,
    target: Target,
    since: Option<&str>,
    dry_run: bool,
) -> Result<bool, Error> {
    let config = Config::from_env(&[])?;
    let aws = synchub_lambda::aws_config().await;
    let worker = synchub_lambda::Worker::new(&aws, &config);
    let (report, items) = synchub_cli::backfill::run(
        &worker.targets,
        &worker.items,
        &worker.tenants,
        config.flags,
        tenant,
        target.as_str(),
        since,
        dry_run,
    )
    .await?;
    print!("{report}");
    Ok(items
        .iter()
        .all(|i| i.result.as_ref().is_none_or(TargetStatus::is_success)))
}

/// The operator's questions, on the adapters the environment names (the
/// flags' deploy side too: `ENABLE_*` and `CANARY_TENANTS`).
async fn operations(config: &Config) -> Operations {
    Operations::new(&synchub_lambda::aws_config().await, config)
}

async fn trace(key: &EntityKey, output: &Output) -> Result<u8, Error> {
    let ops = operations(&Config::from_env(&[])?).await;
    let trace = ops.trace(key).await?;
    print!(
        "{}",
        answer(&trace, output.json, synchub_cli::trace::render)?
    );
    Ok(0)
}

/// 0 healthy, 1 degraded, 2 unhealthy (as when health cannot be read).
async fn health(output: &Output) -> Result<u8, Error> {
    let ops = operations(&with_dead_letter_queues(Config::from_env(&[])?)?).await;
    let health = ops.health().await?;
    print!(
        "{}",
        answer(&health, output.json, synchub_cli::health::render)?
    );
    Ok(synchub_cli::health::exit_status(&health))
}

/// 1 when a signal misses.
async fn gate(since: Option<&str>, until: Option<&str>, output: &Output) -> Result<u8, Error> {
    let ops = operations(&Config::from_env(&[])?).await;
    let gate = ops.gate(since, until).await?;
    print!("{}", answer(&gate, output.json, synchub_cli::gate::render)?);
    Ok(synchub_cli::gate::exit_status(&gate))
}

async fn metrics(
    since: Option<&str>,
    until: Option<&str>,
    tenant: Option<&TenantId>,
    output: &Output,
) -> Result<u8, Error> {
    let ops = operations(&Config::from_env(&[])?).await;
    let report = ops.api.metrics(since, until, tenant).await?;
    print!(
        "{}",
        answer(&report, output.json, synchub_cli::metrics::render)?
    );
    Ok(0)
}

/// 1 when a collection's last run failed.
async fn status(tenant: &TenantId, output: &Output) -> Result<u8, Error> {
    let ops = operations(&Config::from_env(&[])?).await;
    let status = ops.status(tenant).await?;
    print!(
        "{}",
        answer(&status, output.json, synchub_cli::status::render)?
    );
    Ok(synchub_cli::status::exit_status(&status))
}

async fn flags(tenant: &TenantId, output: &Output) -> Result<u8, Error> {
    let ops = operations(&Config::from_env(&[])?).await;
    let flags = ops.flags(tenant).await?;
    print!(
        "{}",
        answer(&flags, output.json, |f| synchub_cli::status::flag_table(f))?
    );
    Ok(0)
}

/// Onboarding: the text the use case's answer renders to.
async fn tenant(command: synchub_cli::tenant::TenantCommand) -> Result<u8, Error> {
    let config = Config::from_env(&[])?;
    let aws = synchub_lambda::aws_config().await;
    let text = synchub_cli::tenant::run(&aws, &config, command).await?;
    print!("{text}");
    Ok(0)
}

async fn runs(tenant: &TenantId, limit: usize, output: &Output) -> Result<u8, Error> {
    let ops = operations(&Config::from_env(&[])?).await;
    let runs = ops.runs(tenant, limit).await?;
    print!(
        "{}",
        answer(&runs, output.json, |r| synchub_cli::status::run_table(
            &r.runs
        ))?
    );
    Ok(0)
}

#[cfg(feature = "demo")]
mod demo {
    use super::Error;
    use synchub_cli::args::DemoArgs;
    use synchub_cli::demo::DemoOptions;

    pub(crate) async fn run(args: DemoArgs) -> Result<bool, Error> {
        log_to_file(&args.log_file)?;
        let aws = synchub_lambda::aws_config().await;
        let options = DemoOptions {
            prefix: args.prefix,
            tenant: args.tenant,
            skus: args.skus,
            dashboard: (!args.no_dashboard).then_some(args.dashboard_port),
            ..Default::default()
        };
        let ok = synchub_cli::demo::run(&aws, &options).await?;
        println!(
            "\nfunction logs (JSON, one line per event, with correlation ids): {}",
            args.log_file.display()
        );
        Ok(ok)
    }

    /// The functions' JSON log lines, written where the demo tells the user to look.
    fn log_to_file(path: &std::path::Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::File::create(path)?;
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_target(false)
            .with_current_span(false)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
        Ok(())
    }
}
