//! What a pull stores: every data type, tombstones from a complete full pull
//! only, and the dry run that writes nothing.

use super::*;
use serde_json::json;
use synchub_cli::sync::sync;
use synchub_core::app::daily_sync::dry_run;
use synchub_core::domain::sync_run::RunStatus;
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::ports::{AuditHistory, RunLog};
use synchub_tests::square_server::Fault;

#[tokio::test]
async fn every_data_type_lands_in_dynamodb_through_the_worker() {
    let mut d = data(25);
    d.categories = square_server::categories(3);
    d.locations = square_server::locations(12);
    d.orders = square_server::orders(30, 12);
    d.counts = square_server::counts(7, 12);
    let s = setup(d, 10).await;
    let lines = sync(&s.sync, &s.tenant_id(), &DataType::ALL, false, true)
        .await
        .unwrap();
    let runs = ran(&lines);
    assert_eq!(runs.len(), 5, "{lines:?}");
    for r in &runs {
        assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
        assert!(
            r.run_id.starts_with(&format!("sync-{}-", s.tenant.id)),
            "{}",
            r.run_id
        );
    }
    let fetched: Vec<(DataType, u64)> = runs.iter().map(|r| (r.data_type, r.fetched)).collect();
    assert_eq!(
        fetched,
        vec![
            (DataType::Orders, 30),
            (DataType::Catalog, 25),
            (DataType::Categories, 3),
            (DataType::Locations, 12),
            (DataType::Inventory, 7)
        ]
    );
    assert!(s
        .square
        .authorizations()
        .iter()
        .all(|a| a == &format!("Bearer {TOKEN}")));
    // Orders for 12 locations take two searches of at most ten.
    assert!(
        s.square
            .requests()
            .iter()
            .filter(|(m, p)| m == "POST" && p.starts_with("/v2/orders/search"))
            .count()
            >= 2
    );

    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(60))
        .await;
    assert_eq!(s.stored("item").await.len(), 25);
    assert_eq!(s.stored("category").await.len(), 3);
    assert_eq!(s.stored("location").await.len(), 12);
    assert_eq!(s.stored("order").await.len(), 30);
    assert_eq!(s.stored("inventory").await.len(), 7);
}

#[tokio::test]
async fn a_complete_full_pull_tombstones_what_square_no_longer_returns_and_a_partial_one_does_not()
{
    let s = setup(data(10), 4).await;
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], false, true)
        .await
        .unwrap();
    assert_eq!(ran(&lines)[0].status, RunStatus::Succeeded);
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;

    // A product from the storefront (Shopify) lives beside Square's items: a
    // full pull from Square says nothing about it.
    let shopify_product = json!({"schema": 1, "tenantId": s.tenant.id, "source": "shopify", "eventId": "shp-evt-1", "correlationId": "sync-t-1-shp",
        "receivedAt": "2026-06-01T10:00:00Z", "topic": "products/update",
        "payload": {"kind": "item", "id": "shopify-42", "updatedAt": "2026-06-01T10:00:00Z", "eventId": "shp-evt-1", "attributes": {"name": "Storefront mug"}}});
    s.stack
        .sqs()
        .send_message()
        .queue_url(&s.stack.config.sync_queue_url)
        .message_body(shopify_product.to_string())
        .send()
        .await
        .unwrap();
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;

    // ITEM000003 is deleted at Square (gone from the listing); a run that fails midway must not conclude that.
    let mut d = data(10);
    d.items.retain(|i| i["id"] != "ITEM000003");
    s.square.set_data(d);
    // The pull fails before it completes: a partial pull proves nothing.
    s.square.inject("/v2/catalog/list", Fault::Unauthorized, 1);
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], true, true)
        .await
        .unwrap();
    assert_eq!(ran(&lines)[0].status, RunStatus::Failed);
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;
    assert!(
        s.stored("item").await.iter().all(|(_, deleted)| !deleted),
        "no tombstone from a failed run"
    );

    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], true, true)
        .await
        .unwrap();
    assert_eq!(ran(&lines)[0].status, RunStatus::Succeeded);
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;
    let deleted: Vec<String> = s
        .stored("item")
        .await
        .into_iter()
        .filter(|(_, d)| *d)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        deleted,
        vec!["ITEM000003".to_owned()],
        "the Shopify product is not Square's to delete"
    );
    assert!(s
        .stored("item")
        .await
        .contains(&("shopify-42".to_owned(), false)));
    let rows =
        synchub_aws::dynamodb::DynamoAuditLog::new(s.stack.dynamo(), &s.stack.config.audit_table)
            .entity_history(&format!("{}#item#ITEM000003", s.tenant.id))
            .await
            .unwrap();
    assert!(rows.iter().any(|r| r.outcome == "deleted" && r.reason.as_deref() == Some("absent from full sync")), "{rows:?}");
}

#[tokio::test]
async fn a_dry_run_reports_changes_and_writes_nothing() {
    let s = setup(data(8), 3).await;
    let report = dry_run(
        &s.sync.ports(),
        &s.tenant_id(),
        DataType::Catalog,
        now_millis(),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.fetched,
            report.new,
            report.changed,
            report.would_delete
        ),
        (8, 8, 0, 0)
    );
    assert!(s.take_queue().await.is_empty(), "nothing enqueued");
    assert!(
        s.sync.runs.runs(&s.tenant.id).await.unwrap().is_empty(),
        "no run recorded"
    );

    sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], false, true)
        .await
        .unwrap();
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;
    let mut d = data(8);
    d.items.truncate(7);
    d.items[0]["version"] = Value::from(99_999);
    s.square.set_data(d);
    let report = dry_run(
        &s.sync.ports(),
        &s.tenant_id(),
        DataType::Catalog,
        now_millis(),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.new,
            report.changed,
            report.unchanged,
            report.would_delete
        ),
        (0, 1, 6, 1)
    );
}
