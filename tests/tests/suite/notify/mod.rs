//! The failure notifier end to end: dead letters from the real worker and
//! DLQ, notification items in DynamoDB Local, emails read back from moto's
//! SES, delayed digests on the notifications queue. The clock is injected.

use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use synchub_aws::alerts::DynamoAlertStore;
use synchub_aws::ses::SesMailer;
use synchub_cli::local::{sent_emails, SentEmail};
use synchub_core::app::notify::{notify_batch, Incoming};
use synchub_core::domain::alert::Notice;
use synchub_core::ErrorClass;
use synchub_lambda::notify::incoming_from;
use synchub_lambda::Notifier;
use synchub_tests::{queued, supplier_event, unique, TestStack};

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

#[tokio::test]
async fn a_dead_letter_from_the_worker_becomes_one_email_with_trace_and_replay_commands() {
    let stack = TestStack::new().await;
    let recipient = format!("{}@shop.example", unique("ops"));
    let tenant = stack.tenant_with(None, vec![recipient.clone()]).await;
    let event = supplier_event("evt-bad", "SKU-9", -3, "2026-06-01T10:00:00Z");
    stack
        .sqs()
        .send_message()
        .queue_url(&stack.config.sync_queue_url)
        .message_body(queued(&tenant.id, &event))
        .message_group_id(&tenant.id)
        .send()
        .await
        .unwrap();
    stack.drain(&stack.worker(), Duration::from_secs(20)).await;

    let notifier = Notifier::new(&stack.aws, &stack.config);
    let dlq = stack.dlq();
    let mut handled = 0;
    for _ in 0..10 {
        handled += dlq
            .poll_once(|event| {
                synchub_lambda::notify::handle_failures(
                    &notifier,
                    &stack.config.notify_queue_url,
                    event,
                )
            })
            .await
            .unwrap()
            .received;
        if handled > 0 && dlq.depth().await.unwrap() == 0 {
            break;
        }
    }
    assert_eq!(
        handled, 1,
        "the one rejected record reached the DLQ and the notifier"
    );
    assert_eq!(
        dlq.depth().await.unwrap(),
        0,
        "the notifier acknowledged it"
    );

    let emails = emails_to(&recipient).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let email = &emails[0];
    assert_eq!(
        email.subject,
        format!("[synchub] {}: 1 VALIDATION_ERROR failure", tenant.id)
    );
    assert_eq!(email.source, stack.config.alert_sender);
    for needle in [
        "evt-bad",
        &format!("sync-{}-1-test", tenant.id),
        "quantity",
        &format!("synchub trace --tenant {} --sku SKU-9", tenant.id),
        &format!(
            "synchub replay --tenant {} --error-class VALIDATION_ERROR",
            tenant.id
        ),
    ] {
        assert!(
            email.body.contains(needle),
            "email lacks {needle:?}:\n{}",
            email.body
        );
    }

    // The dead letter is kept for replay, and replays once.
    let state = store(&stack)
        .state(&tenant.id, ErrorClass::ValidationError)
        .await
        .unwrap()
        .expect("notification item");
    assert_eq!((state.total, state.pending, state.emails), (1, 0, 1));
    assert_eq!(state.sample_ids, vec!["evt-bad".to_owned()]);
    let api = synchub_lambda::Api::new(&stack.aws, &stack.config);
    let tenant_id = synchub_core::domain::TenantId::parse(&tenant.id).unwrap();
    let now = synchub_core::domain::time::now_millis();
    let at = |ms: i64| {
        synchub_core::domain::time::canonical_time(
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap(),
        )
    };
    let request = synchub_ops::ReplayRequest {
        since: at(now - 86_400_000),
        until: at(now + 60_000),
        kinds: vec![],
        republish: false,
        dry_run: false,
        error_class: Some(ErrorClass::ValidationError),
    };
    let actions = |r: &synchub_ops::ReplayReport| -> Vec<(Option<String>, &'static str)> {
        r.items
            .iter()
            .map(|i| (i.event_id.clone(), i.action))
            .collect()
    };
    let first = api.replay(&tenant_id, &request, &|_, _| {}).await.unwrap();
    assert_eq!(
        actions(&first),
        vec![(Some("evt-bad".to_owned()), "replayed")]
    );
    let second = api.replay(&tenant_id, &request, &|_, _| {}).await.unwrap();
    assert_eq!(
        actions(&second),
        vec![(Some("evt-bad".to_owned()), "alreadyReplayed")]
    );
    // Another class's dead letters are not this replay's.
    let other = synchub_ops::ReplayRequest {
        error_class: Some(ErrorClass::NetworkError),
        ..request
    };
    assert!(api
        .replay(&tenant_id, &other, &|_, _| {})
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(
        stack.queue().depth().await.unwrap(),
        1,
        "exactly one message went back"
    );
}

#[tokio::test]
async fn fifty_failures_in_a_window_make_one_email_now_and_one_digest_with_the_rest() {
    let stack = TestStack::new().await;
    let recipient = format!("{}@shop.example", unique("ops"));
    let tenant = stack.tenant_with(None, vec![recipient.clone()]).await;
    let notifier = Notifier::new(&stack.aws, &stack.config);

    let first = notify_batch(&notifier.ports(), &[rejected(&tenant.id, 0)], T0).await;
    assert!(first.retry.is_empty(), "{first:?}");
    assert_eq!(
        emails_to(&recipient).await.len(),
        1,
        "the first failure after a quiet window is emailed at once"
    );

    let rest: Vec<Incoming> = (1..50).map(|i| rejected(&tenant.id, i)).collect();
    for (i, chunk) in rest.chunks(10).enumerate() {
        let report = notify_batch(&notifier.ports(), chunk, T0 + 1_000 * (i as i64 + 1)).await;
        assert!(report.retry.is_empty(), "{report:?}");
    }
    // Redelivered records are not counted twice.
    notify_batch(&notifier.ports(), &rest[..5], T0 + 60_000).await;
    assert_eq!(
        emails_to(&recipient).await.len(),
        1,
        "nothing more inside the window"
    );
    let state = store(&stack)
        .state(&tenant.id, ErrorClass::ValidationError)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.total, state.pending), (50, 49));
    let due = state.flush_at_millis.expect("a digest is scheduled");
    assert_eq!(due, T0 + WINDOW);
    assert_eq!(
        delayed_notices(&stack).await,
        1,
        "exactly one delayed flush on the notifications queue"
    );

    // The flush arrives when the window ends (here: handed over at that time).
    let flush = serde_json::to_string(&Notice::Flush {
        tenant_id: tenant.id.clone(),
        error_class: ErrorClass::ValidationError,
        due_millis: due,
    })
    .unwrap();
    let early = notify_batch(
        &notifier.ports(),
        &[Incoming::Notice {
            message_id: "f0".into(),
            body: flush.clone(),
        }],
        due - 1,
    )
    .await;
    assert_eq!(early.outcomes[0].1, "flush re-armed");
    assert_eq!(emails_to(&recipient).await.len(), 1);
    notify_batch(
        &notifier.ports(),
        &[Incoming::Notice {
            message_id: "f1".into(),
            body: flush.clone(),
        }],
        due,
    )
    .await;
    let emails = emails_to(&recipient).await;
    assert_eq!(emails.len(), 2);
    assert_eq!(
        emails[1].subject,
        format!(
            "[synchub] {}: 49 more VALIDATION_ERROR failures since the last email",
            tenant.id
        )
    );
    assert!(
        emails[1]
            .body
            .contains("49 more VALIDATION_ERROR failures since the last email"),
        "{}",
        emails[1].body
    );
    assert!(
        emails[1]
            .body
            .contains("49 in this email, 50 since first seen"),
        "{}",
        emails[1].body
    );

    // A second flush finds nothing pending: no third email.
    notify_batch(
        &notifier.ports(),
        &[Incoming::Notice {
            message_id: "f2".into(),
            body: flush,
        }],
        due + 1,
    )
    .await;
    assert_eq!(emails_to(&recipient).await.len(), 2);
    let state = store(&stack)
        .state(&tenant.id, ErrorClass::ValidationError)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.total, state.pending, state.emails), (50, 0, 2));
}

