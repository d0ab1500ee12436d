//! sync-worker through the real handler and a real queue: partial batches,
//! the DLQ, throttling, redelivery, and the storefront publish.

use serde_json::json;
use std::time::Duration;
use synchub_lambda::sqs::handle_sync_batch;
use synchub_tests::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn send(stack: &TestStack, body: &str) -> String {
    stack
        .sqs()
        .send_message()
        .queue_url(&stack.config.sync_queue_url)
        .message_body(body)
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap()
}

#[tokio::test]
async fn a_malformed_record_goes_to_the_dlq_at_once_and_does_not_fail_its_batch() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let good = send(
        &stack,
        &queued(
            &tenant.id,
            &supplier_event("evt-1", "SKU-1", 5, &at_minute(1)),
        ),
    )
    .await;
    let bad = send(
        &stack,
        &queued(
            &tenant.id,
            &supplier_event("evt-2", "SKU-2", -5, &at_minute(1)),
        ),
    )
    .await;
    let junk = send(&stack, "this is not json").await;
    let worker = stack.worker();

    let stats = stack
        .queue()
        .poll_once(|e| async { handle_sync_batch(&worker, e).await })
        .await
        .unwrap();

    assert_eq!(
        (stats.received, stats.failed),
        (3, 0),
        "no record is handed back for retry"
    );
    assert_eq!(
        stack.queue().depth().await.unwrap(),
        0,
        "nothing left to redeliver"
    );
    assert_eq!(
        stack.item(&tenant.id, "SKU-1").await.unwrap()["quantity"],
        5
    );
    let parked = stack.dlq_messages().await;
    let mut reasons: Vec<(String, String)> = parked
        .iter()
        .map(|m| {
            let attrs = m.message_attributes().unwrap();
            (
                attrs["sourceMessageId"].string_value().unwrap().to_owned(),
                attrs["rejectReason"].string_value().unwrap().to_owned(),
            )
        })
        .collect();
    reasons.sort();
    let mut expected = vec![
        (
            bad.clone(),
            "quantity: must be a whole number from 0 to 1000000000".to_owned(),
        ),
        (
            junk.clone(),
            "message: is not a queued event: expected ident at line 1 column 2".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(reasons, expected);
    let rejected = stack.rejected_audit(&tenant.id).await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (
            rejected[0].outcome.as_str(),
            rejected[0].message_id.as_str()
        ),
        ("rejected", bad.as_str())
    );
    assert_eq!(
        rejected[0].reason.as_deref(),
        Some("quantity: must be a whole number from 0 to 1000000000")
    );
    let unknown = stack.rejected_audit("unknown").await;
    assert!(
        unknown.iter().any(|r| r.message_id == junk),
        "a record with no readable tenant is audited too"
    );
    let _ = good;
}

/// A DynamoDB endpoint that throttles every request, to break the adapter on purpose.
async fn throttling_dynamodb() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded."
        })).insert_header("content-type", "application/x-amz-json-1.0"))
        .mount(&server)
        .await;
    server
}

fn throttled_worker(stack: &TestStack, endpoint: &str) -> synchub_lambda::Worker {
    let conf = aws_sdk_dynamodb::config::Builder::from(&stack.aws)
        .endpoint_url(endpoint)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    let mut worker = stack.worker();
    worker.items = synchub_aws::dynamodb::DynamoItemStore::new(
        aws_sdk_dynamodb::Client::from_conf(conf),
        &stack.config.items_table,
    )
    .with_shards(stack.config.item_shards);
    worker
}

#[tokio::test]
async fn a_throttled_write_is_a_batch_item_failure_and_the_rest_of_the_batch_is_not() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let throttling = throttling_dynamodb().await;
    let worker = throttled_worker(&stack, &throttling.uri());
    let good = queued(
        &tenant.id,
        &supplier_event("evt-1", "SKU-1", 5, &at_minute(1)),
    );
    let bad = queued(
        &tenant.id,
        &supplier_event("evt-2", "SKU-2", -1, &at_minute(1)),
    );

    let response = handle_sync_batch(
        &worker,
        sqs_event(&[("m-good", &good, 1), ("m-bad", &bad, 1)]),
    )
    .await;

    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        vec!["m-good"],
        "only the throttled record is retried; the rejected one is parked"
    );
    assert!(
        stack.audit(&tenant.id, "SKU-1").await.is_empty(),
        "nothing is recorded for a record that will be retried"
    );
    assert_eq!(stack.dlq_messages().await.len(), 1);
}

