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
    },
    /// Every delivery about one catalog item, and why the stored one won.
    Trace {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        sku: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let aws = synchub::lambda::aws_config().await;
    let result: Result<bool, Box<dyn std::error::Error + Send + Sync>> = match cli.command {
        Command::Demo { prefix, tenant, skus } => {
            let options = synchub_cli::demo::DemoOptions { prefix, tenant, skus, ..Default::default() };
            synchub_cli::demo::run(&aws, &options).await
        }
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
