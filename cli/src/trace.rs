//! `synchub trace`: every delivery about one entity, and why the stored one won.
//! Any kind of entity: the audit table keeps one partition per entity
//! (`{tenant}#{kind}#{id}`), whatever the source, so one query reads it. The
//! answer is `app::ops::trace`'s typed `Trace` (the sync API's JSON); this
//! renders it for a person.

use synchub_core::domain::audit::AuditOutcome;
use synchub_core::domain::{EntityKey, EntityKind};
use synchub_core::ports::{AuditHistory, PortError};
use synchub_ops::{Trace, TraceEntry};

/// The entity's trace, from the one use case every door calls.
pub async fn trace<A: AuditHistory>(audit: &A, key: &EntityKey) -> Result<Trace, PortError> {
    synchub_ops::trace(audit, key).await
}

/// Renders a trace as lines a person reads at 2 a.m.
pub fn render(trace: &Trace) -> String {
    let mut out = format!(
        "trace {}/{}/{}: {} deliveries\n",
        trace.tenant_id,
        trace.kind,
        trace.id,
        trace.deliveries.len()
    );
    if trace.deliveries.is_empty() {
        out.push_str(&nothing_recorded(trace));
    }
    for delivery in &trace.deliveries {
        out.push_str(&delivery_line(delivery));
    }
    if let Some(winner) = &trace.winner {
        let event = or_dash(&winner.event_id);
        out.push_str(&format!(
            "winner: {event} — it has the greatest (updatedAt, eventId) = ({}, {event}) of all deliveries\n",
            or_dash(&winner.source_updated_at),
        ));
    }
    out
}

/// Why a trace can be empty, so an empty answer is not mistaken for a clean one.
fn nothing_recorded(trace: &Trace) -> String {
    let mut hint = "  no delivery is recorded for this entity: check --kind and --id (audit rows expire after the audit TTL)".to_owned();
    if trace.kind != EntityKind::CatalogItem.as_str()
        && trace.id.chars().all(|c| c.is_ascii_digit())
    {
        hint.push_str(&format!(
            "; Shopify ids are kept as shopify-{id}: try --id shopify-{id}",
            id = trace.id
        ));
    }
    hint.push('\n');
    hint
}

/// One delivery: when, which event, what it did, the targets' results, its correlation id.
fn delivery_line(delivery: &TraceEntry) -> String {
    let event = delivery.event_id.as_deref().unwrap_or("-");
    let when = delivery.source_updated_at.as_deref().unwrap_or("-");
    let targets: Vec<String> = delivery
        .targets
        .iter()
        .map(|(target, status)| format!("{target}={status}"))
        .collect();
    format!(
        "  {when}  {event:<24} msg {}  {}{}  [{}]\n",
        short(&delivery.message_id),
        what_it_did(delivery),
        if targets.is_empty() {
            String::new()
        } else {
            format!("  targets: {}", targets.join(", "))
        },
        delivery.correlation_id
    )
}

/// The outcome in words: the revision it made, what beat it, or its reason.
fn what_it_did(delivery: &TraceEntry) -> String {
    let revision = delivery.revision.unwrap_or(0);
    let reason = delivery.reason.as_deref();
    match delivery.outcome {
        AuditOutcome::Applied => format!("applied (revision {revision})"),
        // A tombstone that won, as an applied change does: an erasure, or gone from a full pull.
        AuditOutcome::Deleted => {
            format!("deleted (revision {revision}): {}", reason.unwrap_or(""))
        }
        AuditOutcome::Stale => format!(
            "stale: beaten by {}",
            delivery.beaten_by.as_deref().unwrap_or("?")
        ),
        AuditOutcome::Duplicate => "duplicate: this version was already stored".to_owned(),
        // Rejected, ignored, a data request: the reason says what it was.
        other => match reason {
            Some(reason) if reason.starts_with(other.as_str()) => reason.to_owned(),
            Some(reason) => format!("{}: {reason}", other.as_str()),
            None => other.as_str().to_owned(),
        },
    }
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() {
        "-"
    } else {
        text
    }
}

/// The first eight characters of a message id: enough to tell deliveries apart.
fn short(id: &str) -> &str {
    id.char_indices().nth(8).map_or(id, |(end, _)| &id[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use synchub_core::domain::audit::AuditRow;
    use synchub_core::domain::TenantId;
    use synchub_ops::trace::{entity_key, explain};

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
    fn a_customer_trace_shows_the_data_request_and_names_the_winner() {
        let key = entity_key(tenant(), EntityKind::Customer, "shopify-1").unwrap();
        let rows = [
            row("dr-1", "data request", None),
            row("evt-1", "applied", Some("2026-06-01T10:00:00.000Z")),
            row("evt-2", "applied", Some("2026-06-01T11:00:00.000Z")),
        ];
        let text = render(&explain(&key, &rows));
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
        let text = render(&explain(&key, &rows));
        assert!(
            text.contains("deleted (revision 1): redacted (customers/redact)"),
            "{text}"
        );
        assert!(text.contains("winner: redact-1"), "{text}");
    }

    #[test]
    fn each_line_keeps_its_words_and_the_winner_says_why() {
        let key = entity_key(tenant(), EntityKind::Customer, "shopify-1").unwrap();
        let mut applied = row("evt-2", "applied", Some("2026-06-01T11:00:00.000Z"));
        applied.targets.insert(
            "pos".into(),
            synchub_core::domain::TargetStatus::success(1, "2026-06-01T11:00:01.000Z".into()),
        );
        let mut stale = row("evt-1", "stale", Some("2026-06-01T10:00:00.000Z"));
        stale.beaten_by = Some("evt-2".into());
        let text = render(&explain(&key, &[applied, stale]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "  2026-06-01T11:00:00.000Z  evt-2                    msg message-  applied (revision 1)  targets: pos=success  [sync-acme-1-evt-2]"
        );
        assert_eq!(
            lines[2],
            "  2026-06-01T10:00:00.000Z  evt-1                    msg message-  stale: beaten by evt-2  [sync-acme-1-evt-1]"
        );
        assert_eq!(
            lines[3],
            "winner: evt-2 — it has the greatest (updatedAt, eventId) = (2026-06-01T11:00:00.000Z, evt-2) of all deliveries"
        );
    }

    #[test]
    fn json_is_the_typed_trace() {
        let key = entity_key(tenant(), EntityKind::Customer, "shopify-1").unwrap();
        let trace = explain(
            &key,
            &[row("evt-1", "applied", Some("2026-06-01T10:00:00.000Z"))],
        );
        let text = crate::ops::answer(&trace, true, render).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["kind"], "customer");
        assert_eq!(json["deliveries"][0]["outcome"], "applied");
        assert_eq!(json["winner"]["eventId"], "evt-1");
    }

    #[test]
    fn an_empty_trace_says_why_and_suggests_the_shopify_id() {
        let key = entity_key(tenant(), EntityKind::Customer, "42").unwrap();
        let text = render(&explain(&key, &[]));
        assert!(text.contains("no delivery is recorded"), "{text}");
        assert!(text.contains("--id shopify-42"), "{text}");
    }
}