#[tokio::test]
async fn a_record_that_keeps_failing_reaches_the_dlq_after_max_receive_count() {
    let stack = TestStack::with_queue(synchub_cli::local::QueueSettings {
        visibility_seconds: 1,
        max_receive_count: 2,
    })
    .await;
    let tenant = stack.tenant(None).await;
    let throttling = throttling_dynamodb().await;
    let worker = throttled_worker(&stack, &throttling.uri());
    let id = send(
        &stack,
        &queued(
            &tenant.id,
            &supplier_event("evt-1", "SKU-1", 5, &at_minute(1)),
        ),
    )
    .await;
    let source = stack.queue();

    let mut receives = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stack.dlq_messages().await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "message never reached the DLQ"
        );
        receives += source
            .poll_once(|e| async { handle_sync_batch(&worker, e).await })
            .await
            .unwrap()
            .received;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let parked = stack.dlq_messages().await;
    assert_eq!(parked[0].message_id(), Some(id.as_str()));
    assert_eq!(
        receives, 2,
        "delivered exactly maxReceiveCount times before redrive"
    );
}

#[tokio::test]
async fn the_storefront_is_called_once_per_applied_change_never_for_stale_or_duplicate() {
    let stack = TestStack::new().await;
    let storefront = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bust"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&storefront)
        .await;
    let tenant = stack
        .tenant(Some(format!("{}/bust", storefront.uri())))
        .await;
    let worker = stack.worker();
    let newest = queued(
        &tenant.id,
        &supplier_event("evt-3", "SKU-1", 3, &at_minute(3)),
    );
    let older = queued(
        &tenant.id,
        &supplier_event("evt-1", "SKU-1", 1, &at_minute(1)),
    );
    let other = queued(
        &tenant.id,
        &supplier_event("evt-9", "SKU-2", 9, &at_minute(1)),
    );

    handle_sync_batch(&worker, sqs_event(&[("m1", &newest, 1), ("m2", &other, 1)])).await;
    let late =
        handle_sync_batch(&worker, sqs_event(&[("m3", &older, 1), ("m4", &newest, 1)])).await;

    assert!(late.batch_item_failures.is_empty());
    let rows = stack.audit(&tenant.id, "SKU-1").await;
    let outcomes: Vec<(&str, &str, Option<&str>)> = rows
        .iter()
        .map(|r| {
            (
                r.message_id.as_str(),
                r.outcome.as_str(),
                r.beaten_by.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("m3", "stale", Some("evt-3")),
            ("m1", "applied", None),
            ("m4", "duplicate", None)
        ]
    );
    assert_eq!(rows[1].targets["storefront"].status, "success");
    assert!(
        rows[0].targets.is_empty() && rows[2].targets.is_empty(),
        "no target call for stale or duplicate"
    );
    let bodies: Vec<serde_json::Value> = storefront
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect();
    let sku1 = bodies
        .iter()
        .find(|b| b["id"] == "SKU-1")
        .expect("SKU-1 published");
    assert_eq!(
        (
            sku1["version"].as_i64(),
            sku1["eventId"].as_str(),
            sku1["kind"].as_str()
        ),
        (Some(1), Some("evt-3"), Some("catalog_item"))
    );
    // wiremock verifies .expect(2) on drop
}

#[tokio::test]
async fn a_failed_publish_is_audited_keeps_the_applied_state_and_is_retried_on_redelivery() {
    let stack = TestStack::new().await;
    let storefront = MockServer::start().await;
    let tenant = stack
        .tenant(Some(format!("{}/bust", storefront.uri())))
        .await;
    let worker = stack.worker();
    let body = queued(
        &tenant.id,
        &supplier_event("evt-1", "SKU-1", 7, &at_minute(1)),
    );
    {
        let _down = Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .expect(3)
            .mount_as_scoped(&storefront)
            .await;
        let first = handle_sync_batch(&worker, sqs_event(&[("m1", &body, 1)])).await;
        assert_eq!(
            first.batch_item_failures.len(),
            1,
            "SQS must redeliver to retry the publish"
        );
    }
    assert_eq!(
        stack.item(&tenant.id, "SKU-1").await.unwrap()["quantity"],
        7,
        "the applied state stays"
    );
    let rows = stack.audit(&tenant.id, "SKU-1").await;
    assert_eq!(rows.len(), 1);
    let status = &rows[0].targets["storefront"];
    assert_eq!(
        (status.status.to_string().as_str(), status.attempts),
        ("failed (NETWORK_ERROR)", 3)
    );

    let _up = Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount_as_scoped(&storefront)
        .await;
    let second = handle_sync_batch(&worker, sqs_event(&[("m1", &body, 2)])).await;
    assert!(second.batch_item_failures.is_empty());
    let third = handle_sync_batch(&worker, sqs_event(&[("m1", &body, 3)])).await;
    assert!(
        third.batch_item_failures.is_empty(),
        "a further redelivery does nothing"
    );

    let rows = stack.audit(&tenant.id, "SKU-1").await;
    assert_eq!(rows.len(), 1, "still one row for the delivery");
    assert_eq!(
        (
            rows[0].outcome.as_str(),
            rows[0].targets["storefront"].status.to_string().as_str()
        ),
        ("applied", "success")
    );
}

#[tokio::test]
async fn a_storefront_auth_failure_is_recorded_and_not_retried() {
    let stack = TestStack::new().await;
    let storefront = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&storefront)
        .await;
    let tenant = stack.tenant(Some(storefront.uri())).await;
    let body = queued(
        &tenant.id,
        &supplier_event("evt-1", "SKU-1", 7, &at_minute(1)),
    );
    let response = handle_sync_batch(&stack.worker(), sqs_event(&[("m1", &body, 1)])).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        stack.audit(&tenant.id, "SKU-1").await[0].targets["storefront"].status,
        "failed (AUTH_ERROR)"
    );
}

