//! Customer registrations through the worker: the POS and the CRM each
//! behind its flag, results kept in the ledger on the master record, no
//! second call for a redelivery, and backfill of exactly what was skipped.

use super::apply::Worker;
use super::support::{at_minute, delivery, queued_from, tenant, TENANT};
use crate::app::apply::{Delivery, STOREFRONT};
use crate::app::customers::{
    backfill, idempotency_key, CustomerPorts, Target, TargetFlags, CRM, POS,
};
use crate::app::SHOPIFY;
use crate::domain::audit::{AuditOutcome, AuditRow, TargetState};
use crate::domain::provider_webhook::redaction;
use crate::domain::time::parse_rfc3339_millis;
use crate::domain::{EntityKey, EntityKind};
use crate::ports::fakes::TargetCall;
use crate::ports::CustomerLedger;
use crate::ErrorClass;
use serde_json::{json, Value};

const CUSTOMER: &str = "shopify-1001";

fn all_on() -> TargetFlags {
    TargetFlags {
        pos: true,
        crm: true,
        updates: true,
    }
}

fn worker(flags: TargetFlags) -> Worker {
    let mut w = Worker::new();
    w.flags = flags;
    w
}

/// A Shopify customer webhook as ingest queues it.
fn customer_delivery(message_id: &str, topic: &str, event_id: &str, minute: i64) -> Delivery {
    let payload = json!({
        "kind": "customer", "id": CUSTOMER, "updatedAt": at_minute(minute), "eventId": event_id,
        "attributes": {"email": "bob@biller.com", "firstName": "Bob", "lastName": "Biller"}
    });
    delivery(
        message_id,
        &queued_from(TENANT, SHOPIFY, Some(topic), &payload),
        1,
    )
}

fn erasure_delivery(message_id: &str, minute: i64) -> Delivery {
    let (_, millis) = parse_rfc3339_millis(&at_minute(minute)).unwrap();
    let payload: Value = serde_json::to_value(redaction(
        CUSTOMER,
        "redacted (customers/redact)",
        "shopify-redact-1",
        millis,
    ))
    .unwrap();
    delivery(
        message_id,
        &queued_from(TENANT, SHOPIFY, Some("customers/redact"), &payload),
        1,
    )
}

fn row(w: &Worker, message_id: &str) -> AuditRow {
    let pk = EntityKey {
        tenant: tenant(),
        kind: EntityKind::Customer,
        id: CUSTOMER.into(),
    }
    .audit_partition();
    w.audit
        .partition(&pk)
        .into_iter()
        .find(|r| r.message_id == message_id)
        .expect("an audit row")
}

fn state(row: &AuditRow, target: Target) -> TargetState {
    row.targets[target.as_str()].status.clone()
}

#[tokio::test]
async fn a_registration_goes_to_the_pos_and_the_crm_once_and_the_ledger_keeps_their_ids() {
    let w = worker(all_on());

    let report = w
        .apply(&[customer_delivery("m1", "customers/create", "evt-1", 1)])
        .await;

    assert!(report.retry.is_empty(), "{report:?}");
    assert_eq!(
        w.targets.calls(),
        vec![
            TargetCall::PosUpsert {
                tenant: TENANT.into(),
                customer: CUSTOMER.into(),
                pos_id: None,
                idempotency_key: idempotency_key(&tenant(), CUSTOMER, "evt-1"),
            },
            TargetCall::CrmUpsert {
                tenant: TENANT.into(),
                customer: CUSTOMER.into(),
            },
        ]
    );
    let r = row(&w, "m1");
    assert_eq!(
        (state(&r, POS), state(&r, CRM)),
        (TargetState::Success, TargetState::Success)
    );
    assert!(
        !r.targets.contains_key(STOREFRONT),
        "customers never go to the storefront cache"
    );
    let record = w
        .items
        .customer(&tenant(), CUSTOMER)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.square_customer_id.as_deref(), Some("sq-customer-1"));
    assert_eq!(record.crm_contact_id.as_deref(), Some("crm-contact-1"));
    assert_eq!(record.profile.email.as_deref(), Some("bob@biller.com"));
}

