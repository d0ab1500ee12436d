//! A tenant on a connector POS gets its daily sync exactly like a Square
//! tenant: its settings name Flowhub (checked when set, its credentials in
//! SSM beside the others), the schedule's plan starts one run per data type
//! Flowhub has, the runs queue works them page by page through the engine
//! against a Flowhub stand-in, the real worker applies the normalized
//! changes from the sync queue, and a later full pull reconciles.

use serde_json::{json, Value};
use std::time::Duration;
use synchub_cli::event_source::LocalEventSource;
use synchub_core::domain::audit::AuditOutcome;
use synchub_core::domain::sync_run::{RunStatus, Trigger};
use synchub_core::domain::DataType;
use synchub_core::ports::RunLog;
use synchub_lambda::daily_sync::PlanRequest;
use synchub_lambda::DailySync;
use synchub_ops::tenants::{Credentials, SettingsChange};
use synchub_tests::flowhub_server::{flowhub, flowhub_tenant, variant, Operator};
use synchub_tests::*;
use wiremock::MockServer;

/// Plans (as the schedule would), then works the runs queue until every
/// run finished, then the worker drains the sync queue.
async fn daily_sync(
    stack: &TestStack,
    sync: &DailySync,
    tenant: &str,
    request: PlanRequest,
) -> Value {
    let planned = synchub_lambda::daily_sync::plan(sync, &request)
        .await
        .unwrap();
    let planned = serde_json::to_value(planned).unwrap();
    let mut runs_queue = LocalEventSource::new(stack.sqs(), &stack.config.runs_queue_url);
    runs_queue.wait = Duration::from_secs(0);
    for _ in 0..40 {
        runs_queue
            .poll_once(|event| synchub_lambda::daily_sync::work(sync, event, u64::MAX))
            .await
            .unwrap();
        let runs = sync.runs.runs(tenant).await.unwrap();
        if runs.iter().all(|r| r.status != RunStatus::Running) {
            stack.drain(&stack.worker(), Duration::from_secs(20)).await;
            return planned;
        }
    }
    panic!("the runs did not finish: {planned}");
}

