//! sync-worker: applies queued events to DynamoDB in per-entity order.
//! All logic lives in `synchub::app::apply`; this only wires it to Lambda.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use synchub::config::Config;
use synchub::lambda::emf::{flush, init_metrics};
use synchub::lambda::{
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
        &Config::from_env(synchub::config::SYNC_WORKER)?,
    );
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        // Never past the invocation's deadline: what is unfinished goes back to SQS.
        let budget = budget_until(event.context.deadline, synchub::domain::time::now_millis());
        let response = handle_sync_batch_within(worker, event.payload, budget).await;
        flush();
        Ok::<_, Error>(response)
    }))
    .await
}
