//! Use cases as async functions taking their ports: ingest a supplier webhook,
//! apply a batch of queued events.

pub mod apply;
pub mod customers;
pub mod daily_sync;
pub mod ingest;
pub mod notify;

use serde::{Deserialize, Serialize};

/// The sync queue's message: one accepted source event, as received.
///
/// The raw payload travels unchanged, so the worker validates exactly what the
/// source sent and a replay from the DLQ needs nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueuedEvent {
    /// Message format version.
    pub schema: u32,
    pub tenant_id: String,
    /// Where it came from: `supplier` (a webhook) or `square` (a pull).
    pub source: String,
    pub event_id: String,
    pub correlation_id: String,
    pub received_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
    /// The provider's topic (`customers/create`, `customer.updated`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub payload: serde_json::Value,
}

pub const QUEUED_EVENT_SCHEMA: u32 = 1;

/// `QueuedEvent::source` of objects pulled from Square.
pub const SQUARE: &str = "square";
/// `QueuedEvent::source` of Shopify webhooks.
pub const SHOPIFY: &str = "shopify";

/// The sync queue message for one normalized object, with its tenant as
/// message group and its ids as attributes.
pub fn object_message(
    tenant: &str,
    source: &str,
    correlation_id: &str,
    webhook_id: Option<String>,
    topic: Option<String>,
    object: &crate::domain::PulledObject,
) -> Result<crate::ports::OutgoingMessage, crate::adapters::AdapterError> {
    let encode = |e: serde_json::Error| {
        crate::adapters::AdapterError::new(
            "sync queue",
            "encode",
            crate::ErrorClass::UnknownError,
            e.to_string(),
        )
    };
    let event = QueuedEvent {
        schema: QUEUED_EVENT_SCHEMA,
        tenant_id: tenant.to_owned(),
        source: source.to_owned(),
        event_id: object.event_id.clone(),
        correlation_id: correlation_id.to_owned(),
        received_at: crate::domain::time::now_rfc3339(),
        webhook_id,
        topic,
        payload: serde_json::to_value(object).map_err(encode)?,
    };
    Ok(crate::ports::OutgoingMessage {
        group_id: tenant.to_owned(),
        body: serde_json::to_string(&event).map_err(encode)?,
        attributes: vec![
            ("tenantId", tenant.to_owned()),
            ("eventId", object.event_id.clone()),
            ("correlationId", correlation_id.to_owned()),
        ],
        delay_seconds: 0,
    })
}

/// Sends messages ten per `SendMessageBatch`; the first failed entry fails
/// the whole (a re-send is safe: the ordering rule makes repeats duplicates).
pub async fn send_all<Q: crate::ports::MessageQueue>(
    queue: &Q,
    messages: &[crate::ports::OutgoingMessage],
) -> Result<(), crate::adapters::AdapterError> {
    for chunk in messages.chunks(10) {
        if let Some(Err(e)) = queue
            .send_batch(chunk)
            .await
            .into_iter()
            .find(Result::is_err)
        {
            return Err(e);
        }
    }
    Ok(())
}
