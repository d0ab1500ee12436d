//! API Gateway (HTTP API) requests in, JSON responses out.

use super::Ingest;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use synchub_core::app::ingest::{
    ingest_provider_webhook, ingest_supplier_webhook, ProviderRequest, WebhookRequest,
    WebhookResponse,
};
use synchub_core::domain::provider_webhook::{Provider, ShopifyMeta};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::webhook_signature::SignedHeaders;

/// Routes `POST /webhooks/{supplier|shopify|square}/{tenantId}`, whether the
/// HTTP API matched the route or a Function URL passed every request on.
pub async fn handle_webhook(ingest: &Ingest, request: Request) -> Response<Body> {
    let Some((source, tenant)) = route(request.uri().path()) else {
        ::metrics::counter!("WebhooksRefused", "class" => "VALIDATION_ERROR").increment(1);
        return to_response(WebhookResponse {
            status: 404,
            body: json!({"error": {"class": "VALIDATION_ERROR", "field": "path", "message": "no such webhook route; use /webhooks/{supplier|shopify|square}/{tenantId}"}}),
        });
    };
    if request.method() != lambda_http::http::Method::POST {
        ::metrics::counter!("WebhooksRefused", "class" => "VALIDATION_ERROR").increment(1);
        return to_response(WebhookResponse {
            status: 405,
            body: json!({"error": {"class": "VALIDATION_ERROR", "field": "method", "message": "webhooks are delivered with POST"}}),
        });
    }
    let tenant = request
        .path_parameters()
        .first("tenantId")
        .map(str::to_owned)
        .unwrap_or(tenant);
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let body: &[u8] = match request.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    let provider = match source.as_str() {
        "shopify" => Provider::Shopify,
        "square" => Provider::Square,
        _ => {
            return handle_supplier_webhook(
                ingest,
                &tenant,
                header("webhook-id"),
                header("webhook-timestamp"),
                header("webhook-signature"),
                body,
            )
            .await
        }
    };
    let webhook = ProviderRequest {
        provider,
        tenant: &tenant,
        signature: header(provider.signature_header()),
        shopify: ShopifyMeta {
            topic: header("x-shopify-topic"),
            event_id: header("x-shopify-event-id"),
            webhook_id: header("x-shopify-webhook-id"),
            triggered_at: header("x-shopify-triggered-at"),
        },
        body,
        now_millis: now_millis(),
    };
    to_response(ingest_provider_webhook(&ingest.provider_ports(), webhook).await)
}

/// `POST /webhooks/supplier/{tenantId}`.
async fn handle_supplier_webhook(
    ingest: &Ingest,
    tenant: &str,
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    let webhook = WebhookRequest {
        tenant,
        headers: SignedHeaders {
            id,
            timestamp,
            signature,
        },
        body,
        now_millis: now_millis(),
    };
    to_response(ingest_supplier_webhook(&ingest.ports(), webhook).await)
}

/// (source, tenant) of `/webhooks/{source}/{tenantId}`.
fn route(path: &str) -> Option<(String, String)> {
    let rest = path.trim_end_matches('/').strip_prefix("/webhooks/")?;
    let (source, tenant) = rest.split_once('/')?;
    (matches!(source, "supplier" | "shopify" | "square") && !tenant.contains('/'))
        .then(|| (source.to_owned(), tenant.to_owned()))
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
    fn the_route_names_the_source_and_the_tenant() {
        let r = |s: &str, t: &str| Some((s.to_owned(), t.to_owned()));
        assert_eq!(route("/webhooks/supplier/acme"), r("supplier", "acme"));
        assert_eq!(route("/webhooks/shopify/acme/"), r("shopify", "acme"));
        assert_eq!(route("/webhooks/square/acme"), r("square", "acme"));
        assert_eq!(route("/webhooks/supplier/a/b"), None);
        assert_eq!(route("/webhooks/stripe/acme"), None);
        assert_eq!(route("/other"), None);
    }
}
