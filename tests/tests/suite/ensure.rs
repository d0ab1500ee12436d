//! Sync on demand end to end: `POST /api/tenants/{tenantId}/ensure` and
//! `GET /api/method-stats` in-process against the local engines and the
//! Square stand-in, held to `openapi.yaml`. The test plays the runs queue's
//! consumer (the real daily-sync handler on the runs queue) and the worker
//! where a method needs them.

use serde_json::{json, Value};
use std::time::Duration;
use synchub_cli::event_source::LocalEventSource;
use synchub_core::domain::ensure::MAX_TIMEOUT_MS;
use synchub_core::domain::sync_run::RunStatus;
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::ports::{RunLog, TenantSettings};
use synchub_lambda::DailySync;
use synchub_tests::api_contract::*;
use synchub_tests::square_server::{self, Fault, SquareData};
use synchub_tests::unique;

fn catalog(items: usize) -> SquareData {
    let mut d = SquareData::empty();
    d.items = square_server::items(items);
    d
}

/// Holds an answer of `ensure` to openapi.yaml.
fn check_ensure(contract: &mut Contract, status: u16, body: &Value) {
    contract.check("POST /api/tenants/{tenantId}/ensure", status, body);
}

fn check_stats(contract: &mut Contract, status: u16, body: &Value) {
    contract.check("GET /api/method-stats", status, body);
}

/// A tenant with a Square token and `method` as its sync method (unset: queued).
async fn tenant(s: &Setup, method: Option<&str>) -> String {
    let id = unique("shop");
    let mut settings = json!({"tenantId": id, "name": "Ensure shop"});
    if let Some(m) = method {
        settings["syncMethod"] = json!(m);
    }
    let settings: TenantSettings = serde_json::from_value(settings).unwrap();
    synchub_cli::local::seed_tenant(
        &s.stack.aws,
        &s.stack.config,
        &settings,
        &synchub_cli::local::new_signing_secret(),
    )
    .await
    .expect("seed tenant");
    s.stack.put_parameter(&id, "square-token", TOKEN).await;
    id
}

/// Plays Lambda's runs-queue consumer with the real daily-sync handler
/// until dropped.
struct RunsConsumer(tokio::task::JoinHandle<()>);

impl Drop for RunsConsumer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn consume_runs(s: &Setup) -> RunsConsumer {
    let sync = DailySync::new(&s.stack.aws, &s.stack.config);
    let mut source = LocalEventSource::new(s.stack.sqs(), &s.stack.config.runs_queue_url);
    source.wait = Duration::from_secs(1);
    RunsConsumer(tokio::spawn(async move {
        loop {
            let deadline = now_millis() as u64 + 60_000;
            let polled = source
                .poll_once(|event| synchub_lambda::daily_sync::work(&sync, event, deadline))
                .await;
            if polled.is_err() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }))
}

async fn ensure(s: &Setup, tenant: &str, body: Value) -> Answer {
    post(
        &s.api,
        &format!("/api/tenants/{tenant}/ensure"),
        &body.to_string(),
    )
    .await
}

/// The tenant's runs of one data type, newest first.
async fn runs(
    s: &Setup,
    tenant: &str,
    data_type: DataType,
) -> Vec<synchub_core::domain::sync_run::SyncRun> {
    let mut all = s.api.sync.runs.runs(tenant).await.unwrap();
    all.retain(|r| r.data_type == data_type);
    all
}

/// The line of `method` in a method-stats answer.
fn line<'a>(stats: &'a Value, method: &str) -> &'a Value {
    stats["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["method"] == method)
        .unwrap_or_else(|| panic!("no {method} line: {stats}"))
}

