//! apply_batch: per-entity order, one audit row per delivery, idempotent
//! redelivery, rejected records parked at once, and the storefront retried
//! without rolling the change back.

use super::support::{at_minute, block_on, delivery, queued, supplier_event, tenant, TENANT};
use crate::app::apply::{apply_batch, ApplyPorts, BatchReport, Delivery, STOREFRONT};
use crate::app::customers::TargetFlags;
use crate::domain::audit::{AuditOutcome, AuditRow, TargetState};
use crate::domain::{EntityKey, EntityKind, EventId, Version};
use crate::ports::fakes::{
    tenant_settings, FakeAuditLog, FakeCustomerTargets, FakeItemStore, FakeQueue, FakeStorefront,
    FakeTenants, StoredEntity,
};
use crate::ports::TenantSettings;
use crate::ErrorClass;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const STOREFRONT_URL: &str = "https://storefront.example/cache-bust";

/// The worker's ports, all in memory.
pub(super) struct Worker {
    pub items: FakeItemStore,
    pub audit: FakeAuditLog,
    pub tenants: FakeTenants,
    pub dlq: FakeQueue,
    pub storefront: FakeStorefront,
    pub targets: FakeCustomerTargets,
    pub flags: TargetFlags,
}

impl Worker {
    /// A worker whose tenant has a storefront.
    pub(super) fn new() -> Self {
        Self::for_tenant(TenantSettings {
            storefront_url: Some(STOREFRONT_URL.into()),
            ..tenant_settings(TENANT)
        })
    }

    pub(super) fn for_tenant(settings: TenantSettings) -> Self {
        Self {
            items: FakeItemStore::new(),
            audit: FakeAuditLog::new(),
            tenants: FakeTenants::new([settings]),
            dlq: FakeQueue::new(),
            storefront: FakeStorefront::new(),
            targets: FakeCustomerTargets::new(),
            flags: TargetFlags::default(),
        }
    }

    pub(super) async fn apply(&self, deliveries: &[Delivery]) -> BatchReport {
        let ports: ApplyPorts<(_, _, _, _, _, _)> = ApplyPorts {
            items: &self.items,
            audit: &self.audit,
            tenants: &self.tenants,
            dead_letters: &self.dlq,
            storefront: &self.storefront,
            targets: &self.targets,
            flags: self.flags,
            canary_tenants: &[],
            audit_ttl: Duration::from_secs(86_400),
            maintenance: crate::ports::maintenance::Maintenance::Off,
        };
        apply_batch(&ports, deliveries).await
    }

    fn stored(&self, sku: &str) -> Option<StoredEntity> {
        self.items.get(&sku_key(sku))
    }

    /// The audit rows of a SKU, by message id.
    fn rows(&self, sku: &str) -> BTreeMap<String, AuditRow> {
        self.audit
            .partition(&sku_key(sku).audit_partition())
            .into_iter()
            .map(|r| (r.message_id.clone(), r))
            .collect()
    }
}

fn sku_key(sku: &str) -> EntityKey {
    EntityKey {
        tenant: tenant(),
        kind: EntityKind::CatalogItem,
        id: sku.into(),
    }
}

/// A first delivery of a supplier event for SKU-1.
fn sku1(message_id: &str, event_id: &str, quantity: i64, minute: i64) -> Delivery {
    delivery(
        message_id,
        &queued(
            TENANT,
            &supplier_event(event_id, "SKU-1", quantity, &at_minute(minute)),
        ),
        1,
    )
}

fn outcomes(report: &BatchReport) -> BTreeMap<&str, &str> {
    report
        .outcomes
        .iter()
        .map(|(m, o)| (m.as_str(), o.as_str()))
        .collect()
}

fn version(minute: i64, event_id: &str) -> Version {
    let (_, millis) = crate::domain::time::parse_rfc3339_millis(&at_minute(minute)).unwrap();
    Version {
        source_millis: millis,
        event_id: EventId::parse(event_id).unwrap(),
    }
}

