//! Dead letters: one email at once, a digest for the rest of the window,
//! replay, and never one email for two tenants.

use super::*;
use synchub_core::app::notify::notify_batch;
use synchub_core::domain::alert::Notice;
use synchub_core::ErrorClass;
use synchub_lambda::Notifier;
use synchub_tests::unique;

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
