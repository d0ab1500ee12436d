//! Apply a batch of queued events: one conditional write per entity, one audit
//! row per delivery, a storefront cache-bust per applied change, and a
//! per-record verdict for SQS (done, or retry).
//!
//! Non-retryable records (unparsable or invalid) are audited as `rejected` and
//! moved to the DLQ at once. Retryable failures are handed back to SQS as batch
//! item failures, which end in the DLQ after `maxReceiveCount`.

use super::customers::{sync_customer, CustomerChange, CustomerPorts, TargetFlags};
use super::QueuedEvent;
use super::{SHOPIFY, SQUARE};
use crate::domain::audit::AuditOutcome;
use crate::domain::audit::{AuditRow, Outcome, TargetStatus};
use crate::domain::ordering::{plan_batch, settle, Claim, EntityPlan, WriteResult};
use crate::domain::time::expiry_after;
use crate::domain::time::{now_millis, now_rfc3339};
use crate::domain::EntityKind;
use crate::domain::{
    ChangeBody, EntityChange, PulledObject, SupplierEvent, TenantId, ValidationError,
};
use crate::ports::PortError;
use crate::ports::{
    AuditLog, CacheBust, CustomerLedger, CustomerProfile, CustomerTargets, ItemStore, MessageQueue,
    OutgoingMessage, StorefrontPublisher, TenantDirectory,
};
use crate::ErrorClass;
use futures::stream::{self, StreamExt};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tracing::Instrument;

pub const STOREFRONT: &str = "storefront";
/// Entities written concurrently within one batch.
const WRITE_CONCURRENCY: usize = 32;

/// One SQS record handed to the worker.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub message_id: String,
    pub body: String,
    /// SQS `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
}

/// What happened to a batch: which records SQS must redeliver, and each outcome.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchReport {
    pub retry: Vec<String>,
    /// (message id, outcome label) for every record that reached an outcome.
    pub outcomes: Vec<(String, String)>,
}

pub struct ApplyPorts<'a, I, A, T, D, P, X> {
    pub items: &'a I,
    pub audit: &'a A,
    pub tenants: &'a T,
    pub dead_letters: &'a D,
    pub storefront: &'a P,
    /// The customer targets (POS, CRM) and their deploy-time switches.
    pub targets: &'a X,
    pub flags: TargetFlags,
    pub audit_ttl: Duration,
}

/// A record that parsed into a change.
struct Parsed<'d> {
    delivery: &'d Delivery,
    change: EntityChange,
    correlation_id: String,
    /// The provider's topic, for webhooks from Shopify and Square.
    topic: Option<String>,
}

/// A record that did not, with what could be read of it.
struct Rejected<'d> {
    delivery: &'d Delivery,
    tenant: Option<String>,
    event_id: Option<String>,
    correlation_id: String,
    reason: ValidationError,
}

#[allow(clippy::result_large_err)] // a rejection is kept whole for its audit row and DLQ message
fn parse<'d>(delivery: &'d Delivery, now_millis: i64) -> Result<Parsed<'d>, Rejected<'d>> {
    let reject = |tenant, event_id, correlation_id: Option<String>, reason| Rejected {
        delivery,
        tenant,
        event_id,
        correlation_id: correlation_id.unwrap_or_else(|| format!("sqs-{}", delivery.message_id)),
        reason,
    };
    let queued: QueuedEvent = serde_json::from_str(&delivery.body).map_err(|e| {
        reject(
            None,
            None,
            None,
            ValidationError::new("message", format!("is not a queued event: {e}")),
        )
    })?;
    let tenant = TenantId::parse(&queued.tenant_id).map_err(|e| {
        reject(
            None,
            Some(queued.event_id.clone()),
            Some(queued.correlation_id.clone()),
            e,
        )
    })?;
    let rejected = |reason| {
        reject(
            Some(tenant.to_string()),
            Some(queued.event_id.clone()),
            Some(queued.correlation_id.clone()),
            reason,
        )
    };
    let change = match queued.source.as_str() {
        "supplier" => SupplierEvent::parse(&queued.payload, now_millis)
            .map_err(rejected)?
            .into_change(tenant.clone()),
        SQUARE | SHOPIFY => serde_json::from_value::<PulledObject>(queued.payload.clone())
            .map_err(|e| {
                rejected(ValidationError::new(
                    "payload",
                    format!("is not a normalized object: {e}"),
                ))
            })?
            .into_change(tenant.clone(), &queued.source, now_millis)
            .map_err(rejected)?,
        other => {
            return Err(rejected(ValidationError::new(
                "source",
                format!("unsupported source {other:?}"),
            )))
        }
    };
    Ok(Parsed {
        delivery,
        change,
        correlation_id: queued.correlation_id,
        topic: queued.topic,
    })
}