#[tokio::test]
async fn an_update_reaches_the_pos_by_its_id_and_only_when_updates_are_on() {
    let w = worker(all_on());
    w.apply(&[customer_delivery("m1", "customers/create", "evt-1", 1)])
        .await;

    w.apply(&[customer_delivery("m2", "customers/update", "evt-2", 2)])
        .await;

    assert!(w.targets.calls().contains(&TargetCall::PosUpsert {
        tenant: TENANT.into(),
        customer: CUSTOMER.into(),
        pos_id: Some("sq-customer-1".into()),
        idempotency_key: idempotency_key(&tenant(), CUSTOMER, "evt-2"),
    }));

    let off = worker(TargetFlags {
        updates: false,
        ..all_on()
    });
    off.apply(&[customer_delivery("m1", "customers/create", "evt-1", 1)])
        .await;
    off.apply(&[customer_delivery("m2", "customers/update", "evt-2", 2)])
        .await;
    assert_eq!(
        off.targets.calls().len(),
        2,
        "only the registration was sent"
    );
    let r = row(&off, "m2");
    assert_eq!(state(&r, POS), TargetState::Skipped("disabled".into()));
    assert_eq!(state(&r, CRM), TargetState::Skipped("disabled".into()));
}

#[tokio::test]
async fn a_failing_crm_holds_up_neither_the_pos_nor_the_batch() {
    let w = worker(all_on());
    w.targets.crm_faults.fail(ErrorClass::NetworkError, 1);

    let report = w
        .apply(&[customer_delivery("m1", "customers/create", "evt-1", 1)])
        .await;

    assert!(
        report.retry.is_empty(),
        "customer targets are left to backfill, not SQS"
    );
    let r = row(&w, "m1");
    assert_eq!(state(&r, POS), TargetState::Success);
    assert_eq!(
        state(&r, CRM),
        TargetState::Failed(ErrorClass::NetworkError)
    );
    let record = w
        .items
        .customer(&tenant(), CUSTOMER)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.sync_status[CRM.as_str()].status,
        TargetState::Failed(ErrorClass::NetworkError)
    );
}

#[tokio::test]
async fn a_redelivery_after_a_crash_before_the_audit_row_calls_no_target_again() {
    let w = worker(all_on());
    w.audit.faults.fail(ErrorClass::DatabaseError, 1);
    let first = customer_delivery("m1", "customers/create", "evt-1", 1);

    let report = w.apply(std::slice::from_ref(&first)).await;
    assert_eq!(report.retry, vec!["m1".to_owned()]);
    assert_eq!(w.targets.calls().len(), 2);

    let report = w
        .apply(&[Delivery {
            receive_count: 2,
            ..first
        }])
        .await;

    assert!(report.retry.is_empty(), "{report:?}");
    assert_eq!(
        w.targets.calls().len(),
        2,
        "no second call to either target"
    );
    let r = row(&w, "m1");
    assert_eq!(r.outcome, AuditOutcome::Applied);
    assert_eq!(
        (state(&r, POS), state(&r, CRM)),
        (TargetState::Success, TargetState::Success),
        "the row shows what was done before the crash"
    );
}

