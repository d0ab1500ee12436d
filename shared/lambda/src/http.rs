//! API Gateway (HTTP API) requests in, JSON responses out.

use super::Ingest;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use serde_json::Value;
use synchub_core::app::ingest::{
    ingest_provider_webhook, ingest_supplier_webhook, Accepted, IngestError, ProviderRequest,
    WebhookOutcome, WebhookRequest, MAX_BODY_BYTES,
};
use synchub_core::domain::provider_webhook::{Provider, ShopifyMeta};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::webhook_signature::SignedHeaders;

/// Routes `POST /webhooks/{supplier|shopify|square}/{tenantId}`, whether the
/// HTTP API matched the route or a Function URL passed every request on.
pub async fn handle_webhook(ingest: &Ingest, request: Request) -> Response<Body> {
    let Some((source, tenant)) = route(request.uri().path()) else {
        ::metrics::counter!("WebhooksRefused", "class" => "VALIDATION_ERROR").increment(1);
        return json_response(
            404,
            &json!({"error": {"class": "VALIDATION_ERROR", "field": "path", "message": "no such webhook route; use /webhooks/{supplier|shopify|square}/{tenantId}"}}),
        );
    };
    if request.method() != lambda_http::http::Method::POST {
        ::metrics::counter!("WebhooksRefused", "class" => "VALIDATION_ERROR").increment(1);
        return json_response(
            405,
            &json!({"error": {"class": "VALIDATION_ERROR", "field": "method", "message": "webhooks are delivered with POST"}}),
        );
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
    webhook_response(ingest_provider_webhook(&ingest.provider_ports(), webhook).await)
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
    webhook_response(ingest_supplier_webhook(&ingest.ports(), webhook).await)
}

/// (source, tenant) of `/webhooks/{source}/{tenantId}`.
fn route(path: &str) -> Option<(String, String)> {
    let rest = path.trim_end_matches('/').strip_prefix("/webhooks/")?;
    let (source, tenant) = rest.split_once('/')?;
    (matches!(source, "supplier" | "shopify" | "square") && !tenant.contains('/'))
        .then(|| (source.to_owned(), tenant.to_owned()))
}

/// A webhook's outcome over HTTP: 202 with what was accepted, or the
/// error's status and a body naming its class, field and rule; both carry
/// the correlation id.
pub fn webhook_response(outcome: WebhookOutcome) -> Response<Body> {
    let (status, mut body) = match &outcome.result {
        Ok(accepted) => (202, accepted_body(accepted)),
        Err(e) => (error_status(e), error_body(e)),
    };
    body["correlationId"] = json!(outcome.correlation_id);
    json_response(status, &body)
}

fn accepted_body(accepted: &Accepted) -> Value {
    match accepted {
        Accepted::Supplier {
            event_id,
            message_id,
        } => json!({"status": "accepted", "eventId": event_id, "messageId": message_id}),
        Accepted::Provider {
            event_id,
            topic,
            outcome,
        } => json!({"status": "accepted", "eventId": event_id, "topic": topic, "outcome": outcome}),
    }
}

/// The status a refusal answers with: the sender's mistakes 4xx, ours 5xx.
pub fn error_status(e: &IngestError) -> u16 {
    match e {
        IngestError::TooLarge => 413,
        IngestError::Unauthenticated(_) => 401,
        IngestError::InvalidJson(_) | IngestError::Invalid(_) => 400,
        IngestError::Misconfigured(_) => 500,
        IngestError::Unavailable(_) => 503,
    }
}

fn error_body(e: &IngestError) -> Value {
    let mut error = json!({"class": e.class(), "message": e.to_string()});
    match e {
        IngestError::Invalid(v) => {
            error["field"] = json!(v.field);
            error["rule"] = json!(v.rule);
        }
        IngestError::InvalidJson(_) => error["field"] = json!("body"),
        IngestError::TooLarge => {
            error["field"] = json!("body");
            error["rule"] = json!(format!("must be at most {MAX_BODY_BYTES} bytes"));
        }
        _ => {}
    }
    json!({ "error": error })
}

fn json_response(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
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

    fn answered(result: Result<Accepted, IngestError>) -> (u16, Value) {
        let response = webhook_response(WebhookOutcome {
            correlation_id: "wh-acme-1".into(),
            result,
        });
        let status = response.status().as_u16();
        let Body::Text(text) = response.body() else {
            panic!("not a text body")
        };
        (status, serde_json::from_str(text).unwrap())
    }

    #[test]
    fn an_accepted_webhook_is_a_202_naming_what_was_taken() {
        let (status, body) = answered(Ok(Accepted::Supplier {
            event_id: "evt-1".into(),
            message_id: "m-1".into(),
        }));
        assert_eq!(status, 202);
        assert_eq!(
            body,
            json!({"status": "accepted", "eventId": "evt-1", "messageId": "m-1", "correlationId": "wh-acme-1"})
        );
        let (_, body) = answered(Ok(Accepted::Provider {
            event_id: "e".into(),
            topic: "customers/create".into(),
            outcome: "queued".into(),
        }));
        assert_eq!(
            (&body["topic"], &body["outcome"]),
            (&json!("customers/create"), &json!("queued"))
        );
    }

    #[test]
    fn each_refusal_has_its_status_and_names_its_class_field_and_rule() {
        use synchub_core::domain::webhook_signature::SignatureError;
        use synchub_core::domain::ValidationError;
        use synchub_core::ports::PortError;
        use synchub_core::ErrorClass;
        let down = || PortError::new("SQS", "SendMessage", ErrorClass::NetworkError, "reset");
        let cases = [
            (IngestError::TooLarge, 413, Some("body")),
            (
                IngestError::Unauthenticated(SignatureError::MissingHeader("webhook-id")),
                401,
                None,
            ),
            (IngestError::InvalidJson("eof".into()), 400, Some("body")),
            (
                IngestError::Invalid(ValidationError::new("quantity", "must be at least 0")),
                400,
                Some("quantity"),
            ),
            (IngestError::Misconfigured(down()), 500, None),
            (IngestError::Unavailable(down()), 503, None),
        ];
        for (error, want, field) in cases {
            let class = error.class();
            let (status, body) = answered(Err(error));
            assert_eq!(status, want, "{body}");
            assert_eq!(body["error"]["class"], json!(class), "{body}");
            assert_eq!(body["error"]["field"].as_str(), field, "{body}");
            assert_eq!(body["correlationId"], "wh-acme-1");
        }
        let (_, body) = answered(Err(IngestError::TooLarge));
        assert_eq!(
            body["error"]["rule"],
            format!("must be at most {MAX_BODY_BYTES} bytes")
        );
    }
}