#[tokio::test]
async fn direct_pulls_inline_and_the_worker_lands_every_object() {
    let s = setup(catalog(25)).await;
    let shop = tenant(&s, Some("direct")).await;
    let mut contract = Contract::new();

    let a = ensure(
        &s,
        &shop,
        json!({"dataTypes": ["catalog"], "timeoutMs": 10_000}),
    )
    .await;

    assert_eq!(a.status, 200, "{}", a.body);
    check_ensure(&mut contract, a.status, &a.body);
    let b = &a.body;
    assert_eq!(
        (&b["method"], &b["fallbackUsed"]),
        (&json!("direct"), &json!(false))
    );
    assert_eq!(b["failedCollections"], json!([]));
    assert!(b.get("error").is_none(), "{b}");
    let r = &b["results"][0];
    assert_eq!(
        (&r["dataType"], &r["status"], &r["method"], &r["objects"]),
        (
            &json!("catalog"),
            &json!("succeeded"),
            &json!("direct"),
            &json!(25)
        )
    );
    assert!(r["durationMs"].as_u64().unwrap() <= b["durationMs"].as_u64().unwrap());
    // Inline: nothing went through the runs queue; one run did the pull.
    assert_eq!(s.queue_depth(&s.stack.config.runs_queue_url).await, 0);
    let done = runs(&s, &shop, DataType::Catalog).await;
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].status, done[0].fetched),
        (RunStatus::Succeeded, 25)
    );
    assert_eq!(r["runId"], done[0].run_id.as_str());
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(60))
        .await;
    assert!(s.stack.entity(&shop, "item", "ITEM000024").await.is_some());

    let stats = get(&s.api, "/api/method-stats", &[]).await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    check_stats(&mut contract, stats.status, &stats.body);
    let direct = line(&stats.body, "direct");
    assert_eq!(
        (&direct["calls"], &direct["succeeded"], &direct["fallbacks"]),
        (&json!(1), &json!(1), &json!(0))
    );
    assert_eq!(direct["successRatePercent"], json!(100.0));
    assert!(direct["durationMsP50"].as_u64().unwrap() <= direct["durationMsP95"].as_u64().unwrap());
    assert_eq!(line(&stats.body, "queued")["calls"], json!(0));
}

#[tokio::test]
async fn queued_waits_for_the_runs_queue_to_finish_the_run() {
    let s = setup(catalog(25)).await;
    let shop = tenant(&s, None).await;
    let _consumer = consume_runs(&s);
    let mut contract = Contract::new();

    let a = ensure(
        &s,
        &shop,
        json!({"dataTypes": ["catalog"], "timeoutMs": 15_000}),
    )
    .await;

    assert_eq!(a.status, 200, "{}", a.body);
    check_ensure(&mut contract, a.status, &a.body);
    assert_eq!(
        (&a.body["method"], &a.body["fallbackUsed"]),
        (&json!("queued"), &json!(false))
    );
    let r = &a.body["results"][0];
    assert_eq!(
        (&r["status"], &r["method"], &r["objects"]),
        (&json!("succeeded"), &json!("queued"), &json!(25))
    );
    let done = runs(&s, &shop, DataType::Catalog).await;
    assert_eq!(done.len(), 1);
    assert!(
        done[0].invocations >= 1,
        "the consumer ran it: {:?}",
        done[0]
    );
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(60))
        .await;
    assert!(s.stack.entity(&shop, "item", "ITEM000000").await.is_some());
}

#[tokio::test]
async fn a_queued_timeout_falls_back_to_direct_on_the_same_run() {
    let s = setup(catalog(25)).await;
    let shop = tenant(&s, Some("queued")).await;
    let mut contract = Contract::new();

    // Nobody consumes the runs queue (a backlog): the wait times out.
    let a = ensure(
        &s,
        &shop,
        json!({"dataTypes": ["catalog"], "timeoutMs": 3_000}),
    )
    .await;

    assert_eq!(a.status, 200, "{}", a.body);
    check_ensure(&mut contract, a.status, &a.body);
    let b = &a.body;
    assert_eq!(
        (&b["method"], &b["fallbackUsed"]),
        (&json!("queued"), &json!(true))
    );
    let reason = b["fallbackReason"].as_str().unwrap();
    assert!(
        reason.contains("queued: catalog not finished after"),
        "{reason}"
    );
    let r = &b["results"][0];
    assert_eq!(
        (&r["status"], &r["method"], &r["objects"]),
        (&json!("succeeded"), &json!("direct"), &json!(25))
    );
    // The direct pull took over the queued run: one run, never two.
    let done = runs(&s, &shop, DataType::Catalog).await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(r["runId"], done[0].run_id.as_str());
    let pulled = s.square.requests_to("/v2/catalog");
    // The queued message, delivered late, finds the run done and pulls nothing.
    let _consumer = consume_runs(&s);
    for _ in 0..50 {
        if s.queue_depth(&s.stack.config.runs_queue_url).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(s.queue_depth(&s.stack.config.runs_queue_url).await, 0);
    assert_eq!(s.square.requests_to("/v2/catalog"), pulled);
    assert_eq!(
        runs(&s, &shop, DataType::Catalog).await[0].status,
        RunStatus::Succeeded
    );

    let stats = get(&s.api, "/api/method-stats", &[]).await;
    let queued = line(&stats.body, "queued");
    assert_eq!(
        (&queued["calls"], &queued["succeeded"], &queued["fallbacks"]),
        (&json!(1), &json!(1), &json!(1))
    );
    // Two seconds of waiting (two thirds of three) come before the fallback.
    assert!(
        queued["durationMsP50"].as_u64().unwrap() >= 2_000,
        "{}",
        stats.body
    );
}

#[tokio::test]
async fn a_direct_error_falls_back_to_the_runs_queue() {
    let s = setup(catalog(25)).await;
    let shop = tenant(&s, Some("direct")).await;
    let _consumer = consume_runs(&s);
    // Square answers 500 to every attempt the direct pull makes.
    s.square.inject("/v2/catalog", Fault::ServerError, 5);

    let a = ensure(
        &s,
        &shop,
        json!({"dataTypes": ["catalog"], "timeoutMs": 15_000}),
    )
    .await;

    assert_eq!(a.status, 200, "{}", a.body);
    check_ensure(&mut Contract::new(), a.status, &a.body);
    let b = &a.body;
    assert_eq!(
        (&b["method"], &b["fallbackUsed"]),
        (&json!("direct"), &json!(true))
    );
    let reason = b["fallbackReason"].as_str().unwrap();
    assert!(
        reason.contains("direct: catalog failed (NETWORK_ERROR"),
        "{reason}"
    );
    let r = &b["results"][0];
    assert_eq!(
        (&r["status"], &r["method"], &r["objects"]),
        (&json!("succeeded"), &json!("queued"), &json!(25))
    );
    let all = runs(&s, &shop, DataType::Catalog).await;
    let statuses: Vec<RunStatus> = all.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        vec![RunStatus::Succeeded, RunStatus::Failed],
        "newest first"
    );
}