#[tokio::test]
async fn two_tenants_never_share_an_email() {
    let stack = TestStack::new().await;
    let (a_to, b_to) = (
        format!("{}@a.example", unique("ops")),
        format!("{}@b.example", unique("ops")),
    );
    let a = stack.tenant_with(None, vec![a_to.clone()]).await;
    let b = stack.tenant_with(None, vec![b_to.clone()]).await;
    let notifier = Notifier::new(&stack.aws, &stack.config);
    let report = notify_batch(
        &notifier.ports(),
        &[rejected(&a.id, 1), rejected(&b.id, 2), rejected(&a.id, 3)],
        T0,
    )
    .await;
    assert!(report.retry.is_empty());
    let (to_a, to_b) = (emails_to(&a_to).await, emails_to(&b_to).await);
    assert_eq!((to_a.len(), to_b.len()), (1, 1));
    assert!(to_a[0].subject.contains(&a.id) && !to_a[0].body.contains(&b.id));
    assert!(to_b[0].subject.contains(&b.id) && !to_b[0].body.contains(&a.id));
    assert_eq!(to_a[0].to, vec![a_to]);
}

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

#[tokio::test]
async fn a_failed_run_notice_is_emailed_with_the_sync_command() {
    let stack = TestStack::new().await;
    let recipient = format!("{}@shop.example", unique("ops"));
    let tenant = stack.tenant_with(None, vec![recipient.clone()]).await;
    let notifier = Notifier::new(&stack.aws, &stack.config);
    let notice = json!({"type": "runFailed", "tenantId": tenant.id, "dataType": "orders", "runId": "run-1",
        "correlationId": format!("sync-{}-1780308000000-ab12", tenant.id), "errorClass": "AUTH_ERROR",
        "message": "Square answered 401 UNAUTHORIZED", "failedAt": "2026-06-01T10:00:00Z"});
    let records = [
        Incoming::Notice {
            message_id: "n1".into(),
            body: notice.to_string(),
        },
        Incoming::Notice {
            message_id: "n2".into(),
            body: "{\"type\":\"runFailed\"}".into(),
        },
    ];
    let report = notify_batch(&notifier.ports(), &records, T0).await;
    assert_eq!(
        report.retry,
        vec!["n2".to_owned()],
        "an unreadable notice goes back to SQS (and on to its DLQ), never dropped"
    );
    let emails = emails_to(&recipient).await;
    assert_eq!(emails.len(), 1);
    assert!(emails[0].subject.contains("AUTH_ERROR"));
    assert!(
        emails[0].body.contains(&format!(
            "synchub sync --tenant {} --data-type orders --force",
            tenant.id
        )),
        "{}",
        emails[0].body
    );
    assert!(emails[0].body.contains("sync:orders") && emails[0].body.contains("run-1"));
}