#[tokio::test]
async fn without_a_storefront_url_the_publish_is_skipped_and_audited_as_such() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let body = queued(
        &tenant.id,
        &supplier_event("evt-1", "SKU-1", 7, &at_minute(1)),
    );
    handle_sync_batch(&stack.worker(), sqs_event(&[("m1", &body, 1)])).await;
    assert_eq!(
        stack.audit(&tenant.id, "SKU-1").await[0].targets["storefront"].status,
        "skipped (not configured)"
    );
}

#[tokio::test]
async fn an_sqs_redelivery_of_the_same_message_adds_no_second_row_and_changes_nothing() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let worker = stack.worker();
    let body = queued(
        &tenant.id,
        &supplier_event("evt-1", "SKU-1", 7, &at_minute(1)),
    );
    handle_sync_batch(&worker, sqs_event(&[("m1", &body, 1)])).await;
    let before = stack.item(&tenant.id, "SKU-1").await.unwrap();
    for count in 2..=4 {
        let r = handle_sync_batch(&worker, sqs_event(&[("m1", &body, count)])).await;
        assert!(r.batch_item_failures.is_empty());
    }
    let rows = stack.audit(&tenant.id, "SKU-1").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, "applied");
    assert_eq!(
        stack.item(&tenant.id, "SKU-1").await.unwrap(),
        before,
        "no second write"
    );
}

#[tokio::test]
async fn a_source_retry_of_the_same_event_is_a_duplicate_with_its_own_row() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let worker = stack.worker();
    let body = queued(
        &tenant.id,
        &supplier_event("evt-1", "SKU-1", 7, &at_minute(1)),
    );
    handle_sync_batch(&worker, sqs_event(&[("m1", &body, 1)])).await;
    handle_sync_batch(&worker, sqs_event(&[("m2", &body, 1)])).await;
    let rows = stack.audit(&tenant.id, "SKU-1").await;
    let outcomes: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.message_id.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, vec![("m1", "applied"), ("m2", "duplicate")]);
    assert_eq!(
        stack.item(&tenant.id, "SKU-1").await.unwrap()["revision"],
        1
    );
}
