//! `synchub`: the operator CLI. `synchub trace` explains an entity's history;
//! `replay`, `sync` and `backfill` act on a tenant's data through the same use
//! cases the functions run. Every AWS call goes to the endpoints the standard
//! `AWS_*` variables name. With the `demo` feature, `synchub demo` runs the
//! local demo.

use clap::{CommandFactory, Parser};
use std::process::ExitCode;
use synchub::adapters::dynamodb::DynamoAuditLog;
use synchub::config::Config;
use synchub::domain::square::DataType;
use synchub::domain::sync_run::RunStatus;
use synchub::domain::{EntityKey, TargetStatus, TenantId};
use synchub_cli::args::{Cli, Command, Target};
use synchub_cli::sync::RunLine;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args).await,
        Command::Replay {
            tenant,
            error_class,
            dry_run,
        } => replay(&tenant.tenant, error_class.into(), dry_run).await,
        Command::Sync {
            tenant,
            data_type,
            dry_run,
            force,
        } => {
            let data_types = data_type.map_or_else(|| DataType::ALL.to_vec(), |d| vec![d.into()]);
            sync(&tenant.tenant, &data_types, dry_run, force).await
        }
        Command::Backfill {
            tenant,
            target,
            since,
            dry_run,
        } => backfill(&tenant.tenant, target, since.as_deref(), dry_run).await,
        Command::Trace { tenant, entity } => {
            // Checked here, before any AWS call: the id's rule depends on the kind.
            let key = entity
                .key(tenant.tenant)
                .unwrap_or_else(|e| usage_error("trace", format!("invalid --id: {e}")));
            trace(&key).await
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("{}", synchub_cli::error_report(&*e));
            ExitCode::from(2)
        }
    }
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

async fn replay(
    tenant: &TenantId,
    class: synchub::ErrorClass,
    dry_run: bool,
) -> Result<bool, Error> {
    let config = Config::from_env(&["SYNC_QUEUE_URL"])?;
    let aws = synchub::lambda::aws_config().await;
    let store = synchub::adapters::alerts::DynamoAlertStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        &config.notifications_table,
        config.audit_ttl,
    );
    let queue = synchub::adapters::sqs::SqsQueue::new(
        aws_sdk_sqs::Client::new(&aws),
        &config.sync_queue_url,
    );
    let done = synchub_cli::replay::replay(&store, &queue, tenant.as_str(), class, dry_run).await?;
    for (event_id, outcome) in &done {
        println!("{event_id}  {outcome}");
    }
    println!("{} dead letter(s) of {tenant} / {class}", done.len());
    Ok(true)
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
        synchub::config::DAILY_SYNC
    };
    let config = Config::from_env(required)?;
    let aws = synchub::lambda::aws_config().await;
    let sync = synchub::lambda::DailySync::new(&aws, &config);
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
    let aws = synchub::lambda::aws_config().await;
    let worker = synchub::lambda::Worker::new(&aws, &config);
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

async fn trace(key: &EntityKey) -> Result<bool, Error> {
    let config = Config::from_env(&[])?;
    let aws = synchub::lambda::aws_config().await;
    let audit = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&aws), &config.audit_table);
    print!("{}", synchub_cli::trace::trace(&audit, key).await?);
    Ok(true)
}

#[cfg(feature = "demo")]
mod demo {
    use super::Error;
    use synchub_cli::args::DemoArgs;
    use synchub_cli::demo::DemoOptions;

    pub async fn run(args: DemoArgs) -> Result<bool, Error> {
        log_to_file(&args.log_file)?;
        let aws = synchub::lambda::aws_config().await;
        let options = DemoOptions {
            prefix: args.prefix,
            tenant: args.tenant,
            skus: args.skus,
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
