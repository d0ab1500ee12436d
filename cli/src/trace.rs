//! `synchub trace`: every delivery about one entity, and why the stored one won.

use synchub::adapters::dynamodb::DynamoAuditLog;
use synchub::adapters::AdapterError;
use synchub::domain::audit::AuditRow;
use synchub::domain::{EntityKey, EntityKind, Sku, TenantId};

/// Renders an entity's audit history as lines a person reads at 2 a.m.
pub fn render(key: &EntityKey, rows: &[AuditRow]) -> String {
    let mut out = format!("trace {key}: {} deliveries\n", rows.len());
    for row in rows {
        let event = row.event_id.as_deref().unwrap_or("-");
        let when = row.source_updated_at.as_deref().unwrap_or("-");
        let why = match row.outcome.as_str() {
            "applied" => format!("applied (revision {})", row.revision.unwrap_or(0)),
            "stale" => format!(
                "stale: beaten by {}",
                row.beaten_by.as_deref().unwrap_or("?")
            ),
            "duplicate" => "duplicate: this version was already stored".to_owned(),
            other => format!("{other} {}", row.reason.as_deref().unwrap_or("")),
        };
        let targets: Vec<String> = row
            .targets
            .iter()
            .map(|(t, s)| format!("{t}={}", s.status))
            .collect();
        out.push_str(&format!(
            "  {when}  {event:<24} msg {}  {why}{}  [{}]\n",
            short(&row.message_id),
            if targets.is_empty() {
                String::new()
            } else {
                format!("  targets: {}", targets.join(", "))
            },
            row.correlation_id
        ));
    }
    if let Some(winner) = rows
        .iter()
        .filter(|r| r.outcome == "applied")
        .max_by(|a, b| {
            a.source_updated_at
                .cmp(&b.source_updated_at)
                .then(a.event_id.cmp(&b.event_id))
        })
    {
        out.push_str(&format!(
            "winner: {} — it has the greatest (updatedAt, eventId) = ({}, {}) of all deliveries\n",
            winner.event_id.as_deref().unwrap_or("-"),
            winner.source_updated_at.as_deref().unwrap_or("-"),
            winner.event_id.as_deref().unwrap_or("-"),
        ));
    }
    out
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

pub async fn trace_item(
    audit: &DynamoAuditLog,
    tenant: &TenantId,
    sku: &Sku,
) -> Result<String, AdapterError> {
    let key = EntityKey {
        tenant: tenant.clone(),
        kind: EntityKind::CatalogItem,
        id: sku.to_string(),
    };
    let rows = audit.entity_history(&key.audit_partition()).await?;
    Ok(render(&key, &rows))
}
