//! `synchub trace`: every delivery about one entity, and why the stored one won.
//! Any kind of entity: the audit table keeps one partition per entity
//! (`{tenant}#{kind}#{id}`), whatever the source, so one query reads it.

use synchub::adapters::dynamodb::DynamoAuditLog;
use synchub::domain::audit::AuditRow;
use synchub::domain::{EntityKey, EntityKind, Sku, TenantId, ValidationError};
use synchub::ports::{AuditHistory, PortError};

/// The longest entity id accepted (POS ids, `shopify-{id}`, `{item}@{location}`).
const MAX_ID_CHARS: usize = 256;

/// The entity named on the command line, its id checked as its kind requires:
/// a catalog item's id is a SKU; other ids are the source's, never empty, and
/// without `#` (the audit key's separator), spaces or control characters.
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

/// Reads an entity's audit partition and renders it.
pub async fn trace(audit: &DynamoAuditLog, key: &EntityKey) -> Result<String, PortError> {
    let rows = audit.entity_history(&key.audit_partition()).await?;
    Ok(render(key, &rows))
}

/// `trace` for a catalog item (the `--sku` short form).
pub async fn trace_item(
    audit: &DynamoAuditLog,
    tenant: &TenantId,
    sku: &Sku,
) -> Result<String, PortError> {
    let key = EntityKey {
        tenant: tenant.clone(),
        kind: EntityKind::CatalogItem,
        id: sku.to_string(),
    };
    trace(audit, &key).await
}

/// Renders an entity's audit history as lines a person reads at 2 a.m.
pub fn render(key: &EntityKey, rows: &[AuditRow]) -> String {
    let mut out = format!("trace {key}: {} deliveries\n", rows.len());
    if rows.is_empty() {
        out.push_str(&nothing_recorded(key));
    }
    for row in rows {
        out.push_str(&delivery_line(row));
    }
    if let Some(winner) = winner(rows) {
        out.push_str(&format!(
            "winner: {} — it has the greatest (updatedAt, eventId) = ({}, {}) of all deliveries\n",
            winner.event_id.as_deref().unwrap_or("-"),
            winner.source_updated_at.as_deref().unwrap_or("-"),
            winner.event_id.as_deref().unwrap_or("-"),
        ));
    }
    out
}

/// Why a trace can be empty, so an empty answer is not mistaken for a clean one.
fn nothing_recorded(key: &EntityKey) -> String {
    let mut hint = "  no delivery is recorded for this entity: check --kind and --id (audit rows expire after the audit TTL)".to_owned();
    if key.kind != EntityKind::CatalogItem && key.id.chars().all(|c| c.is_ascii_digit()) {
        hint.push_str(&format!(
            "; Shopify ids are kept as shopify-{id}: try --id shopify-{id}",
            id = key.id
        ));
    }
    hint.push('\n');
    hint
}

/// One delivery: when, which event, what it did, the targets' results, its correlation id.
fn delivery_line(row: &AuditRow) -> String {
    let event = row.event_id.as_deref().unwrap_or("-");
    let when = row.source_updated_at.as_deref().unwrap_or("-");
    let why = match row.outcome.as_str() {
        "applied" => format!("applied (revision {})", row.revision.unwrap_or(0)),
        // A tombstone that won, as an applied change does: an erasure, or gone from a full pull.
        "deleted" => format!(
            "deleted (revision {}): {}",
            row.revision.unwrap_or(0),
            row.reason.as_deref().unwrap_or("")
        ),
        "stale" => format!(
            "stale: beaten by {}",
            row.beaten_by.as_deref().unwrap_or("?")
        ),
        "duplicate" => "duplicate: this version was already stored".to_owned(),
        // Rejected, ignored, a data request: the reason says what it was.
        other => match row.reason.as_deref() {
            Some(reason) if reason.starts_with(other) => reason.to_owned(),
            Some(reason) => format!("{other}: {reason}"),
            None => other.to_owned(),
        },
    };
    let targets: Vec<String> = row
        .targets
        .iter()
        .map(|(t, s)| format!("{t}={}", s.status))
        .collect();
    format!(
        "  {when}  {event:<24} msg {}  {why}{}  [{}]\n",
        short(&row.message_id),
        if targets.is_empty() {
            String::new()
        } else {
            format!("  targets: {}", targets.join(", "))
        },
        row.correlation_id
    )
}

