//! Use cases as async functions taking their ports: ingest a supplier webhook,
//! apply a batch of queued events.

pub mod apply;
pub mod customers;
pub mod daily_sync;
pub mod flags;
pub mod health;
pub mod ingest;
pub mod notify;
#[cfg(test)]
mod use_case_tests;

pub use crate::messages::{
    EventSource, QueuedEvent, QUEUED_EVENT_SCHEMA, SHOPIFY, SQUARE, SUPPLIER,
};

/// The sync queue message for one normalized object, with its tenant as
/// message group and its ids as attributes.
pub fn object_message(
    tenant: &str,
    source: &str,
    correlation_id: &str,
    webhook_id: Option<String>,
    topic: Option<String>,
    object: &crate::domain::PulledObject,
) -> Result<crate::ports::OutgoingMessage, crate::ports::PortError> {
    let event = QueuedEvent {
        schema: QUEUED_EVENT_SCHEMA,
        tenant_id: tenant.to_owned(),
        source: EventSource::named(source),
        event_id: object.event_id.clone(),
        correlation_id: correlation_id.to_owned(),
        received_at: crate::domain::time::now_rfc3339(),
        webhook_id,
        topic,
        payload: serde_json::to_value(object)
            .map_err(|e| crate::ports::PortError::encode("pulled object", e))?,
        replay: None,
    };
    event_message(&event)
}

/// The sync queue message of an event, with its ids as attributes.
pub fn event_message(
    event: &QueuedEvent,
) -> Result<crate::ports::OutgoingMessage, crate::ports::PortError> {
    Ok(
        crate::ports::OutgoingMessage::json(&event.tenant_id, event)?
            .with_attribute("eventId", event.event_id.clone())
            .with_attribute("correlationId", event.correlation_id.clone()),
    )
}

/// Sends messages ten per `SendMessageBatch`, the batches of a page at
/// once (a page of 100 costs one round trip, not ten; the sync queue is a
/// standard queue, whose order the ordering rule never relied on); the
/// first failed entry fails the whole (a re-send is safe: the ordering rule
/// makes repeats duplicates).
pub async fn send_all<Q: crate::ports::MessageQueue>(
    queue: &Q,
    messages: &[crate::ports::OutgoingMessage],
) -> Result<(), crate::ports::PortError> {
    let sent = futures::future::join_all(messages.chunks(10).map(|c| queue.send_batch(c))).await;
    match sent.into_iter().flatten().find(Result::is_err) {
        Some(Err(e)) => Err(e),
        _ => Ok(()),
    }
}