#[tokio::test]
async fn out_of_order_deliveries_end_with_the_newest_stored_and_one_row_each() {
    let w = Worker::new();

    // Arrival order: e2, then the older e1, a second message of e2, then e3.
    for d in [
        sku1("m-e2", "e2", 20, 2),
        sku1("m-e1", "e1", 10, 1),
        sku1("m-e2-again", "e2", 20, 2),
        sku1("m-e3", "e3", 30, 3),
    ] {
        let report = w.apply(&[d]).await;
        assert!(report.retry.is_empty(), "{report:?}");
    }

    let stored = w.stored("SKU-1").unwrap();
    assert_eq!(stored.change.version, version(3, "e3"));
    assert_eq!(
        (stored.revision, stored.message_id.as_str()),
        (2, "m-e3"),
        "two applied writes"
    );
    let rows = w.rows("SKU-1");
    let seen: Vec<(&str, AuditOutcome, Option<&str>)> = rows
        .values()
        .map(|r| (r.message_id.as_str(), r.outcome, r.beaten_by.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("m-e1", AuditOutcome::Stale, Some("e2")),
            ("m-e2", AuditOutcome::Applied, None),
            ("m-e2-again", AuditOutcome::Duplicate, None),
            ("m-e3", AuditOutcome::Applied, None),
        ]
    );
    let published: Vec<(String, i64)> = w
        .storefront
        .published()
        .into_iter()
        .map(|(_, n)| (n.event_id, n.version))
        .collect();
    assert_eq!(
        published,
        vec![("e2".into(), 1), ("e3".into(), 2)],
        "one cache-bust per applied change, with the entity's revision"
    );
}

#[tokio::test]
async fn several_deliveries_of_one_entity_in_one_batch_cost_one_write() {
    let w = Worker::new();

    let report = w
        .apply(&[
            sku1("m1", "e1", 10, 1),
            sku1("m3", "e3", 30, 3),
            sku1("m2", "e2", 20, 2),
            sku1("m3b", "e3", 30, 3),
        ])
        .await;

    assert_eq!(w.items.put_count(), 1);
    assert_eq!(
        outcomes(&report),
        BTreeMap::from([
            ("m1", "stale"),
            ("m2", "stale"),
            ("m3", "applied"),
            ("m3b", "duplicate")
        ])
    );
    assert_eq!(w.rows("SKU-1")["m1"].beaten_by.as_deref(), Some("e3"));
    assert_eq!(w.stored("SKU-1").unwrap().message_id, "m3");
    assert_eq!(w.storefront.published().len(), 1);
}

#[tokio::test]
async fn a_redelivered_message_adds_no_row_and_calls_no_target_again() {
    let w = Worker::new();
    let first = sku1("m1", "e1", 10, 1);
    w.apply(std::slice::from_ref(&first)).await;

    let again = Delivery {
        receive_count: 2,
        ..first
    };
    let report = w.apply(&[again]).await;

    assert_eq!(outcomes(&report), BTreeMap::from([("m1", "applied")]));
    assert_eq!(w.rows("SKU-1").len(), 1);
    assert_eq!(w.items.put_count(), 1, "the row answers the redelivery");
    assert_eq!(w.storefront.attempts(), 1, "no second target call");
}

#[tokio::test]
async fn a_delivery_whose_row_could_not_be_written_is_recorded_as_applied_on_redelivery() {
    let w = Worker::new();
    w.audit.faults.fail(ErrorClass::DatabaseError, 1);
    let first = sku1("m1", "e1", 10, 1);

    let report = w.apply(std::slice::from_ref(&first)).await;
    assert_eq!(report.retry, vec!["m1".to_owned()]);
    assert!(w.rows("SKU-1").is_empty());
    assert!(w.stored("SKU-1").is_some(), "the write itself went through");

    let report = w
        .apply(&[Delivery {
            receive_count: 2,
            ..first
        }])
        .await;

    assert!(report.retry.is_empty(), "{report:?}");
    assert_eq!(
        outcomes(&report),
        BTreeMap::from([("m1", "applied")]),
        "its own earlier write is not a duplicate"
    );
    let rows = w.rows("SKU-1");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows["m1"].outcome, AuditOutcome::Applied);
    assert_eq!(w.stored("SKU-1").unwrap().revision, 1, "written once");
}

#[tokio::test]
async fn a_malformed_record_is_rejected_audited_and_parked_without_failing_its_batch() {
    let w = Worker::new();
    let bad = delivery(
        "m-bad",
        &queued(TENANT, &supplier_event("e2", "SKU-2", -5, &at_minute(1))),
        1,
    );
    let junk = delivery("m-junk", "this is not json", 1);

    let report = w.apply(&[sku1("m-good", "e1", 5, 1), bad, junk]).await;

    assert!(report.retry.is_empty(), "{report:?}");
    assert_eq!(
        outcomes(&report),
        BTreeMap::from([
            ("m-bad", "rejected"),
            ("m-good", "applied"),
            ("m-junk", "rejected")
        ])
    );
    let parked: BTreeMap<String, BTreeMap<&str, String>> = w
        .dlq
        .sent()
        .into_iter()
        .map(|m| {
            let attributes: BTreeMap<&str, String> = m.attributes.into_iter().collect();
            (attributes["sourceMessageId"].clone(), attributes)
        })
        .collect();
    assert_eq!(parked.len(), 2);
    assert_eq!(
        parked["m-bad"]["rejectReason"],
        "quantity: must be a whole number from 0 to 1000000000"
    );
    assert_eq!(parked["m-bad"]["errorClass"], "VALIDATION_ERROR");
    assert_eq!(parked["m-bad"]["tenantId"], TENANT);
    assert_eq!(parked["m-junk"]["tenantId"], "unknown");
    let rejected = w.audit.partition("t1#rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (rejected[0].message_id.as_str(), rejected[0].outcome),
        ("m-bad", AuditOutcome::Rejected)
    );
    assert_eq!(
        rejected[0].reason.as_deref(),
        Some("quantity: must be a whole number from 0 to 1000000000")
    );
    assert_eq!(w.audit.partition("unknown#rejected").len(), 1);
    assert!(w.stored("SKU-2").is_none());
}

