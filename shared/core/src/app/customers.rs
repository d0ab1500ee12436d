//! Customer registration fan-out: once a storefront registration (or update)
//! is applied to the customer master record, it goes to the POS and the CRM,
//! each behind its flag, each isolated from the other, and the result of each
//! is kept in a per-target ledger on the record (`success`, `skipped
//! (disabled)`, `failed (CLASS)`), so `synchub backfill` can send exactly what
//! is missing once a target is switched on or back up.

use crate::app::flags::target_flags;
use crate::domain::audit::TargetState;
use crate::domain::provider_webhook::is_registration;
use crate::domain::time::now_rfc3339;
use crate::domain::{TargetStatus, TenantId};
use crate::ports::maintenance::{Maintenance, MAINTENANCE};
use crate::ports::{
    CustomerLedger, CustomerProfile, CustomerRecord, CustomerTargets, TargetIds, TenantDirectory,
};
use sha2::{Digest, Sha256};

pub use crate::domain::audit::Target;

pub const POS: Target = Target::Pos;
pub const CRM: Target = Target::Crm;

/// The deploy-time master switches, read once at init. Unset or unparsable
/// means off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetFlags {
    pub pos: bool,
    pub crm: bool,
    /// Also sync updates, not only new registrations.
    pub updates: bool,
}

impl TargetFlags {
    pub fn target(&self, target: Target) -> bool {
        match target {
            Target::Pos => self.pos,
            Target::Crm => self.crm,
            Target::Storefront => true,
        }
    }
}

/// Whether a target runs for a change, or why it is skipped.
pub fn decide(
    flags: TargetFlags,
    tenant_disabled: &[String],
    target: Target,
    registration: bool,
) -> Result<(), &'static str> {
    if !flags.target(target) || tenant_disabled.iter().any(|t| t == target.as_str()) {
        return Err("disabled");
    }
    if !registration && !flags.updates {
        return Err("disabled");
    }
    Ok(())
}

/// A POS idempotency key derived from the tenant, customer and event: a retry
/// of the same change can never create a second customer. (Square allows 45
/// characters.)
pub fn idempotency_key(tenant: &TenantId, customer: &str, event_id: &str) -> String {
    let digest = Sha256::digest(format!("{tenant}\n{customer}\n{event_id}"));
    digest.iter().take(20).map(|b| format!("{b:02x}")).collect()
}

crate::port_kinds! {
    /// The kinds of port customer sync runs on, as one bound.
    pub trait CustomerDeps {
        Targets: CustomerTargets,
        Ledger: CustomerLedger,
        Tenants: TenantDirectory,
    }
}

pub struct CustomerPorts<'a, Deps: CustomerDeps> {
    pub targets: &'a Deps::Targets,
    pub ledger: &'a Deps::Ledger,
    pub tenants: &'a Deps::Tenants,
    /// The deploy-time switches, and `CANARY_TENANTS` (tenant overrides are
    /// read with the tenant's settings).
    pub flags: TargetFlags,
    pub canary_tenants: &'a [String],
    /// The maintenance switch as read for this batch (see `TargetPlan::decision`).
    pub maintenance: Maintenance,
}

/// One applied customer change to send.
#[derive(Debug, Clone)]
pub struct CustomerChange<'a> {
    pub tenant: &'a TenantId,
    pub customer: CustomerProfile,
    pub event_id: &'a str,
    pub topic: Option<&'a str>,
    pub correlation_id: &'a str,
    /// A privacy erasure (Shopify `customers/redact`): delete the targets' copies.
    pub erase: bool,
    /// The write was already applied by an earlier delivery of this message:
    /// targets already done for this event are not called again.
    pub resumed: bool,
}

/// Sends an applied customer change to the POS and the CRM (concurrently, so
/// a slow or failing POS never holds up the CRM), records the results on the
/// master record and returns them for the delivery's audit row.
pub async fn sync_customer<Deps: CustomerDeps>(
    ports: &CustomerPorts<'_, Deps>,
    change: &CustomerChange<'_>,
) -> Vec<(&'static str, TargetStatus)> {
    let registration = change.topic.is_some_and(is_registration);
    let (disabled, flags) = match ports.tenants.settings(change.tenant).await {
        Ok(Some(settings)) => (
            settings.targets_disabled.clone(),
            target_flags(ports.flags, ports.canary_tenants, &settings),
        ),
        Ok(None) => (Vec::new(), ports.flags),
        Err(e) => {
            let status = TargetStatus::failed(e.class(), 0, e.to_string(), now_rfc3339());
            return vec![(POS.as_str(), status.clone()), (CRM.as_str(), status)];
        }
    };
    let plan = TargetPlan {
        change,
        known: known_record(ports.ledger, change, registration).await,
        disabled,
        flags,
        registration,
        key: idempotency_key(change.tenant, &change.customer.id, change.event_id),
        maintenance: ports.maintenance,
    };
    let run = |target: Target| plan.run(ports.targets, target);
    let ((pos_status, pos_id), (crm_status, crm_id)) = futures::join!(run(POS), run(CRM));
    let statuses = vec![(POS.as_str(), pos_status), (CRM.as_str(), crm_status)];
    for (target, s) in &statuses {
        tracing::info!(tenant = %change.tenant, customer = %change.customer.id, event_id = change.event_id, correlation_id = change.correlation_id,
            target, sync_status = %s.status, attempts = s.attempts, last_error = s.last_error.as_deref(), registration, erase = change.erase, "customer target");
    }
    let ids = TargetIds {
        pos: pos_id.as_deref(),
        crm: crm_id.as_deref(),
    };
    if let Err(e) = ports
        .ledger
        .record_sync(
            change.tenant,
            &change.customer.id,
            change.event_id,
            &statuses,
            ids,
        )
        .await
    {
        tracing::error!(tenant = %change.tenant, customer = %change.customer.id, correlation_id = change.correlation_id, error.class = %e.class(), error = %e,
            "target results not recorded on the master record (they are in the audit row)");
    }
    statuses
}