#[tokio::test]
async fn when_both_methods_fail_the_answer_names_the_class_and_whether_to_retry() {
    let s = setup(catalog(25)).await;
    let shop = tenant(&s, Some("direct")).await;
    let _consumer = consume_runs(&s);
    s.square.inject("/v2/catalog", Fault::ServerError, 1_000);
    let mut contract = Contract::new();

    let a = ensure(
        &s,
        &shop,
        json!({"dataTypes": ["catalog"], "timeoutMs": 15_000}),
    )
    .await;

    assert_eq!(a.status, 503, "{}", a.body);
    check_ensure(&mut contract, a.status, &a.body);
    let b = &a.body;
    assert_eq!(b["fallbackUsed"], json!(true));
    assert_eq!(b["failedCollections"], json!(["catalog"]));
    assert_eq!(
        (&b["error"]["class"], &b["error"]["retryable"]),
        (&json!("NETWORK_ERROR"), &json!(true))
    );
    assert!(
        b["error"]["message"].as_str().unwrap().contains("500"),
        "{b}"
    );
    let r = &b["results"][0];
    assert_eq!(
        (&r["status"], &r["method"]),
        (&json!("failed"), &json!("queued"))
    );
    assert_eq!(r["error"]["class"], "NETWORK_ERROR");
    let statuses: Vec<RunStatus> = runs(&s, &shop, DataType::Catalog)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![RunStatus::Failed, RunStatus::Failed]);

    // A refused credential would be refused the other way too: no fallback.
    // (A tenant without a Square token in SSM.)
    let stranger = unique("shop");
    let settings: TenantSettings =
        serde_json::from_value(json!({"tenantId": stranger, "syncMethod": "direct"})).unwrap();
    synchub_cli::local::seed_tenant(
        &s.stack.aws,
        &s.stack.config,
        &settings,
        &synchub_cli::local::new_signing_secret(),
    )
    .await
    .unwrap();
    let a = ensure(
        &s,
        &stranger,
        json!({"dataTypes": ["catalog"], "timeoutMs": 5_000}),
    )
    .await;
    assert_eq!(a.status, 500, "{}", a.body);
    check_ensure(&mut contract, a.status, &a.body);
    assert_eq!(
        (
            &a.body["error"]["class"],
            &a.body["error"]["retryable"],
            &a.body["fallbackUsed"]
        ),
        (&json!("AUTH_ERROR"), &json!(false), &json!(false))
    );

    let stats = get(&s.api, "/api/method-stats", &[]).await;
    let direct = line(&stats.body, "direct");
    assert_eq!(
        (&direct["calls"], &direct["succeeded"], &direct["fallbacks"]),
        (&json!(2), &json!(0), &json!(1))
    );
    assert_eq!(direct["successRatePercent"], json!(0.0));
}

