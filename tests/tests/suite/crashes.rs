//! The worker under crashes and deadlines, against the local engines: the
//! audit keeps explaining the state (an item's revision equals its `applied`
//! rows) when an attempt dies between an entity's write and its audit row,
//! and a batch that cannot finish before the invocation's deadline is handed
//! back to SQS instead of timing out.

use std::time::{Duration, Instant};
use synchub_aws::dynamodb::DynamoItemStore;
use synchub_core::domain::{SupplierEvent, TenantId};
use synchub_core::ports::ItemStore;
use synchub_lambda::sqs::{handle_sync_batch, handle_sync_batch_within};
use synchub_tests::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An item's revision equals its `applied` rows, and each delivery has one row.
async fn assert_explained(stack: &TestStack, tenant: &str, sku: &str, deliveries: usize) {
    let rows = stack.audit(tenant, sku).await;
    assert_eq!(rows.len(), deliveries, "{rows:#?}");
    let applied = rows.iter().filter(|r| r.outcome == "applied").count() as i64;
    let item = stack.item(tenant, sku).await.expect("stored");
    assert_eq!(item["revision"], applied, "{item} vs {rows:#?}");
}

#[tokio::test]
async fn a_delivery_that_died_after_its_write_is_completed_as_applied_beside_a_newer_one() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let first = supplier_event("e1", "SKU-1", 1, &at_minute(1));
    // The first attempt at m1 wrote e1 and died before its audit row.
    let change = SupplierEvent::parse(&first, synchub_core::domain::time::now_millis())
        .unwrap()
        .into_change(TenantId::parse(&tenant.id).unwrap());
    DynamoItemStore::new(stack.dynamo(), &stack.config.items_table)
        .with_shards(stack.config.item_shards)
        .put_if_newer(&change, "m1", "sync-crashed")
        .await
        .unwrap();
    // SQS redelivers m1 in a batch with a newer event for the same SKU.
    let batch = [
        ("m1", queued(&tenant.id, &first), 2),
        (
            "m2",
            queued(&tenant.id, &supplier_event("e2", "SKU-1", 2, &at_minute(2))),
            1,
        ),
    ];
    let records: Vec<(&str, &str, u32)> =
        batch.iter().map(|(m, b, c)| (*m, b.as_str(), *c)).collect();
    let response = handle_sync_batch(&stack.worker(), sqs_event(&records)).await;
    assert!(response.batch_item_failures.is_empty());
    let rows = stack.audit(&tenant.id, "SKU-1").await;
    let m1 = rows.iter().find(|r| r.message_id == "m1").unwrap();
    assert_eq!(
        (m1.outcome.as_str(), m1.revision),
        ("applied", Some(1)),
        "{m1:#?}"
    );
    assert!(m1
        .note
        .as_deref()
        .unwrap()
        .starts_with("completed on redelivery"));
    assert_explained(&stack, &tenant.id, "SKU-1", 2).await;
}

#[tokio::test]
async fn a_batch_that_cannot_finish_before_the_deadline_is_handed_back_and_completed_on_redelivery()
{
    let stack = TestStack::new().await;
    let storefront = MockServer::start().await;
    let tenant = stack
        .tenant(Some(format!("{}/bust", storefront.uri())))
        .await;
    let bodies: Vec<(String, String)> = (1..=3)
        .map(|i| {
            let sku = format!("SKU-{i}");
            let event = supplier_event(&format!("e{i}"), &sku, i, &at_minute(i));
            (format!("m{i}"), queued(&tenant.id, &event))
        })
        .collect();
    let worker = stack.worker();
    {
        // The storefront hangs far past the invocation's budget.
        let _slow = Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(20)))
            .mount_as_scoped(&storefront)
            .await;
        let records: Vec<(&str, &str, u32)> = bodies
            .iter()
            .map(|(m, b)| (m.as_str(), b.as_str(), 1))
            .collect();
        let started = Instant::now();
        let response =
            handle_sync_batch_within(&worker, sqs_event(&records), Duration::from_millis(800))
                .await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let mut back: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        back.sort();
        assert_eq!(
            back,
            ["m1", "m2", "m3"],
            "every unfinished record goes back to SQS"
        );
    }
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&storefront)
        .await;
    // The redelivery completes each: one applied row, revision 1, published once.
    let records: Vec<(&str, &str, u32)> = bodies
        .iter()
        .map(|(m, b)| (m.as_str(), b.as_str(), 2))
        .collect();
    let response = handle_sync_batch(&worker, sqs_event(&records)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    for i in 1..=3 {
        let sku = format!("SKU-{i}");
        assert_explained(&stack, &tenant.id, &sku, 1).await;
        let rows = stack.audit(&tenant.id, &sku).await;
        assert_eq!(rows[0].targets["storefront"].status, "success", "{rows:#?}");
    }
}
