//! The maintenance switch: while on, nothing goes out (targets, storefront,
//! the schedule's runs) yet every event is applied and each skipped call is
//! recorded `skipped (maintenance)`; and `health` sweeps dead runs first.

use super::super::apply::Worker;
use super::super::support::{at_minute, delivery, queued, queued_from, supplier_event};
use super::*;
use crate::app::apply::{apply_batch, ApplyPorts, Delivery, STOREFRONT};
use crate::app::customers::{backfill, CustomerPorts, Target, TargetFlags, CRM, POS};
use crate::app::daily_sync::{SyncDeps, SyncError};
use crate::app::health::{health, HealthPorts, HealthStatus, HealthThresholds, Queues};
use crate::domain::audit::{AuditOutcome, TargetState};
use crate::domain::EntityKey;
use crate::ports::fakes::{FakeAuditLog, FakeCustomerTargets, FakeStorefront};
use crate::ports::maintenance::Maintenance;
use crate::ports::{CustomerLedger, PortError, QueueDepth, QueueStats};
use crate::Classified;

type WorkerPorts<'a> = ApplyPorts<
    'a,
    (
        FakeItemStore,
        FakeAuditLog,
        FakeTenants,
        FakeQueue,
        FakeStorefront,
        FakeCustomerTargets,
    ),
>;

/// The worker's ports with the switch as read for the batch.
fn during(w: &Worker, maintenance: Maintenance) -> WorkerPorts<'_> {
    ApplyPorts {
        items: &w.items,
        audit: &w.audit,
        tenants: &w.tenants,
        dead_letters: &w.dlq,
        storefront: &w.storefront,
        targets: &w.targets,
        flags: w.flags,
        canary_tenants: &[],
        audit_ttl: Duration::from_secs(86_400),
        maintenance,
    }
}

fn target_state(w: &Worker, kind: EntityKind, id: &str, target: &str) -> TargetState {
    let pk = EntityKey {
        tenant: super::super::support::tenant(),
        kind,
        id: id.into(),
    }
    .audit_partition();
    let rows = w.audit.partition(&pk);
    assert_eq!(rows.len(), 1, "one audit row: {rows:?}");
    rows[0].targets[target].status.clone()
}

fn maintenance_skip() -> TargetState {
    TargetState::Skipped("maintenance".into())
}

#[tokio::test]
async fn a_supplier_event_is_applied_and_its_storefront_publish_held_back() {
    let w = Worker::new();
    let body = queued(TENANT, &supplier_event("evt-1", "SKU-1", 4, &at_minute(1)));

    let report = apply_batch(&during(&w, Maintenance::On), &[delivery("m1", &body, 1)]).await;

    assert!(report.retry.is_empty(), "{report:?}");
    assert_eq!(report.outcomes, vec![("m1".into(), AuditOutcome::Applied)]);
    assert!(w.storefront.published().is_empty(), "nothing goes out");
    assert_eq!(
        target_state(&w, EntityKind::CatalogItem, "SKU-1", STOREFRONT),
        maintenance_skip()
    );

    // Off again: the next change publishes as ever.
    let body = queued(TENANT, &supplier_event("evt-2", "SKU-2", 4, &at_minute(2)));
    apply_batch(&during(&w, Maintenance::Off), &[delivery("m2", &body, 1)]).await;
    assert_eq!(w.storefront.published().len(), 1);
}

/// A Shopify registration as ingest queues it.
fn registration(message_id: &str, customer: &str, event_id: &str) -> Delivery {
    let payload = json!({
        "kind": "customer", "id": customer, "updatedAt": at_minute(1), "eventId": event_id,
        "attributes": {"email": "bob@biller.com", "firstName": "Bob", "lastName": "Biller"}
    });
    let body = queued_from(
        TENANT,
        crate::app::SHOPIFY,
        Some("customers/create"),
        &payload,
    );
    delivery(message_id, &body, 1)
}

#[tokio::test]
async fn a_registration_is_held_back_from_pos_and_crm_and_backfilled_once_maintenance_is_off() {
    let mut w = Worker::new();
    w.flags = TargetFlags {
        pos: true,
        crm: true,
        updates: true,
    };

    apply_batch(
        &during(&w, Maintenance::On),
        &[registration("m1", "shopify-7", "evt-1")],
    )
    .await;

    assert!(w.targets.calls().is_empty(), "{:?}", w.targets.calls());
    for target in [POS, CRM] {
        assert_eq!(
            target_state(&w, EntityKind::Customer, "shopify-7", target.as_str()),
            maintenance_skip()
        );
    }
    let record = w
        .items
        .customer(&super::super::support::tenant(), "shopify-7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.sync_status[POS.as_str()].status,
        maintenance_skip(),
        "the ledger backfill reads"
    );

    let ports: CustomerPorts<(_, _, _)> = CustomerPorts {
        targets: &w.targets,
        ledger: &w.items,
        tenants: &w.tenants,
        flags: w.flags,
        canary_tenants: &[],
        maintenance: Maintenance::Off,
    };
    for target in [POS, CRM] {
        let sent = backfill(
            &ports,
            &super::super::support::tenant(),
            target,
            None,
            false,
        )
        .await
        .unwrap();
        assert_eq!(sent.len(), 1, "{target}: {sent:?}");
        assert_eq!(sent[0].previous, "skipped (maintenance)");
        assert!(sent[0].result.as_ref().is_some_and(|s| s.is_success()));
    }
    assert_eq!(w.targets.calls().len(), 2, "one call per target, after");
}

