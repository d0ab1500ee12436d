//! Replay by window (`POST /api/tenants/{tenantId}/replay`, `synchub
//! replay`) against the local engines, through the real worker: a window with
//! a failed storefront publish, a stale and a duplicate delivery, an item
//! whose store fell behind (a restore), a dead letter; the dry run names
//! exactly what it would touch and why, the real run heals it, and a second
//! dry run finds nothing left to do.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::time::Duration;
use synchub_core::domain::alert::Failure;
use synchub_core::ports::FailureLog;
use synchub_lambda::sqs::handle_sync_batch;
use synchub_tests::api_contract::*;
use synchub_tests::square_server::SquareData;
use synchub_tests::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `(kind, id, reason, action)` of every item a replay answered, sorted.
fn items(body: &Value) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {body}"))
        .iter()
        .map(|i| {
            let text = |k: &str| i[k].as_str().unwrap_or("-").to_owned();
            (text("kind"), text("id"), text("reason"), text("action"))
        })
        .collect();
    out.sort();
    out
}

fn item(kind: &str, id: &str, reason: &str, action: &str) -> (String, String, String, String) {
    (kind.into(), id.into(), reason.into(), action.into())
}

fn window(extra: Value) -> String {
    let now = synchub_core::domain::time::now_millis();
    let at = |ms: i64| {
        synchub_core::domain::time::canonical_time(
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap(),
        )
    };
    let mut body = json!({"since": at(now - 3_600_000), "until": at(now + 60_000)});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body.to_string()
}