#[tokio::test]
async fn a_switched_off_target_is_skipped_and_backfill_sends_exactly_what_it_missed() {
    let w = worker(TargetFlags {
        pos: false,
        ..all_on()
    });
    w.apply(&[customer_delivery("m1", "customers/create", "evt-1", 1)])
        .await;
    assert_eq!(
        state(&row(&w, "m1"), POS),
        TargetState::Skipped("disabled".into())
    );

    let ports: CustomerPorts<(_, _, _)> = CustomerPorts {
        targets: &w.targets,
        ledger: &w.items,
        tenants: &w.tenants,
        flags: all_on(),
        canary_tenants: &[],
        maintenance: crate::ports::maintenance::Maintenance::Off,
    };
    let dry = backfill(&ports, &tenant(), POS, None, true).await.unwrap();
    assert_eq!(dry.len(), 1);
    assert_eq!(
        w.targets.calls().len(),
        1,
        "a dry run calls nothing (the CRM call is the registration's)"
    );

    let done = backfill(&ports, &tenant(), POS, None, false).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].previous, "skipped (disabled)");
    assert!(done[0].result.as_ref().unwrap().is_success());
    let record = w
        .items
        .customer(&tenant(), CUSTOMER)
        .await
        .unwrap()
        .unwrap();
    assert!(record.sync_status[POS.as_str()].is_success());
    assert_eq!(record.square_customer_id.as_deref(), Some("sq-customer-1"));

    let again = backfill(&ports, &tenant(), POS, None, false).await.unwrap();
    assert!(again.is_empty(), "safe to run twice");
}

#[tokio::test]
async fn an_erasure_deletes_the_copies_the_targets_hold() {
    let w = worker(all_on());
    w.apply(&[customer_delivery("m1", "customers/create", "evt-1", 1)])
        .await;

    let report = w.apply(&[erasure_delivery("m2", 5)]).await;

    assert!(report.retry.is_empty(), "{report:?}");
    let calls = w.targets.calls();
    assert!(calls.contains(&TargetCall::PosErase {
        tenant: TENANT.into(),
        pos_id: "sq-customer-1".into()
    }));
    assert!(calls.contains(&TargetCall::CrmErase {
        tenant: TENANT.into(),
        crm_id: "crm-contact-1".into()
    }));
    let r = row(&w, "m2");
    assert_eq!(r.outcome, AuditOutcome::Deleted);
    assert_eq!(
        (state(&r, POS), state(&r, CRM)),
        (TargetState::Erased, TargetState::Erased)
    );
}

#[tokio::test]
async fn a_redelivered_erasure_calls_no_target_again() {
    let w = worker(all_on());
    w.apply(&[customer_delivery("m1", "customers/create", "evt-1", 1)])
        .await;
    w.audit.faults.fail(ErrorClass::DatabaseError, 1);
    let erasure = erasure_delivery("m2", 5);
    let report = w.apply(std::slice::from_ref(&erasure)).await;
    assert_eq!(
        report.retry,
        vec!["m2".to_owned()],
        "the row was not written"
    );
    let erases = |w: &Worker| {
        w.targets
            .calls()
            .into_iter()
            .filter(|c| matches!(c, TargetCall::PosErase { .. } | TargetCall::CrmErase { .. }))
            .count()
    };
    assert_eq!(erases(&w), 2);

    let report = w
        .apply(&[Delivery {
            receive_count: 2,
            ..erasure
        }])
        .await;

    assert!(report.retry.is_empty(), "{report:?}");
    assert_eq!(erases(&w), 2, "no second call to either target");
    let r = row(&w, "m2");
    assert_eq!(
        (state(&r, POS), state(&r, CRM)),
        (TargetState::Erased, TargetState::Erased)
    );
}

#[tokio::test]
async fn the_batch_report_counts_each_customer_target_result_for_the_metrics() {
    let w = worker(TargetFlags {
        pos: false,
        ..all_on()
    });

    let report = w
        .apply(&[customer_delivery("m1", "customers/create", "evt-1", 1)])
        .await;

    assert_eq!(
        report.targets,
        crate::domain::metrics::TargetTally {
            succeeded: 1,
            skipped: 1,
            failed: 0
        },
        "the CRM went through, the switched-off POS was skipped"
    );
    let tally = report.tallies[TENANT];
    assert_eq!(
        (tally.pos.skipped, tally.crm.succeeded, tally.pos.succeeded),
        (1, 1, 0),
        "and each target is counted for its tenant"
    );
}
