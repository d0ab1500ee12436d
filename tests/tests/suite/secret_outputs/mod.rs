//! No tenant secret, token or valid signature ever leaves in what the
//! functions put out (issue 14). The real function binaries run the flows
//! that handle them, with logging at `debug` (the most an operator would
//! turn on): webhooks accepted and refused (bad signatures, another
//! tenant's secret, a stale timestamp, a body that fails validation), the
//! worker applying changes and calling the customer targets with their
//! tokens (one target refusing the token), a daily sync pulling Square with
//! its token (one data type refused), the notifier emailing dead letters
//! and the failed run, and the operations API answering and refusing.
//! Then every log line, every row of every table, every email and every
//! answer is searched for each seeded secret, token and valid signature.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use axum::body::Bytes;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use synchub_cli::local::sent_emails;
use synchub_core::domain::provider_webhook::{signed_parts, Provider, ProviderKey};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_tests::chaos::{function_binary, Ended, Environment};
use synchub_tests::square_server::{self, Fault, SquareData, SquareServer};
use synchub_tests::*;

/// What the test searches the outputs for: (what it is, its value).
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        assert!(value.len() >= 12, "a searchable value: {value}");
        self.0.push((what.into(), value));
    }

    /// A Standard Webhooks secret as stored, and its key on its own.
    fn add_webhook_secret(&mut self, whose: &str, text: &str) {
        self.add(format!("{whose} webhook secret"), text);
        let key = text.trim_start_matches("whsec_");
        self.add(format!("{whose} webhook key"), key);
    }

    /// A signature header's value: every `v1,<base64>` signature in it.
    fn add_signature(&mut self, what: &str, header: &str) {
        for part in header.split(' ') {
            let tag = part.split_once(',').map_or(part, |(_, tag)| tag);
            self.add(what, tag);
        }
    }
}

/// Everything the run put out: (where, text).
#[derive(Default)]
struct Outputs(Vec<(String, String)>);

impl Outputs {
    fn add(&mut self, place: impl Into<String>, text: impl Into<String>) {
        self.0.push((place.into(), text.into()));
    }

    fn count(&self, prefix: &str) -> usize {
        self.0.iter().filter(|(p, _)| p.starts_with(prefix)).count()
    }
}

/// The variables the functions read, for this stack.
fn function_env(stack: &TestStack, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let c = &stack.config;
    let mut env: Vec<(String, String)> = [
        ("ITEMS_TABLE", c.items_table.as_str()),
        ("AUDIT_TABLE", &c.audit_table),
        ("TENANTS_TABLE", &c.tenants_table),
        ("NOTIFICATIONS_TABLE", &c.notifications_table),
        ("RUNS_TABLE", &c.runs_table),
        ("SYNC_QUEUE_URL", &c.sync_queue_url),
        ("SYNC_DLQ_URL", &c.sync_dlq_url),
        ("RUNS_QUEUE_URL", &c.runs_queue_url),
        ("RUNS_DLQ_URL", &c.runs_dlq_url),
        ("NOTIFY_QUEUE_URL", &c.notify_queue_url),
        ("NOTIFY_DLQ_URL", &c.notify_dlq_url),
        ("TENANT_SECRETS_PATH", &c.tenant_secrets_path),
        ("MAINTENANCE_PARAMETER", &c.maintenance_parameter),
        ("ALERT_SENDER", &c.alert_sender),
        ("SQUARE_BASE_URL", &c.square_base_url),
        ("RUST_LOG", "debug"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

/// An HTTP API (payload v2) event for the operations API.
fn api_event(method: &str, path: &str, query: &[(&str, &str)], body: Option<&str>) -> Value {
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('#', "%23")))
        .collect::<Vec<_>>()
        .join("&");
    let parameters: serde_json::Map<String, Value> =
        query.iter().map(|(k, v)| ((*k).into(), json!(v))).collect();
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": raw_query,
        "queryStringParameters": parameters,
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "synchub-test"},
            "requestId": format!("req-{}", rand::random::<u32>()), "routeKey": "$default",
            "stage": "$default", "time": "22/Nov/2026:10:00:00 +0000", "timeEpoch": now_millis()
        },
        "body": body, "isBase64Encoded": false
    })
}

