//! `GET /api/metrics` in-process against the local engines, held to
//! `openapi.yaml`: exact figures from seeded counters and runs, one tenant
//! asked alone sees nothing of another, bad parameters name their field,
//! and what a real worker batch counts per target reaches the answer.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::{json, Value};
use std::time::Duration;
use synchub_aws::dynamodb::DynamoMetricsLedger;
use synchub_core::app::daily_sync::new_run;
use synchub_core::domain::metrics::{hour_of, Tally, TargetTally};
use synchub_core::domain::sync_run::{RunStatus, Trigger};
use synchub_core::domain::time::{now_millis, now_rfc3339};
use synchub_core::domain::DataType;
use synchub_core::ports::{MetricsLedger, RunLog};
use synchub_lambda::sqs::handle_sync_batch;
use synchub_tests::api_contract::*;
use synchub_tests::square_server::SquareData;
use synchub_tests::*;

fn ledger(stack: &TestStack) -> DynamoMetricsLedger {
    DynamoMetricsLedger::new(
        stack.dynamo(),
        &stack.config.audit_table,
        Duration::from_secs(86_400),
    )
}

fn tenant_entry<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["tenants"]
        .as_array()
        .unwrap_or_else(|| panic!("no tenants: {body}"))
        .iter()
        .find(|t| t["tenantId"] == id)
        .unwrap_or_else(|| panic!("no tenant {id}: {body}"))
}

fn data_type<'a>(metrics: &'a Value, name: &str) -> &'a Value {
    metrics["dataTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataType"] == name)
        .unwrap_or_else(|| panic!("no {name}: {metrics}"))
}

