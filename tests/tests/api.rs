//! The operations API (sync-api) in-process against the local engines,
//! held to `openapi.yaml`: every documented operation is called for a
//! success and for an error, and each answer's status must be one the
//! document lists for it and its JSON must carry every property the
//! documented schema requires. Then the rules the API keeps: tenant
//! isolation, a trace names the winner of out-of-order deliveries, a dry run
//! answers counts and writes nothing, a dead letter makes health unhealthy.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use synchub::app::apply::{apply_batch, Delivery};
use synchub::app::daily_sync::new_run;
use synchub::domain::square::DataType;
use synchub::domain::sync_run::{RunStatus, SyncRun, Trigger};
use synchub::domain::time::now_millis;
use synchub::lambda::api::handle_api;
use synchub::lambda::Api;
use synchub::ports::RunLog;
use synchub_tests::square_server::{self, SquareData, SquareServer};
use synchub_tests::*;

// ---------------------------------------------------------------- the contract

fn openapi() -> Value {
    let text = std::fs::read_to_string(repo_root().join("openapi.yaml")).expect("openapi.yaml");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("openapi.yaml parses");
    serde_json::to_value(yaml).expect("openapi.yaml is plain JSON-shaped YAML")
}

/// Follows `$ref`s (`#/components/...`) to the schema or object they name.
fn resolve<'a>(doc: &'a Value, mut node: &'a Value) -> &'a Value {
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
fn problems(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
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
fn operations(doc: &Value) -> BTreeSet<String> {
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
struct Contract {
    doc: Value,
    succeeded: BTreeSet<String>,
    failed: BTreeSet<String>,
}

impl Contract {
    fn new() -> Self {
        Self {
            doc: openapi(),
            succeeded: BTreeSet::new(),
            failed: BTreeSet::new(),
        }
    }

    /// Checks one answer of `operation` (`METHOD /path/template`).
    fn check(&mut self, operation: &str, status: u16, body: &Value) {
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
    fn check_error(&self, body: &Value) {
        let schema = json!({"$ref": "#/components/schemas/Error"});
        let found = problems(&self.doc, &schema, body, "$");
        assert!(found.is_empty(), "{found:#?}\n{body:#}");
    }
}

// ------------------------------------------------------------ calling the API

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn encode(text: &str) -> String {
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
fn api_event(method: &str, path: &str, query: &[(&str, &str)], body: Option<&str>) -> Value {
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
struct Answer {
    status: u16,
    allow: Option<String>,
    body: Value,
}

async fn call(
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

async fn get(api: &Api, path: &str, query: &[(&str, &str)]) -> Answer {
    call(api, "GET", path, query, None).await
}

async fn post(api: &Api, path: &str, body: &str) -> Answer {
    call(api, "POST", path, &[], Some(body)).await
}

// ------------------------------------------------------------------- fixtures

const TOKEN: &str = "EAAA-api-test-token";

struct Setup {
    stack: TestStack,
    square: SquareServer,
    api: Api,
}

/// A stack whose Square stand-in serves `data`, with the API built on it.
async fn setup(data: SquareData) -> Setup {
    let mut stack = TestStack::new().await;
    let square = SquareServer::start(data, 10).await;
    stack.config.square_base_url = square.url.clone();
    let api = Api::new(&stack.aws, &stack.config);
    Setup { stack, square, api }
}

impl Setup {
    /// A tenant with a Square token.
    async fn tenant(&self) -> String {
        let tenant = self.stack.tenant(None).await;
        self.stack
            .put_parameter(&tenant.id, "square-token", TOKEN)
            .await;
        tenant.id
    }

    /// Saves a finished run of the tenant's, started `minutes_ago`.
    async fn seed_run(
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
        run.finished_at = Some(synchub::domain::time::canonical_time(
            time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(started + 1_000) * 1_000_000,
            )
            .unwrap(),
        ));
        if status == RunStatus::Failed {
            run.error_class = Some(synchub::ErrorClass::NetworkError);
            run.error_message = Some("Square 503 after 5 attempts".into());
        }
        self.api.sync.runs.save(&run).await.expect("save run");
        run
    }

    /// Applies supplier deliveries of one SKU through the worker's use case,
    /// in the order given: (event id, minute of its updatedAt).
    async fn deliver(&self, tenant: &str, sku: &str, events: &[(&str, i64)]) {
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

    async fn queue_depth(&self, url: &str) -> usize {
        synchub_cli::event_source::LocalEventSource::new(self.stack.sqs(), url)
            .depth()
            .await
            .expect("queue depth")
    }
}

fn run_ids(body: &Value, list: &str) -> Vec<String> {
    body[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {body}"))
        .iter()
        .filter_map(|r| r["runId"].as_str().map(str::to_owned))
        .collect()
}

// ----------------------------------------------------------------------- tests

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let mut data = SquareData::empty();
    data.items = square_server::items(3);
    let s = setup(data).await;
    let tenant = s.tenant().await;
    s.seed_run(&tenant, DataType::Orders, RunStatus::Succeeded, 90)
        .await;
    s.seed_run(&tenant, DataType::Catalog, RunStatus::Failed, 60)
        .await;
    s.deliver(&tenant, "SKU-1", &[("evt-1", 1)]).await;
    let mut contract = Contract::new();
    let base = format!("/api/tenants/{tenant}");

    let a = get(&s.api, "/api/health", &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    contract.check("GET /api/health", a.status, &a.body);
    // A dependency that cannot answer: a queue that does not exist.
    let mut broken_config = s.stack.config.clone();
    broken_config.runs_dlq_url = s
        .stack
        .config
        .runs_dlq_url
        .replace("-sync-runs-dlq", "-no-such-queue");
    let broken = Api::new(&s.stack.aws, &broken_config);
    let a = get(&broken, "/api/health", &[]).await;
    assert!(a.status >= 500, "{}", a.body);
    contract.check("GET /api/health", a.status, &a.body);

    let a = get(&s.api, "/api/gate", &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body["signals"].as_array().map(Vec::len),
        Some(4),
        "{}",
        a.body
    );
    contract.check("GET /api/gate", a.status, &a.body);
    let backwards = [
        ("since", "2026-12-02T10:00:00Z"),
        ("until", "2026-12-02T09:00:00Z"),
    ];
    let a = get(&s.api, "/api/gate", &backwards).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("until")),
        "{}",
        a.body
    );
    contract.check("GET /api/gate", a.status, &a.body);

    let a = get(&s.api, &format!("{base}/status"), &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["failedCollections"], json!(["catalog"]));
    assert!(a.body["correlationId"]
        .as_str()
        .unwrap()
        .starts_with(&format!("sync-{tenant}-")));
    contract.check("GET /api/tenants/{tenantId}/status", a.status, &a.body);
    let a = get(&s.api, "/api/tenants/no-such-shop/status", &[]).await;
    assert_eq!(a.status, 404, "{}", a.body);
    contract.check("GET /api/tenants/{tenantId}/status", a.status, &a.body);
    let a = get(&s.api, "/api/tenants/bad!shop/status", &[]).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("tenantId")),
        "{}",
        a.body
    );
    assert_eq!(a.body["error"]["class"], "VALIDATION_ERROR");
    assert_eq!(a.body["error"]["retryable"], false);
    contract.check("GET /api/tenants/{tenantId}/status", a.status, &a.body);

    let trace = format!("{base}/trace");
    let a = get(&s.api, &trace, &[("kind", "catalog_item"), ("id", "SKU-1")]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["winner"]["eventId"], "evt-1");
    contract.check("GET /api/tenants/{tenantId}/trace", a.status, &a.body);
    let a = get(&s.api, &trace, &[("kind", "sku"), ("id", "SKU-1")]).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("kind")),
        "{}",
        a.body
    );
    contract.check("GET /api/tenants/{tenantId}/trace", a.status, &a.body);
    let a = get(&s.api, &trace, &[("kind", "order"), ("id", "a#b")]).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("id")),
        "{}",
        a.body
    );
    contract.check("GET /api/tenants/{tenantId}/trace", a.status, &a.body);
    let a = get(&s.api, &trace, &[("kind", "catalog_item")]).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("id")),
        "{}",
        a.body
    );

    let runs = format!("{base}/runs");
    let a = get(&s.api, &runs, &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(run_ids(&a.body, "runs").len(), 2);
    contract.check("GET /api/tenants/{tenantId}/runs", a.status, &a.body);
    let a = get(&s.api, &runs, &[("limit", "0")]).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("limit")),
        "{}",
        a.body
    );
    contract.check("GET /api/tenants/{tenantId}/runs", a.status, &a.body);
    let a = get(&s.api, &runs, &[("cursor", "not-a-cursor")]).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("cursor")),
        "{}",
        a.body
    );

    let a = post(&s.api, &runs, r#"{"dataTypes": ["catalog"]}"#).await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.body["runs"][0]["outcome"], "started", "{}", a.body);
    contract.check("POST /api/tenants/{tenantId}/runs", a.status, &a.body);
    let a = post(
        &s.api,
        &runs,
        r#"{"dataTypes": ["catalog"], "dryRun": true}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    contract.check("POST /api/tenants/{tenantId}/runs", a.status, &a.body);
    let a = post(&s.api, &runs, r#"{"dataTypes": ["books"]}"#).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("dataTypes[0]")),
        "{}",
        a.body
    );
    contract.check("POST /api/tenants/{tenantId}/runs", a.status, &a.body);
    let a = post(&s.api, "/api/tenants/no-such-shop/runs", "{}").await;
    assert_eq!(a.status, 404, "{}", a.body);
    contract.check("POST /api/tenants/{tenantId}/runs", a.status, &a.body);

    // Every documented operation was seen answering both ways.
    let all = operations(&contract.doc);
    assert_eq!(
        contract.succeeded, all,
        "operations never called with success"
    );
    assert_eq!(
        contract.failed, all,
        "operations never called with an error"
    );

    // What the document cannot list still answers with the error shape.
    let a = get(&s.api, "/api/nothing-here", &[]).await;
    assert_eq!(a.status, 404, "{}", a.body);
    contract.check_error(&a.body);
    let a = call(&s.api, "DELETE", &runs, &[], None).await;
    assert_eq!(
        (a.status, a.allow.as_deref()),
        (405, Some("GET, POST")),
        "{}",
        a.body
    );
    contract.check_error(&a.body);
    let a = post(&s.api, "/api/health", "{}").await;
    assert_eq!(
        (a.status, a.allow.as_deref()),
        (405, Some("GET")),
        "{}",
        a.body
    );
    assert!(a.body["correlationId"]
        .as_str()
        .unwrap()
        .starts_with("sync-api-"));
}

#[tokio::test]
async fn a_tenant_route_never_shows_another_tenants_runs_or_rows() {
    let s = setup(SquareData::empty()).await;
    let a = s.tenant().await;
    let b = s.tenant().await;
    let mut b_runs = Vec::new();
    for (i, data_type) in DataType::ALL.into_iter().enumerate() {
        s.seed_run(&a, data_type, RunStatus::Succeeded, 200 + i as i64)
            .await;
        b_runs.push(
            s.seed_run(&b, data_type, RunStatus::Failed, 100 + i as i64)
                .await
                .run_id,
        );
    }
    s.deliver(&b, "SKU-B", &[("evt-b", 1)]).await;
    s.deliver(&a, "SKU-A", &[("evt-a", 1)]).await;
    let b_ids: BTreeSet<&str> = b_runs.iter().map(String::as_str).collect();
    let only_a = |ids: Vec<String>, what: &str| {
        assert!(!ids.is_empty(), "{what}: A has runs");
        for id in ids {
            assert!(
                !b_ids.contains(id.as_str()),
                "{what} of A shows B's run {id}"
            );
            assert!(id.starts_with(&format!("sync-{a}-")), "{what}: {id}");
        }
    };

    let status = get(&s.api, &format!("/api/tenants/{a}/status"), &[]).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body["tenantId"], a.as_str());
    assert_eq!(
        status.body["failedCollections"],
        json!([]),
        "B's failed runs are not A's"
    );
    only_a(run_ids(&status.body, "lastRuns"), "status");

    // Every page of A's runs, one at a time.
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let mut query = vec![("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let page = get(&s.api, &format!("/api/tenants/{a}/runs"), &query).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(run_ids(&page.body, "runs"));
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "every run of A once: {seen:?}");
    only_a(seen, "runs");

    // B's run as a cursor on A's path pages A's runs only.
    let b_cursor = {
        use base64::Engine;
        let b_run = s.api.sync.runs.runs(&b).await.unwrap().remove(0);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{}.{}",
            b_run.started_millis + 1,
            b_run.run_id
        ))
    };
    let page = get(
        &s.api,
        &format!("/api/tenants/{a}/runs"),
        &[("cursor", &b_cursor)],
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    only_a(run_ids(&page.body, "runs"), "runs after B's cursor");

    // B's SKU on A's path: A holds nothing about it.
    let trace = get(
        &s.api,
        &format!("/api/tenants/{a}/trace"),
        &[("kind", "catalog_item"), ("id", "SKU-B")],
    )
    .await;
    assert_eq!(trace.status, 200, "{}", trace.body);
    assert_eq!(trace.body["deliveries"], json!([]));
    assert_eq!(trace.body["winner"], Value::Null);
    assert_eq!(trace.body["tenantId"], a.as_str());
    let own = get(
        &s.api,
        &format!("/api/tenants/{a}/trace"),
        &[("kind", "catalog_item"), ("id", "SKU-A")],
    )
    .await;
    assert_eq!(own.body["deliveries"].as_array().unwrap().len(), 1);
    assert!(own.body["deliveries"][0]["correlationId"]
        .as_str()
        .unwrap()
        .contains(a.as_str()));

    // Starting A's runs starts none of B's.
    let started = post(
        &s.api,
        &format!("/api/tenants/{a}/runs"),
        r#"{"dataTypes": ["locations"], "force": true}"#,
    )
    .await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(started.body["tenantId"], a.as_str());
    only_a(run_ids(&started.body, "runs"), "started runs");
    assert_eq!(
        s.api.sync.runs.runs(&b).await.unwrap().len(),
        5,
        "B's runs untouched"
    );
}