#[tokio::test]
async fn a_dry_run_names_what_a_replay_touches_and_a_real_one_heals_it() {
    let s = setup(SquareData::empty()).await;
    let storefront = MockServer::start().await;
    let tenant = s
        .stack
        .tenant(Some(format!("{}/bust", storefront.uri())))
        .await;
    let other = s.stack.tenant(None).await;
    let worker = s.stack.worker();
    let deliver = |batch: Vec<(&'static str, String)>| {
        let worker = &worker;
        async move {
            let records: Vec<(&str, &str, u32)> =
                batch.iter().map(|(m, b)| (*m, b.as_str(), 1)).collect();
            let response = handle_sync_batch(worker, sqs_event(&records)).await;
            assert!(response.batch_item_failures.is_empty());
        }
    };
    let event = |t: &str, e: &str, sku: &str, minute| {
        queued(t, &supplier_event(e, sku, minute, &at_minute(minute)))
    };

    // The storefront refuses (401: recorded failed, not retried) SKU-1's publish.
    {
        let _refusing = Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401))
            .mount_as_scoped(&storefront)
            .await;
        deliver(vec![("m1", event(&tenant.id, "e1", "SKU-1", 1))]).await;
    }
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&storefront)
        .await;
    // SKU-2: applied, then an older event (stale) and a re-send (duplicate).
    deliver(vec![("m2", event(&tenant.id, "e2", "SKU-2", 2))]).await;
    deliver(vec![
        ("m3", event(&tenant.id, "e0", "SKU-2", 0)),
        ("m4", event(&tenant.id, "e2", "SKU-2", 2)),
    ])
    .await;
    // SKU-3: applied, then its item is lost (a restore from an older backup).
    deliver(vec![("m5", event(&tenant.id, "e3", "SKU-3", 3))]).await;
    s.stack
        .dynamo()
        .delete_item()
        .table_name(&s.stack.config.items_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(s.stack.item_partition(
                &tenant.id,
                "catalog_item",
                "SKU-3",
            )),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("catalog_item#SKU-3".into()),
        )
        .send()
        .await
        .unwrap();
    // SKU-4: a dead letter the notifier kept (rejected then; valid now).
    s.api
        .failures
        .record(&Failure {
            tenant_id: tenant.id.clone(),
            source: "webhook:supplier".into(),
            error_class: synchub_core::ErrorClass::ValidationError,
            reason: "tenant was not configured".into(),
            subject_id: "e4".into(),
            correlation_id: format!("sync-{}-1-test", tenant.id),
            entity: Some("SKU-4".into()),
            at_millis: synchub_core::domain::time::now_millis() - 60_000,
            key: "dlq-msg-4".into(),
            dead_letter_body: Some(event(&tenant.id, "e4", "SKU-4", 4)),
        })
        .await
        .unwrap();
    // Another tenant's deliveries in the same window never show.
    deliver(vec![("m9", event(&other.id, "e9", "SKU-1", 9))]).await;

    let mut contract = Contract::new();
    let path = format!("/api/tenants/{}/replay", tenant.id);

    // The dry run (the default) names exactly what it would touch, and why.
    let a = post(&s.api, &path, &window(json!({}))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    contract.check("POST /api/tenants/{tenantId}/replay", a.status, &a.body);
    assert_eq!(
        items(&a.body),
        vec![
            item("catalog_item", "SKU-1", "publishFailed", "wouldReplay"),
            item("catalog_item", "SKU-3", "newerThanStored", "wouldReplay"),
            item("catalog_item", "SKU-4", "deadLetter", "wouldReplay"),
        ],
        "{:#}",
        a.body
    );
    assert_eq!(
        (
            &a.body["deliveries"],
            &a.body["entities"],
            &a.body["deadLetters"],
            &a.body["sent"]
        ),
        (&json!(5), &json!(3), &json!(1), &json!(0))
    );
    assert_eq!(
        s.stack.queue().depth().await.unwrap(),
        0,
        "a dry run sends nothing"
    );

    // With republish, SKU-2 (delivered, published) is touched too; a kind
    // filter keeps only that kind.
    let a = post(&s.api, &path, &window(json!({"republish": true}))).await;
    assert!(items(&a.body).contains(&item(
        "catalog_item",
        "SKU-2",
        "republishRequested",
        "wouldReplay"
    )));
    let a = post(&s.api, &path, &window(json!({"kinds": ["customer"]}))).await;
    assert_eq!(items(&a.body), vec![], "{}", a.body);

    // Bad requests name the field; an unknown tenant is 404.
    let a = post(&s.api, &path, r#"{"until": "2026-12-02T10:00:00Z"}"#).await;
    assert_eq!(a.status, 400, "{}", a.body);
    contract.check("POST /api/tenants/{tenantId}/replay", a.status, &a.body);
    let a = post(
        &s.api,
        &path,
        r#"{"since": "2026-10-01T00:00:00Z", "until": "2026-12-02T00:00:00Z"}"#,
    )
    .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("until")),
        "{}",
        a.body
    );
    let a = post(&s.api, &path, &window(json!({"kinds": ["sku"]}))).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (400, Some("kinds")),
        "{}",
        a.body
    );
    let a = post(
        &s.api,
        "/api/tenants/no-such-shop/replay",
        &window(json!({})),
    )
    .await;
    assert_eq!(a.status, 404, "{}", a.body);
    contract.check("POST /api/tenants/{tenantId}/replay", a.status, &a.body);

    // The real run sends the three, and the worker heals each.
    let a = post(&s.api, &path, &window(json!({"dryRun": false}))).await;
    assert_eq!(a.status, 202, "{}", a.body);
    contract.check("POST /api/tenants/{tenantId}/replay", a.status, &a.body);
    assert_eq!(a.body["sent"], 3, "{}", a.body);
    let replay_id = a.body["replayId"].as_str().unwrap().to_owned();
    s.stack.drain(&worker, Duration::from_secs(30)).await;

    let sku1 = s.stack.audit(&tenant.id, "SKU-1").await;
    let republished = sku1
        .iter()
        .find(|r| r.note.as_deref().is_some_and(|n| n.contains(&replay_id)))
        .unwrap_or_else(|| panic!("no row of the replay: {sku1:#?}"));
    assert_eq!(republished.outcome, "duplicate");
    assert_eq!(republished.targets["storefront"].status, "success");
    assert_eq!(republished.revision, Some(1));
    assert_eq!(
        s.stack.item(&tenant.id, "SKU-3").await.unwrap()["eventId"],
        "e3"
    );
    assert_eq!(
        s.stack.item(&tenant.id, "SKU-4").await.unwrap()["eventId"],
        "e4"
    );
    assert_eq!(
        s.stack.item(&tenant.id, "SKU-2").await.unwrap()["eventId"],
        "e2",
        "never rolled back"
    );

    // Nothing is left to do: the dead letter is marked replayed.
    let a = post(&s.api, &path, &window(json!({}))).await;
    assert_eq!(
        items(&a.body),
        vec![item(
            "catalog_item",
            "SKU-4",
            "deadLetter",
            "alreadyReplayed"
        )],
        "{:#}",
        a.body
    );
    // The gate counts the healed publish: no stale item is left.
    let gate = s.api.gate(None, None).await.unwrap();
    let tenant_gate = gate
        .tenants
        .iter()
        .find(|t| t.tenant_id == tenant.id)
        .unwrap();
    assert_eq!(tenant_gate.totals.stale_items(), 0, "{tenant_gate:?}");
    assert!(tenant_gate.totals.publish_recovered >= 1, "{tenant_gate:?}");
}

