//! Why does an entity hold what it holds: every delivery about it, oldest
//! first, with its outcome, and the winner by the ordering rule.

use serde::Serialize;
use std::collections::BTreeMap;
use synchub_core::domain::audit::{AuditOutcome, AuditRow};
use synchub_core::domain::{EntityKey, EntityKind, Sku, TenantId, ValidationError};
use synchub_core::ports::{AuditHistory, PortError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    pub tenant_id: String,
    pub kind: &'static str,
    pub id: String,
    pub deliveries: Vec<TraceEntry>,
    /// The applied delivery the ordering rule keeps, when there is one.
    pub winner: Option<Winner>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEntry {
    pub event_id: Option<String>,
    pub message_id: String,
    pub source_updated_at: Option<String>,
    pub recorded_at: String,
    pub outcome: AuditOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beaten_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Completed on redelivery, sent again by a replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// Target → its result (`success`, `skipped (disabled)`, `failed (CLASS)`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, String>,
    pub correlation_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Winner {
    pub event_id: String,
    pub source_updated_at: String,
    pub why: String,
}

/// The longest entity id accepted (POS ids, `shopify-{id}`, `{item}@{location}`).
pub const MAX_ID_CHARS: usize = 256;

/// The entity an operator names, its id checked as its kind requires: a
/// catalog item's id is a SKU; other ids are the source's, never empty, and
/// without `#` (the audit key's separator), spaces or control characters,
/// so a trace can only ever read the named tenant's own partition.
pub fn entity_key(
    tenant: TenantId,
    kind: EntityKind,
    id: &str,
) -> Result<EntityKey, ValidationError> {
    let id = if kind == EntityKind::CatalogItem {
        Sku::parse(id)?.to_string()
    } else if id.is_empty() {
        return Err(ValidationError::new("id", "must not be empty"));
    } else if id.chars().count() > MAX_ID_CHARS {
        return Err(ValidationError::new(
            "id",
            format!("must be at most {MAX_ID_CHARS} characters"),
        ));
    } else if let Some(bad) = id
        .chars()
        .find(|c| *c == '#' || c.is_whitespace() || c.is_control())
    {
        return Err(ValidationError::new(
            "id",
            format!("must not contain '#', spaces or control characters (found {bad:?})"),
        ));
    } else {
        id.to_owned()
    };
    Ok(EntityKey { tenant, kind, id })
}

/// Reads the entity's audit partition.
pub async fn trace<A: AuditHistory>(audit: &A, key: &EntityKey) -> Result<Trace, PortError> {
    let rows = audit.entity_history(&key.audit_partition()).await?;
    Ok(explain(key, &rows))
}

/// The trace of rows already read: pure.
pub fn explain(key: &EntityKey, rows: &[AuditRow]) -> Trace {
    let winner = rows
        .iter()
        .filter(|r| matches!(r.outcome, AuditOutcome::Applied | AuditOutcome::Deleted))
        .max_by(|a, b| {
            (&a.source_updated_at, &a.event_id).cmp(&(&b.source_updated_at, &b.event_id))
        })
        .map(|w| Winner {
            event_id: w.event_id.clone().unwrap_or_default(),
            source_updated_at: w.source_updated_at.clone().unwrap_or_default(),
            why: "it has the greatest (updatedAt, eventId) of all deliveries; every later-arriving older one is stale".into(),
        });
    Trace {
        tenant_id: key.tenant.to_string(),
        kind: key.kind.as_str(),
        id: key.id.clone(),
        deliveries: rows.iter().map(entry).collect(),
        winner,
    }
}

fn entry(row: &AuditRow) -> TraceEntry {
    TraceEntry {
        event_id: row.event_id.clone(),
        message_id: row.message_id.clone(),
        source_updated_at: row.source_updated_at.clone(),
        recorded_at: row.recorded_at.clone(),
        outcome: row.outcome,
        beaten_by: row.beaten_by.clone(),
        reason: row.reason.clone(),
        note: row.note.clone(),
        revision: row.revision,
        targets: row
            .targets
            .iter()
            .map(|(t, s)| (t.clone(), s.status.to_string()))
            .collect(),
        correlation_id: row.correlation_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[test]
    fn a_catalog_items_id_must_be_a_sku() {
        let err = entity_key(tenant(), EntityKind::CatalogItem, "not a sku").unwrap_err();
        assert_eq!(err.field, "sku");
        let key = entity_key(tenant(), EntityKind::CatalogItem, "SKU-1").unwrap();
        assert_eq!(key.audit_partition(), "acme#catalog_item#SKU-1");
    }

    #[test]
    fn an_id_that_would_read_another_partition_is_refused() {
        for bad in ["", "a#b", "a b", "a\u{7}"] {
            let err = entity_key(tenant(), EntityKind::Order, bad).unwrap_err();
            assert_eq!(err.field, "id", "{bad:?}");
        }
        assert!(entity_key(tenant(), EntityKind::Order, &"x".repeat(257)).is_err());
        let key = entity_key(tenant(), EntityKind::Inventory, "shopify-7@99").unwrap();
        assert_eq!(key.audit_partition(), "acme#inventory#shopify-7@99");
    }
}
