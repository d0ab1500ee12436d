//! Apply a batch of queued events: one conditional write per entity, one audit
//! row per delivery, a storefront cache-bust per applied change, and a
//! per-record verdict for SQS (done, or retry).
//!
//! Non-retryable records (unparsable or invalid) are audited as `rejected` and
//! moved to the DLQ at once. Retryable failures are handed back to SQS as batch
//! item failures, which end in the DLQ after `maxReceiveCount`.

mod allowlist;
mod record;
mod rejected;

use super::customers::{sync_customer, CustomerChange, CustomerPorts, TargetFlags};
use super::SHOPIFY;
use crate::domain::audit::{AuditOutcome, AuditRow, Outcome, TargetStatus};
use crate::domain::metrics::{Tally, TargetTally};
use crate::domain::ordering::{plan_batch, settle, Claim, EntityPlan, WriteResult};
use crate::domain::time::now_millis;
use crate::domain::time::now_rfc3339;
use crate::domain::EntityKind;
use crate::domain::{ChangeBody, EntityChange, TenantId};
use crate::messages::ReplayMark;
use crate::ports::maintenance::{Maintenance, MAINTENANCE};
use crate::ports::PortError;
use crate::ports::{
    AuditLog, CacheBust, CustomerLedger, CustomerProfile, CustomerTargets, ItemStore, MessageQueue,
    StorefrontPublisher, TenantDirectory,
};
use crate::ErrorClass;
use allowlist::hold_unlisted_suppliers;
use futures::stream::{self, StreamExt};
use record::{held_row, record, settled_rows};
use rejected::{park_rejected, parse, rejected_row};
use std::collections::BTreeMap;
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

/// What happened to a batch: which records SQS must redeliver, and what
/// became of each of the others. `O` is the worker's audit outcome; the
/// notifier and the runs queue, which share the SQS plumbing, note theirs
/// in words.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchReport<O = AuditOutcome> {
    pub retry: Vec<String>,
    /// The records of `retry` handed back because a store call failed
    /// after the SDK's retries (worth another try at once, unlike a
    /// target that is down, which SQS's visibility timeout paces).
    pub store_failed: Vec<String>,
    /// (message id, outcome) for every record that reached an outcome.
    pub outcomes: Vec<(String, O)>,
    /// What the batch did per tenant, for the gate's counters.
    pub tallies: BTreeMap<String, Tally>,
    /// What the customer targets did, all tenants together (for metrics).
    pub targets: TargetTally,
}

impl<O> Default for BatchReport<O> {
    fn default() -> Self {
        Self {
            retry: Vec::new(),
            store_failed: Vec::new(),
            outcomes: Vec::new(),
            tallies: BTreeMap::new(),
            targets: TargetTally::default(),
        }
    }
}

impl<O> BatchReport<O> {
    pub fn tally(&mut self, tenant: &str) -> &mut Tally {
        self.tallies.entry(tenant.to_owned()).or_default()
    }
}

crate::port_kinds! {
    /// The kinds of port the worker applies a batch with, as one bound.
    pub trait ApplyDeps {
        Items: ItemStore + CustomerLedger,
        Audit: AuditLog,
        Tenants: TenantDirectory,
        DeadLetters: MessageQueue,
        Storefront: StorefrontPublisher,
        Targets: CustomerTargets,
    }
}

pub struct ApplyPorts<'a, Deps: ApplyDeps> {
    pub items: &'a Deps::Items,
    pub audit: &'a Deps::Audit,
    pub tenants: &'a Deps::Tenants,
    pub dead_letters: &'a Deps::DeadLetters,
    pub storefront: &'a Deps::Storefront,
    /// The customer targets (POS, CRM) and their deploy-time switches.
    pub targets: &'a Deps::Targets,
    pub flags: TargetFlags,
    /// `CANARY_TENANTS`: tenants whose flags are on unless they override them.
    pub canary_tenants: &'a [String],
    pub audit_ttl: Duration,
    /// The maintenance switch as read for this batch: when on, every
    /// outbound call is skipped and recorded `skipped (maintenance)`.
    pub maintenance: Maintenance,
}

/// A record that parsed into a change.
struct Parsed<'d> {
    delivery: &'d Delivery,
    change: EntityChange,
    correlation_id: String,
    /// The provider's topic, for webhooks from Shopify and Square.
    topic: Option<String>,
    /// Set when a replay re-drives this event.
    replay: Option<ReplayMark>,
}

/// The entity a queued body is about, or why the worker would reject it
/// (a replay's dry run tells a dead letter that would now apply from one
/// that would be rejected again).
pub fn entity_of(body: &str) -> Result<crate::domain::EntityKey, String> {
    let delivery = Delivery {
        message_id: String::new(),
        body: body.to_owned(),
        receive_count: 1,
    };
    parse(&delivery, now_millis())
        .map(|p| p.change.key)
        .map_err(|r| r.reason.to_string())
}

