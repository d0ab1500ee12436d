//! sync-worker: applies queued events to DynamoDB in per-entity order.
//! All logic lives in `synchub::app::apply`; this only wires it to Lambda.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use synchub::config::Config;
use synchub::lambda::emf::{flush, init_metrics};
use synchub::lambda::{aws_config, init_tracing, sqs::handle_sync_batch, Worker};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    init_metrics("sync-worker");
    let worker = Worker::new(
        &aws_config().await,
        &Config::from_env(synchub::config::SYNC_WORKER)?,
    );
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let response = handle_sync_batch(worker, event.payload).await;
        flush();
        Ok::<_, Error>(response)
    }))
    .await
}