/// Invokes an HTTP function; its status and the whole answer as text.
async fn call(function: &Environment, event: &Value) -> (u16, String) {
    match function.invoke(Bytes::from(event.to_string()), None).await {
        Ended::Answered(Ok(answer)) => {
            let v: Value = serde_json::from_slice(&answer).expect("an HTTP answer");
            let status = v["statusCode"].as_u64().unwrap_or(0) as u16;
            (status, String::from_utf8_lossy(&answer).into_owned())
        }
        other => panic!("no answer: {other:?}"),
    }
}

/// Messages on a queue, visible or in flight (not the delayed ones: the
/// notifier's digests wait there for their window).
async fn depth(stack: &TestStack, queue_url: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attributes = stack
        .sqs()
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    attributes
        .values()
        .filter_map(|v| v.parse::<usize>().ok())
        .sum()
}

/// Drains a queue through a function binary, as the event source would.
async fn drain(
    stack: &TestStack,
    queue_url: &str,
    function: &Environment,
    outputs: &Mutex<Outputs>,
) {
    let mut source =
        synchub_cli::event_source::LocalEventSource::new(stack.sqs(), queue_url.to_owned());
    source.wait = Duration::ZERO;
    let started = Instant::now();
    while depth(stack, queue_url).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{queue_url} not drained"
        );
        let stats = source
            .poll_once(|event: SqsEvent| async move {
                let payload = Bytes::from(serde_json::to_vec(&event).unwrap());
                match function.invoke(payload, None).await {
                    Ended::Answered(Ok(answer)) => {
                        outputs.lock().unwrap().add(
                            "invocation answer",
                            String::from_utf8_lossy(&answer).into_owned(),
                        );
                        serde_json::from_slice::<SqsBatchResponse>(&answer).unwrap_or_default()
                    }
                    other => panic!("the function did not answer: {other:?}"),
                }
            })
            .await
            .expect("poll");
        if stats.received == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A HubSpot stand-in that refuses every token, as HubSpot answers an
/// expired one; it keeps the tokens it was shown.
async fn refusing_crm() -> (String, Arc<Mutex<Vec<String>>>) {
    let shown: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = shown.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let kept = kept.clone();
        async move {
            if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
                kept.lock().unwrap().push(auth.to_owned());
            }
            (
                axum::http::StatusCode::UNAUTHORIZED,
                [("content-type", "application/json")],
                json!({"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"}).to_string(),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, shown)
}

