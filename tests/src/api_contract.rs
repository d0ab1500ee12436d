//! The operations API's contract, for the tests of every route: the checked-in
//! `openapi.yaml`, a checker that holds an answer to it, the HTTP API's
//! payload v2 events the routes receive, and a stack with the API built on
//! it. Each route's tests (tests/tests/api*.rs) call the router in-process
//! through `call`, and `Contract::check` each answer.

use crate::square_server::{SquareData, SquareServer};
use crate::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use synchub_core::app::apply::{apply_batch, Delivery};
use synchub_core::app::daily_sync::new_run;
use synchub_core::domain::sync_run::{RunStatus, SyncRun, Trigger};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::ports::RunLog;
use synchub_lambda::api::handle_api;
use synchub_lambda::Api;

// ---------------------------------------------------------------- the contract

pub fn openapi() -> Value {
    let text = std::fs::read_to_string(repo_root().join("openapi.yaml")).expect("openapi.yaml");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("openapi.yaml parses");
    serde_json::to_value(yaml).expect("openapi.yaml is plain JSON-shaped YAML")
}

/// Follows `$ref`s (`#/components/...`) to the schema or object they name.
pub fn resolve<'a>(doc: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local $refs: {reference}"));
        node = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref {reference}"));
    }
    node
}

/// What in `value` breaks `schema`: a missing required property (at any
/// depth, through objects and arrays), a value of the wrong JSON type, or a
/// value outside an `enum`.
pub fn problems(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = resolve(doc, schema);
    let mut out = Vec::new();
    if value.is_null() {
        if schema["nullable"] != true {
            out.push(format!("{at}: null, but the schema is not nullable"));
        }
        return out;
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(problems(doc, part, value, at));
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            out.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    let declared = schema["type"].as_str();
    let is_object = declared == Some("object")
        || schema.get("properties").is_some()
        || schema.get("required").is_some();
    if is_object {
        let Some(object) = value.as_object() else {
            out.push(format!("{at}: expected an object, got {value}"));
            return out;
        };
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                out.push(format!("{at}: required property {name} is missing"));
            }
        }
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            if let Some(v) = object.get(name) {
                out.extend(problems(doc, property, v, &format!("{at}.{name}")));
            }
        }
        if let Some(extra) = schema["additionalProperties"].as_object() {
            let known = schema["properties"].as_object();
            for (name, v) in object {
                if known.is_none_or(|k| !k.contains_key(name)) {
                    out.extend(problems(
                        doc,
                        &Value::Object(extra.clone()),
                        v,
                        &format!("{at}.{name}"),
                    ));
                }
            }
        }
        return out;
    }
    match declared {
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    out.extend(problems(doc, &schema["items"], item, &format!("{at}[{i}]")));
                }
            }
            None => out.push(format!("{at}: expected an array, got {value}")),
        },
        Some("string") if !value.is_string() => {
            out.push(format!("{at}: expected a string, got {value}"))
        }
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            out.push(format!("{at}: expected an integer, got {value}"))
        }
        Some("boolean") if !value.is_boolean() => {
            out.push(format!("{at}: expected a boolean, got {value}"))
        }
        _ => {}
    }
    out
}

/// The operations the document lists, as `METHOD /path/template`.
pub fn operations(doc: &Value) -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                ops.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    ops
}

/// Holds answers to the document and remembers which operations answered
/// with a success and with an error.
pub struct Contract {
    pub doc: Value,
    pub succeeded: BTreeSet<String>,
    pub failed: BTreeSet<String>,
}

impl Default for Contract {
    fn default() -> Self {
        Self::new()
    }
}

impl Contract {
    pub fn new() -> Self {
        Self {
            doc: openapi(),
            succeeded: BTreeSet::new(),
            failed: BTreeSet::new(),
        }
    }

    /// Checks one answer of `operation` (`METHOD /path/template`).
    pub fn check(&mut self, operation: &str, status: u16, body: &Value) {
        let (method, path) = operation.split_once(' ').unwrap();
        let op = &self.doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{operation} is not in openapi.yaml");
        let responses = op["responses"].as_object().unwrap();
        let Some(response) = responses.get(&status.to_string()) else {
            panic!(
                "{operation} answered {status}, which openapi.yaml does not list ({:?}): {body}",
                responses.keys().collect::<Vec<_>>()
            );
        };
        let response = resolve(&self.doc, response);
        let schema = &response["content"]["application/json"]["schema"];
        let found = problems(&self.doc, schema, body, "$");
        assert!(
            found.is_empty(),
            "{operation} {status} does not match openapi.yaml: {found:#?}\n{body:#}"
        );
        if status < 400 {
            self.succeeded.insert(operation.to_owned());
        } else {
            self.failed.insert(operation.to_owned());
        }
    }

