//! The audit step: one row per delivery, with its outcome and what its
//! targets did, written once.

use super::{BatchReport, Delivery, Parsed, TargetResults, STOREFRONT};
use crate::domain::audit::{AuditOutcome, AuditRow, Outcome};
use crate::domain::audit::{Target, TargetState};
use crate::domain::metrics::{Tally, TargetTally};
use crate::domain::ordering::{settle, Claim, EntityPlan, WriteResult};
use crate::domain::replay::PUBLISH_FAILED;
use crate::domain::time::{expiry_after, now_rfc3339};
use crate::domain::EntityKind;
use crate::ports::{AuditLog, PortError};
use std::time::Duration;

/// A delivery's audit row, the delivery, and whether SQS must redeliver it.
type SettledRow<'d> = (AuditRow, &'d Delivery, bool);

/// One audit row per delivery of the entity, with its outcome and, for the
/// applied one, what its targets did.
pub(super) fn settled_rows<'d>(
    ttl: Duration,
    parsed: &[Parsed<'d>],
    plan: &EntityPlan,
    claims: &[Claim],
    write: &WriteResult,
    targets: &TargetResults,
    rows: &mut Vec<(AuditRow, &'d Delivery, bool)>,
) {
    let revision = match write {
        WriteResult::Applied { revision, .. } => Some(*revision),
        // Completed on redelivery: the revision the first attempt left.
        WriteResult::NotNewer(stored) => Some(stored.revision).filter(|r| *r > 0),
    };
    for (i, outcome) in settle(plan, claims, write) {
        let p = &parsed[i];
        let mut row = entity_row(p, ttl);
        row.set_outcome(&outcome);
        let mut retry = false;
        let republished = i == plan.winner && outcome != Outcome::Applied && !targets.is_empty();
        if republished {
            if let (Some(mark), WriteResult::NotNewer(stored)) = (&p.replay, write) {
                row.revision = Some(stored.revision);
                row.note = Some(format!(
                    "sent to its targets again by replay {} ({} of {})",
                    mark.correlation_id, mark.reason, mark.of
                ));
            }
        }
        if outcome == Outcome::Applied || republished {
            if outcome == Outcome::Applied {
                row.revision = revision;
                if let Some(why) = completed_on_redelivery(i, plan, claims, write) {
                    row.revision = why.0;
                    row.note = Some(why.1.to_owned());
                }
            }
            if let Some(why) = p.change.tombstone_reason().filter(|_| !republished) {
                row.outcome = AuditOutcome::Deleted;
                row.reason = Some(why);
            }
            for (target, status) in targets {
                // Only the storefront is retried through SQS; the customer
                // targets retry inline and leave the rest to backfill.
                retry |= *target == STOREFRONT && status.needs_retry();
                row.targets.insert((*target).into(), status.clone());
            }
        }
        // A delivery's one line at info. No SQS message id: a webhook's
        // correlation id names its message already (a pull's, with the
        // event id), the audit row keeps it, and CloudWatch bills each byte.
        tracing::info!(
            tenant = %p.change.key.tenant, entity = %p.change.key, event_id = %p.change.version.event_id,
            correlation_id = %p.correlation_id,
            outcome = %outcome, storefront = row.targets.get(STOREFRONT).map(|s| s.status.to_string()),
            "event settled"
        );
        rows.push((row, p.delivery, retry));
    }
}

/// An applied member whose write an earlier, crashed attempt made: its
/// revision and the note that says so.
fn completed_on_redelivery(
    i: usize,
    plan: &EntityPlan,
    claims: &[Claim],
    write: &WriteResult,
) -> Option<(Option<i64>, &'static str)> {
    const NOTE: &str =
        "completed on redelivery: an earlier attempt stored it and stopped before its audit row";
    let revision = match write {
        WriteResult::NotNewer(stored) => stored.revision_of(&claims[i]),
        WriteResult::Applied {
            previous: Some(p), ..
        } if i != plan.winner => p.revision_of(&claims[i]),
        WriteResult::Applied { .. } => None,
    }?;
    Some((Some(revision).filter(|r| *r > 0), NOTE))
}

/// The row of a delivery held back (a supplier the tenant does not allow
/// yet): `ignored` with why, its change kept for a replay.
pub(super) fn held_row(p: &Parsed<'_>, ttl: Duration, why: &str) -> AuditRow {
    let mut row = entity_row(p, ttl);
    row.outcome = AuditOutcome::Ignored;
    row.reason = Some(why.to_owned());
    row
}

/// A delivery's row, keeping its body and its window key so a replay can
/// find it by time and re-drive it.
fn entity_row(p: &Parsed<'_>, ttl: Duration) -> AuditRow {
    let mut row = AuditRow {
        entity: Some(p.change.key.to_string()),
        event_id: Some(p.change.version.event_id.to_string()),
        message_id: p.delivery.message_id.clone(),
        correlation_id: p.correlation_id.clone(),
        source_updated_at: Some(p.change.updated_at.clone()),
        ..AuditRow::new(
            p.change.key.audit_partition(),
            AuditRow::sort_key(
                Some(p.change.version.event_id.as_str()),
                &p.delivery.message_id,
            ),
            p.change.key.tenant.to_string(),
            AuditOutcome::Applied,
            now_rfc3339(),
            expiry_after(ttl),
        )
    };
    // A customer's change carries personal data, which an erasure must be
    // able to remove: it is not kept (customers catch up by backfill).
    if p.change.key.kind != EntityKind::Customer {
        row.tenant_hour = Some(AuditRow::tenant_hour_key(
            p.change.key.tenant.as_str(),
            &row.recorded_at,
        ));
        row.change = Some(p.delivery.body.clone());
    }
    row
}

/// First deliveries are written in batches; redeliveries only if their row is absent.
pub(super) async fn record<A: AuditLog>(
    audit: &A,
    rows: &[(AuditRow, &Delivery, bool)],
    report: &mut BatchReport,
) {
    let (first, again): (Vec<_>, Vec<_>) = rows.iter().partition(|(_, d, _)| d.receive_count <= 1);
    let first_rows: Vec<AuditRow> = first.iter().map(|(r, _, _)| r.clone()).collect();
    let mut results: Vec<(&SettledRow, Result<(), PortError>)> = first
        .iter()
        .copied()
        .zip(audit.record_new(&first_rows).await)
        .collect();
    for entry in again {
        results.push((entry, audit.record_once(&entry.0).await.map(|_| ())));
    }
    for ((row, delivery, retry), result) in results {
        if result.is_ok() {
            count(report.tally(&row.tenant_id), row);
            count_targets(&mut report.targets, row);
        }
        match result {
            Ok(()) if *retry => report.retry.push(delivery.message_id.clone()),
            Ok(()) => report
                .outcomes
                .push((delivery.message_id.clone(), row.outcome)),
            Err(e) => {
                tracing::warn!(message_id = %delivery.message_id, correlation_id = %row.correlation_id, error.class = %e.class(), error = %e, "audit row not written; record will be retried");
                report.retry.push(delivery.message_id.clone());
                report.store_failed.push(delivery.message_id.clone());
            }
        }
    }
}

/// A recorded row in the tenant's counters: its outcome, its storefront result.
fn count(tally: &mut Tally, row: &AuditRow) {
    tally.audited += 1;
    match row.outcome {
        AuditOutcome::Applied | AuditOutcome::Deleted => tally.applied += 1,
        AuditOutcome::Stale => tally.stale += 1,
        AuditOutcome::Duplicate => tally.duplicate += 1,
        AuditOutcome::Rejected => tally.rejected += 1,
        AuditOutcome::Ignored | AuditOutcome::DataRequest => {}
    }
    match row.targets.get(STOREFRONT).map(|s| &s.status) {
        Some(TargetState::Success) if replays_failed_publish(row) => {
            tally.publish_ok += 1;
            tally.publish_recovered += 1;
        }
        Some(TargetState::Success) => tally.publish_ok += 1,
        Some(TargetState::Failed(_)) => tally.publish_failed += 1,
        Some(TargetState::Skipped(_)) => tally.publish_skipped += 1,
        _ => {}
    }
    // Each customer target per tenant, for the metrics.
    for (name, target) in &row.targets {
        let counts = if name == Target::Pos.as_str() {
            &mut tally.pos
        } else if name == Target::Crm.as_str() {
            &mut tally.crm
        } else {
            continue;
        };
        match target.status {
            TargetState::Success | TargetState::Erased => counts.succeeded += 1,
            TargetState::Skipped(_) => counts.skipped += 1,
            TargetState::Failed(_) => counts.failed += 1,
        }
    }
}

/// A replay's row that republished a change whose publish had failed.
fn replays_failed_publish(row: &AuditRow) -> bool {
    let marker = format!("({PUBLISH_FAILED} of ");
    row.note.as_deref().is_some_and(|n| n.contains(&marker))
}

/// A recorded row's customer targets (every target but the storefront).
fn count_targets(tally: &mut TargetTally, row: &AuditRow) {
    for (_, target) in row.targets.iter().filter(|(name, _)| *name != STOREFRONT) {
        match target.status {
            TargetState::Success | TargetState::Erased => tally.succeeded += 1,
            TargetState::Skipped(_) => tally.skipped += 1,
            TargetState::Failed(_) => tally.failed += 1,
        }
    }
}