/// Updates, erasures and redeliveries need what the record already knows
/// (the targets' ids, what was done); a first registration does not.
async fn known_record<L: CustomerLedger>(
    ledger: &L,
    change: &CustomerChange<'_>,
    registration: bool,
) -> CustomerRecord {
    if !(change.erase || change.resumed || !registration) {
        return CustomerRecord::default();
    }
    match ledger.customer(change.tenant, &change.customer.id).await {
        Ok(record) => record.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(tenant = %change.tenant, customer = %change.customer.id, correlation_id = change.correlation_id, error = %e, "ledger not read; targets run as for a new customer");
            CustomerRecord::default()
        }
    }
}

/// What one change owes each target.
struct TargetPlan<'a> {
    change: &'a CustomerChange<'a>,
    known: CustomerRecord,
    disabled: Vec<String>,
    flags: TargetFlags,
    registration: bool,
    key: String,
    maintenance: Maintenance,
}

impl TargetPlan<'_> {
    /// `Err` with the status to record when the target is not called.
    fn decision(&self, target: Target) -> Result<(), TargetStatus> {
        let done = self.known.sync_status.get(target.as_str());
        // A redelivery never calls a target again for what this event already did there.
        if self.change.resumed && done.is_some_and(TargetStatus::is_done) {
            return Err(done
                .cloned()
                .unwrap_or_else(|| TargetStatus::success(0, now_rfc3339())));
        }
        if self.change.erase {
            // Owed wherever a copy exists, whatever the flags or maintenance
            // (backfill resends upserts only, so an erasure is never held back).
            return Ok(());
        }
        decide(self.flags, &self.disabled, target, self.registration)
            .map_err(|why| TargetStatus::skipped(why, now_rfc3339()))?;
        // Held back, not off: the ledger's `skipped (maintenance)` is what backfill sends later.
        if self.maintenance.is_on() {
            return Err(TargetStatus::skipped(MAINTENANCE, now_rfc3339()));
        }
        Ok(())
    }

    fn action(&self, target: Target) -> TargetAction<'_> {
        if !self.change.erase {
            return TargetAction::Upsert {
                pos_id: self.known.square_customer_id.as_deref(),
                key: &self.key,
            };
        }
        let id = match target {
            Target::Pos => &self.known.square_customer_id,
            _ => &self.known.crm_contact_id,
        };
        TargetAction::Erase(id.as_deref())
    }

    async fn run<X: CustomerTargets>(
        &self,
        targets: &X,
        target: Target,
    ) -> (TargetStatus, Option<String>) {
        match self.decision(target) {
            Err(status) => (status, None),
            Ok(()) => {
                let (tenant, customer) = (self.change.tenant, &self.change.customer);
                at_target(targets, tenant, target, customer, self.action(target)).await
            }
        }
    }
}

/// What a backfill did (or, dry, would do) for one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillItem {
    pub customer_id: String,
    pub previous: String,
    /// `None` on a dry run.
    pub result: Option<TargetStatus>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("target {0} cannot be backfilled: only pos and crm can")]
    NotBackfillable(Target),
    #[error("ENABLE_{0}_SYNC is off: switch the target on before backfilling it")]
    FlagOff(String),
    #[error(transparent)]
    Store(#[from] crate::ports::PortError),
}

/// Re-sends exactly the customers whose `target` status is skipped or failed,
/// each once, with the record's current state; safe to run twice (a success
/// is recorded, and the POS idempotency key is derived from the event).
pub async fn backfill<Deps: CustomerDeps>(
    ports: &CustomerPorts<'_, Deps>,
    tenant: &TenantId,
    target: Target,
    since: Option<&str>,
    dry_run: bool,
) -> Result<Vec<BackfillItem>, BackfillError> {
    if target == Target::Storefront {
        return Err(BackfillError::NotBackfillable(target));
    }
    if !ports.flags.target(target) {
        return Err(BackfillError::FlagOff(target.as_str().to_ascii_uppercase()));
    }
    let mut done = Vec::new();
    for record in ports
        .ledger
        .needing_sync(tenant, target.as_str(), since)
        .await?
    {
        let previous = record
            .sync_status
            .get(target.as_str())
            .map(|s| s.status.to_string())
            .unwrap_or_default();
        let result = if dry_run {
            None
        } else {
            Some(resend(ports, tenant, target, &record).await)
        };
        tracing::info!(tenant = %tenant, customer = %record.profile.id, target = %target, correlation_id = %record.correlation_id,
            sync_status = result.as_ref().map(|s| s.status.to_string()), %previous, dry_run, "backfilled");
        done.push(BackfillItem {
            customer_id: record.profile.id.clone(),
            previous,
            result,
        });
    }
    Ok(done)
}