#[tokio::test]
async fn a_flowhub_tenant_runs_its_daily_sync_like_a_square_tenant() {
    let mut stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let server = MockServer::start().await;
    flowhub(
        &server,
        vec![
            variant("var-1", "Blue Dream 3.5g", "2026-11-30T12:00:00.000Z", 12),
            variant("var-2", "Sour Diesel 3.5g", "2026-11-29T12:00:00.000Z", 4),
        ],
    )
    .await;

    // The operator's `synchub tenant set`, through its use case.
    let operator = Operator::new(&stack);
    let pos = |settings: Value| SettingsChange {
        pos: Some(
            serde_json::from_value(json!([{"connector": "flowhub", "settings": settings}]))
                .unwrap(),
        ),
        ..Default::default()
    };
    let refused = operator
        .set(
            &tenant.id,
            &pos(json!({"locationIds": ["loc-1"]})),
            &Credentials::default(),
        )
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("pos[0].settings.importIds"),
        "{refused}"
    );
    let bad_keys = Credentials {
        pos_secrets: vec![("flowhub".into(), r#"{"client_id": "cid-7"}"#.into())],
        ..Default::default()
    };
    let refused = operator
        .set(&tenant.id, &SettingsChange::default(), &bad_keys)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("posSecrets.flowhub.api_key"),
        "{refused}"
    );
    let keys = Credentials {
        pos_secrets: vec![(
            "flowhub".into(),
            r#"{"client_id": "cid-7", "api_key": "key-7"}"#.into(),
        )],
        ..Default::default()
    };
    let changed = operator
        .set(
            &tenant.id,
            &pos(json!({"locationIds": ["loc-1"], "importIds": ["imp-1"]})),
            &keys,
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.changed, changed.stored),
        (vec!["pos"], vec!["pos-flowhub".to_owned()])
    );

    stack.config.connector_origin = Some(server.uri());
    let sync = DailySync::new(&stack.aws, &stack.config);
    let request = PlanRequest {
        trigger: Some(Trigger::Schedule),
        tenant_id: Some(tenant.id.clone()),
        ..Default::default()
    };
    let planned = daily_sync(&stack, &sync, &tenant.id, request.clone()).await;
    let mut planned_types: Vec<(String, String)> = planned["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dataType"].as_str().unwrap().to_owned(),
                r["source"].as_str().unwrap_or("square").to_owned(),
            )
        })
        .collect();
    planned_types.sort();
    assert_eq!(
        planned_types,
        ["catalog", "inventory", "locations", "orders"]
            .map(|d| (d.to_owned(), "flowhub".to_owned())),
        "one run per data type Flowhub has, none for Square: {planned}"
    );

    let runs = sync.runs.runs(&tenant.id).await.unwrap();
    assert_eq!(runs.len(), 4);
    for run in &runs {
        assert_eq!(
            (run.status, run.source(), run.complete),
            (RunStatus::Succeeded, "flowhub", true),
            "{run:?}"
        );
    }
    let catalog = runs
        .iter()
        .find(|r| r.data_type == DataType::Catalog)
        .unwrap();
    assert_eq!(
        (catalog.fetched, catalog.enqueued, catalog.pages),
        (2, 2, 1)
    );

    let item = stack
        .entity(&tenant.id, "item", "var-1")
        .await
        .expect("var-1 stored");
    assert_eq!(
        (item["source"].as_str(), item["deleted"].as_bool()),
        (Some("flowhub"), Some(false))
    );
    assert_eq!(item["attributes"]["brand"], "Acme Farms");
    assert_eq!(item["updatedAt"], "2026-11-30T12:00:00.000Z");
    let stock = stack
        .entity(&tenant.id, "inventory", "var-1@loc-1")
        .await
        .expect("inventory stored");
    assert_eq!(stock["attributes"]["quantity"], 12);
    assert!(stack
        .entity(&tenant.id, "location", "loc-1")
        .await
        .is_some());
    assert!(stack.entity(&tenant.id, "order", "sale-1").await.is_some());
    let audit = stack.audit_rows(&format!("{}#item#var-1", tenant.id)).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        (audit[0].outcome, audit[0].correlation_id.as_str()),
        (AuditOutcome::Applied, catalog.run_id.as_str())
    );

    // Tomorrow var-2 is gone from Flowhub: the full pull tombstones it.
    flowhub(
        &server,
        vec![variant(
            "var-1",
            "Blue Dream 3.5g",
            "2026-11-30T12:00:00.000Z",
            11,
        )],
    )
    .await;
    let again = PlanRequest {
        data_types: Some(vec![DataType::Catalog]),
        force: true,
        ..request
    };
    daily_sync(&stack, &sync, &tenant.id, again).await;
    let gone = stack.entity(&tenant.id, "item", "var-2").await.unwrap();
    assert_eq!(
        (gone["deleted"].as_bool(), gone["source"].as_str()),
        (Some(true), Some("flowhub"))
    );
    assert_eq!(gone["attributes"]["deletedReason"], "absent from full sync");
    let still = stack.entity(&tenant.id, "item", "var-1").await.unwrap();
    assert_eq!(still["deleted"].as_bool(), Some(false));
    let audit = stack.audit_rows(&format!("{}#item#var-2", tenant.id)).await;
    assert!(
        audit.iter().any(|r| r.outcome == AuditOutcome::Deleted),
        "{audit:?}"
    );
}

/// A Flowhub tenant set up with its credentials, and the daily sync aimed at the stand-in.
/// A manual full catalog pull, forced (today's may already have succeeded).
fn catalog_pull(tenant: &str) -> PlanRequest {
    PlanRequest {
        trigger: Some(Trigger::Manual),
        tenant_id: Some(tenant.to_owned()),
        data_types: Some(vec![DataType::Catalog]),
        force: true,
        ..Default::default()
    }
}

