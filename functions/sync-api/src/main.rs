//! sync-api: the operations API (`/api/*`, IAM authorized): health, tenant
//! status, traces, run history and manual runs. All logic lives in
//! `synchub_ops` and `synchub_core::app::daily_sync`; this only wires it to
//! Lambda. One thread: a Lambda environment handles one invocation at a time.

use lambda_http::{run, service_fn, Error, Request};
use synchub_lambda::config::Config;
use synchub_lambda::emf::{api_route, count_api_request, flush, init_metrics};
use synchub_lambda::{api::handle_api, aws_config, init_tracing, Api};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    init_metrics("sync-api");
    let api = Api::new(
        &aws_config().await,
        &Config::from_env(synchub_lambda::config::SYNC_API)?,
    );
    let api = &api;
    run(service_fn(move |request: Request| async move {
        let route = api_route(request.method(), request.uri().path());
        let response = handle_api(api, request).await;
        count_api_request(route, response.status().as_u16());
        flush();
        Ok::<_, Error>(response)
    }))
    .await
}
