//! `synchub backfill`: re-sends to a target exactly the customers whose
//! status there is skipped or failed (registrations made while the target was
//! off or down), with the same code the worker uses, and prints each one.

use synchub_core::app::customers::{
    backfill, BackfillItem, CustomerPorts, Target, TargetFlags, CRM, POS,
};
use synchub_core::domain::{TargetStatus, TenantId};
use synchub_core::ports::maintenance::Maintenance;
use synchub_core::ports::{CustomerLedger, CustomerTargets, TenantDirectory};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs the backfill of `target` (its ledger name: `pos` or `crm`) and
/// renders one line per customer and a total.
#[expect(
    clippy::too_many_arguments,
    reason = "the worker's three ports and flags, then the command's four arguments, as the tests call it"
)]
pub async fn run<X, L, T>(
    targets: &X,
    ledger: &L,
    tenants: &T,
    flags: TargetFlags,
    tenant: &TenantId,
    target: &str,
    since: Option<&str>,
    dry_run: bool,
) -> Result<(String, Vec<BackfillItem>), Error>
where
    X: CustomerTargets,
    L: CustomerLedger,
    T: TenantDirectory,
{
    let target = Target::parse(target)
        .ok_or_else(|| format!("unknown target {target:?}: one of {POS}, {CRM}"))?;
    if let Some(since) = since {
        synchub_core::domain::time::parse_rfc3339_millis(since)
            .map_err(|rule| format!("--since {since:?}: {rule}"))?;
    }
    let ports: CustomerPorts<(_, _, _)> = CustomerPorts {
        targets,
        ledger,
        tenants,
        flags,
        canary_tenants: &[],
        // Backfill only resends (it never reads this); the operator runs it once maintenance is off.
        maintenance: Maintenance::Off,
    };
    let items = backfill(&ports, tenant, target, since, dry_run).await?;
    let mut out = String::new();
    for item in &items {
        let now = item.result.as_ref().map_or_else(
            || "would send (dry run)".to_owned(),
            |s| match &s.last_error {
                Some(e) => format!("{} after {} attempt(s): {e}", s.status, s.attempts),
                None => s.status.to_string(),
            },
        );
        out.push_str(&format!(
            "{:<40} {:<28} -> {now}\n",
            item.customer_id, item.previous
        ));
    }
    let sent = items
        .iter()
        .filter(|i| i.result.as_ref().is_some_and(TargetStatus::is_success))
        .count();
    out.push_str(&format!(
        "{} customer(s) needed {target}; {sent} sent{}\n",
        items.len(),
        if dry_run {
            " (dry run: nothing sent)"
        } else {
            ""
        }
    ));
    Ok((out, items))
}
