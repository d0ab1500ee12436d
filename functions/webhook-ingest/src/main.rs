//! webhook-ingest: verifies, validates and enqueues signed supplier, Shopify and Square webhooks.
//! All logic lives in `synchub_core::app::ingest`; this only wires it to Lambda.
//! One thread: a Lambda environment handles one invocation at a time, and a
//! multi-threaded runtime would spend its CPU waking idle workers.

use lambda_http::{run, service_fn, Error, Request};
use synchub_lambda::config::Config;
use synchub_lambda::emf::{flush, init_metrics};
use synchub_lambda::{aws_config, http::handle_webhook, init_tracing, Ingest};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    init_metrics("webhook-ingest");
    let ingest = Ingest::new(
        &aws_config().await,
        &Config::from_env(synchub_lambda::config::WEBHOOK_INGEST)?,
    );
    let ingest = &ingest;
    run(service_fn(move |request: Request| async move {
        let response = handle_webhook(ingest, request).await;
        flush();
        Ok::<_, Error>(response)
    }))
    .await
}