#[tokio::test]
async fn a_rejected_record_that_cannot_be_parked_is_retried_and_parked_on_redelivery() {
    let w = Worker::new();
    w.dlq.faults.fail(ErrorClass::NetworkError, 1);
    let bad = delivery(
        "m-bad",
        &queued(TENANT, &supplier_event("e2", "SKU-2", -5, &at_minute(1))),
        1,
    );

    let report = w.apply(std::slice::from_ref(&bad)).await;
    assert_eq!(report.retry, vec!["m-bad".to_owned()]);
    assert!(report.outcomes.is_empty(), "{report:?}");
    assert!(w.dlq.sent().is_empty());

    let report = w
        .apply(&[Delivery {
            receive_count: 2,
            ..bad
        }])
        .await;
    assert!(report.retry.is_empty());
    assert_eq!(outcomes(&report), BTreeMap::from([("m-bad", "rejected")]));
    assert_eq!(w.dlq.sent().len(), 1);
    assert_eq!(w.audit.partition("t1#rejected").len(), 1, "still one row");
}

#[tokio::test]
async fn a_failed_storefront_publish_is_retried_without_rolling_the_change_back() {
    let w = Worker::new();
    w.storefront.faults.fail(ErrorClass::NetworkError, 1);
    let first = sku1("m1", "e1", 7, 1);

    let report = w.apply(std::slice::from_ref(&first)).await;

    assert_eq!(
        report.retry,
        vec!["m1".to_owned()],
        "retried for the target"
    );
    assert!(report.outcomes.is_empty());
    let stored = w.stored("SKU-1").unwrap();
    assert_eq!(stored.change.version, version(1, "e1"), "not rolled back");
    let row = &w.rows("SKU-1")["m1"];
    assert_eq!(row.outcome, AuditOutcome::Applied);
    assert_eq!(
        row.targets[STOREFRONT].status,
        TargetState::Failed(ErrorClass::NetworkError)
    );

    let report = w
        .apply(&[Delivery {
            receive_count: 2,
            ..first
        }])
        .await;

    assert!(report.retry.is_empty(), "{report:?}");
    assert_eq!(outcomes(&report), BTreeMap::from([("m1", "applied")]));
    let rows = w.rows("SKU-1");
    assert_eq!(rows.len(), 1);
    assert!(rows["m1"].targets[STOREFRONT].is_success());
    assert_eq!(w.items.put_count(), 1, "the change is not applied again");
    let published = w.storefront.published();
    assert_eq!(published.len(), 1);
    assert_eq!(
        (published[0].0.as_str(), published[0].1.version),
        (STOREFRONT_URL, 1)
    );
}

#[tokio::test]
async fn a_permanent_storefront_failure_is_recorded_and_not_retried() {
    let w = Worker::new();
    w.storefront.faults.fail(ErrorClass::AuthError, 1);

    let report = w.apply(&[sku1("m1", "e1", 7, 1)]).await;

    assert!(report.retry.is_empty());
    assert_eq!(outcomes(&report), BTreeMap::from([("m1", "applied")]));
    assert_eq!(
        w.rows("SKU-1")["m1"].targets[STOREFRONT].status,
        TargetState::Failed(ErrorClass::AuthError)
    );
}

#[tokio::test]
async fn a_switched_off_or_unconfigured_storefront_is_skipped_and_audited() {
    let off = Worker::for_tenant(TenantSettings {
        storefront_url: Some(STOREFRONT_URL.into()),
        targets_disabled: vec![STOREFRONT.into()],
        ..tenant_settings(TENANT)
    });
    let none = Worker::for_tenant(tenant_settings(TENANT));

    for (w, why) in [(&off, "disabled"), (&none, "not configured")] {
        let report = w.apply(&[sku1("m1", "e1", 7, 1)]).await;
        assert!(report.retry.is_empty());
        assert_eq!(
            w.rows("SKU-1")["m1"].targets[STOREFRONT].status,
            TargetState::Skipped(why.into())
        );
        assert_eq!(w.storefront.attempts(), 0);
    }
}