/// The applied delivery (a change or a tombstone) the ordering rule keeps:
/// greatest (updatedAt, eventId).
fn winner(rows: &[AuditRow]) -> Option<&AuditRow> {
    rows.iter()
        .filter(|r| matches!(r.outcome.as_str(), "applied" | "deleted"))
        .max_by(|a, b| {
            a.source_updated_at
                .cmp(&b.source_updated_at)
                .then(a.event_id.cmp(&b.event_id))
        })
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn row(event: &str, outcome: &str, at: Option<&str>) -> AuditRow {
        serde_json::from_value(json!({
            "pk": "acme#customer#shopify-1", "sk": format!("{event}#m"), "tenantId": "acme",
            "eventId": event, "messageId": "message-1234", "correlationId": format!("sync-acme-1-{event}"),
            "outcome": outcome, "sourceUpdatedAt": at, "revision": 1,
            "reason": match outcome {
                "data request" => Some("data request 9 for customer shopify-1"),
                "deleted" => Some("redacted (customers/redact)"),
                _ => None,
            },
            "recordedAt": "2026-06-01T10:00:00.000Z", "expiresAt": 0
        }))
        .unwrap()
    }

    #[test]
    fn a_catalog_items_id_must_be_a_sku() {
        let err = entity_key(tenant(), EntityKind::CatalogItem, "not a sku").unwrap_err();
        assert_eq!(err.field, "sku");
        let key = entity_key(tenant(), EntityKind::CatalogItem, "SKU-1").unwrap();
        assert_eq!(key.audit_partition(), "acme#catalog_item#SKU-1");
    }

    #[test]
    fn any_kind_reads_its_own_audit_partition() {
        let key = entity_key(tenant(), EntityKind::Customer, "shopify-42").unwrap();
        assert_eq!(key.audit_partition(), "acme#customer#shopify-42");
        let key = entity_key(tenant(), EntityKind::Inventory, "shopify-7@99").unwrap();
        assert_eq!(key.audit_partition(), "acme#inventory#shopify-7@99");
    }

    #[test]
    fn an_id_that_would_read_another_partition_is_refused() {
        for bad in ["", "a#b", "a b", "a\u{7}"] {
            let err = entity_key(tenant(), EntityKind::Order, bad).unwrap_err();
            assert_eq!(err.field, "id", "{bad:?}");
        }
        assert!(entity_key(tenant(), EntityKind::Order, &"x".repeat(257)).is_err());
    }

    #[test]
    fn a_customer_trace_shows_the_data_request_and_names_the_winner() {
        let key = entity_key(tenant(), EntityKind::Customer, "shopify-1").unwrap();
        let rows = [
            row("dr-1", "data request", None),
            row("evt-1", "applied", Some("2026-06-01T10:00:00.000Z")),
            row("evt-2", "applied", Some("2026-06-01T11:00:00.000Z")),
        ];
        let text = render(&key, &rows);
        assert!(
            text.starts_with("trace acme/customer/shopify-1: 3 deliveries\n"),
            "{text}"
        );
        assert!(
            text.contains("msg message-  data request 9 for customer shopify-1  ["),
            "{text}"
        );
        assert!(text.contains("winner: evt-2"), "{text}");
    }

    #[test]
    fn an_erasure_that_won_is_the_winner() {
        let key = entity_key(tenant(), EntityKind::Customer, "shopify-1").unwrap();
        let rows = [
            row("evt-1", "applied", Some("2026-06-01T10:00:00.000Z")),
            row("redact-1", "deleted", Some("2026-06-02T10:00:00.000Z")),
        ];
        let text = render(&key, &rows);
        assert!(
            text.contains("deleted (revision 1): redacted (customers/redact)"),
            "{text}"
        );
        assert!(text.contains("winner: redact-1"), "{text}");
    }

    #[test]
    fn an_empty_trace_says_why_and_suggests_the_shopify_id() {
        let key = entity_key(tenant(), EntityKind::Customer, "42").unwrap();
        let text = render(&key, &[]);
        assert!(text.contains("no delivery is recorded"), "{text}");
        assert!(text.contains("--id shopify-42"), "{text}");
    }
}
