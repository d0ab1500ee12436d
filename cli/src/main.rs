//! `synchub`: the operator CLI. `synchub demo` runs the local demo against the
//! engines named by the standard `AWS_ENDPOINT_URL_*` variables; `synchub
//! trace` explains an entity's history.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use synchub::adapters::dynamodb::DynamoAuditLog;
use synchub::config::Config;
use synchub::domain::{Sku, TenantId};

#[derive(Parser)]
#[command(
    name = "synchub",
    version,
    about = "Operate synchub: demo, trace, replay, sync, backfill"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Provision the stack on the configured endpoints and run the demo.
    Demo {
        #[arg(long, default_value = "synchub")]
        prefix: String,
        #[arg(long, default_value = "demo-shop")]
        tenant: String,
        #[arg(long, default_value_t = 40)]
        skus: usize,
        /// Where the functions' JSON logs go.
        #[arg(long, default_value = ".local/logs/demo-functions.jsonl")]
        log_file: std::path::PathBuf,
    },
    /// Send a tenant's dead letters of one error class back to the sync queue (once each).
    Replay {
        #[arg(long)]
        tenant: String,
        /// AUTH_ERROR, VALIDATION_ERROR, NETWORK_ERROR, DATABASE_ERROR, TIMEOUT_ERROR or UNKNOWN_ERROR.
        #[arg(long, value_parser = parse_error_class)]
        error_class: synchub::ErrorClass,
        /// Show what would be replayed; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Pull from Square now: start runs like the daily schedule, show progress, then a table of runs.
    Sync {
        #[arg(long)]
        tenant: String,
        /// orders, catalog, categories, locations or inventory; all when omitted.
        #[arg(long, value_parser = parse_data_type)]
        data_type: Option<synchub::domain::square::DataType>,
        /// Pull and compare with what is stored; write and enqueue nothing.
        #[arg(long)]
        dry_run: bool,
        /// Start even if today's run already succeeded (never two at once).
        #[arg(long)]
        force: bool,
    },
    /// Send to a target the customers whose status there is skipped or failed (after switching it on, or after an outage).
    Backfill {
        #[arg(long)]
        tenant: String,
        /// pos or crm.
        #[arg(long)]
        target: String,
        /// Only customers whose last status was recorded at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// List who would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Every delivery about one catalog item, and why the stored one won.
    Trace {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        sku: String,
    },
}

fn parse_data_type(text: &str) -> Result<synchub::domain::square::DataType, String> {
    synchub::domain::square::DataType::parse(text).ok_or_else(|| {
        format!(
            "unknown data type {text:?}; one of orders, catalog, categories, locations, inventory"
        )
    })
}

fn parse_error_class(text: &str) -> Result<synchub::ErrorClass, String> {
    synchub::ErrorClass::parse(text).ok_or_else(|| {
        let names: Vec<&str> = synchub::ErrorClass::ALL
            .iter()
            .map(|c| c.as_str())
            .collect();
        format!("unknown error class {text:?}; one of {}", names.join(", "))
    })
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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let aws = synchub::lambda::aws_config().await;
    let result: Result<bool, Box<dyn std::error::Error + Send + Sync>> = match cli.command {
        Command::Demo { prefix, tenant, skus, log_file } => async {
            log_to_file(&log_file)?;
            let options = synchub_cli::demo::DemoOptions { prefix, tenant, skus, ..Default::default() };
            let ok = synchub_cli::demo::run(&aws, &options).await?;
            println!("\nfunction logs (JSON, one line per event, with correlation ids): {}", log_file.display());
            Ok(ok)
        }
        .await,
        Command::Replay { tenant, error_class, dry_run } => async {
            let config = Config::from_env();
            let store = synchub::adapters::alerts::DynamoAlertStore::new(aws_sdk_dynamodb::Client::new(&aws), &config.notifications_table, config.audit_ttl);
            let queue = synchub::adapters::sqs::SqsQueue::new(aws_sdk_sqs::Client::new(&aws), &config.sync_queue_url);
            let done = synchub_cli::replay::replay(&store, &queue, &TenantId::parse(&tenant)?.to_string(), error_class, dry_run).await?;
            for (event_id, outcome) in &done {
                println!("{event_id}  {outcome}");
            }
            println!("{} dead letter(s) of {tenant} / {error_class}", done.len());
            Ok(true)
        }
        .await,
        Command::Sync { tenant, data_type, dry_run, force } => async {
            let config = Config::from_env();
            let sync = synchub::lambda::DailySync::new(&aws, &config);
            let tenant = TenantId::parse(&tenant)?;
            let data_types = data_type.map(|d| vec![d]).unwrap_or_else(|| synchub::domain::square::DataType::ALL.to_vec());
            if dry_run {
                print!("{}", synchub_cli::sync::dry(&sync, &tenant, &data_types).await?);
                return Ok(true);
            }
            let lines = synchub_cli::sync::sync(&sync, &tenant, &data_types, force, false).await?;
            print!("{}", synchub_cli::sync::table(&lines));
            Ok(lines.iter().all(|l| !matches!(l, synchub_cli::sync::RunLine::Ran(r) if r.status == synchub::domain::sync_run::RunStatus::Failed)))
        }
        .await,
        Command::Backfill { tenant, target, since, dry_run } => async {
            let config = Config::from_env();
            let worker = synchub::lambda::Worker::new(&aws, &config);
            let tenant = TenantId::parse(&tenant)?;
            let (report, items) = synchub_cli::backfill::run(&worker.targets, &worker.items, &worker.tenants, config.flags, &tenant, &target, since.as_deref(), dry_run).await?;
            print!("{report}");
            Ok(items.iter().all(|i| i.result.as_ref().is_none_or(|s| s.status == "success")))
        }
        .await,
        Command::Trace { tenant, sku } => async {
            let config = Config::from_env();
            let audit = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&aws), &config.audit_table);
            print!("{}", synchub_cli::trace::trace_item(&audit, &TenantId::parse(&tenant)?, &Sku::parse(&sku)?).await?);
            Ok(true)
        }
        .await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("synchub: {e}");
            ExitCode::from(2)
        }
    }
}