#[tokio::test]
async fn a_trace_of_out_of_order_deliveries_names_the_winner() {
    let s = setup(SquareData::empty()).await;
    let tenant = s.tenant().await;
    // The newest change arrives first; an older one and a re-send follow.
    s.deliver(
        &tenant,
        "SKU-42",
        &[("evt-3", 30), ("evt-1", 10), ("evt-3", 30), ("evt-2", 20)],
    )
    .await;
    let a = get(
        &s.api,
        &format!("/api/tenants/{tenant}/trace"),
        &[("kind", "catalog_item"), ("id", "SKU-42")],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    Contract::new().check("GET /api/tenants/{tenantId}/trace", a.status, &a.body);
    assert_eq!(a.body["winner"]["eventId"], "evt-3", "{}", a.body);
    assert_eq!(a.body["winner"]["sourceUpdatedAt"], at_minute(30).as_str());
    assert!(a.body["winner"]["why"]
        .as_str()
        .unwrap()
        .contains("greatest (updatedAt, eventId)"));
    let deliveries = a.body["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 4, "one row per delivery: {}", a.body);
    let outcome = |event: &str| -> Vec<(String, Option<String>)> {
        deliveries
            .iter()
            .filter(|d| d["eventId"] == event)
            .map(|d| {
                (
                    d["outcome"].as_str().unwrap().to_owned(),
                    d["beatenBy"].as_str().map(str::to_owned),
                )
            })
            .collect()
    };
    assert_eq!(
        outcome("evt-1"),
        vec![("stale".to_owned(), Some("evt-3".to_owned()))]
    );
    assert_eq!(
        outcome("evt-2"),
        vec![("stale".to_owned(), Some("evt-3".to_owned()))]
    );
    let mut evt3: Vec<String> = outcome("evt-3").into_iter().map(|(o, _)| o).collect();
    evt3.sort();
    assert_eq!(evt3, vec!["applied", "duplicate"]);
}

#[tokio::test]
async fn a_dry_run_answers_counts_and_writes_nothing() {
    let mut data = SquareData::empty();
    data.items = square_server::items(12);
    data.categories = square_server::categories(2);
    let s = setup(data).await;
    let tenant = s.tenant().await;
    let a = post(
        &s.api,
        &format!("/api/tenants/{tenant}/runs"),
        r#"{"dataTypes": ["catalog", "categories"], "dryRun": true}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    Contract::new().check("POST /api/tenants/{tenantId}/runs", a.status, &a.body);
    assert_eq!(a.body["dryRun"], true);
    let results = a.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["dataType"], "catalog");
    assert_eq!(
        (results[0]["fetched"].as_u64(), results[0]["new"].as_u64()),
        (Some(12), Some(12)),
        "{}",
        a.body
    );
    assert_eq!(
        (results[1]["fetched"].as_u64(), results[1]["new"].as_u64()),
        (Some(2), Some(2)),
        "{}",
        a.body
    );
    assert!(s
        .square
        .authorizations()
        .iter()
        .all(|h| h == &format!("Bearer {TOKEN}")));

    // Nothing written, nothing queued.
    assert!(
        s.api.sync.runs.runs(&tenant).await.unwrap().is_empty(),
        "no run record"
    );
    let runs = get(&s.api, &format!("/api/tenants/{tenant}/runs"), &[]).await;
    assert_eq!(runs.body["runs"], json!([]));
    assert_eq!(
        s.queue_depth(&s.stack.config.sync_queue_url).await,
        0,
        "sync queue"
    );
    assert_eq!(
        s.queue_depth(&s.stack.config.runs_queue_url).await,
        0,
        "runs queue"
    );
    assert_eq!(
        s.stack.entity(&tenant, "item", "ITEM000000").await,
        None,
        "no item stored"
    );

    // Without a token, a dry run is a 500 naming the missing token, not a 4xx.
    let other = s.stack.tenant(None).await.id;
    let a = post(
        &s.api,
        &format!("/api/tenants/{other}/runs"),
        r#"{"dryRun": true}"#,
    )
    .await;
    assert_eq!(a.status, 500, "{}", a.body);
    assert_eq!(a.body["error"]["class"], "AUTH_ERROR");
    Contract::new().check("POST /api/tenants/{tenantId}/runs", a.status, &a.body);
}

#[tokio::test]
async fn health_goes_unhealthy_when_a_message_sits_in_the_sync_dlq() {
    let s = setup(SquareData::empty()).await;
    let _tenant = s.tenant().await;
    let a = get(&s.api, "/api/health", &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["status"], "healthy", "{}", a.body);

    s.stack
        .sqs()
        .send_message()
        .queue_url(&s.stack.config.sync_dlq_url)
        .message_body(r#"{"not": "a queued event"}"#)
        .send()
        .await
        .expect("send to the DLQ");
    let mut a = get(&s.api, "/api/health", &[]).await;
    // SQS counts are approximate: give the count a moment to show it.
    for _ in 0..20 {
        if a.body["status"] != "healthy" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        a = get(&s.api, "/api/health", &[]).await;
    }
    assert_eq!(a.status, 200, "{}", a.body);
    Contract::new().check("GET /api/health", a.status, &a.body);
    assert_eq!(a.body["status"], "unhealthy", "{}", a.body);
    let dead = a.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "deadLetters")
        .unwrap();
    assert_eq!(
        (dead["value"].as_u64(), dead["ok"].as_bool()),
        (Some(1), Some(false))
    );
    assert!(
        a.body["reasons"][0]
            .as_str()
            .unwrap()
            .contains("deadLetters"),
        "{}",
        a.body
    );
}
