//! A tenant can widen a rollout supplier by supplier: with
//! `allowedSuppliers` set, a supplier event from any other supplier is
//! recorded as `ignored` (the reason names the supplier), with its change
//! kept on the row, and not applied. Once the supplier is allowed, a replay
//! of the window applies what was held (the store is behind it).

use super::{BatchReport, Parsed};
use crate::domain::ChangeBody;
use crate::ports::TenantDirectory;
use std::collections::HashMap;

/// Splits a batch into what may be applied and what is held back, with why.
pub(super) async fn hold_unlisted_suppliers<'d, T: TenantDirectory>(
    tenants: &T,
    parsed: Vec<Parsed<'d>>,
    report: &mut BatchReport,
) -> (Vec<Parsed<'d>>, Vec<(Parsed<'d>, String)>) {
    let mut allowlists: HashMap<String, Option<Vec<String>>> = HashMap::new();
    let (mut apply, mut held) = (Vec::new(), Vec::new());
    for p in parsed {
        let ChangeBody::Supplier(event) = &p.change.body else {
            apply.push(p);
            continue;
        };
        let tenant = p.change.key.tenant.as_str().to_owned();
        if !allowlists.contains_key(&tenant) {
            match tenants.settings(&p.change.key.tenant).await {
                Ok(settings) => {
                    let list = settings
                        .map(|s| s.allowed_suppliers)
                        .filter(|l| !l.is_empty());
                    allowlists.insert(tenant.clone(), list);
                }
                Err(e) => {
                    tracing::warn!(tenant = %tenant, correlation_id = %p.correlation_id, error.class = %e.class(), error = %e, "tenant settings not read; record will be retried");
                    report.retry.push(p.delivery.message_id.clone());
                    continue;
                }
            }
        }
        match allowlists.get(&tenant).and_then(Option::as_ref) {
            Some(list) if !list.iter().any(|s| s == event.supplier_id.as_str()) => {
                let why = format!(
                    "supplier {} is not in the tenant's allowed suppliers ({}); replay once it is",
                    event.supplier_id,
                    list.join(", ")
                );
                held.push((p, why));
            }
            _ => apply.push(p),
        }
    }
    (apply, held)
}