#[tokio::test]
async fn metrics_answer_exact_figures_per_tenant_and_for_the_fleet() {
    let s = setup(SquareData::empty()).await;
    let (a, b) = (s.tenant().await, s.tenant().await);
    let hour = hour_of(&now_rfc3339());
    let busy = Tally {
        received: 10,
        audited: 10,
        applied: 6,
        stale: 2,
        duplicate: 1,
        rejected: 1,
        publish_ok: 5,
        publish_failed: 1,
        publish_skipped: 0,
        pos: TargetTally {
            succeeded: 3,
            skipped: 1,
            failed: 0,
        },
        crm: TargetTally {
            succeeded: 2,
            skipped: 0,
            failed: 1,
        },
        lag_max_ms: 1_500,
        ..Tally::default()
    };
    let quiet = Tally {
        received: 4,
        audited: 4,
        applied: 4,
        publish_ok: 4,
        ..Tally::default()
    };
    ledger(&s.stack).add(&a, &hour, &busy).await.unwrap();
    ledger(&s.stack).add(&b, &hour, &quiet).await.unwrap();
    s.seed_run(&a, DataType::Orders, RunStatus::Succeeded, 90)
        .await;
    s.seed_run(&a, DataType::Orders, RunStatus::Failed, 60)
        .await;
    s.seed_run(&a, DataType::Orders, RunStatus::Succeeded, 3 * 24 * 60)
        .await; // before the default window
    s.seed_run(&a, DataType::Catalog, RunStatus::Partial, 30)
        .await;
    s.seed_run(&b, DataType::Catalog, RunStatus::Succeeded, 10)
        .await;
    let mut contract = Contract::new();

    let answer = get(&s.api, "/api/metrics", &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    contract.check("GET /api/metrics", answer.status, &answer.body);
    let body = &answer.body;
    assert_eq!(
        body["fleet"]["deliveries"],
        json!({"received": 14, "audited": 14, "applied": 10, "stale": 2, "duplicate": 1, "rejected": 1})
    );
    let ta = tenant_entry(body, &a);
    assert_eq!(
        ta["targets"],
        json!({
            "pos": {"succeeded": 3, "skipped": 1, "failed": 0},
            "crm": {"succeeded": 2, "skipped": 0, "failed": 1},
            "storefront": {"succeeded": 5, "skipped": 0, "failed": 1},
            "storefrontRecovered": 0
        })
    );
    assert_eq!(ta["staleItems"], 1);
    assert_eq!(ta["queueLagMaxMs"], 1_500);
    assert!((ta["publishErrorRatePercent"].as_f64().unwrap() - 100.0 / 6.0).abs() < 1e-9);
    assert_eq!(ta["traceCoveragePercent"], 100.0);
    let orders = data_type(ta, "orders");
    assert_eq!(
        (
            &orders["runs"],
            &orders["succeeded"],
            &orders["failed"],
            &orders["successRatePercent"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(50.0)),
        "the run three days ago is outside the window: {orders}"
    );
    assert_eq!(
        (&orders["durationMsP50"], &orders["durationMsP95"]),
        (&json!(1_000), &json!(1_000))
    );
    assert_eq!(
        (&orders["objects"], &orders["enqueued"], &orders["rejected"]),
        (&json!(20), &json!(18), &json!(2))
    );
    assert_eq!(
        orders["errorClasses"],
        json!([{"class": "NETWORK_ERROR", "runs": 1}])
    );
    let catalog = data_type(ta, "catalog");
    assert_eq!(
        (&catalog["partial"], &catalog["successRatePercent"]),
        (&json!(1), &json!(0.0))
    );
    assert_eq!(
        data_type(&body["fleet"], "catalog")["runs"],
        2,
        "both tenants' catalog runs"
    );
    assert_eq!(
        tenant_entry(body, &b)["deliveries"]["received"],
        4,
        "each tenant has its own"
    );

    // A window of an hour that held nothing: zeros, not an error.
    let empty = [
        ("since", "2026-01-01T00:00:00Z"),
        ("until", "2026-01-01T01:00:00Z"),
    ];
    let answer = get(&s.api, "/api/metrics", &empty).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["fleet"]["deliveries"]["received"], 0);
    assert_eq!(answer.body["fleet"]["dataTypes"], json!([]));
    assert_eq!(answer.body["since"], "2026-01-01T00:00:00.000Z");
}

#[tokio::test]
async fn one_tenant_asked_alone_sees_nothing_of_another() {
    let s = setup(SquareData::empty()).await;
    let (a, b) = (s.tenant().await, s.tenant().await);
    let hour = hour_of(&now_rfc3339());
    let applied = |n| Tally {
        received: n,
        audited: n,
        applied: n,
        ..Tally::default()
    };
    ledger(&s.stack).add(&a, &hour, &applied(7)).await.unwrap();
    ledger(&s.stack).add(&b, &hour, &applied(3)).await.unwrap();
    s.seed_run(&a, DataType::Orders, RunStatus::Failed, 5).await;
    s.seed_run(&b, DataType::Catalog, RunStatus::Succeeded, 5)
        .await;
    let mut contract = Contract::new();

    let answer = get(&s.api, "/api/metrics", &[("tenant", &b)]).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    contract.check("GET /api/metrics", answer.status, &answer.body);
    let body = &answer.body;
    let ids: Vec<&Value> = body["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["tenantId"])
        .collect();
    assert_eq!(ids, [&json!(b)]);
    assert_eq!(body["fleet"]["deliveries"]["received"], 3);
    let types: Vec<&Value> = body["fleet"]["dataTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["dataType"])
        .collect();
    assert_eq!(types, [&json!("catalog")], "A's orders run is not B's");
    assert!(
        !body.to_string().contains(&a),
        "nothing names the other tenant: {body}"
    );
}

#[tokio::test]
async fn bad_parameters_and_unknown_tenants_are_refused_naming_the_field() {
    let s = setup(SquareData::empty()).await;
    s.tenant().await;
    let mut contract = Contract::new();
    for (query, field) in [
        (vec![("since", "yesterday")], "since"),
        (vec![("until", "2026-13-01T00:00:00Z")], "until"),
        (
            vec![
                ("since", "2026-12-02T10:00:00Z"),
                ("until", "2026-12-02T09:00:00Z"),
            ],
            "until",
        ),
        (vec![("tenant", "bad!shop")], "tenant"),
    ] {
        let answer = get(&s.api, "/api/metrics", &query).await;
        assert_eq!(
            (answer.status, answer.body["error"]["field"].as_str()),
            (400, Some(field)),
            "{query:?}: {}",
            answer.body
        );
        assert_eq!(answer.body["error"]["class"], "VALIDATION_ERROR");
        contract.check("GET /api/metrics", answer.status, &answer.body);
    }
    let answer = get(&s.api, "/api/metrics", &[("tenant", "no-such-shop")]).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-shop"),
        "{}",
        answer.body
    );
    contract.check("GET /api/metrics", answer.status, &answer.body);
    let answer = call(&s.api, "POST", "/api/metrics", &[], Some("{}")).await;
    assert_eq!((answer.status, answer.allow.as_deref()), (405, Some("GET")));
}

/// A record as SQS hands it over: the tenant as message group.
fn record(id: &str, tenant: &str, body: String) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body);
    for (k, v) in [
        ("ApproximateReceiveCount", "1".to_owned()),
        ("MessageGroupId", tenant.to_owned()),
        ("SentTimestamp", (now_millis() - 800).to_string()),
    ] {
        m.attributes.insert(k.into(), v);
    }
    m
}

