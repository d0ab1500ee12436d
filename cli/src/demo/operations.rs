//! The demo's last word, as an operator would ask it: a pull of the
//! tenant's Square locations (`synchub sync`, so the tenant has a run to
//! show), then `synchub health`, `synchub status`, `synchub gate` and `synchub trace` for the
//! demo tenant, each through the functions its command calls.

use super::fakes::SquareLocations;
use super::Error;
use crate::event_source::LocalEventSource;
use crate::ops::{with_dead_letter_queues, Operations};
use crate::{gate, health, local, status, sync, trace};
use aws_config::SdkConfig;
use synchub_core::domain::DataType;
use synchub_core::domain::{EntityKind, TenantId};
use synchub_lambda::config::Config;
use synchub_lambda::{sqs::handle_sync_batch, DailySync, Worker};
use synchub_ops::trace::entity_key;

/// The SKU whose trace ends the demo.
const TRACED_SKU: &str = "SKU-000";

/// Pulls, then shows health, status and a trace; true when the pull's run
/// succeeded and status reports it with no failed collection.
pub(super) async fn run(
    aws: &SdkConfig,
    config: &Config,
    tenant: &TenantId,
) -> Result<bool, Error> {
    let square = SquareLocations::start().await;
    let mut config = config.clone();
    config.square_base_url = square.uri();
    pull_locations(aws, &config, tenant).await?;

    let ops = Operations::new(aws, &with_dead_letter_queues(config)?);
    println!("\noperations  what an operator asks the stack now");
    let health = ops.health().await?;
    println!(
        "\n$ synchub health        (exit status {})\n{}",
        health::exit_status(&health),
        health::render(&health)
    );
    let status = ops.status(tenant).await?;
    println!(
        "$ synchub status --tenant {tenant}        (exit status {})\n{}",
        status::exit_status(&status),
        status::render(&status)
    );
    let gate = ops.gate(None, None).await?;
    println!(
        "$ synchub gate        (exit status {})\n{}",
        gate::exit_status(&gate),
        gate::render(&gate)
    );
    let key = entity_key(tenant.clone(), EntityKind::CatalogItem, TRACED_SKU)?;
    println!(
        "$ synchub trace --tenant {tenant} --sku {TRACED_SKU}\n{}",
        trace::render(&ops.trace(&key).await?)
    );
    let pulled = status
        .last_runs
        .iter()
        .any(|r| r.data_type == DataType::Locations);
    Ok(pulled && status.failed_collections.is_empty())
}

/// `synchub sync --data-type locations` against the Square stand-in, then the
/// worker applies what the run enqueued.
async fn pull_locations(aws: &SdkConfig, config: &Config, tenant: &TenantId) -> Result<(), Error> {
    local::put_tenant_parameter(aws, config, tenant.as_str(), "square-token", "EAAA-demo").await?;
    let daily = DailySync::new(aws, config);
    let lines = sync::sync(&daily, tenant, &[DataType::Locations], true, true).await?;
    println!(
        "\n$ synchub sync --tenant {tenant} --data-type locations --force\n{}",
        sync::table(&lines)
    );
    let worker = Worker::new(aws, config);
    let source = LocalEventSource::new(aws_sdk_sqs::Client::new(aws), &config.sync_queue_url);
    while source
        .poll_once(|event| async { handle_sync_batch(&worker, event).await })
        .await?
        .received
        > 0
    {}
    Ok(())
}
