//! failure-notifier: turns dead letters and failed sync runs into rate-limited
//! SES emails. All logic lives in `synchub_core::app::notify`; this only wires it
//! to Lambda.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use synchub_lambda::config::Config;
use synchub_lambda::emf::{flush, init_metrics};
use synchub_lambda::notify::handle_failures_within;
use synchub_lambda::{aws_config, init_tracing, sqs::budget_until, Notifier};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    init_metrics("failure-notifier");
    let config = Config::from_env(synchub_lambda::config::FAILURE_NOTIFIER)?;
    let notifier = Notifier::new(&aws_config().await, &config);
    let (notifier, notify_queue_url) = (&notifier, config.notify_queue_url.as_str());
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        // Never past the invocation's deadline: what is unfinished goes back to SQS.
        let budget = budget_until(
            event.context.deadline,
            synchub_core::domain::time::now_millis(),
        );
        let response =
            handle_failures_within(notifier, notify_queue_url, event.payload, budget).await;
        flush();
        Ok::<_, Error>(response)
    }))
    .await
}
