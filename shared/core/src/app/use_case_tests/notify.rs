//! Failure notifications: each failure counted once, the first after a quiet
//! window emailed at once, the rest carried by one digest when the window
//! ends, nothing dropped when the mailer is down.

use super::support::{at_minute, queued, supplier_event, TENANT};
use crate::app::notify::{notify_batch, AlertPolicy, Incoming, NotifyPorts};
use crate::domain::alert::Notice;
use crate::ports::fakes::{tenant_settings, FakeAlertStore, FakeMailer, FakeQueue, FakeTenants};
use crate::ports::TenantSettings;
use crate::ErrorClass;
use std::collections::HashMap;

const WINDOW: i64 = 15 * 60_000;
/// 2025-06-15T15:06:40Z.
const T0: i64 = 1_750_000_000_000;

struct Notifier {
    store: FakeAlertStore,
    mailer: FakeMailer,
    tenants: FakeTenants,
    notices: FakeQueue,
    policy: AlertPolicy,
}

impl Notifier {
    fn new() -> Self {
        Self {
            store: FakeAlertStore::new(),
            mailer: FakeMailer::new(),
            tenants: FakeTenants::new([TenantSettings {
                name: "Test shop".into(),
                alert_recipients: vec!["ops@shop.example".into()],
                daily_summary: true,
                ..tenant_settings(TENANT)
            }]),
            notices: FakeQueue::new(),
            policy: AlertPolicy {
                window_millis: WINDOW,
                default_recipient: "alerts@synchub.example".into(),
            },
        }
    }

    /// Handles one record; its outcome, or `Err` when it is handed back to SQS.
    async fn handle(&self, record: Incoming, now: i64) -> Result<String, ()> {
        let ports: NotifyPorts<(_, _, _, _)> = NotifyPorts {
            store: &self.store,
            mailer: &self.mailer,
            tenants: &self.tenants,
            notices: &self.notices,
            policy: &self.policy,
        };
        let report = notify_batch(&ports, &[record], now).await;
        match (report.outcomes.first(), report.retry.first()) {
            (Some((_, outcome)), None) => Ok(outcome.clone()),
            _ => Err(()),
        }
    }

    fn flushes(&self) -> Vec<(i64, i32)> {
        self.notices
            .sent()
            .iter()
            .filter_map(|m| match serde_json::from_str(&m.body).unwrap() {
                Notice::Flush { due_millis, .. } => Some((due_millis, m.delay_seconds)),
                _ => None,
            })
            .collect()
    }
}

/// A record the worker parked in the DLQ (rejected as invalid).
fn dead_letter(message_id: &str, sku: &str, sent_millis: i64) -> Incoming {
    Incoming::DeadLetter {
        message_id: format!("dlq-{message_id}"),
        body: queued(TENANT, &supplier_event("e1", sku, -1, &at_minute(1))),
        attributes: HashMap::from([
            ("errorClass".to_owned(), "VALIDATION_ERROR".to_owned()),
            (
                "rejectReason".to_owned(),
                "quantity: must be a whole number".to_owned(),
            ),
            ("sourceMessageId".to_owned(), message_id.to_owned()),
            ("tenantId".to_owned(), TENANT.to_owned()),
        ]),
        sent_millis,
    }
}

#[tokio::test]
async fn the_first_failure_is_emailed_at_once_and_a_redelivery_is_not_counted_again() {
    let n = Notifier::new();

    let first = n.handle(dead_letter("m1", "SKU-1", T0), T0).await.unwrap();
    let again = n
        .handle(dead_letter("m1", "SKU-1", T0), T0 + 1_000)
        .await
        .unwrap();

    assert!(first.starts_with("recorded; alert emailed"), "{first}");
    assert!(again.starts_with("already recorded"), "{again}");
    let sent = n.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, ["ops@shop.example"]);
    let state = n.store.state(TENANT, ErrorClass::ValidationError).unwrap();
    assert_eq!((state.total, state.pending, state.emails), (1, 0, 1));
}

#[tokio::test]
async fn failures_inside_the_window_wait_for_one_digest() {
    let n = Notifier::new();
    n.handle(dead_letter("m1", "SKU-1", T0), T0).await.unwrap();

    n.handle(dead_letter("m2", "SKU-2", T0 + 60_000), T0 + 60_000)
        .await
        .unwrap();
    n.handle(dead_letter("m3", "SKU-3", T0 + 120_000), T0 + 120_000)
        .await
        .unwrap();

    assert_eq!(
        n.mailer.sent().len(),
        1,
        "no second email inside the window"
    );
    let due = T0 + WINDOW;
    assert_eq!(
        n.flushes(),
        vec![(due, 14 * 60)],
        "one flush, delayed to the window's end"
    );

    let flush = Incoming::Notice {
        message_id: "flush-1".into(),
        body: n.notices.sent()[0].body.clone(),
    };
    let outcome = n.handle(flush, due).await.unwrap();

    assert_eq!(outcome, "digest emailed (2 failures)");
    assert_eq!(n.mailer.sent().len(), 2);
    let state = n.store.state(TENANT, ErrorClass::ValidationError).unwrap();
    assert_eq!((state.total, state.pending), (3, 0));
}

#[tokio::test]
async fn a_mailer_outage_leaves_the_failure_pending_and_the_record_retried() {
    let n = Notifier::new();
    n.mailer.faults.fail(ErrorClass::NetworkError, 1);

    assert!(n.handle(dead_letter("m1", "SKU-1", T0), T0).await.is_err());
    let state = n.store.state(TENANT, ErrorClass::ValidationError).unwrap();
    assert_eq!((state.pending, state.lease_until_millis), (1, None));

    let retried = n
        .handle(dead_letter("m1", "SKU-1", T0), T0 + 1_000)
        .await
        .unwrap();
    assert!(retried.contains("alert emailed (1 failures)"), "{retried}");
    assert_eq!(n.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_daily_summary_goes_out_once_per_day() {
    let n = Notifier::new();
    let summary = || Incoming::Notice {
        message_id: "s1".into(),
        body: serde_json::to_string(&Notice::DailySummary {
            tenant_id: TENANT.into(),
            day: "2025-06-14".into(),
            runs: vec![],
        })
        .unwrap(),
    };

    let first = n.handle(summary(), T0).await.unwrap();
    let again = n.handle(summary(), T0).await.unwrap();

    assert!(first.starts_with("daily summary"), "{first}");
    assert_eq!(again, "summary already sent");
    assert_eq!(n.mailer.sent().len(), 1);
}