/// Applies one batch. Never fails as a whole: each record gets its own verdict.
pub async fn apply_batch<I, A, T, D, P, X>(
    ports: &ApplyPorts<'_, I, A, T, D, P, X>,
    deliveries: &[Delivery],
) -> BatchReport
where
    I: ItemStore + CustomerLedger,
    A: AuditLog,
    T: TenantDirectory,
    D: MessageQueue,
    P: StorefrontPublisher,
    X: CustomerTargets,
{
    let now = now_millis();
    let mut report = BatchReport::default();
    let mut fresh = Vec::new();
    let mut rejected = Vec::new();
    for delivery in deliveries {
        match parse(delivery, now) {
            Ok(p) => fresh.push(p),
            Err(r) => rejected.push(r),
        }
    }

    // A redelivered record may already be recorded: finish its work, never redo it.
    let mut parsed = Vec::new();
    for p in fresh {
        if p.delivery.receive_count > 1 {
            match resume(ports, &p).await {
                Ok(Some(outcome)) => report
                    .outcomes
                    .push((p.delivery.message_id.clone(), outcome)),
                Ok(None) => parsed.push(p),
                Err(e) => {
                    tracing::warn!(message_id = %p.delivery.message_id, correlation_id = %p.correlation_id, error.class = %e.class(), error = %e, "redelivered record will be retried");
                    report.retry.push(p.delivery.message_id.clone());
                }
            }
        } else {
            parsed.push(p);
        }
    }

    let mut rows: Vec<(AuditRow, &Delivery, bool)> = Vec::new(); // (row, delivery, retry after recording)
    apply_changes(ports, &parsed, &mut rows, &mut report).await;
    for r in &rejected {
        tracing::warn!(message_id = %r.delivery.message_id, tenant = r.tenant.as_deref().unwrap_or("unknown"), event_id = r.event_id.as_deref(), correlation_id = %r.correlation_id, outcome = "rejected", reason = %r.reason, "record rejected");
        rows.push((rejected_row(r, ports.audit_ttl), r.delivery, false));
    }
    record(ports.audit, &rows, &mut report).await;
    park_rejected(ports.dead_letters, &rejected, &mut report).await;
    report
}

/// Redelivery: if this record's row exists, only retry what failed (a publish).
/// `Ok(None)` means the record was never recorded and must be applied.
async fn resume<I, A, T, D, P, X>(
    ports: &ApplyPorts<'_, I, A, T, D, P, X>,
    p: &Parsed<'_>,
) -> Result<Option<String>, PortError>
where
    A: AuditLog,
    T: TenantDirectory,
    P: StorefrontPublisher,
{
    let pk = p.change.key.audit_partition();
    let sk = AuditRow::sort_key(
        Some(p.change.version.event_id.as_str()),
        &p.delivery.message_id,
    );
    let Some(row) = ports.audit.find(&pk, &sk).await? else {
        return Ok(None);
    };
    if row
        .targets
        .get(STOREFRONT)
        .is_some_and(TargetStatus::needs_retry)
    {
        let notice = CacheBust {
            tenant_id: p.change.key.tenant.to_string(),
            kind: p.change.key.kind.as_str(),
            id: p.change.key.id.clone(),
            version: row.revision.unwrap_or(0),
            event_id: p.change.version.event_id.to_string(),
            updated_at: p.change.updated_at.clone(),
            correlation_id: row.correlation_id.clone(),
        };
        let status = publish(ports, &notice).await;
        ports
            .audit
            .set_target(&pk, &sk, STOREFRONT, &status)
            .await?;
        if status.needs_retry() {
            return Err(PortError::new(
                "storefront",
                "publish",
                ErrorClass::NetworkError,
                status.last_error.unwrap_or_default(),
            ));
        }
        tracing::info!(entity = %p.change.key, correlation_id = %row.correlation_id, target = STOREFRONT, status = %status.status, "target retried");
    }
    Ok(Some(row.outcome.to_string()))
}

