//! API Gateway (HTTP API) requests in, JSON responses out.

use super::Ingest;
use crate::adapters::now_millis;
use crate::app::ingest::{ingest_supplier_webhook, WebhookRequest, WebhookResponse};
use crate::domain::webhook_signature::SignedHeaders;
use lambda_http::{Body, Request, RequestExt, Response};

/// Handles `POST /webhooks/supplier/{tenantId}`.
pub async fn handle_supplier_webhook(ingest: &Ingest, request: Request) -> Response<Body> {
    let path_params = request.path_parameters();
    let tenant = path_params
        .first("tenantId")
        .map(str::to_owned)
        .or_else(|| tenant_from_path(request.uri().path()))
        .unwrap_or_default();
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let body: &[u8] = match request.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    let webhook = WebhookRequest {
        tenant: &tenant,
        headers: SignedHeaders { id: header("webhook-id"), timestamp: header("webhook-timestamp"), signature: header("webhook-signature") },
        body,
        now_millis: now_millis(),
    };
    to_response(ingest_supplier_webhook(&ingest.ports(), webhook).await)
}

/// `/webhooks/supplier/{tenantId}` when the router gave no path parameters.
fn tenant_from_path(path: &str) -> Option<String> {
    path.trim_end_matches('/').strip_prefix("/webhooks/supplier/").filter(|t| !t.contains('/')).map(str::to_owned)
}

pub fn to_response(r: WebhookResponse) -> Response<Body> {
    Response::builder()
        .status(r.status)
        .header("content-type", "application/json")
        .body(Body::Text(r.body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_is_read_from_the_path_when_no_parameters_were_given() {
        assert_eq!(tenant_from_path("/webhooks/supplier/acme"), Some("acme".into()));
        assert_eq!(tenant_from_path("/webhooks/supplier/acme/"), Some("acme".into()));
        assert_eq!(tenant_from_path("/webhooks/supplier/a/b"), None);
        assert_eq!(tenant_from_path("/other"), None);
    }
}