    /// Checks an answer against the shared error schema (routes the
    /// document cannot list: unknown paths, wrong methods).
    pub fn check_error(&self, body: &Value) {
        let schema = json!({"$ref": "#/components/schemas/Error"});
        let found = problems(&self.doc, &schema, body, "$");
        assert!(found.is_empty(), "{found:#?}\n{body:#}");
    }
}

// ------------------------------------------------------------ calling the API

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The HTTP API's payload v2 event for a request, as Lambda receives it.
pub fn api_event(method: &str, path: &str, query: &[(&str, &str)], body: Option<&str>) -> Value {
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {"content-type": "application/json", "host": "localhost"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "synchub-test"},
            "requestId": format!("req-{}", rand::random::<u32>()), "routeKey": "$default",
            "stage": "$default", "time": "01/Jun/2026:10:00:00 +0000", "timeEpoch": now_millis()
        },
        "isBase64Encoded": false
    });
    if !query.is_empty() {
        event["queryStringParameters"] = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event
}

/// One answer: status, the `allow` header, the JSON body.
pub struct Answer {
    pub status: u16,
    pub allow: Option<String>,
    pub body: Value,
}

pub async fn call(
    api: &Api,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let event = api_event(method, path, query, body);
    let request = lambda_http::request::from_str(&event.to_string())
        .expect("a well-formed API Gateway event");
    let response = handle_api(api, request).await;
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).expect("every answer is JSON"),
        other => panic!("expected a JSON text body, got {other:?}"),
    };
    // Every answer, success or error, says which request it was and how long it took.
    let id = body["correlationId"]
        .as_str()
        .unwrap_or_else(|| panic!("no correlationId: {body}"));
    assert!(id.starts_with("sync-"), "{id}");
    assert!(body["durationMs"].is_u64(), "no durationMs: {body}");
    Answer {
        status,
        allow,
        body,
    }
}

pub async fn get(api: &Api, path: &str, query: &[(&str, &str)]) -> Answer {
    call(api, "GET", path, query, None).await
}

pub async fn post(api: &Api, path: &str, body: &str) -> Answer {
    call(api, "POST", path, &[], Some(body)).await
}

// ------------------------------------------------------------------- fixtures

pub const TOKEN: &str = "EAAA-api-test-token";

pub struct Setup {
    pub stack: TestStack,
    pub square: SquareServer,
    pub api: Api,
}

/// A stack whose Square stand-in serves `data`, with the API built on it.
pub async fn setup(data: SquareData) -> Setup {
    let mut stack = TestStack::new().await;
    let square = SquareServer::start(data, 10).await;
    stack.config.square_base_url = square.url.clone();
    let api = Api::new(&stack.aws, &stack.config);
    Setup { stack, square, api }
}

impl Setup {
    /// A tenant with a Square token.
    pub async fn tenant(&self) -> String {
        let tenant = self.stack.tenant(None).await;
        self.stack
            .put_parameter(&tenant.id, "square-token", TOKEN)
            .await;
        tenant.id
    }

    /// Saves a finished run of the tenant's, started `minutes_ago`.
    pub async fn seed_run(
        &self,
        tenant: &str,
        data_type: DataType,
        status: RunStatus,
        minutes_ago: i64,
    ) -> SyncRun {
        let started = now_millis() - minutes_ago * 60_000;
        let mut run = new_run(
            tenant,
            data_type,
            Trigger::Schedule,
            started,
            &self.api.sync.policy,
        );
        run.status = status;
        run.fetched = 10;
        run.enqueued = 9;
        run.rejected = 1;
        run.pages = 1;
        run.finished_at = Some(synchub_core::domain::time::canonical_time(
            time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(started + 1_000) * 1_000_000,
            )
            .unwrap(),
        ));
        if status == RunStatus::Failed {
            run.error_class = Some(synchub_core::ErrorClass::NetworkError);
            run.error_message = Some("Square 503 after 5 attempts".into());
        }
        self.api.sync.runs.save(&run).await.expect("save run");
        run
    }

    /// Applies supplier deliveries of one SKU through the worker's use case,
    /// in the order given: (event id, minute of its updatedAt).
    pub async fn deliver(&self, tenant: &str, sku: &str, events: &[(&str, i64)]) {
        let worker = self.stack.worker();
        for (i, (event, minute)) in events.iter().enumerate() {
            let delivery = Delivery {
                message_id: format!("msg-{event}-{i}"),
                body: queued(tenant, &supplier_event(event, sku, 5, &at_minute(*minute))),
                receive_count: 1,
            };
            let report = apply_batch(&worker.ports(), &[delivery]).await;
            assert!(report.retry.is_empty(), "{report:?}");
        }
    }

    pub async fn queue_depth(&self, url: &str) -> usize {
        synchub_cli::event_source::LocalEventSource::new(self.stack.sqs(), url)
            .depth()
            .await
            .expect("queue depth")
    }
}

pub fn run_ids(body: &Value, list: &str) -> Vec<String> {
    body[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {body}"))
        .iter()
        .filter_map(|r| r["runId"].as_str().map(str::to_owned))
        .collect()
}
