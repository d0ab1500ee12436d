//! Why does an entity hold what it holds: every delivery about it, oldest
//! first, with its outcome, and the winner by the ordering rule.

use crate::domain::audit::{AuditOutcome, AuditRow};
use crate::domain::EntityKey;
use crate::ports::{AuditHistory, PortError};
use serde::Serialize;
use std::collections::BTreeMap;

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
        revision: row.revision,
        targets: row
            .targets
            .iter()
            .map(|(t, s)| (t.clone(), s.status.to_string()))
            .collect(),
        correlation_id: row.correlation_id.clone(),
    }
}
