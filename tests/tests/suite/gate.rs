//! The launch gate and the counters behind it, through the real worker
//! handler and DynamoDB Local: what a batch adds, and the gate's verdict per
//! signal on seeded windows that pass and that fail each one.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use std::time::Duration;
use synchub_aws::dynamodb::{DynamoMetricsLedger, DynamoTenantDirectory};
use synchub_core::domain::metrics::{hour_of, Tally};
use synchub_core::domain::time::{now_millis, now_rfc3339};
use synchub_core::ports::MetricsLedger;
use synchub_lambda::sqs::handle_sync_batch;
use synchub_ops::gate;
use synchub_tests::*;

fn ledger(stack: &TestStack) -> DynamoMetricsLedger {
    DynamoMetricsLedger::new(
        stack.dynamo(),
        &stack.config.audit_table,
        Duration::from_secs(86_400),
    )
}

fn tenants(stack: &TestStack) -> DynamoTenantDirectory {
    DynamoTenantDirectory::new(stack.dynamo(), &stack.config.tenants_table, Duration::ZERO)
}

/// A record as SQS hands it over: the tenant as message group, sent `waited_ms` ago.
fn record(id: &str, tenant: &str, body: String, waited_ms: i64) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body);
    for (k, v) in [
        ("ApproximateReceiveCount", "1".to_owned()),
        ("MessageGroupId", tenant.to_owned()),
        ("SentTimestamp", (now_millis() - waited_ms).to_string()),
    ] {
        m.attributes.insert(k.into(), v);
    }
    m
}

fn window() -> (String, String) {
    let now = now_millis();
    let at = |ms: i64| {
        synchub_core::domain::time::canonical_time(
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap(),
        )
    };
    (at(now - 3_600_000), at(now + 60_000))
}

#[tokio::test]
async fn a_batch_adds_its_deliveries_outcomes_and_longest_wait_to_the_tenants_hour() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let body = |event: &str, minute: i64| {
        queued(
            &tenant.id,
            &supplier_event(event, "SKU-1", 1, &at_minute(minute)),
        )
    };
    let mut event = SqsEvent::default();
    event.records = vec![
        record("m1", &tenant.id, body("evt-2", 2), 1_500),
        record("m2", &tenant.id, body("evt-1", 1), 4_000),
        record("m3", &tenant.id, body("evt-2", 2), 200),
    ];

    handle_sync_batch(&stack.worker(), event).await;

    let hours = ledger(&stack)
        .hours(&tenant.id, "0000", "9999")
        .await
        .unwrap();
    assert_eq!(hours.len(), 1, "{hours:?}");
    let (hour, t) = &hours[0];
    assert_eq!(*hour, hour_of(&now_rfc3339()));
    assert_eq!(
        (t.received, t.audited, t.applied, t.stale + t.duplicate),
        (3, 3, 1, 2),
        "{t:?}"
    );
    assert!(
        (4_000..60_000).contains(&t.lag_max_ms),
        "the longest wait: {t:?}"
    );
}

#[tokio::test]
async fn the_gate_passes_a_clean_window_and_fails_each_signal_it_misses() {
    let stack = TestStack::new().await;
    let (clean, flaky) = (stack.tenant(None).await, stack.tenant(None).await);
    let ledger = ledger(&stack);
    let hour = hour_of(&now_rfc3339());
    let good = Tally {
        received: 1_000,
        audited: 1_000,
        applied: 900,
        publish_ok: 900,
        lag_max_ms: 2_000,
        ..Tally::default()
    };
    ledger.add(&clean.id, &hour, &good).await.unwrap();
    ledger.add(&flaky.id, &hour, &good).await.unwrap();
    let (since, until) = window();

    let report = gate(&ledger, &tenants(&stack), &since, &until)
        .await
        .unwrap();
    assert!(report.pass, "{report:#?}");
    assert_eq!(report.totals.applied, 1_800);

    // The flaky tenant's storefront fails, a delivery goes unaudited, one waits 2 minutes.
    let bad = Tally {
        received: 1,
        publish_failed: 10,
        lag_max_ms: 120_000,
        ..Tally::default()
    };
    ledger.add(&flaky.id, &hour, &bad).await.unwrap();
    let report = gate(&ledger, &tenants(&stack), &since, &until)
        .await
        .unwrap();
    let failed = |signals: &[synchub_core::domain::metrics::Signal]| -> Vec<&'static str> {
        signals.iter().filter(|s| !s.pass).map(|s| s.name).collect()
    };
    assert!(!report.pass);
    let by_tenant = |id: &str| {
        report
            .tenants
            .iter()
            .find(|t| t.tenant_id == id)
            .unwrap()
            .clone()
    };
    assert!(by_tenant(&clean.id).pass, "one tenant's trouble is its own");
    assert_eq!(
        failed(&by_tenant(&flaky.id).signals),
        vec![
            "staleItemsPercent",
            "queueLagSeconds",
            "publishErrorRatePercent",
            "traceCoveragePercent"
        ]
    );
    assert_eq!(by_tenant(&flaky.id).totals.lag_max_ms, 120_000);
}

#[tokio::test]
async fn a_window_that_ends_before_it_starts_is_refused_naming_the_field() {
    let stack = TestStack::new().await;
    let e = gate(
        &ledger(&stack),
        &tenants(&stack),
        "2026-12-02T10:00:00Z",
        "2026-12-02T09:00:00Z",
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("until"), "{e}");
}

/// The hour keeps its longest queue wait whatever order batches report in,
/// and a batch that does not beat it costs one write, not two (the `ADD`s
/// return the stored wait).
#[tokio::test]
async fn the_longest_wait_is_kept_with_one_write_for_a_batch_that_does_not_beat_it() {
    use synchub_tests::lambda_emulator::CountingProxy;
    let stack = TestStack::new().await;
    let proxy = CountingProxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()).await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&stack.aws)
            .endpoint_url(&proxy.url)
            .build(),
    );
    let ledger = DynamoMetricsLedger::new(
        client,
        &stack.config.audit_table,
        Duration::from_secs(86_400),
    );
    let tenant = format!("{}-lag", stack.prefix);
    let hour = hour_of(&now_rfc3339());
    let updates = || {
        proxy
            .counts()
            .get("DynamoDB_20120810.UpdateItem")
            .copied()
            .unwrap_or(0)
    };
    let batch = |lag_max_ms| Tally {
        audited: 1,
        lag_max_ms,
        ..Tally::default()
    };
    let mut writes = Vec::new();
    for lag in [2_000, 1_000, 2_000, 3_000, 0] {
        let before = updates();
        ledger.add(&tenant, &hour, &batch(lag)).await.unwrap();
        writes.push(updates() - before);
    }
    assert_eq!(writes, [2, 1, 1, 2, 1], "UpdateItems per batch");
    let hours = ledger.hours(&tenant, &hour, &hour).await.unwrap();
    assert_eq!(hours.len(), 1, "{hours:?}");
    assert_eq!(hours[0].1.lag_max_ms, 3_000);
    assert_eq!(hours[0].1.audited, 5);
}