#[tokio::test]
async fn a_throttled_write_retries_every_delivery_of_its_entity_and_records_nothing_for_them() {
    let w = Worker::new();
    w.items.faults.fail(ErrorClass::DatabaseError, 1);
    let other = delivery(
        "m-other",
        &queued(TENANT, &supplier_event("e9", "SKU-9", 1, &at_minute(1))),
        1,
    );

    // One entity's write is throttled; SKU-9 (planned after SKU-1) is not.
    let report = w
        .apply(&[sku1("m1", "e1", 1, 1), sku1("m2", "e2", 2, 2), other])
        .await;

    let retry: BTreeSet<&str> = report.retry.iter().map(String::as_str).collect();
    assert_eq!(retry, BTreeSet::from(["m1", "m2"]));
    assert_eq!(outcomes(&report), BTreeMap::from([("m-other", "applied")]));
    assert!(w.rows("SKU-1").is_empty());
    assert!(w.stored("SKU-1").is_none());
}

/// One entity's deliveries: (source minute, event suffix) per message;
/// a message's event id is a function of its version, as a source's is.
fn event_of(minute: i64, suffix: u8) -> String {
    format!("e{minute}-{suffix}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever order a set of deliveries of one entity arrives in (shuffled,
    /// the same event in several messages, messages redelivered in later
    /// batches), the store ends holding the greatest (updatedAt, eventId),
    /// the audit has exactly one row per (event, message), and the
    /// storefront is told once per applied change.
    #[test]
    fn any_arrival_order_converges_with_one_row_per_event_and_message(
        messages in prop::collection::vec((0..5i64, 0..3u8), 1..16),
        redelivered in prop::collection::vec(any::<bool>(), 16),
        batch in 1..6usize,
        seed in any::<u64>(),
    ) {
        use rand::{seq::SliceRandom, Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let firsts: Vec<Delivery> = messages
            .iter()
            .enumerate()
            .map(|(i, (minute, suffix))| sku1(&format!("m{i}"), &event_of(*minute, *suffix), minute * 10 + i64::from(*suffix), *minute))
            .collect();
        let mut order = firsts.clone();
        order.shuffle(&mut rng);
        let mut batches: Vec<Vec<Delivery>> = order.chunks(batch).map(<[Delivery]>::to_vec).collect();
        // A redelivery comes in a later batch than its first delivery.
        for (i, first) in firsts.iter().enumerate().filter(|(i, _)| redelivered[*i]) {
            let at = batches.iter().position(|b| b.iter().any(|d| d.message_id == first.message_id)).unwrap();
            let later = rng.random_range(at + 1..=batches.len());
            let again = Delivery { receive_count: 2, ..firsts[i].clone() };
            match batches.get_mut(later) {
                Some(b) => b.push(again),
                None => batches.push(vec![again]),
            }
        }

        let w = Worker::new();
        let mut answered = 0;
        for b in &batches {
            let report = block_on(w.apply(b));
            prop_assert!(report.retry.is_empty(), "{:?}", report);
            answered += report.outcomes.len();
        }

        let deliveries: usize = batches.iter().map(Vec::len).sum();
        prop_assert_eq!(answered, deliveries, "every delivery gets an outcome");
        let newest = messages.iter().map(|(m, s)| version(*m, &event_of(*m, *s))).max().unwrap();
        prop_assert_eq!(&w.stored("SKU-1").unwrap().change.version, &newest);

        let rows = w.rows("SKU-1");
        prop_assert_eq!(rows.len(), messages.len(), "one row per (event, message)");
        let version_of = |event: &str| {
            let (m, s) = messages.iter().find(|(m, s)| event_of(*m, *s) == event).unwrap();
            version(*m, &event_of(*m, *s))
        };
        let mut applied = BTreeSet::new();
        for row in rows.values() {
            let own = version_of(row.event_id.as_deref().unwrap());
            match row.outcome {
                AuditOutcome::Applied => prop_assert!(applied.insert(own), "a version is applied once"),
                AuditOutcome::Stale => {
                    let by = version_of(row.beaten_by.as_deref().unwrap());
                    prop_assert!(by > own, "beaten by a newer event");
                }
                AuditOutcome::Duplicate => {}
                other => prop_assert!(false, "unexpected outcome {}", other),
            }
        }
        prop_assert!(applied.contains(&newest));
        prop_assert_eq!(w.storefront.published().len(), applied.len(), "one cache-bust per applied change");
    }
}
