//! webhook-ingest behind a Lambda Function URL (template parameter
//! WebhookFront=FunctionUrl): the event has no route key or path parameters
//! and every method and path reaches the function, so the handler routes
//! `/webhooks/{supplier|shopify|square}/{tenantId}` itself, exactly as the
//! HTTP API routes it. Real handler, secrets in SSM, queue in moto.

use serde_json::{json, Value};
use synchub_tests::*;

/// A request as a Function URL (auth type NONE) delivers it: payload format
/// 2.0 with `routeKey` `$default`, the raw path, no `pathParameters`.
fn function_url_event(method: &str, path: &str, headers: &[(&str, String)], body: &str) -> Value {
    let mut h: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    h.insert("content-type".into(), json!("application/json"));
    h.insert(
        "host".into(),
        json!("abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"),
    );
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": h,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "domainName": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "supplier/1.0"},
            "requestId": format!("fu-{}", rand::random::<u32>()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "02/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1_796_205_600_000_i64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

async fn queued(stack: &TestStack) -> Vec<Value> {
    let messages = stack
        .sqs()
        .receive_message()
        .queue_url(&stack.config.sync_queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    messages
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_signed_supplier_webhook_through_the_function_url_is_queued_as_through_the_http_api() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let body = supplier_event("evt-fu-1", "SKU-FU", 7, "2026-06-01T10:00:00Z").to_string();
    let path = format!("/webhooks/supplier/{}", tenant.id);
    let event = function_url_event(
        "POST",
        &path,
        &signed_headers(&tenant.secret, "msg_fu", &body),
        &body,
    );

    let (status, answer) = invoke_ingest(&stack.ingest(), &event).await;

    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["eventId"], "evt-fu-1");
    let queued = queued(&stack).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["tenantId"], tenant.id.as_str());
    assert_eq!(queued[0]["payload"]["sku"], "SKU-FU");
    assert_eq!(queued[0]["correlationId"], answer["correlationId"]);
}

#[tokio::test]
async fn shopify_and_square_webhooks_reach_their_routes_through_the_function_url() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let ingest = stack.ingest();
    let customer =
        shopify_customer(4242, "ada@example.com", "Ada", "2026-06-01T10:00:00.000Z").to_string();
    let shopify = function_url_event(
        "POST",
        &format!("/webhooks/shopify/{}", tenant.id),
        &shopify_headers(
            &tenant.shopify_secret,
            "customers/create",
            "ev-fu-1",
            &customer,
        ),
        &customer,
    );
    let (status, answer) = invoke_ingest(&ingest, &shopify).await;
    assert_eq!(status, 202, "{answer}");

    // Square signs the subscription's URL with the body: a Square webhook
    // through the Function URL verifies against the URL the tenant set.
    let square_body = json!({
        "merchant_id": "M1", "type": "customer.created", "event_id": "sq-fu-1",
        "created_at": "2026-06-01T10:00:00Z",
        "data": {"type": "customer", "id": "C1", "object": {"customer": {
            "id": "C1", "email_address": "grace@example.com", "given_name": "Grace",
            "updated_at": "2026-06-01T10:00:00Z", "version": 1}}}
    })
    .to_string();
    let square = function_url_event(
        "POST",
        &format!("/webhooks/square/{}", tenant.id),
        &square_headers(&tenant.square_key, &tenant.square_url, &square_body),
        &square_body,
    );
    let (status, answer) = invoke_ingest(&ingest, &square).await;
    assert_eq!(status, 202, "{answer}");
    let sources: Vec<String> = queued(&stack)
        .await
        .iter()
        .map(|q| q["source"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
}

#[tokio::test]
async fn methods_and_paths_the_http_api_never_routed_are_refused_and_nothing_is_queued() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let ingest = stack.ingest();
    let body = supplier_event("evt-fu-2", "SKU-FU", 7, "2026-06-01T10:00:00Z").to_string();
    let headers = signed_headers(&tenant.secret, "msg_fu_2", &body);
    let supplier = format!("/webhooks/supplier/{}", tenant.id);
    for (method, path, status, field) in [
        ("GET", supplier.as_str(), 405, "method"),
        ("PUT", supplier.as_str(), 405, "method"),
        ("POST", "/", 404, "path"),
        ("POST", "/webhooks/stripe/acme", 404, "path"),
        ("POST", "/webhooks/supplier", 404, "path"),
        ("POST", &format!("{supplier}/extra"), 404, "path"),
        ("POST", "/api/health", 404, "path"),
    ] {
        let event = function_url_event(method, path, &headers, &body);
        let (got, answer) = invoke_ingest(&ingest, &event).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{method} {path}");
        assert_eq!(answer["error"]["class"], "VALIDATION_ERROR");
    }
    assert!(queued(&stack).await.is_empty());
}

#[tokio::test]
async fn a_base64_encoded_body_through_the_function_url_is_verified_on_its_raw_bytes() {
    use base64::Engine;
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let body = supplier_event("evt-fu-3", "SKU-FU", 3, "2026-06-01T10:00:00Z").to_string();
    let mut event = function_url_event(
        "POST",
        &format!("/webhooks/supplier/{}", tenant.id),
        &signed_headers(&tenant.secret, "msg_fu_3", &body),
        "",
    );
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&body));
    event["isBase64Encoded"] = json!(true);
    let (status, answer) = invoke_ingest(&stack.ingest(), &event).await;
    assert_eq!(status, 202, "{answer}");
}

