//! The demo's last step: the operator dashboard on the demo's data, served
//! the way `synchub dashboard` serves the local stack (the sync API's router
//! in this process), with the queues consumed as Lambda would, so a run
//! started from the page finishes. Until Ctrl-C.

use super::fakes::SquareLocations;
use super::Error;
use crate::dashboard::local_workers::LocalWorkers;
use crate::dashboard::{Backend, Dashboard};
use crate::ops::with_dead_letter_queues;
use aws_config::SdkConfig;
use synchub_core::domain::TenantId;
use synchub_lambda::config::Config;
use synchub_lambda::Api;

pub(super) async fn serve(
    aws: &SdkConfig,
    config: &Config,
    tenant: &TenantId,
    port: u16,
) -> Result<(), Error> {
    // Pulls and dry runs go to the Square stand-in.
    let square = SquareLocations::start().await;
    let mut config = with_dead_letter_queues(config.clone())?;
    config.square_base_url = square.uri();
    let api = Api::new(aws, &config);
    let _workers = LocalWorkers::start(aws, &config);
    let serving = Dashboard::new(Backend::InProcess(Box::new(api)))
        .start(port)
        .await?;
    println!("\ndashboard   {}", serving.url());
    println!(
        "            the demo's data on the local stack: health, {tenant}'s runs, the failure"
    );
    println!(
        "            the junk message caused, the gate, the flags. Try: start a locations run,"
    );
    println!("            trace SKU-000, dry-run a replay of the last hour, switch a target off.");
    println!("            Ctrl-C to stop (synchub demo --no-dashboard ends without it)");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
