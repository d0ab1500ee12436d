//! The path of a record that cannot be applied: reading a record into a
//! change or a rejection, the rejection's audit row, and parking it in the
//! DLQ.

use super::{BatchReport, Delivery, Parsed};
use crate::app::{EventSource, QueuedEvent};
use crate::domain::audit::{AuditOutcome, AuditRow, Outcome};
use crate::domain::change::IntoChange;
use crate::domain::time::{expiry_after, now_rfc3339};
use crate::domain::{PulledObject, SupplierEvent, TenantId, ValidationError};
use crate::ports::{MessageQueue, OutgoingMessage};
use crate::ErrorClass;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use synchub_connectors::is_connector_source;

/// A record that did not parse into a change, with what could be read of it.
pub(super) struct Rejected<'d> {
    pub(super) delivery: &'d Delivery,
    pub(super) tenant: Option<String>,
    pub(super) event_id: Option<String>,
    pub(super) correlation_id: String,
    pub(super) reason: ValidationError,
}

#[allow(clippy::result_large_err)] // a rejection is kept whole for its audit row and DLQ message
pub(super) fn parse<'d>(
    delivery: &'d Delivery,
    now_millis: i64,
) -> Result<Parsed<'d>, Rejected<'d>> {
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
    let change = match &queued.source {
        EventSource::Supplier => SupplierEvent::parse(&queued.payload, now_millis)
            .map_err(rejected)?
            .into_change(tenant.clone()),
        // A connector's pulled objects are normalized like Square's.
        EventSource::Square | EventSource::Shopify => {
            pulled_change(&queued, tenant.clone(), now_millis).map_err(rejected)?
        }
        EventSource::Other(name) if is_connector_source(name) => {
            pulled_change(&queued, tenant.clone(), now_millis).map_err(rejected)?
        }
        EventSource::Other(name) => {
            return Err(rejected(ValidationError::new(
                "source",
                format!("unsupported source {name:?}"),
            )))
        }
    };
    Ok(Parsed {
        delivery,
        change,
        correlation_id: queued.correlation_id,
        topic: queued.topic,
        replay: queued.replay,
    })
}

/// A pulled object's change, validated; the error names the field.
fn pulled_change(
    queued: &QueuedEvent,
    tenant: TenantId,
    now_millis: i64,
) -> Result<crate::domain::EntityChange, ValidationError> {
    serde_json::from_value::<PulledObject>(queued.payload.clone())
        .map_err(|e| ValidationError::new("payload", format!("is not a normalized object: {e}")))?
        .into_change(tenant, queued.source.as_str(), now_millis)
}

pub(super) fn rejected_row(r: &Rejected<'_>, ttl: Duration) -> AuditRow {
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

/// Moves rejected records to the DLQ now: retrying cannot fix them.
pub(super) async fn park_rejected<D: MessageQueue>(
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
            .map(|r| {
                let tenant = r.tenant.as_deref().unwrap_or("unknown");
                OutgoingMessage::raw(tenant, r.delivery.body.clone())
                    .with_attribute("errorClass", ErrorClass::ValidationError.to_string())
                    .with_attribute("rejectReason", r.reason.to_string())
                    .with_attribute("sourceMessageId", r.delivery.message_id.clone())
                    .with_attribute("correlationId", r.correlation_id.clone())
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