#[tokio::test]
async fn a_worker_batch_reaches_the_metrics_with_its_storefront_skips() {
    let s = setup(SquareData::empty()).await;
    let tenant = s.tenant().await; // no storefront configured: publishes are skipped
    let body = |event: &str, quantity: i64, minute: i64| {
        queued(
            &tenant,
            &supplier_event(event, "SKU-9", quantity, &at_minute(minute)),
        )
    };
    let mut event = SqsEvent::default();
    event.records = vec![
        record("m1", &tenant, body("evt-2", 1, 2)),
        record("m2", &tenant, body("evt-1", 1, 1)),
        record("m3", &tenant, body("evt-3", -1, 3)), // a negative quantity
    ];

    handle_sync_batch(&s.stack.worker(), event).await;

    let answer = get(&s.api, "/api/metrics", &[("tenant", &tenant)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let t = tenant_entry(&answer.body, &tenant);
    assert_eq!(
        t["deliveries"],
        json!({"received": 3, "audited": 3, "applied": 1, "stale": 1, "duplicate": 0, "rejected": 1}),
        "{t}"
    );
    assert_eq!(
        t["targets"]["storefront"],
        json!({"succeeded": 0, "skipped": 1, "failed": 0})
    );
    assert_eq!(t["traceCoveragePercent"], 100.0);
    assert!(t["queueLagMaxMs"].as_u64().unwrap() >= 800, "{t}");
}

#[tokio::test]
async fn a_run_counts_from_the_first_to_the_last_millisecond_of_the_window() {
    let s = setup(SquareData::empty()).await;
    let tenant = s.tenant().await;
    let start = 1_796_205_600_000; // 2026-12-02T10:00:00Z
    for (data_type, at) in [
        (DataType::Orders, start - 1),
        (DataType::Orders, start),
        (DataType::Catalog, start + 60_000),
        (DataType::Catalog, start + 60_001),
    ] {
        let run = new_run(&tenant, data_type, Trigger::Manual, at, &s.api.sync.policy);
        s.api.sync.runs.save(&run).await.unwrap();
    }
    let window = [
        ("since", "2026-12-02T10:00:00Z"),
        ("until", "2026-12-02T10:01:00Z"),
        ("tenant", tenant.as_str()),
    ];

    let answer = get(&s.api, "/api/metrics", &window).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    let runs: Vec<(&Value, &Value)> = answer.body["fleet"]["dataTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (&d["dataType"], &d["runs"]))
        .collect();
    assert_eq!(
        runs,
        [
            (&json!("orders"), &json!(1)),
            (&json!("catalog"), &json!(1))
        ],
        "{}",
        answer.body
    );
    assert_eq!(
        data_type(&answer.body["fleet"], "orders")["running"],
        1,
        "a run still running has no duration yet"
    );
}
