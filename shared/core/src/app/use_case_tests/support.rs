//! What the use-case tests share: one tenant, fixed source times, and the
//! messages the functions hand each other.

use crate::app::apply::Delivery;
use crate::app::{QueuedEvent, QUEUED_EVENT_SCHEMA, SUPPLIER};
use crate::domain::time::canonical_time;
use crate::domain::TenantId;
use serde_json::{json, Value};

pub(super) const TENANT: &str = "t1";

/// 2025-06-01T00:00:00Z in Unix seconds: source times sit in the past, so
/// the worker's "not too far in the future" rule never interferes.
const BASE_SECONDS: i64 = 1_748_736_000;

pub(super) fn tenant() -> TenantId {
    TenantId::parse(TENANT).expect("a valid tenant id")
}

/// `minute` minutes after the base time, as a source spells it.
pub(super) fn at_minute(minute: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(BASE_SECONDS + minute * 60).expect("in range");
    canonical_time(t)
}

/// A supplier's webhook body.
pub(super) fn supplier_event(event_id: &str, sku: &str, quantity: i64, updated_at: &str) -> Value {
    json!({"eventId": event_id, "supplierId": "sup-1", "sku": sku, "quantity": quantity, "updatedAt": updated_at})
}

/// The sync queue body ingest writes for a supplier event.
pub(super) fn queued(tenant: &str, payload: &Value) -> String {
    queued_from(tenant, SUPPLIER, None, payload)
}

pub(super) fn queued_from(
    tenant: &str,
    source: &str,
    topic: Option<&str>,
    payload: &Value,
) -> String {
    let event = QueuedEvent {
        schema: QUEUED_EVENT_SCHEMA,
        tenant_id: tenant.to_owned(),
        source: crate::messages::EventSource::named(source),
        event_id: payload["eventId"].as_str().unwrap_or_default().to_owned(),
        correlation_id: format!("sync-{tenant}-1-test"),
        received_at: at_minute(0),
        webhook_id: None,
        topic: topic.map(str::to_owned),
        payload: payload.clone(),
        replay: None,
    };
    serde_json::to_string(&event).expect("a queued event encodes")
}

pub(super) fn delivery(message_id: &str, body: &str, receive_count: u32) -> Delivery {
    Delivery {
        message_id: message_id.to_owned(),
        body: body.to_owned(),
        receive_count,
    }
}

/// Runs a future to completion on a fresh single-threaded runtime (for
/// property tests, whose bodies are not async).
pub(super) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}
