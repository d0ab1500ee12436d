//! The fleet routes the dashboard refreshes, in-process against the local
//! engines and held to `openapi.yaml`: `GET /api/tenants` (every active
//! tenant's status, a page at a time) and `GET /api/failures` (recent
//! failures by tenant and error class), each for a success and an error.

use serde_json::Value;
use std::collections::BTreeSet;
use synchub_core::domain::alert::Failure;
use synchub_core::domain::sync_run::RunStatus;
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::ports::FailureLog;
use synchub_core::ErrorClass;
use synchub_tests::api_contract::*;
use synchub_tests::square_server::SquareData;

fn ids(body: &Value) -> Vec<String> {
    body["tenants"]
        .as_array()
        .unwrap_or_else(|| panic!("no tenants: {body}"))
        .iter()
        .map(|t| t["tenantId"].as_str().unwrap().to_owned())
        .collect()
}

fn failure(tenant: &str, class: ErrorClass, minutes_ago: i64, key: &str) -> Failure {
    let at_millis = now_millis() - minutes_ago * 60_000;
    Failure {
        tenant_id: tenant.into(),
        source: "webhook:supplier".into(),
        error_class: class,
        reason: format!("sku {key} is malformed"),
        subject_id: format!("evt-{key}"),
        correlation_id: format!("sync-{tenant}-{at_millis}-0000abcd"),
        entity: Some(format!("SKU-{key}")),
        at_millis,
        key: key.into(),
        dead_letter_body: None,
    }
}

#[tokio::test]
async fn the_fleet_routes_answer_as_documented() {
    let s = setup(SquareData::empty()).await;
    let (a_shop, b_shop) = (s.tenant().await, s.tenant().await);
    s.seed_run(&a_shop, DataType::Catalog, RunStatus::Succeeded, 120)
        .await;
    let newest = s
        .seed_run(&a_shop, DataType::Catalog, RunStatus::Failed, 60)
        .await;
    s.seed_run(&b_shop, DataType::Orders, RunStatus::Succeeded, 30)
        .await;
    for (i, minutes) in [5, 10, 15].into_iter().enumerate() {
        let f = failure(
            &a_shop,
            ErrorClass::ValidationError,
            minutes,
            &format!("v{i}"),
        );
        s.api.failures.record(&f).await.expect("record");
    }
    let late = failure(&b_shop, ErrorClass::NetworkError, 1, "n1");
    s.api.failures.record(&late).await.expect("record");
    let mut contract = Contract::new();

    // Every active tenant, each with the newest run of each data type.
    let a = get(&s.api, "/api/tenants", &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    contract.check("GET /api/tenants", a.status, &a.body);
    let mut expected = vec![a_shop.clone(), b_shop.clone()];
    expected.sort();
    assert_eq!(ids(&a.body), expected);
    let shop_a = a.body["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenantId"] == a_shop.as_str())
        .unwrap();
    assert_eq!(shop_a["lastRuns"].as_array().unwrap().len(), 1, "{shop_a}");
    assert_eq!(shop_a["lastRuns"][0]["runId"], newest.run_id.as_str());
    assert_eq!(shop_a["failedCollections"][0], "catalog");
    assert_eq!(shop_a["name"], "Test shop");

    // A page at a time: every tenant once.
    let first = get(&s.api, "/api/tenants", &[("limit", "1")]).await;
    contract.check("GET /api/tenants", first.status, &first.body);
    let cursor = first.body["nextCursor"].as_str().expect("a next page");
    let second = get(
        &s.api,
        "/api/tenants",
        &[("limit", "1"), ("cursor", cursor)],
    )
    .await;
    assert!(second.body["nextCursor"].is_null(), "{}", second.body);
    let both: Vec<String> = [ids(&first.body), ids(&second.body)].concat();
    assert_eq!(both, expected);

    let a = get(&s.api, "/api/tenants", &[("limit", "101")]).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("limit")),
        "{}",
        a.body
    );
    contract.check("GET /api/tenants", a.status, &a.body);

    // Failures by tenant and class, newest group first, counted up to the limit.
    let a = get(&s.api, "/api/failures", &[("limit", "2")]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    contract.check("GET /api/failures", a.status, &a.body);
    let groups: Vec<(String, String, u64, bool)> = a.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["tenantId"].as_str().unwrap().to_owned(),
                g["errorClass"].as_str().unwrap().to_owned(),
                g["count"].as_u64().unwrap(),
                g["more"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            (b_shop.clone(), "NETWORK_ERROR".into(), 1, false),
            (a_shop.clone(), "VALIDATION_ERROR".into(), 2, true),
        ]
    );
    assert_eq!(
        a.body["groups"][1]["failures"][0]["subjectId"], "evt-v0",
        "newest first"
    );

    let a = get(&s.api, "/api/failures", &[("since", "an hour ago")]).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("since")),
        "{}",
        a.body
    );
    contract.check("GET /api/failures", a.status, &a.body);

    let all: BTreeSet<String> = ["GET /api/tenants", "GET /api/failures"]
        .map(str::to_owned)
        .into();
    assert_eq!(contract.succeeded, all);
    assert_eq!(contract.failed, all);
}