/// Sends one customer's current state to the target again and records how it went.
async fn resend<Deps: CustomerDeps>(
    ports: &CustomerPorts<'_, Deps>,
    tenant: &TenantId,
    target: Target,
    record: &CustomerRecord,
) -> TargetStatus {
    let key = idempotency_key(tenant, &record.profile.id, &record.event_id);
    let action = TargetAction::Upsert {
        pos_id: record.square_customer_id.as_deref(),
        key: &key,
    };
    let (status, id) = at_target(ports.targets, tenant, target, &record.profile, action).await;
    let ids = match target {
        Target::Pos => TargetIds {
            pos: id.as_deref(),
            crm: None,
        },
        _ => TargetIds {
            pos: None,
            crm: id.as_deref(),
        },
    };
    let statuses = [(target.as_str(), status.clone())];
    let recorded = ports
        .ledger
        .record_sync(tenant, &record.profile.id, &record.event_id, &statuses, ids)
        .await;
    if let Err(e) = recorded {
        tracing::error!(tenant = %tenant, customer = %record.profile.id, correlation_id = %record.correlation_id, error = %e, "backfill result not recorded");
    }
    status
}

/// What to do for one customer at one target.
#[derive(Debug, Clone, Copy)]
enum TargetAction<'a> {
    /// Create or update (the POS by its id once known, with this idempotency key).
    Upsert {
        pos_id: Option<&'a str>,
        key: &'a str,
    },
    /// Delete the target's copy, if the target has one (its id).
    Erase(Option<&'a str>),
}

/// Does `action` at `target` and says how it went, with the target's id of
/// the customer when it gave one.
async fn at_target<X: CustomerTargets>(
    targets: &X,
    tenant: &TenantId,
    target: Target,
    customer: &CustomerProfile,
    action: TargetAction<'_>,
) -> (TargetStatus, Option<String>) {
    let result = match (target, action) {
        (_, TargetAction::Erase(None)) => {
            return (
                TargetStatus::skipped("never synced: nothing to erase", now_rfc3339()),
                None,
            )
        }
        (POS, TargetAction::Erase(Some(id))) => {
            targets.pos_erase(tenant, id).await.map(|a| (None, a))
        }
        (_, TargetAction::Erase(Some(id))) => {
            targets.crm_erase(tenant, id).await.map(|a| (None, a))
        }
        (POS, TargetAction::Upsert { pos_id, key }) => targets
            .pos_upsert(tenant, customer, pos_id, key)
            .await
            .map(|(id, a)| (Some(id), a)),
        (_, TargetAction::Upsert { .. }) => targets
            .crm_upsert(tenant, customer)
            .await
            .map(|(id, a)| (Some(id), a)),
    };
    match result {
        Ok((id, attempts)) => {
            let done = if matches!(action, TargetAction::Erase(_)) {
                TargetState::Erased
            } else {
                TargetState::Success
            };
            let status = TargetStatus::done(done, attempts, now_rfc3339());
            (status, id.filter(|i| !i.is_empty()))
        }
        Err((e, attempts)) => (
            TargetStatus::failed(e.class(), attempts, e.to_string(), now_rfc3339()),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_target_runs_only_when_the_flag_and_the_tenant_allow_it() {
        let on = TargetFlags {
            pos: true,
            crm: true,
            updates: false,
        };
        assert_eq!(decide(on, &[], POS, true), Ok(()));
        assert_eq!(decide(on, &["pos".into()], POS, true), Err("disabled"));
        assert_eq!(decide(on, &["pos".into()], CRM, true), Ok(()));
        assert_eq!(
            decide(on, &[], CRM, false),
            Err("disabled"),
            "updates are off"
        );
        assert_eq!(
            decide(
                TargetFlags {
                    updates: true,
                    ..on
                },
                &[],
                CRM,
                false
            ),
            Ok(())
        );
        assert_eq!(
            decide(TargetFlags::default(), &[], POS, true),
            Err("disabled")
        );
    }

    proptest! {
        #[test]
        fn idempotency_keys_are_stable_short_and_distinct(a in "[a-z0-9-]{1,40}", b in "[a-z0-9-]{1,40}") {
            let t = TenantId::parse("t1").unwrap();
            let k = idempotency_key(&t, &a, "e1");
            prop_assert_eq!(&k, &idempotency_key(&t, &a, "e1"));
            prop_assert!(k.len() <= 45);
            if a != b {
                prop_assert_ne!(k, idempotency_key(&t, &b, "e1"));
            }
        }
    }
}