fn drift_args(tenant: &str, extra: &[&str]) -> synchub_cli::drift::DriftArgs {
    use clap::Parser;
    let mut argv = vec!["synchub", "drift", "--tenant", tenant];
    argv.extend(extra);
    match synchub_cli::args::Cli::try_parse_from(argv)
        .unwrap()
        .command
    {
        synchub_cli::args::Command::Drift(a) => a,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn every_full_pull_records_its_drift_per_id_and_synchub_drift_shows_it() {
    let mut stack = TestStack::new().await;
    let server = MockServer::start().await;
    let (tenant, sync) = flowhub_tenant(&mut stack, &server).await;
    flowhub(
        &server,
        vec![
            variant("var-1", "Blue Dream 3.5g", "2026-11-30T12:00:00.000Z", 12),
            variant("var-2", "Sour Diesel 3.5g", "2026-11-29T12:00:00.000Z", 4),
            variant("var-3", "Old Kush 3.5g", "2026-11-28T12:00:00.000Z", 1),
        ],
    )
    .await;
    let catalog = catalog_pull(&tenant.id);
    daily_sync(&stack, &sync, &tenant.id, catalog.clone()).await;
    let first = synchub_cli::drift::report(&sync, &drift_args(&tenant.id, &[]))
        .await
        .unwrap();
    assert_eq!(first.runs.len(), 1, "{first:?}");
    let day1 = first.runs[0].clone();
    assert_eq!(
        (day1.counts.missed, day1.counts.changed, day1.counts.gone),
        (3, 0, 0)
    );

    // The next day: var-1's price changed at the source, var-2 is as held,
    // var-3 was removed, var-4 is new.
    let mut repriced = variant("var-1", "Blue Dream 3.5g", "2026-12-01T12:00:00.000Z", 12);
    repriced["priceInMinorUnits"] = json!(3000);
    flowhub(
        &server,
        vec![
            repriced,
            variant("var-2", "Sour Diesel 3.5g", "2026-11-29T12:00:00.000Z", 4),
            variant("var-4", "Gelato 1g", "2026-12-01T09:00:00.000Z", 7),
        ],
    )
    .await;
    daily_sync(&stack, &sync, &tenant.id, catalog).await;
    let report =
        synchub_cli::drift::report(&sync, &drift_args(&tenant.id, &["--data-type", "catalog"]))
            .await
            .unwrap();
    assert_eq!(report.runs.len(), 1);
    let day2 = &report.runs[0];
    assert_ne!(day2.run_id, day1.run_id, "the newest full pull");
    assert_eq!(
        (
            day2.source.as_str(),
            day2.counts.missed,
            day2.counts.changed,
            day2.counts.gone
        ),
        ("flowhub", 1, 1, 1)
    );
    let mut entries: Vec<(String, &str, Vec<String>)> = day2
        .entries
        .iter()
        .map(|e| (e.id.clone(), e.kind.as_str(), e.fields.clone()))
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        vec![
            (
                "var-1".to_owned(),
                "changed",
                // The typed field inside catalog is named, beside the raw one.
                vec!["catalog.prices".to_owned(), "priceInMinorUnits".to_owned()]
            ),
            ("var-3".to_owned(), "gone", vec![]),
            ("var-4".to_owned(), "missed", vec![]),
        ]
    );
    let text = synchub_cli::drift::render(&report);
    assert!(
        text.contains("changed  var-1 (catalog.prices, priceInMinorUnits)")
            && text.contains("gone     var-3"),
        "{text}"
    );

    // An earlier run by id; an incremental data type is refused.
    let by_id =
        synchub_cli::drift::report(&sync, &drift_args(&tenant.id, &["--run", &day1.run_id]))
            .await
            .unwrap();
    assert_eq!(by_id.runs[0].entries.len(), 3);
    let refused =
        synchub_cli::drift::report(&sync, &drift_args(&tenant.id, &["--data-type", "orders"]))
            .await
            .unwrap_err();
    assert!(refused.to_string().contains("full pulls"), "{refused}");
}

#[tokio::test]
async fn a_product_the_pos_returns_twice_is_kept_newest_and_counted_on_the_run() {
    let mut stack = TestStack::new().await;
    let server = MockServer::start().await;
    let (tenant, sync) = flowhub_tenant(&mut stack, &server).await;
    // One variant twice in the answer (Flowhub lists a product per batch),
    // the newer row first: the older one must not win by coming last.
    let mut newer = variant("var-1", "Blue Dream 3.5g", "2026-12-01T12:00:00.000Z", 12);
    newer["priceInMinorUnits"] = json!(2900);
    flowhub(
        &server,
        vec![
            newer,
            variant("var-2", "Sour Diesel 3.5g", "2026-11-29T12:00:00.000Z", 4),
            variant("var-1", "Blue Dream 3.5g", "2026-11-30T12:00:00.000Z", 12),
        ],
    )
    .await;
    let catalog = catalog_pull(&tenant.id);
    daily_sync(&stack, &sync, &tenant.id, catalog).await;
    let run = sync.runs.runs(&tenant.id).await.unwrap().remove(0);
    assert_eq!(
        (
            run.status,
            run.fetched,
            run.enqueued,
            run.duplicates,
            run.duplicate_ids.clone()
        ),
        (RunStatus::Succeeded, 3, 3, 1, vec!["var-1".to_owned()]),
        "both rows go on as changes, the repeat is counted: {run:?}"
    );
    let held = stack.entity(&tenant.id, "item", "var-1").await.unwrap();
    assert_eq!(
        held["attributes"]["catalog"]["prices"][0]["amount"],
        json!(2900),
        "the newest row wins whatever its place in the answer: {held}"
    );
    let audit = stack.audit_rows(&format!("{}#item#var-1", tenant.id)).await;
    let outcomes: Vec<AuditOutcome> = audit.iter().map(|r| r.outcome).collect();
    assert!(
        outcomes.contains(&AuditOutcome::Applied) && outcomes.contains(&AuditOutcome::Stale),
        "the older row is audited as stale, not dropped: {outcomes:?}"
    );
}

/// The engine benchmark's Square manifest (`tests/bench/square-catalog.yaml`)
/// maps Square's catalog pages to the changes the hand-written path makes:
/// same entity, time, tombstone, version (in the event id) and name, so the
/// benchmark times the two on the same output.
#[test]
fn the_benchmarks_square_manifest_maps_squares_items_like_the_hand_written_path() {
    use synchub_connectors as connector;
    use synchub_core::domain::square;
    let file = "tests/bench/square-catalog.yaml";
    let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
    let manifest = connector::load(file, &text).unwrap_or_else(|e| panic!("{e:?}"));
    let mut items = square_server::items_in(0..20);
    items[3]["is_deleted"] = json!(true);
    for item in &items {
        let engine = manifest.normalize(DataType::Catalog, item, 0).unwrap();
        let hand = square::normalize(DataType::Catalog, item, 0).unwrap();
        assert_eq!(
            (engine.kind, &engine.id, &engine.updated_at, engine.deleted),
            (hand.kind, &hand.id, &hand.updated_at, hand.deleted)
        );
        let version = |event_id: &str| event_id.rsplit('-').next().unwrap().to_owned();
        assert_eq!(version(&engine.event_id), version(&hand.event_id));
        assert_eq!(engine.attributes["name"], hand.attributes["name"]);
        let skus = |variations: &Value, path: &[&str]| -> Vec<Value> {
            let list = variations.as_array().unwrap();
            list.iter()
                .map(|v| path.iter().fold(v, |v, k| &v[*k]).clone())
                .collect()
        };
        assert_eq!(
            skus(
                &engine.attributes["variations"],
                &["item_variation_data", "sku"]
            ),
            skus(&hand.attributes["variations"], &["sku"])
        );
    }
    assert!(
        manifest
            .normalize(DataType::Catalog, &items[3], 0)
            .unwrap()
            .deleted
    );
}