/// A delivery's audit row, the delivery, and whether SQS must redeliver it.
type SettledRow<'d> = (AuditRow, &'d Delivery, bool);

type TargetResults = Vec<(&'static str, TargetStatus)>;

async fn apply_changes<'d, I, A, T, D, P, X>(
    ports: &ApplyPorts<'_, I, A, T, D, P, X>,
    parsed: &[Parsed<'d>],
    rows: &mut Vec<(AuditRow, &'d Delivery, bool)>,
    report: &mut BatchReport,
) where
    I: ItemStore + CustomerLedger,
    T: TenantDirectory,
    P: StorefrontPublisher,
    X: CustomerTargets,
{
    let claims: Vec<Claim> = parsed
        .iter()
        .map(|p| Claim {
            key: p.change.key.clone(),
            version: p.change.version.clone(),
            message_id: p.delivery.message_id.clone(),
        })
        .collect();
    let claims = &claims;
    let writes = plan_batch(claims).into_iter().map(|plan| async move {
        let winner = &parsed[plan.winner];
        let span = tracing::info_span!("entity", correlation_id = %winner.correlation_id);
        let result = write_winner(ports, winner, &plan, claims)
            .instrument(span)
            .await;
        (plan, result)
    });
    let settled: Vec<_> = stream::iter(writes)
        .buffer_unordered(WRITE_CONCURRENCY)
        .collect()
        .await;
    for (plan, result) in settled {
        match result {
            Ok((write, targets)) => settled_rows(
                ports.audit_ttl,
                parsed,
                &plan,
                claims,
                &write,
                &targets,
                rows,
            ),
            Err(e) => {
                let winner = &parsed[plan.winner];
                tracing::warn!(entity = %plan.key, correlation_id = %winner.correlation_id, error.class = %e.class(), error = %e, "write failed; records will be retried");
                report.retry.extend(
                    plan.members
                        .iter()
                        .map(|&i| parsed[i].delivery.message_id.clone()),
                );
            }
        }
    }
}

/// Writes the entity's newest delivery with the ordering rule, then, if it
/// was applied, sends it on to its targets.
async fn write_winner<I, A, T, D, P, X>(
    ports: &ApplyPorts<'_, I, A, T, D, P, X>,
    winner: &Parsed<'_>,
    plan: &EntityPlan,
    claims: &[Claim],
) -> Result<(WriteResult, TargetResults), PortError>
where
    I: ItemStore + CustomerLedger,
    T: TenantDirectory,
    P: StorefrontPublisher,
    X: CustomerTargets,
{
    let write = ports
        .items
        .put_if_newer(
            &winner.change,
            &winner.delivery.message_id,
            &winner.correlation_id,
        )
        .await?;
    let winner_applied = settle(plan, claims, &write)
        .iter()
        .any(|(i, o)| *i == plan.winner && *o == Outcome::Applied);
    let targets = if winner_applied {
        send_to_targets(ports, winner, &write).await
    } else {
        vec![]
    };
    Ok((write, targets))
}

async fn send_to_targets<I, A, T, D, P, X>(
    ports: &ApplyPorts<'_, I, A, T, D, P, X>,
    winner: &Parsed<'_>,
    write: &WriteResult,
) -> TargetResults
where
    I: ItemStore + CustomerLedger,
    T: TenantDirectory,
    P: StorefrontPublisher,
    X: CustomerTargets,
{
    if let Some(customer) = customer_to_sync(winner, matches!(write, WriteResult::NotNewer(_))) {
        // Customers go to the POS and the CRM, never to the storefront cache.
        let customer_ports = CustomerPorts {
            targets: ports.targets,
            ledger: ports.items,
            tenants: ports.tenants,
            flags: ports.flags,
        };
        return sync_customer(&customer_ports, &customer).await;
    }
    if winner.change.key.kind == EntityKind::Customer {
        return vec![];
    }
    let revision = match write {
        WriteResult::Applied { revision } => *revision,
        WriteResult::NotNewer(_) => 0,
    };
    vec![(STOREFRONT, publish_applied(ports, winner, revision).await)]
}

/// One audit row per delivery of the entity, with its outcome and, for the
/// applied one, what its targets did.
fn settled_rows<'d>(
    ttl: Duration,
    parsed: &[Parsed<'d>],
    plan: &EntityPlan,
    claims: &[Claim],
    write: &WriteResult,
    targets: &TargetResults,
    rows: &mut Vec<(AuditRow, &'d Delivery, bool)>,
) {
    let revision = match write {
        WriteResult::Applied { revision } => Some(*revision),
        WriteResult::NotNewer(_) => None,
    };
    for (i, outcome) in settle(plan, claims, write) {
        let p = &parsed[i];
        let mut row = entity_row(p, ttl);
        row.set_outcome(&outcome);
        let mut retry = false;
        if outcome == Outcome::Applied {
            row.revision = revision;
            if let Some(why) = p.change.tombstone_reason() {
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
        tracing::info!(
            tenant = %p.change.key.tenant, entity = %p.change.key, event_id = %p.change.version.event_id,
            message_id = %p.delivery.message_id, correlation_id = %p.correlation_id,
            outcome = %outcome, storefront = row.targets.get(STOREFRONT).map(|s| s.status.to_string()),
            "event settled"
        );
        rows.push((row, p.delivery, retry));
    }
}

/// A Shopify registration, update or erasure goes to the targets; `resumed`
/// when an earlier delivery of the message already applied it.
fn customer_to_sync<'p>(p: &'p Parsed<'_>, resumed: bool) -> Option<CustomerChange<'p>> {
    let ChangeBody::Document {
        source,
        attributes,
        deleted,
    } = &p.change.body
    else {
        return None;
    };
    (p.change.key.kind == EntityKind::Customer && source == SHOPIFY).then(|| CustomerChange {
        tenant: &p.change.key.tenant,
        customer: CustomerProfile::from_attributes(&p.change.key.id, attributes),
        event_id: p.change.version.event_id.as_str(),
        topic: p.topic.as_deref(),
        correlation_id: &p.correlation_id,
        erase: *deleted,
        resumed,
    })
}

async fn publish_applied<I, A, T, D, P, X>(
    ports: &ApplyPorts<'_, I, A, T, D, P, X>,
    winner: &Parsed<'_>,
    revision: i64,
) -> TargetStatus
where
    T: TenantDirectory,
    P: StorefrontPublisher,
{
    let notice = CacheBust {
        tenant_id: winner.change.key.tenant.to_string(),
        kind: winner.change.key.kind.as_str(),
        id: winner.change.key.id.clone(),
        version: revision,
        event_id: winner.change.version.event_id.to_string(),
        updated_at: winner.change.updated_at.clone(),
        correlation_id: winner.correlation_id.clone(),
    };
    publish(ports, &notice).await
}

/// Publishes if the tenant has a storefront and has not switched it off.
/// A failure is a status for the audit, never a rollback of the applied state.
async fn publish<I, A, T, D, P, X>(
    ports: &ApplyPorts<'_, I, A, T, D, P, X>,
    notice: &CacheBust,
) -> TargetStatus
where
    T: TenantDirectory,
    P: StorefrontPublisher,
{
    let tenant = TenantId::parse(&notice.tenant_id).expect("tenant ids in notices are validated");
    let settings = match ports.tenants.settings(&tenant).await {
        Ok(s) => s,
        Err(e) => return TargetStatus::failed(e.class(), 0, e.to_string(), now_rfc3339()),
    };
    let Some(settings) = settings else {
        return TargetStatus::skipped("not configured", now_rfc3339());
    };
    if settings.targets_disabled.iter().any(|t| t == STOREFRONT) {
        return TargetStatus::skipped("disabled", now_rfc3339());
    }
    let Some(url) = settings.storefront_url.as_deref().filter(|u| !u.is_empty()) else {
        return TargetStatus::skipped("not configured", now_rfc3339());
    };
    match ports.storefront.publish(url, notice).await {
        Ok(attempts) => TargetStatus::success(attempts, now_rfc3339()),
        Err((e, attempts)) => {
            tracing::warn!(tenant = %notice.tenant_id, entity = %notice.id, correlation_id = %notice.correlation_id, error.class = %e.class(), error = %e, attempts, "storefront publish failed");
            TargetStatus::failed(e.class(), attempts, e.message(), now_rfc3339())
        }
    }
}

fn entity_row(p: &Parsed<'_>, ttl: Duration) -> AuditRow {
    AuditRow {
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
    }
}

fn rejected_row(r: &Rejected<'_>, ttl: Duration) -> AuditRow {
    let mut row = AuditRow {
        event_id: r.event_id.clone(),
        message_id: r.delivery.message_id.clone(),
        correlation_id: r.correlation_id.clone(),
        ..AuditRow::new(
            AuditRow::rejected_partition(r.tenant.as_deref()),
            AuditRow::sort_key(r.event_id.as_deref(), &r.delivery.message_id),
            r.tenant.clone().unwrap_or_else(|| "unknown".into()),
            AuditOutcome::Applied,
            now_rfc3339(),
            expiry_after(ttl),
        )
    };
    row.set_outcome(&Outcome::Rejected {
        reason: r.reason.to_string(),
    });
    row
}

/// First deliveries are written in batches; redeliveries only if their row is absent.
async fn record<A: AuditLog>(
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
        match result {
            Ok(()) if *retry => report.retry.push(delivery.message_id.clone()),
            Ok(()) => report
                .outcomes
                .push((delivery.message_id.clone(), row.outcome.to_string())),
            Err(e) => {
                tracing::warn!(message_id = %delivery.message_id, correlation_id = %row.correlation_id, error.class = %e.class(), error = %e, "audit row not written; record will be retried");
                report.retry.push(delivery.message_id.clone());
            }
        }
    }
}

/// Moves rejected records to the DLQ now: retrying cannot fix them.
async fn park_rejected<D: MessageQueue>(
    dlq: &D,
    rejected: &[Rejected<'_>],
    report: &mut BatchReport,
) {
    let failed_audit: HashSet<&String> = report.retry.iter().collect();
    let to_park: Vec<&Rejected> = rejected
        .iter()
        .filter(|r| !failed_audit.contains(&r.delivery.message_id))
        .collect();
    let mut parked_failures: HashMap<String, ()> = HashMap::new();
    for chunk in to_park.chunks(10) {
        let messages: Vec<OutgoingMessage> = chunk
            .iter()
            .map(|r| OutgoingMessage {
                group_id: r.tenant.clone().unwrap_or_else(|| "unknown".into()),
                body: r.delivery.body.clone(),
                attributes: vec![
                    ("errorClass", ErrorClass::ValidationError.to_string()),
                    ("rejectReason", r.reason.to_string()),
                    ("sourceMessageId", r.delivery.message_id.clone()),
                    (
                        "tenantId",
                        r.tenant.clone().unwrap_or_else(|| "unknown".into()),
                    ),
                    ("correlationId", r.correlation_id.clone()),
                ],
                delay_seconds: 0,
            })
            .collect();
        for (r, result) in chunk.iter().zip(dlq.send_batch(&messages).await) {
            if let Err(e) = result {
                tracing::warn!(message_id = %r.delivery.message_id, error.class = %e.class(), error = %e, "rejected record not parked in the DLQ; will be retried");
                parked_failures.insert(r.delivery.message_id.clone(), ());
            }
        }
    }
    if !parked_failures.is_empty() {
        report
            .outcomes
            .retain(|(id, _)| !parked_failures.contains_key(id));
        report.retry.extend(parked_failures.into_keys());
    }
}
