//! daily-sync: pulls every data type from the POS once a day (and on
//! demand), one checkpointed run per (tenant, data type). All logic lives in
//! `synchub_core::app::daily_sync`; this only wires it to Lambda.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use synchub_lambda::config::Config;
use synchub_lambda::emf::{flush, init_metrics};
use synchub_lambda::{aws_config, daily_sync::handle, init_tracing, DailySync};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    init_metrics("daily-sync");
    let sync = DailySync::new(
        &aws_config().await,
        &Config::from_env(synchub_lambda::config::DAILY_SYNC)?,
    );
    let sync = &sync;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let answer = handle(sync, event.payload, event.context.deadline).await;
        flush();
        answer
    }))
    .await
}