#[tokio::test]
async fn a_target_switched_off_stays_disabled_not_maintenance() {
    let mut w = Worker::new();
    w.flags = TargetFlags {
        pos: false,
        crm: true,
        updates: true,
    };

    apply_batch(
        &during(&w, Maintenance::On),
        &[registration("m1", "shopify-8", "evt-1")],
    )
    .await;

    let state = |t: Target| target_state(&w, EntityKind::Customer, "shopify-8", t.as_str());
    assert_eq!(state(POS), TargetState::Skipped("disabled".into()));
    assert_eq!(state(CRM), maintenance_skip());
}

fn plan_request(trigger: Trigger) -> PlanRequest {
    PlanRequest {
        trigger: Some(trigger),
        tenant_id: Some(TENANT.into()),
        data_types: Some(vec![DataType::Catalog, DataType::Orders]),
        ..PlanRequest::default()
    }
}

#[tokio::test]
async fn the_schedule_starts_no_run_during_maintenance_and_says_which_it_did_not_start() {
    let s = Sync::new();
    let ports = SyncPorts {
        maintenance: &Maintenance::On,
        ..s.ports()
    };
    let roster = FakeTenants::new([tenant_settings(TENANT)]);

    let report = plan(&ports, &roster, &plan_request(Trigger::Schedule), || T0)
        .await
        .unwrap();

    assert!(report.runs.is_empty(), "{report:?}");
    let skipped: Vec<(String, DataType, &str)> = report
        .not_started
        .iter()
        .map(|n| (n.tenant_id.clone(), n.data_type, n.reason))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (TENANT.into(), DataType::Catalog, "maintenance"),
            (TENANT.into(), DataType::Orders, "maintenance"),
        ]
    );
    assert!(s.work.sent().is_empty(), "nothing queued");
    assert!(
        s.runs.runs(TENANT).await.unwrap().is_empty(),
        "no run record"
    );
    let answer = serde_json::to_value(&report).unwrap();
    assert_eq!(answer["notStarted"][0]["reason"], "maintenance");
}

#[tokio::test]
async fn a_run_asked_for_by_hand_is_refused_naming_maintenance_and_a_source_pull_still_runs() {
    let s = Sync::new();
    let ports = SyncPorts {
        maintenance: &Maintenance::On,
        ..s.ports()
    };
    let roster = FakeTenants::new([tenant_settings(TENANT)]);

    let refused = plan(&ports, &roster, &plan_request(Trigger::Manual), || T0)
        .await
        .unwrap_err();
    assert!(matches!(refused, SyncError::Maintenance), "{refused:?}");
    assert_eq!(refused.class(), ErrorClass::ValidationError);
    assert!(
        refused.to_string().contains("maintenance is on"),
        "{refused}"
    );
    assert!(s.runs.runs(TENANT).await.unwrap().is_empty());

    // Square's catalog notice only brings data in: its pull goes ahead.
    let pulled = plan(&ports, &roster, &plan_request(Trigger::Webhook), || T0)
        .await
        .unwrap();
    assert_eq!(pulled.runs.len(), 2, "{pulled:?}");
    assert!(pulled.not_started.is_empty());
}

/// A queue holding `visible` messages.
struct Depth(u64);

impl QueueStats for Depth {
    async fn depth(&self) -> Result<QueueDepth, PortError> {
        Ok(QueueDepth {
            visible: self.0,
            in_flight: 0,
        })
    }
}

/// Health's ports over the daily sync's, every queue `depth` deep.
fn health_ports<'a, Y: SyncDeps>(
    sync: SyncPorts<'a, Y>,
    depth: &'a Depth,
    roster: &'a FakeTenants,
) -> HealthPorts<'a, (Y, Depth, FakeTenants)> {
    HealthPorts {
        sync,
        queues: Queues {
            sync: depth,
            sync_dlq: depth,
            runs_dlq: depth,
            notify_dlq: depth,
        },
        tenants: roster,
    }
}

#[tokio::test]
async fn health_sweeps_a_dead_run_first_names_it_and_is_degraded_while_maintenance_is_on() {
    let s = Sync::new();
    s.source
        .serve(DataType::Catalog, vec![items(&["A1"]), items(&["B1"])]);
    let dead = s.started(DataType::Catalog, T0).await;
    let Progress::Paused(_) = s.invoke(dead.clone(), Duration::ZERO, T0).await else {
        panic!()
    };
    let roster = FakeTenants::new([tenant_settings(TENANT)]);
    let empty = Depth(0);
    let thresholds = HealthThresholds {
        max_failed_runs: 5,
        ..HealthThresholds::default()
    };
    let now = T0 + 31 * MINUTE;

    let ports = health_ports(s.ports(), &empty, &roster);
    let answer = health(&ports, &thresholds, now).await.unwrap();

    assert_eq!(answer.swept_runs, vec![dead.run_id.clone()]);
    assert_eq!(answer.status, HealthStatus::Healthy, "{answer:?}");
    let run = s
        .runs
        .load(TENANT, DataType::Catalog, &dead.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.status, run.error_class),
        (RunStatus::Failed, Some(ErrorClass::TimeoutError))
    );
    assert!(s
        .notices()
        .iter()
        .any(|n| matches!(n, Notice::RunFailed { run_id, .. } if *run_id == dead.run_id)));

    let on = SyncPorts {
        maintenance: &Maintenance::On,
        ..s.ports()
    };
    let answer = health(
        &health_ports(on, &empty, &roster),
        &thresholds,
        now + MINUTE,
    )
    .await
    .unwrap();
    assert!(answer.swept_runs.is_empty(), "swept once");
    assert_eq!(answer.status, HealthStatus::Degraded);
    let check = answer.checks.iter().find(|c| c.name == "maintenance");
    assert_eq!(check.map(|c| (c.value, c.ok)), Some((1, false)));
    assert!(
        answer
            .reasons
            .iter()
            .any(|r| r.starts_with("maintenance is on")),
        "{:?}",
        answer.reasons
    );
}
