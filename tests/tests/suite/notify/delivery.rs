//! When SES fails: an outage retried through SQS, a rejected address recorded.

use super::*;
use serde_json::json;
use synchub_aws::ses::SesMailer;
use synchub_core::app::notify::notify_batch;
use synchub_core::ErrorClass;
use synchub_lambda::notify::incoming_from;
use synchub_lambda::Notifier;
use synchub_tests::unique;

#[tokio::test]
async fn an_ses_outage_is_retried_through_sqs_and_the_email_is_sent_once_afterwards() {
    let stack = TestStack::new().await;
    let recipient = format!("{}@shop.example", unique("ops"));
    let tenant = stack.tenant_with(None, vec![recipient.clone()]).await;
    // SES answers as when throttled, on every attempt.
    let ses_down = wiremock::MockServer::start().await;
    let throttled = r#"<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>r1</RequestId></ErrorResponse>"#;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(400)
                .set_body_string(throttled)
                .insert_header("content-type", "text/xml"),
        )
        .mount(&ses_down)
        .await;
    let down_config = aws_sdk_ses::config::Builder::from(&stack.aws)
        .endpoint_url(ses_down.uri())
        .retry_config(aws_sdk_ses::config::retry::RetryConfig::disabled())
        .build();
    let mut broken = Notifier::new(&stack.aws, &stack.config);
    broken.mailer = SesMailer::new(
        aws_sdk_ses::Client::from_conf(down_config),
        &stack.config.alert_sender,
    );

    // Through the real DLQ: the record stays on it while SES is down.
    let body = queued(&tenant.id, &json!({"eventId": "evt-ses", "sku": "SKU-1"}));
    stack
        .sqs()
        .send_message()
        .queue_url(&stack.config.sync_dlq_url)
        .message_body(&body)
        .message_group_id(&tenant.id)
        .send()
        .await
        .unwrap();
    let dlq = stack.dlq();
    let (stack, broken) = (&stack, &broken);
    let stats = dlq
        .poll_once(|event| async move {
            let records: Vec<Incoming> = event
                .records
                .iter()
                .map(|m| incoming_from(m, &stack.config.notify_queue_url))
                .collect();
            synchub_lambda::sqs::batch_response(&notify_batch(&broken.ports(), &records, T0).await)
        })
        .await
        .unwrap();
    assert_eq!(
        (stats.received, stats.failed),
        (1, 1),
        "the record is handed back to SQS"
    );
    assert!(!ses_down.received_requests().await.unwrap().is_empty());
    assert!(emails_to(&recipient).await.is_empty());
    let state = store(stack)
        .state(&tenant.id, ErrorClass::UnknownError)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (state.pending, state.lease_until_millis),
        (1, None),
        "still pending, lease released"
    );

    // SES is back: the redelivery sends the email once and counts the failure once.
    let healthy = &Notifier::new(&stack.aws, &stack.config);
    let mut received = 0;
    for _ in 0..20 {
        received += dlq
            .poll_once(|event| async move {
                let records: Vec<Incoming> = event
                    .records
                    .iter()
                    .map(|m| incoming_from(m, &stack.config.notify_queue_url))
                    .collect();
                synchub_lambda::sqs::batch_response(
                    &notify_batch(&healthy.ports(), &records, T0 + 5_000).await,
                )
            })
            .await
            .unwrap()
            .received;
        if received > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(received, 1, "redelivered after the visibility timeout");
    let emails = emails_to(&recipient).await;
    assert_eq!(emails.len(), 1);
    assert!(
        emails[0].body.contains("retries exhausted"),
        "a redriven record says why it is there: {}",
        emails[0].body
    );
    let state = store(stack)
        .state(&tenant.id, ErrorClass::UnknownError)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.total, state.pending, state.emails), (1, 0, 1));
}

#[tokio::test]
async fn a_permanently_rejected_address_is_recorded_and_the_failures_stay_pending() {
    let stack = TestStack::new().await;
    let tenant = stack
        .tenant_with(None, vec![format!("{}@shop.example", unique("ops"))])
        .await;
    let mut notifier = Notifier::new(&stack.aws, &stack.config);
    // moto refuses a sender that is not a verified identity, as SES does.
    notifier.mailer = SesMailer::new(
        aws_sdk_ses::Client::new(&stack.aws),
        "not-verified@nowhere.example",
    );
    let report = notify_batch(&notifier.ports(), &[rejected(&tenant.id, 1)], T0).await;
    assert!(
        report.retry.is_empty(),
        "a rejection is not retried in a loop: {report:?}"
    );
    assert!(
        report.outcomes[0].1.contains("email rejected"),
        "{report:?}"
    );
    let state = store(&stack)
        .state(&tenant.id, ErrorClass::ValidationError)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.pending, 1, "nothing dropped");
    assert!(
        state
            .delivery_error
            .as_deref()
            .is_some_and(|e| e.contains("MessageRejected")),
        "{state:?}"
    );
    assert_eq!(
        state.flush_at_millis,
        Some(T0 + WINDOW),
        "the next window tries again"
    );
}
