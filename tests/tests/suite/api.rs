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
use synchub_core::domain::sync_run::RunStatus;
use synchub_core::domain::DataType;
use synchub_core::ports::RunLog;
use synchub_lambda::Api;
use synchub_tests::api_contract::*;
use synchub_tests::square_server::{self, SquareData};
use synchub_tests::*;

// ----------------------------------------------------------------------- tests

/// The operations this file calls both ways; other routes' files hold theirs.
const COVERED_HERE: [&str; 6] = [
    "GET /api/health",
    "GET /api/gate",
    "GET /api/tenants/{tenantId}/status",
    "GET /api/tenants/{tenantId}/trace",
    "GET /api/tenants/{tenantId}/runs",
    "POST /api/tenants/{tenantId}/runs",
];

/// Every operation `openapi.yaml` lists is checked by some test file with
/// `contract.check("METHOD /path", ...)`, and every operation a test checks
/// is in the document.
#[test]
fn every_documented_operation_is_checked_by_a_test() {
    let documented = operations(&openapi());
    let mut checked = BTreeSet::new();
    let mut dirs = vec![repo_root().join("tests/tests")];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a tests folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(file).expect("a test file");
        for part in text.split("check(\"").skip(1) {
            let op = part.split('"').next().unwrap_or_default();
            if op.contains(" /api/") {
                checked.insert(op.to_owned());
            }
        }
    }
    let unchecked: Vec<_> = documented.difference(&checked).collect();
    assert!(
        unchecked.is_empty(),
        "documented but never checked: {unchecked:?}"
    );
    let undocumented: Vec<_> = checked.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "checked but not documented: {undocumented:?}"
    );
}

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

    // Every operation this file covers was seen answering both ways (the
    // others are covered in their own files: see the test below).
    let all: BTreeSet<String> = COVERED_HERE.iter().map(|s| (*s).to_owned()).collect();
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
