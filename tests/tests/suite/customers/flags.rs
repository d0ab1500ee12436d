//! The target flags: off, on (once even when SQS redelivers), and update sync.

use super::*;
use std::time::Duration;
use synchub_lambda::sqs::handle_sync_batch;
use wiremock::matchers::body_partial_json;

#[tokio::test]
async fn flags_off_means_no_target_call_and_a_skipped_ledger() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    targets.square_creates("SQ-1", 0).await;
    targets.hubspot_upserts(0).await;
    let worker = targets.worker(&stack, TargetFlags::default());

    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(1001, "bob@biller.com", "Bob", "2026-06-01T10:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;

    let record = customer(&stack, &tenant, 1001).await;
    assert_eq!(
        record["attributes"]["email"], "bob@biller.com",
        "the master record is written first, whatever the targets"
    );
    assert_eq!(
        (status(&record, "pos"), status(&record, "crm")),
        ("skipped (disabled)".into(), "skipped (disabled)".into())
    );
    let rows = stack
        .audit_rows(&format!("{}#customer#shopify-1001", tenant.id))
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].targets["pos"].status, "skipped (disabled)");
    assert_eq!(rows[0].targets["crm"].status, "skipped (disabled)");
    targets.square.verify().await;
    targets.hubspot.verify().await;
}

#[tokio::test]
async fn flags_on_call_each_target_exactly_once_even_when_sqs_redelivers() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    targets.square_creates("SQ-CUST-1", 1).await;
    targets.hubspot_upserts(1).await;
    let worker = targets.worker(&stack, ALL_ON);

    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(1002, "bob@biller.com", "Bob", "2026-06-01T10:00:00Z"),
    )
    .await;
    // Take the message as SQS would hand it over, then hand it over again.
    let message = take_one(&stack).await;
    let event = |receive_count: u32| as_delivered(&message, receive_count);
    let first = handle_sync_batch(&worker, event(1)).await;
    let again = handle_sync_batch(&worker, event(2)).await;
    assert!(first.batch_item_failures.is_empty() && again.batch_item_failures.is_empty());

    let record = customer(&stack, &tenant, 1002).await;
    assert_eq!(
        (status(&record, "pos"), status(&record, "crm")),
        ("success".into(), "success".into())
    );
    assert_eq!(
        record["squareCustomerId"], "SQ-CUST-1",
        "the POS id is kept on the master record"
    );
    let requests = targets.square.received_requests().await.unwrap();
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["email_address"], "bob@biller.com");
    assert_eq!(sent["reference_id"], "shopify-1002");
    assert_eq!(sent["idempotency_key"].as_str().map(str::len), Some(40));
    let upsert: Value =
        serde_json::from_slice(&targets.hubspot.received_requests().await.unwrap()[0].body)
            .unwrap();
    assert_eq!(upsert["inputs"][0]["idProperty"], "email");
    assert_eq!(upsert["inputs"][0]["id"], "bob@biller.com");
    targets.square.verify().await;
    targets.hubspot.verify().await;
}

#[tokio::test]
async fn updates_change_the_master_record_but_call_no_target_unless_update_sync_is_on() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    targets.square_creates("SQ-UPD", 1).await;
    targets.hubspot_upserts(1).await;
    let worker = targets.worker(
        &stack,
        TargetFlags {
            pos: true,
            crm: true,
            updates: false,
        },
    );

    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(1003, "bob@biller.com", "Bob", "2026-06-01T10:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;
    register(
        &stack,
        &tenant,
        "customers/update",
        "evt-2",
        &shopify_customer(1003, "bob@biller.com", "Robert", "2026-06-01T11:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;

    let record = customer(&stack, &tenant, 1003).await;
    assert_eq!(record["attributes"]["firstName"], "Robert");
    assert_eq!(status(&record, "pos"), "skipped (disabled)");
    targets.square.verify().await;
    targets.hubspot.verify().await;

    // With update sync on, the update goes to the POS by its kept id, and to the CRM.
    targets.hubspot.reset().await;
    targets.hubspot_upserts(1).await;
    Mock::given(method("PUT"))
        .and(path("/v2/customers/SQ-UPD"))
        .and(body_partial_json(json!({"given_name": "Roberto"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(square_customer("SQ-UPD")))
        .expect(1)
        .mount(&targets.square)
        .await;
    let worker = targets.worker(&stack, ALL_ON);
    register(
        &stack,
        &tenant,
        "customers/update",
        "evt-3",
        &shopify_customer(1003, "bob@biller.com", "Roberto", "2026-06-01T12:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;
    assert_eq!(
        status(&customer(&stack, &tenant, 1003).await, "pos"),
        "success"
    );
}
