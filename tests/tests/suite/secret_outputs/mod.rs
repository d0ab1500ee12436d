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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use synchub_core::domain::time::now_millis;
use synchub_tests::chaos::{Ended, Environment};
use synchub_tests::*;

mod leaks;

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
                    if let Ok(row) = synchub_aws::dynamodb::decode_row(item.clone(), "Scan") {
                        if let Some(change) = row.change {
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
