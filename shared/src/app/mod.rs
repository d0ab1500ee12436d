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
