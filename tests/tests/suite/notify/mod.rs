//! The failure notifier end to end: dead letters from the real worker and
//! DLQ, notification items in DynamoDB Local, emails read back from moto's
//! SES, delayed digests on the notifications queue. The clock is injected.

use std::collections::HashMap;
use std::time::Duration;
use synchub_aws::alerts::DynamoAlertStore;
use synchub_cli::local::{sent_emails, SentEmail};
use synchub_core::app::notify::Incoming;
use synchub_tests::{queued, supplier_event, TestStack};

mod dead_letters;
mod delivery;
mod notices;

const WINDOW: i64 = 15 * 60_000;
const T0: i64 = 1_780_308_000_000;

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL_SES").expect("the harness sets the SES endpoint")
}

async fn emails_to(recipient: &str) -> Vec<SentEmail> {
    sent_emails(&moto())
        .await
        .expect("moto's data")
        .into_iter()
        .filter(|e| e.to.iter().any(|t| t == recipient))
        .collect()
}

fn store(stack: &TestStack) -> DynamoAlertStore {
    DynamoAlertStore::new(
        stack.dynamo(),
        &stack.config.notifications_table,
        Duration::from_secs(3600),
    )
}

/// A dead letter as the worker parks a rejected record.
fn rejected(tenant: &str, i: usize) -> Incoming {
    let event = supplier_event(
        &format!("evt-{i}"),
        &format!("SKU-{i}"),
        -1,
        "2026-06-01T10:00:00Z",
    );
    Incoming::DeadLetter {
        message_id: format!("dlq-{tenant}-{i}"),
        body: queued(tenant, &event),
        attributes: HashMap::from([
            ("errorClass".to_owned(), "VALIDATION_ERROR".to_owned()),
            (
                "rejectReason".to_owned(),
                "quantity: must be a whole number >= 0".to_owned(),
            ),
            ("sourceMessageId".to_owned(), format!("m-{tenant}-{i}")),
            ("tenantId".to_owned(), tenant.to_owned()),
        ]),
        sent_millis: T0 + i as i64,
    }
}

async fn delayed_notices(stack: &TestStack) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = stack
        .sqs()
        .get_queue_attributes()
        .queue_url(&stack.config.notify_queue_url)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    attrs
        .get(&A::ApproximateNumberOfMessagesDelayed)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
