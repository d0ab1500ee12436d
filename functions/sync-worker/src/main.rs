//! sync-worker: applies queued events to DynamoDB in per-entity order.
//! All logic lives in `synchub_core::app::apply`; this only wires it to Lambda.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use synchub_lambda::config::Config;
use synchub_lambda::emf::{flush, init_metrics};
use synchub_lambda::{
    aws_config, init_tracing,
    sqs::{budget_until, handle_sync_batch_within},
    Worker,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    init_metrics("sync-worker");
    let worker = Worker::new(
        &aws_config().await,
        &Config::from_env(synchub_lambda::config::SYNC_WORKER)?,
    );
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        // Never past the invocation's deadline: what is unfinished goes back to SQS.
        let budget = budget_until(
            event.context.deadline,
            synchub_core::domain::time::now_millis(),
        );
        let response = handle_sync_batch_within(worker, event.payload, budget).await;
        flush();
        Ok::<_, Error>(response)
    }))
    .await
}
