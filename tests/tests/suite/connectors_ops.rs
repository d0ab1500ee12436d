//! A connector tenant's runs asked for by hand, like a Square tenant's:
//! sync on demand (`POST /api/tenants/{id}/ensure`) and `synchub sync`
//! pull from the tenant's own POS (Flowhub's stand-in) through the engine,
//! never Square, and the worker lands what they pull.

use serde_json::json;
use std::time::Duration;
use synchub_cli::sync::{sync, table, RunLine};
use synchub_core::domain::sync_run::RunStatus;
use synchub_core::domain::DataType;
use synchub_core::domain::TenantId;
use synchub_core::ports::RunLog;
use synchub_lambda::Api;
use synchub_ops::tenants::{Credentials, SettingsChange};
use synchub_tests::api_contract::post;
use synchub_tests::flowhub_server::{flowhub_tenant, start, variant, Operator};
use synchub_tests::*;

/// The worker drains the sync queue; var-1 is then stored from Flowhub.
async fn landed(stack: &TestStack, tenant: &str) -> serde_json::Value {
    stack.drain(&stack.worker(), Duration::from_secs(20)).await;
    let item = stack
        .entity(tenant, "item", "var-1")
        .await
        .expect("var-1 stored");
    assert_eq!(item["source"], "flowhub");
    item
}

/// Sync on demand serves a connector tenant like a Square one:
/// `POST /api/tenants/{id}/ensure` pulls Flowhub through the engine inline
/// (the tenant's method is direct), answers per data type, and the worker
/// lands the objects with their source.
#[tokio::test]
async fn ensure_pulls_a_flowhub_tenant_on_demand_through_the_engine() {
    let mut stack = TestStack::new().await;
    let server = start(vec![
        variant("var-1", "Blue Dream 3.5g", "2026-11-30T12:00:00.000Z", 12),
        variant("var-2", "Sour Diesel 3.5g", "2026-11-29T12:00:00.000Z", 4),
    ])
    .await;
    let (tenant, _) = flowhub_tenant(&mut stack, &server).await;
    let direct = SettingsChange {
        sync_method: Some("direct".into()),
        ..Default::default()
    };
    Operator::new(&stack)
        .set(&tenant.id, &direct, &Credentials::default())
        .await
        .unwrap();
    let api = Api::new(&stack.aws, &stack.config);

    let answer = post(
        &api,
        &format!("/api/tenants/{}/ensure", tenant.id),
        &json!({"dataTypes": ["catalog", "inventory"], "timeoutMs": 20_000}).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["method"], "direct", "{}", answer.body);
    assert_eq!(answer.body["fallbackUsed"], false, "{}", answer.body);
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{}", answer.body);
    for r in results {
        assert_eq!(
            (r["status"].as_str(), r["objects"].as_u64()),
            (Some("succeeded"), Some(2)),
            "{r}"
        );
    }
    let runs = api.sync.runs.runs(&tenant.id).await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs.iter().all(|r| r.source() == "flowhub"), "{runs:?}");

    let item = landed(&stack, &tenant.id).await;
    assert_eq!(item["attributes"]["catalog"]["brand"], "Acme Farms");
}

/// `synchub sync` works a Flowhub tenant's runs in process: one per data
/// type Flowhub pulls, a data type it does not pull skipped with the
/// reason, and the table names the POS beside each run.
#[tokio::test]
async fn synchub_sync_pulls_a_flowhub_tenant_from_flowhub() {
    let mut stack = TestStack::new().await;
    let server = start(vec![variant(
        "var-1",
        "Blue Dream 3.5g",
        "2026-11-30T12:00:00.000Z",
        12,
    )])
    .await;
    let (tenant, daily) = flowhub_tenant(&mut stack, &server).await;
    let id = TenantId::parse(&tenant.id).unwrap();

    let lines = sync(
        &daily,
        &id,
        &[DataType::Catalog, DataType::Categories],
        true,
        true,
    )
    .await
    .unwrap();
    let [RunLine::Ran(run), RunLine::Skipped { data_type, why }] = &lines[..] else {
        panic!("a catalog run and a skipped categories: {lines:?}")
    };
    assert_eq!(
        (run.status, run.source(), run.fetched, run.enqueued),
        (RunStatus::Succeeded, "flowhub", 1, 1),
        "{run:?}"
    );
    assert_eq!(*data_type, DataType::Categories);
    assert_eq!(why, "no POS of this tenant pulls categories (flowhub)");
    let printed = table(&lines);
    assert!(
        printed.contains(&format!("{} (flowhub)", run.run_id)),
        "{printed}"
    );

    landed(&stack, &tenant.id).await;
}