/// The answer without its per-request correlation id.
fn comparable(mut answer: Value) -> Value {
    if let Some(o) = answer.as_object_mut() {
        o.remove("correlationId");
    }
    answer
}

#[tokio::test]
async fn any_route_answers_the_same_through_either_front_door() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let stack = TestStack::new().await;
    let ingest = stack.ingest();
    let strategy = (
        proptest::sample::select(vec!["supplier", "shopify", "square", "stripe", "Supplier"]),
        "[A-Za-z0-9_-]{1,24}",
    );
    let mut runner = TestRunner::deterministic();
    for _ in 0..48 {
        let (source, tenant) = strategy.new_tree(&mut runner).unwrap().current();
        // A stale timestamp (and no provider signature) is refused before any
        // lookup, so the routes are compared without touching SSM or SQS.
        let body = supplier_event("evt-p", "SKU-P", 1, "2026-06-01T10:00:00Z").to_string();
        let headers = vec![
            ("webhook-id", "msg_p".to_owned()),
            ("webhook-timestamp", "1".to_owned()),
            ("webhook-signature", "v1,AAAA".to_owned()),
        ];
        let path = format!("/webhooks/{source}/{tenant}");
        let mut api = webhook_event(source, &tenant, &headers, &body);
        api["rawPath"] = json!(path);
        let url = function_url_event("POST", &path, &headers, &body);
        let (api_status, api_answer) = invoke_ingest(&ingest, &api).await;
        let (url_status, url_answer) = invoke_ingest(&ingest, &url).await;
        assert_eq!(
            api_status, url_status,
            "{path}: {api_answer} / {url_answer}"
        );
        assert_eq!(comparable(api_answer), comparable(url_answer), "{path}");
        assert!(matches!(url_status, 401 | 404), "{path}: {url_status}");
    }
}

#[test]
fn the_template_serves_webhooks_from_a_function_url_only_when_chosen() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let front = &t["Parameters"]["WebhookFront"];
    assert_eq!(front["Default"], "ApiGateway");
    let allowed: Vec<&str> = front["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(allowed, ["ApiGateway", "FunctionUrl"]);
    let resources = &t["Resources"];
    for name in [
        "WebhookIngestUrl",
        "WebhookIngestUrlPermission",
        "WebhookIngestUrlInvokePermission",
    ] {
        assert_eq!(
            resources[name]["Condition"], "WebhooksOnFunctionUrl",
            "{name} exists only with WebhookFront=FunctionUrl"
        );
    }
    // No IAM in front: the function verifies every signature itself.
    assert_eq!(
        resources["WebhookIngestUrl"]["Properties"]["AuthType"],
        "NONE"
    );
    let url_permission = &resources["WebhookIngestUrlPermission"]["Properties"];
    assert_eq!(url_permission["FunctionUrlAuthType"], "NONE");
    assert_eq!(
        resources["WebhookIngestUrlInvokePermission"]["Properties"]["InvokedViaFunctionUrl"],
        true
    );
    // The published base URL follows the choice.
    let base = format!("{:?}", t["Outputs"]["WebhookBaseUrl"]["Value"]);
    assert!(
        base.contains("WebhooksOnFunctionUrl") && base.contains("WebhookIngestUrl.FunctionUrl"),
        "{base}"
    );
    // Lambda's per-invocation start and report lines are off unless asked for.
    assert_eq!(t["Parameters"]["LambdaSystemLogLevel"]["Default"], "WARN");
}