#[tokio::test]
async fn concurrent_ensures_of_one_tenant_start_one_run() {
    let s = setup(catalog(25)).await;
    let (queued, direct) = (tenant(&s, None).await, tenant(&s, Some("direct")).await);
    let _consumer = consume_runs(&s);
    let body = json!({"dataTypes": ["catalog"], "timeoutMs": 15_000});

    let (a, b) = tokio::join!(
        ensure(&s, &queued, body.clone()),
        ensure(&s, &queued, body.clone())
    );
    for answer in [&a, &b] {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["results"][0]["status"], "succeeded");
    }
    assert_eq!(a.body["results"][0]["runId"], b.body["results"][0]["runId"]);
    assert_eq!(runs(&s, &queued, DataType::Catalog).await.len(), 1);

    // Direct: one pulls inline, the other waits for its run.
    let before = s.square.requests_to("/v2/catalog");
    let (a, b) = tokio::join!(ensure(&s, &direct, body.clone()), ensure(&s, &direct, body));
    for answer in [&a, &b] {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["results"][0]["objects"], 25);
    }
    assert_eq!(a.body["results"][0]["runId"], b.body["results"][0]["runId"]);
    assert_eq!(runs(&s, &direct, DataType::Catalog).await.len(), 1);
    // 25 objects, 10 a page: three requests, once.
    assert_eq!(s.square.requests_to("/v2/catalog") - before, 3);
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field() {
    let s = setup(SquareData::empty()).await;
    let shop = tenant(&s, None).await;
    let mut contract = Contract::new();
    for (body, field) in [
        (json!({}), "timeoutMs"),
        (json!({"timeoutMs": 60_000}), "timeoutMs"),
        (json!({"timeoutMs": 100}), "timeoutMs"),
        (json!({"timeoutMs": -1}), "timeoutMs"),
        (json!({"timeoutMs": "soon"}), "timeoutMs"),
        (json!({"timeoutMs": 5_000, "dataTypes": []}), "dataTypes"),
        (
            json!({"timeoutMs": 5_000, "dataTypes": ["widgets"]}),
            "dataTypes",
        ),
        (json!({"timeoutMs": 5_000, "force": true}), "force"),
    ] {
        let a = ensure(&s, &shop, body.clone()).await;
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        check_ensure(&mut contract, a.status, &a.body);
        assert_eq!(a.body["error"]["class"], "VALIDATION_ERROR", "{body}");
        assert!(
            a.body["error"]["field"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{body}: {}",
            a.body
        );
    }
    let empty = post(&s.api, &format!("/api/tenants/{shop}/ensure"), "").await;
    assert_eq!(
        (empty.status, &empty.body["error"]["field"]),
        (400, &json!("timeoutMs"))
    );
    let unknown = ensure(&s, "nobody-here", json!({"timeoutMs": 5_000})).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    check_ensure(&mut contract, unknown.status, &unknown.body);
    let wrong = call(
        &s.api,
        "GET",
        &format!("/api/tenants/{shop}/ensure"),
        &[],
        None,
    )
    .await;
    assert_eq!((wrong.status, wrong.allow.as_deref()), (405, Some("POST")));

    let bad = get(&s.api, "/api/method-stats", &[("since", "yesterday")]).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    check_stats(&mut contract, bad.status, &bad.body);
    assert_eq!(bad.body["error"]["field"], "since");
    let backwards = get(
        &s.api,
        "/api/method-stats",
        &[
            ("since", "2026-06-02T00:00:00Z"),
            ("until", "2026-06-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(
        (backwards.status, &backwards.body["error"]["field"]),
        (400, &json!("until"))
    );
    // No run was started by any refused request.
    assert!(s.api.sync.runs.runs(&shop).await.unwrap().is_empty());
}

#[test]
fn the_sync_api_outlives_the_longest_wait_it_accepts() {
    let text = std::fs::read_to_string(synchub_tests::repo_root().join("template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let timeout = template["Resources"]["SyncApiFunction"]["Properties"]["Timeout"]
        .as_u64()
        .expect("the sync-api function's Timeout");
    assert!(
        timeout * 1_000 > MAX_TIMEOUT_MS + 2_000,
        "a {MAX_TIMEOUT_MS} ms wait, a last page and the answer must fit in {timeout} s"
    );
    // The HTTP API waits at most 30 s for an integration.
    assert!(timeout < 30);
}
