//! A stand-in for API Gateway's HTTP API in front of webhook-ingest, for the
//! local stack: the event a webhook request becomes (payload v2, as Lambda
//! receives it), the headers each sender signs it with, and the real handler
//! invoked with it as the Lambda runtime would. The demo and the tests drive
//! the local stack through it.

use serde_json::{json, Value};
use synchub_core::domain::provider_webhook::{signed_parts, Provider, ProviderKey};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_lambda::{http::handle_webhook, Ingest};

/// The event for `POST /webhooks/supplier/{tenant}`.
pub fn apigw_event(tenant: &str, headers: &[(&str, String)], body: &str) -> Value {
    webhook_event("supplier", tenant, headers, body)
}

/// The event for `POST /webhooks/{source}/{tenant}`.
pub fn webhook_event(source: &str, tenant: &str, headers: &[(&str, String)], body: &str) -> Value {
    let path = format!("/webhooks/{source}/{tenant}");
    let route = format!("POST /webhooks/{source}/{{tenantId}}");
    let mut h: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    h.insert("content-type".into(), json!("application/json"));
    json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": h,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "synchub-local"},
            "requestId": format!("req-{}", rand::random::<u32>()), "routeKey": route,
            "stage": "$default", "time": "22/Nov/2026:10:00:00 +0000", "timeEpoch": now_millis()
        },
        "pathParameters": {"tenantId": tenant},
        "body": body,
        "isBase64Encoded": false
    })
}

/// A supplier's Standard Webhooks headers for a body, signed now.
pub fn signed_headers(
    secret: &WebhookSecret,
    webhook_id: &str,
    body: &str,
) -> Vec<(&'static str, String)> {
    let ts = now_millis() / 1000;
    vec![
        ("webhook-id", webhook_id.to_owned()),
        ("webhook-timestamp", ts.to_string()),
        (
            "webhook-signature",
            secret.sign(webhook_id, ts, body.as_bytes()),
        ),
    ]
}

/// Shopify's webhook headers for a body, signed with the app's client secret.
pub fn shopify_headers(
    secret: &str,
    topic: &str,
    event_id: &str,
    body: &str,
) -> Vec<(&'static str, String)> {
    vec![
        (
            "x-shopify-hmac-sha256",
            ProviderKey::new(secret).sign(&signed_parts(Provider::Shopify, "", body.as_bytes())),
        ),
        ("x-shopify-topic", topic.to_owned()),
        ("x-shopify-event-id", event_id.to_owned()),
        ("x-shopify-webhook-id", format!("wh-{event_id}")),
        (
            "x-shopify-triggered-at",
            "2026-06-01T10:00:00.000Z".to_owned(),
        ),
        (
            "x-shopify-shop-domain",
            "test-shop.myshopify.com".to_owned(),
        ),
        ("x-shopify-api-version", "2025-10".to_owned()),
    ]
}

/// Square's webhook header for a body sent to `url` (the subscription's URL is signed too).
pub fn square_headers(key: &str, url: &str, body: &str) -> Vec<(&'static str, String)> {
    vec![(
        "x-square-hmacsha256-signature",
        ProviderKey::new(key).sign(&signed_parts(Provider::Square, url, body.as_bytes())),
    )]
}

/// Runs one request through the real handler, as the Lambda runtime would;
/// returns the status and the JSON body (`Null` when the body is not JSON).
///
/// # Panics
/// When `event` is not an API Gateway event (a bug in the caller, not input).
pub async fn invoke_ingest(ingest: &Ingest, event: &Value) -> (u16, Value) {
    let request = lambda_http::request::from_str(&event.to_string())
        .expect("a well-formed API Gateway event");
    // Boxed, so a test's own future stays within the compiler's layout depth.
    let response = Box::pin(handle_webhook(ingest, request)).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}