/// Every row of every table of the stack, as text (a kept change that was
/// compressed is searched unpacked too).
async fn all_rows(stack: &TestStack, outputs: &mut Outputs) {
    let c = &stack.config;
    for table in [
        &c.items_table,
        &c.audit_table,
        &c.tenants_table,
        &c.notifications_table,
        &c.runs_table,
    ] {
        let mut start = None;
        loop {
            let page = stack
                .dynamo()
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            for item in page.items() {
                outputs.add(format!("row of {table}"), format!("{item:?}"));
                if item.contains_key("changeZ") {
                    if let Ok(row) =
                        serde_dynamo::from_item::<_, synchub_core::domain::AuditRow>(item.clone())
                    {
                        if let Some(Ok(change)) = row.kept_change() {
                            outputs.add(format!("kept change in {table}"), change);
                        }
                    }
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_token_or_valid_signature_reaches_a_log_row_email_or_answer() {
    let mut stack = TestStack::new().await;
    let mut data = SquareData::empty();
    data.items = square_server::items(3);
    data.locations = square_server::locations(1);
    let square = SquareServer::start(data, 10).await;
    stack.config.square_base_url = square.url.clone();
    let (crm_url, crm_tokens) = refusing_crm().await;
    let recipient = format!("{}@example.com", unique("alerts"));
    let ops = format!("{}@example.com", unique("ops"));

    let a = stack.tenant_with(None, vec![recipient.clone()]).await;
    let b = stack.tenant(None).await;
    let p = stack.provider_tenant(vec![]).await;
    let square_token = format!("EAAA{}", unique("sq-token").replace('-', "x"));
    let hubspot_token = format!("pat-na1-{:032x}", rand::random::<u128>());
    stack
        .put_parameter(&p.id, "square-token", &square_token)
        .await;
    stack
        .put_parameter(&p.id, "hubspot-token", &hubspot_token)
        .await;
    let mut secrets = Secrets::default();
    secrets.add_webhook_secret("tenant A's", &a.secret_text);
    secrets.add_webhook_secret("tenant B's", &b.secret_text);
    secrets.add("Shopify secret", &p.shopify_secret);
    secrets.add("Square signature key", &p.square_key);
    secrets.add("Square token", &square_token);
    secrets.add("HubSpot token", &hubspot_token);

    let logs = std::env::temp_dir().join(format!("{}-secret-outputs", stack.prefix));
    std::fs::create_dir_all(&logs).unwrap();
    let env = function_env(
        &stack,
        &[
            ("HUBSPOT_BASE_URL", &crm_url),
            ("ENABLE_POS_SYNC", "true"),
            ("ENABLE_CRM_SYNC", "true"),
            ("TARGET_ATTEMPTS", "1"),
            ("ALERT_DEFAULT_RECIPIENT", &ops),
        ],
    );
    let start = |name: &'static str| {
        let env = env.clone();
        let log = logs.join(format!("{name}.log"));
        async move { Environment::start(function_binary(name), env, Duration::from_secs(20), log).await }
    };
    let ingest = start("webhook-ingest").await;
    let worker = start("sync-worker").await;
    let api = start("sync-api").await;
    let daily = start("daily-sync").await;
    let notifier = start("failure-notifier").await;
    let outputs = Mutex::new(Outputs::default());
    let answer = |what: &str, status: u16, text: String| {
        outputs
            .lock()
            .unwrap()
            .add(format!("answer to {what} ({status})"), text);
    };

    // Webhooks, accepted and refused.
    let body = supplier_event("evt-a1", "SKU-A1", 5, &at_minute(1)).to_string();
    let ts = now_millis() / 1000;
    let good = a.secret.sign("msg_a1", ts, body.as_bytes());
    secrets.add_signature("a valid supplier signature", &good);
    let with = |id: &str, ts: i64, signature: &str| {
        vec![
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", signature.to_owned()),
        ]
    };
    let (status, text) = call(
        &ingest,
        &apigw_event(&a.id, &with("msg_a1", ts, &good), &body),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    answer("a signed supplier webhook", status, text);
    // Signed with B's own secret, sent to A's path.
    let b_signed = b.secret.sign("msg_a2", ts, body.as_bytes());
    secrets.add_signature("B's valid signature", &b_signed);
    // Old enough to be refused as a replay, though the signature is right.
    let stale = a.secret.sign("msg_a3", ts - 3_600, body.as_bytes());
    secrets.add_signature("a valid but stale signature", &stale);
    // Right signature, body that fails validation.
    let bad_body = supplier_event("evt-a4", "SKU-A4", -5, &at_minute(1)).to_string();
    let signed_bad = a.secret.sign("msg_a4", ts, bad_body.as_bytes());
    secrets.add_signature("a valid signature on a bad body", &signed_bad);
    // Right signature among wrong ones, for a body changed after signing.
    let other = WebhookSecret::parse(&synchub_cli::local::new_signing_secret()).unwrap();
    let several = format!("{} {}", other.sign("msg_a5", ts, b"x"), good);
    for (what, tenant, headers, body, expected) in [
        (
            "B's signature on A's path",
            &a.id,
            with("msg_a2", ts, &b_signed),
            &body,
            401,
        ),
        (
            "a stale timestamp",
            &a.id,
            with("msg_a3", ts - 3_600, &stale),
            &body,
            401,
        ),
        (
            "a bad body",
            &a.id,
            with("msg_a4", ts, &signed_bad),
            &bad_body,
            400,
        ),
        (
            "A's signature on B's path",
            &b.id,
            with("msg_a1", ts, &good),
            &body,
            401,
        ),
        (
            "a signature list, body changed",
            &a.id,
            with("msg_a1", ts, &several),
            &bad_body,
            401,
        ),
    ] {
        let (status, text) = call(&ingest, &apigw_event(tenant, &headers, body)).await;
        assert_eq!(status, expected, "{what}: {text}");
        answer(what, status, text);
    }
    let customer =
        shopify_customer(11, "ada@example.com", "Ada", "2026-06-01T10:00:00-00:00").to_string();
    let shopify = shopify_headers(&p.shopify_secret, "customers/create", "e-s1", &customer);
    secrets.add_signature("a valid Shopify signature", &shopify[0].1);
    let (status, text) = call(
        &ingest,
        &webhook_event("shopify", &p.id, &shopify, &customer),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    answer("a signed Shopify webhook", status, text);
    let tampered = customer.replace("Ada", "Eve");
    let (status, text) = call(
        &ingest,
        &webhook_event("shopify", &p.id, &shopify, &tampered),
    )
    .await;
    assert_eq!(status, 401, "{text}");
    answer("a Shopify webhook changed after signing", status, text);
    let notice = json!({"merchant_id": "6SSW7HV8K2ST5", "type": "customer.updated", "event_id": "sq-e1", "created_at": "2026-06-01T10:00:00.528Z",
        "data": {"type": "customer", "id": "SQC1", "object": {"customer": {"id": "SQC1", "updated_at": "2026-06-01T10:00:00Z", "given_name": "Grace", "version": 2}}}}).to_string();
    let square_signed = square_headers(&p.square_key, &p.square_url, &notice);
    secrets.add_signature("a valid Square signature", &square_signed[0].1);
    let (status, text) = call(
        &ingest,
        &webhook_event("square", &p.id, &square_signed, &notice),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    answer("a signed Square webhook", status, text);
    let wrong_url = ProviderKey::new(&p.square_key).sign(&signed_parts(
        Provider::Square,
        "https://elsewhere.example.com/hook",
        notice.as_bytes(),
    ));
    secrets.add_signature("a Square signature for another URL", &wrong_url);
    let headers = vec![("x-square-hmacsha256-signature", wrong_url)];
    let (status, text) = call(&ingest, &webhook_event("square", &p.id, &headers, &notice)).await;
    assert_eq!(status, 401, "{text}");
    answer("a Square webhook signed for another URL", status, text);

    // The operations API: a manual pull (its locations refused by Square), answers and refusals.
    square.inject("/v2/locations", Fault::Unauthorized, 10);
    let runs = format!("/api/tenants/{}/runs", p.id);
    let replay = format!("/api/tenants/{}/replay", a.id);
    let hours_from_now = |h: i64| {
        synchub_core::domain::time::canonical_time(
            time::OffsetDateTime::now_utc() + time::Duration::hours(h),
        )
    };
    let window = json!({"since": hours_from_now(-2), "until": hours_from_now(1)}).to_string();
    let requests: Vec<(&str, Value, u16)> = vec![
        (
            "start runs",
            api_event(
                "POST",
                &runs,
                &[],
                Some(r#"{"dataTypes":["catalog","locations"]}"#),
            ),
            202,
        ),
        (
            "status",
            api_event("GET", &format!("/api/tenants/{}/status", p.id), &[], None),
            200,
        ),
        ("tenants", api_event("GET", "/api/tenants", &[], None), 200),
        (
            "a bad trace id",
            api_event(
                "GET",
                &format!("/api/tenants/{}/trace", a.id),
                &[("kind", "catalog_item"), ("id", "a#b")],
                None,
            ),
            400,
        ),
        (
            "an unknown tenant",
            api_event(
                "GET",
                &format!("/api/tenants/{}/status", unique("nobody")),
                &[],
                None,
            ),
            404,
        ),
        (
            "a replay dry run",
            api_event("POST", &replay, &[], Some(&window)),
            200,
        ),
        (
            "a bad replay",
            api_event("POST", &replay, &[], Some(r#"{"since":"soon"}"#)),
            400,
        ),
    ];
    for (what, event, expected) in &requests {
        let (status, text) = call(&api, event).await;
        assert_eq!(status, *expected, "{what}: {text}");
        answer(what, status, text);
    }

    // A record the worker must park, for the notifier.
    let poison = queued(
        &a.id,
        &json!({"eventId": "evt-p", "supplierId": "sup-1", "sku": "SKU-P", "quantity": -1, "updatedAt": at_minute(2)}),
    );
    stack
        .sqs()
        .send_message()
        .queue_url(&stack.config.sync_queue_url)
        .message_body(poison)
        .send()
        .await
        .expect("send the poison");
    drain(&stack, &stack.config.runs_queue_url, &daily, &outputs).await;
    drain(&stack, &stack.config.sync_queue_url, &worker, &outputs).await;
    drain(&stack, &stack.config.sync_dlq_url, &notifier, &outputs).await;
    drain(&stack, &stack.config.notify_queue_url, &notifier, &outputs).await;
    // The failure list and a trace, once the notifier and the worker did their part.
    let trace = api_event(
        "GET",
        &format!("/api/tenants/{}/trace", a.id),
        &[("kind", "catalog_item"), ("id", "SKU-A1")],
        None,
    );
    let failures = api_event("GET", "/api/failures", &[], None);
    for (what, event) in [("failures", failures), ("trace", trace)] {
        let (status, text) = call(&api, &event).await;
        assert_eq!(status, 200, "{text}");
        answer(what, status, text);
    }
    drop((ingest, worker, api, daily, notifier));

    // The secrets were in play: the tokens went out, the flows ran.
    assert!(
        square
            .authorizations()
            .contains(&format!("Bearer {square_token}")),
        "daily-sync pulled Square with the tenant's token"
    );
    assert!(
        crm_tokens
            .lock()
            .unwrap()
            .contains(&format!("Bearer {hubspot_token}")),
        "the worker called HubSpot with the tenant's token"
    );
    let mut outputs = outputs.into_inner().unwrap();
    for entry in std::fs::read_dir(&logs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (n, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
            outputs.add(format!("{name}:{}", n + 1), line);
        }
    }
    all_rows(&stack, &mut outputs).await;
    let moto = std::env::var("AWS_ENDPOINT_URL_SES").expect("the SES endpoint");
    for email in sent_emails(&moto).await.expect("moto's emails") {
        if email.to.contains(&recipient) || email.to.contains(&ops) {
            outputs.add(
                format!("email to {:?}", email.to),
                format!("{}\n{}", email.subject, email.body),
            );
        }
    }
    for (place, at_least) in [
        ("webhook-ingest.log", 10),
        ("sync-worker.log", 3),
        ("daily-sync.log", 3),
        ("failure-notifier.log", 2),
        ("sync-api.log", 9),
        ("row of ", 10),
        ("email to", 2),
        ("answer to", 19),
    ] {
        assert!(
            outputs.count(place) >= at_least,
            "{place}: {} entries, expected at least {at_least} (logs in {})",
            outputs.count(place),
            logs.display()
        );
    }
    // The search sees what the flows wrote: the event id of the accepted
    // webhook is in the ingest's log, the worker's rows and the trace.
    for place in ["webhook-ingest.log", "row of ", "answer to trace"] {
        assert!(
            outputs
                .0
                .iter()
                .any(|(p, text)| p.starts_with(place) && text.contains("evt-a1")),
            "evt-a1 not found in {place}"
        );
    }
    let mut leaks = Vec::new();
    for (what, value) in &secrets.0 {
        for (place, text) in &outputs.0 {
            if text.contains(value.as_str()) {
                leaks.push(format!("{what} in {place}: {text:.300}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks (logs in {}):\n{}",
        leaks.len(),
        logs.display(),
        leaks.join("\n")
    );
    let _ = std::fs::remove_dir_all(Path::new(&logs));
}