/// Applies one batch. Never fails as a whole: each record gets its own verdict.
pub async fn apply_batch<Deps: ApplyDeps>(
    ports: &ApplyPorts<'_, Deps>,
    deliveries: &[Delivery],
) -> BatchReport {
    let now = now_millis();
    let mut report = BatchReport::default();
    let mut fresh = Vec::new();
    let mut rejected = Vec::new();
    for delivery in deliveries {
        let parsed = parse(delivery, now);
        if delivery.receive_count <= 1 {
            let tenant = match &parsed {
                Ok(p) => p.change.key.tenant.as_str(),
                Err(r) => r.tenant.as_deref().unwrap_or("unknown"),
            };
            report.tally(tenant).received += 1;
        }
        match parsed {
            Ok(p) => fresh.push(p),
            Err(r) => rejected.push(r),
        }
    }

    // A redelivered record may already be recorded: finish its work, never redo it.
    let mut parsed = Vec::new();
    for p in fresh {
        if p.delivery.receive_count > 1 {
            match resume(ports, &p, &mut report).await {
                Ok(Some(outcome)) => report
                    .outcomes
                    .push((p.delivery.message_id.clone(), outcome)),
                Ok(None) => parsed.push(p),
                Err(e) => {
                    tracing::warn!(message_id = %p.delivery.message_id, correlation_id = %p.correlation_id, error.class = %e.class(), error = %e, "redelivered record will be retried");
                    report.retry.push(p.delivery.message_id.clone());
                    report.store_failed.push(p.delivery.message_id.clone());
                }
            }
        } else {
            parsed.push(p);
        }
    }

    let (parsed, held) = hold_unlisted_suppliers(ports.tenants, parsed, &mut report).await;
    let mut rows: Vec<(AuditRow, &Delivery, bool)> = Vec::new(); // (row, delivery, retry after recording)
    for (p, why) in &held {
        tracing::info!(entity = %p.change.key, message_id = %p.delivery.message_id, correlation_id = %p.correlation_id, outcome = "ignored", reason = %why, "supplier not allowed for the tenant");
        rows.push((held_row(p, ports.audit_ttl, why), p.delivery, false));
    }
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
async fn resume<Deps: ApplyDeps>(
    ports: &ApplyPorts<'_, Deps>,
    p: &Parsed<'_>,
    report: &mut BatchReport,
) -> Result<Option<AuditOutcome>, PortError> {
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
        if status.is_success() {
            report.tally(p.change.key.tenant.as_str()).publish_recovered += 1;
        }
    }
    Ok(Some(row.outcome))
}

type TargetResults = Vec<(&'static str, TargetStatus)>;

async fn apply_changes<'d, Deps: ApplyDeps>(
    ports: &ApplyPorts<'_, Deps>,
    parsed: &[Parsed<'d>],
    rows: &mut Vec<(AuditRow, &'d Delivery, bool)>,
    report: &mut BatchReport,
) {
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
                let members = plan.members.iter();
                let ids: Vec<String> = members
                    .map(|&i| parsed[i].delivery.message_id.clone())
                    .collect();
                report.store_failed.extend(ids.iter().cloned());
                report.retry.extend(ids);
            }
        }
    }
}

/// Writes the entity's newest delivery with the ordering rule, then, if it
/// was applied, sends it on to its targets.
async fn write_winner<Deps: ApplyDeps>(
    ports: &ApplyPorts<'_, Deps>,
    winner: &Parsed<'_>,
    plan: &EntityPlan,
    claims: &[Claim],
) -> Result<(WriteResult, TargetResults), PortError> {
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
    // A crashed attempt's write that newer ones have followed since is
    // recorded applied, but its targets already have something newer.
    let superseded =
        matches!(&write, WriteResult::NotNewer(s) if s.message_id != winner.delivery.message_id);
    let targets = if (winner_applied && !superseded) || republishes(winner, &write) {
        send_to_targets(ports, winner, &write).await
    } else {
        vec![]
    };
    Ok((write, targets))
}

/// A replay asked to send this event to its targets again, and it is what
/// the store holds: a failed publish or target call is done once more.
fn republishes(winner: &Parsed<'_>, write: &WriteResult) -> bool {
    let asked = winner.replay.as_ref().is_some_and(|r| r.republish);
    asked && matches!(write, WriteResult::NotNewer(s) if s.version == winner.change.version)
}

async fn send_to_targets<Deps: ApplyDeps>(
    ports: &ApplyPorts<'_, Deps>,
    winner: &Parsed<'_>,
    write: &WriteResult,
) -> TargetResults {
    if let Some(customer) = customer_to_sync(winner, matches!(write, WriteResult::NotNewer(_))) {
        // Customers go to the POS and the CRM, never to the storefront cache.
        let customer_ports: CustomerPorts<(Deps::Targets, Deps::Items, Deps::Tenants)> =
            CustomerPorts {
                targets: ports.targets,
                ledger: ports.items,
                tenants: ports.tenants,
                flags: ports.flags,
                canary_tenants: ports.canary_tenants,
                maintenance: ports.maintenance,
            };
        // Boxed: the customer path is deep, and nested in every caller's future.
        return Box::pin(sync_customer(&customer_ports, &customer)).await;
    }
    if winner.change.key.kind == EntityKind::Customer {
        return vec![];
    }
    let revision = match write {
        WriteResult::Applied { revision, .. } => *revision,
        WriteResult::NotNewer(stored) => stored.revision,
    };
    vec![(STOREFRONT, publish_applied(ports, winner, revision).await)]
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

async fn publish_applied<Deps: ApplyDeps>(
    ports: &ApplyPorts<'_, Deps>,
    winner: &Parsed<'_>,
    revision: i64,
) -> TargetStatus {
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
async fn publish<Deps: ApplyDeps>(
    ports: &ApplyPorts<'_, Deps>,
    notice: &CacheBust,
) -> TargetStatus {
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
    if ports.maintenance.is_on() {
        return TargetStatus::skipped(MAINTENANCE, now_rfc3339());
    }
    match ports.storefront.publish(url, notice).await {
        Ok(attempts) => TargetStatus::success(attempts, now_rfc3339()),
        Err((e, attempts)) => {
            tracing::warn!(tenant = %notice.tenant_id, entity = %notice.id, correlation_id = %notice.correlation_id, error.class = %e.class(), error = %e, attempts, "storefront publish failed");
            TargetStatus::failed(e.class(), attempts, e.message(), now_rfc3339())
        }
    }
}
