//! Storefront and POS webhooks (Shopify, Square): each provider's own
//! signature scheme (`signature`), and its topics normalized into the
//! [`PulledObject`]s the worker already applies, so pushed and pulled data
//! converge on one state. Each topic's payload deserializes into a typed
//! shape (a value that does not fit is named by its JSON path, e.g.
//! `customer.email`), then converts. Pure: no I/O.

mod shopify;
mod signature;
mod square;

pub use shopify::{shopify_event, ShopifyMeta};
pub use signature::{check_signature_header, signed_parts, verify, ProviderKey};
pub use square::square_event;

use super::change::PulledObject;
use super::ids::EntityKind;
use super::time::canonical_time;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Which provider sent a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Shopify,
    Square,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Shopify => "shopify",
            Provider::Square => "square",
        }
    }

    /// The signature header the provider sends.
    pub fn signature_header(self) -> &'static str {
        match self {
            Provider::Shopify => "x-shopify-hmac-sha256",
            Provider::Square => "x-square-hmacsha256-signature",
        }
    }

    /// The SSM parameter (under the tenant's path) holding its signing key(s).
    pub fn key_parameter(self) -> &'static str {
        match self {
            Provider::Shopify => "shopify-secret",
            Provider::Square => "square-signature-key",
        }
    }
}

/// What a webhook asks of synchub.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Changes to apply (one per entity the event carries).
    Objects(Vec<PulledObject>),
    /// The source changed in ways the event does not carry: pull it.
    CatalogPull,
    /// Erase every customer the tenant's shop gave us (Shopify `shop/redact`).
    EraseShop,
    /// Nothing to apply; recorded in the audit with this outcome and reason.
    Record {
        outcome: &'static str,
        reason: String,
        entity: Option<String>,
    },
}

/// A verified webhook, normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEvent {
    /// The provider's id of this event: retries of one event share it.
    pub event_id: String,
    pub topic: String,
    pub inbound: Inbound,
}

/// Whether a customer event is a new registration (else an update).
pub fn is_registration(topic: &str) -> bool {
    matches!(topic, "customers/create" | "customer.created")
}

/// The tombstone that erases a customer's personal data. It takes effect now:
/// erasure wins over anything the store holds.
pub fn redaction(id: &str, reason: &str, event_id: &str, now_millis: i64) -> PulledObject {
    let mut attributes = Map::new();
    attributes.insert("deletedReason".into(), Value::from(reason));
    attributes.insert("redactedAt".into(), Value::from(now_text(now_millis)));
    PulledObject {
        kind: EntityKind::Customer,
        id: id.to_owned(),
        updated_at: now_text(now_millis),
        event_id: event_id.to_owned(),
        deleted: true,
        attributes,
    }
}

fn now_text(now_millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_millis) * 1_000_000)
        .map(canonical_time)
        .unwrap_or_default()
}

/// Providers retry anything but 2xx, so a topic synchub does not take is
/// accepted and recorded, never refused.
fn ignored(topic: &str) -> Inbound {
    Inbound::Record {
        outcome: "ignored",
        reason: format!("unsupported topic {topic}"),
        entity: None,
    }
}

/// An email address as synchub keeps it: trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Email(String);

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(e) if e.contains('@') && e.len() <= 254 => {
                Ok(Self(e.trim().to_lowercase()))
            }
            _ => Err(D::Error::custom("must be an email address")),
        }
    }
}

/// The customer fields synchub keeps, under one set of names whatever the
/// source calls them.
struct Person {
    email: Option<Email>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
}

impl Person {
    fn into_attributes(self) -> Map<String, Value> {
        let mut attributes = Map::new();
        let fields = [
            ("email", self.email.map(|Email(e)| e)),
            ("firstName", self.first_name),
            ("lastName", self.last_name),
            ("phone", self.phone),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                attributes.insert(name.to_owned(), Value::from(value));
            }
        }
        attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// Normalizing never panics, whatever JSON arrives.
        #[test]
        fn normalizing_any_json_never_panics(topic in "(customers/create|orders/create|inventory_levels/update|products/update|customers/redact|customers/data_request|customer.updated|order.created|inventory.count.updated|x)", n in any::<i64>(), s in "\\PC{0,20}") {
            let payload = json!({"id": n, "email": s, "updated_at": s, "customer": {"id": s}, "location_id": n, "inventory_item_id": s, "available": s,
                "variants": [{"id": n, "sku": s}], "data_request": {"id": s}, "inventory_counts": [{"quantity": s}], "order_created": {"order_id": s, "version": n}});
            let meta = ShopifyMeta { topic: Some(&topic), event_id: Some("e"), webhook_id: None, triggered_at: Some(&s) };
            let _ = shopify_event(meta, &payload, 0);
            let _ = square_event(&json!({"type": topic, "event_id": s, "data": {"object": payload}}), 0);
        }
    }
}