#[tokio::test]
async fn the_daily_summary_is_sent_once_per_day_and_only_to_tenants_that_asked() {
    let stack = TestStack::new().await;
    let recipient = format!("{}@shop.example", unique("ops"));
    let tenant = stack.tenant_with(None, vec![recipient.clone()]).await;
    let quiet = stack.tenant_with(None, vec![recipient.clone()]).await;
    let directory = synchub_aws::dynamodb::DynamoTenantDirectory::new(
        stack.dynamo(),
        &stack.config.tenants_table,
        Duration::ZERO,
    );
    directory
        .put(&synchub_core::ports::TenantSettings {
            tenant_id: tenant.id.clone(),
            name: "Daily Shop".into(),
            active: true,
            storefront_url: None,
            targets_disabled: vec![],
            alert_recipients: vec![recipient.clone()],
            daily_summary: true,
            square_notification_url: None,
            flag_overrides: Default::default(),
            sync_method: None,
            allowed_suppliers: vec![],
            pos: vec![],
        })
        .await
        .unwrap();
    let notifier = Notifier::new(&stack.aws, &stack.config);
    let summary = |t: &str| {
        json!({"type": "dailySummary", "tenantId": t, "day": "2026-06-01", "runs": [
            {"runId": format!("sync-{t}-1-aa"), "dataType": "orders", "status": "succeeded", "fetched": 12, "enqueued": 12, "rejected": 0, "startedAt": "2026-06-01T02:00:00.000Z", "durationSeconds": 3}
        ]})
        .to_string()
    };
    let records = [
        Incoming::Notice {
            message_id: "s1".into(),
            body: summary(&tenant.id),
        },
        Incoming::Notice {
            message_id: "s2".into(),
            body: summary(&tenant.id),
        },
        Incoming::Notice {
            message_id: "s3".into(),
            body: summary(&quiet.id),
        },
    ];
    let report = notify_batch(&notifier.ports(), &records, T0).await;
    assert!(report.retry.is_empty(), "{report:?}");
    assert_eq!(report.outcomes[1].1, "summary already sent");
    assert_eq!(report.outcomes[2].1, "tenant has no daily summary");
    let emails = emails_to(&recipient).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(
        emails[0].subject,
        format!(
            "[synchub] {}: daily sync 2026-06-01: 1 of 1 runs succeeded",
            tenant.id
        )
    );
    assert!(
        emails[0].body.contains("Daily Shop")
            && emails[0].body.contains(&format!("sync-{}-1-aa", tenant.id)),
        "{}",
        emails[0].body
    );
}