#[tokio::test]
async fn a_large_change_is_kept_compressed_and_reads_back_exactly() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let object = json!({
        "kind": "item", "id": "ITEM-L", "updatedAt": at_minute(1), "eventId": "sq-ITEM-L-v1",
        "attributes": {"description": "organic fair-trade whole-bean coffee, ".repeat(60)}
    });
    let body = json!({
        "schema": 1, "tenantId": tenant.id, "source": "square", "eventId": "sq-ITEM-L-v1",
        "correlationId": format!("sync-{}-1-test", tenant.id),
        "receivedAt": "2026-06-01T10:00:00Z", "payload": object
    })
    .to_string();
    assert!(body.len() > 2048);
    let response = handle_sync_batch(&stack.worker(), sqs_event(&[("m1", &body, 1)])).await;
    assert!(response.batch_item_failures.is_empty());
    let rows = stack
        .audit_rows(&format!("{}#item#ITEM-L", tenant.id))
        .await;
    assert_eq!(rows[0].outcome, "applied", "{rows:?}");
    assert_eq!(rows[0].change.as_deref(), Some(body.as_str()));
    // As stored: deflated into `changeZ`, so the row stays small.
    let stored = stack
        .dynamo()
        .get_item()
        .table_name(&stack.config.audit_table)
        .key("pk", AttributeValue::S(rows[0].pk.clone()))
        .key("sk", AttributeValue::S(rows[0].sk.clone()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!stored.contains_key("change"), "{stored:?}");
    assert!(stored["changeZ"].as_s().unwrap().len() < 600, "{stored:?}");
}

/// Sets the tenant's supplier allowlist on its settings item.
async fn allow_suppliers(stack: &TestStack, tenant: &str, suppliers: &[&str]) {
    use aws_sdk_dynamodb::types::AttributeValue;
    stack
        .dynamo()
        .update_item()
        .table_name(&stack.config.tenants_table)
        .key("pk", AttributeValue::S(tenant.to_owned()))
        .update_expression("SET allowedSuppliers = :list")
        .expression_attribute_values(
            ":list",
            AttributeValue::L(
                suppliers
                    .iter()
                    .map(|s| AttributeValue::S((*s).to_owned()))
                    .collect(),
            ),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_supplier_outside_the_allowlist_is_held_then_applied_by_a_replay_once_allowed() {
    let s = setup(SquareData::empty()).await;
    let tenant = s.stack.tenant(None).await;
    allow_suppliers(&s.stack, &tenant.id, &["sup-2"]).await;
    // supplier_event is from sup-1.
    let body = queued(&tenant.id, &supplier_event("e1", "SKU-1", 7, &at_minute(1)));
    let response = handle_sync_batch(&s.stack.worker(), sqs_event(&[("m1", &body, 1)])).await;
    assert!(response.batch_item_failures.is_empty());
    let rows = s.stack.audit(&tenant.id, "SKU-1").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "ignored");
    assert!(
        rows[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("supplier sup-1 is not in the tenant's allowed suppliers (sup-2)"),
        "{rows:?}"
    );
    assert!(
        s.stack.item(&tenant.id, "SKU-1").await.is_none(),
        "held, not applied"
    );

    // Widened to sup-1: the replay finds the held event and applies it.
    allow_suppliers(&s.stack, &tenant.id, &["sup-1", "sup-2"]).await;
    let path = format!("/api/tenants/{}/replay", tenant.id);
    let a = post(&s.api, &path, &window(json!({"dryRun": false}))).await;
    assert_eq!(
        items(&a.body),
        vec![item("catalog_item", "SKU-1", "newerThanStored", "replayed")],
        "{:#}",
        a.body
    );
    let fresh_worker = s.stack.worker();
    s.stack.drain(&fresh_worker, Duration::from_secs(30)).await;
    assert_eq!(
        s.stack.item(&tenant.id, "SKU-1").await.unwrap()["quantity"],
        7
    );
}
