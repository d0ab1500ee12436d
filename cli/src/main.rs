//! `synchub`: the operator CLI. `synchub demo` runs the local demo against the
//! engines named by the standard `AWS_ENDPOINT_URL_*` variables; `synchub
//! trace` explains an entity's history.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use synchub::adapters::dynamodb::DynamoAuditLog;
use synchub::config::Config;
use synchub::domain::{Sku, TenantId};

#[derive(Parser)]
#[command(name = "synchub", version, about = "Operate synchub: demo, trace")]
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
    /// Every delivery about one catalog item, and why the stored one won.
    Trace {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        sku: String,
    },
}

/// The functions' JSON log lines, written where the demo tells the user to look.
fn log_to_file(path: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::File::create(path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
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
