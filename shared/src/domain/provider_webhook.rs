//! Storefront and POS webhooks (Shopify, Square): each provider's own
//! signature scheme, and its topics normalized into the [`PulledObject`]s the
//! worker already applies, so pushed and pulled data converge on one state.
//! Pure: no I/O.
//!
//! - Shopify signs the raw body: `X-Shopify-Hmac-Sha256` is the base64
//!   HMAC-SHA256 of it under the app's client secret.
//! - Square signs the notification URL followed by the raw body:
//!   `x-square-hmacsha256-signature` is the base64 HMAC-SHA256 of both under
//!   the subscription's signature key. The URL is the one configured with
//!   Square (a tenant setting), not the one the function sees.

use super::change::PulledObject;
use super::ids::{EntityKind, ValidationError};
use super::square::{normalize, DataType};
use super::time::{canonical_time, parse_rfc3339_millis};
use super::webhook_signature::SignatureError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

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

/// A provider signing key (Shopify client secret, Square signature key).
/// Used as the raw bytes of its text, as both providers do.
#[derive(Clone)]
pub struct ProviderKey(Vec<u8>);

impl std::fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderKey(<redacted>)")
    }
}

impl ProviderKey {
    pub fn new(text: &str) -> Self {
        Self(text.as_bytes().to_vec())
    }

    /// One or more keys separated by white space (rotation: old and new).
    pub fn parse_list(value: &str) -> Result<Vec<Self>, &'static str> {
        let keys: Vec<Self> = value.split_whitespace().map(Self::new).collect();
        if keys.is_empty() {
            return Err("no signing key configured");
        }
        Ok(keys)
    }

    fn mac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        for part in parts {
            mac.update(part);
        }
        mac
    }

    /// The header value a sender would produce for `parts` signed in order.
    pub fn sign(&self, parts: &[&[u8]]) -> String {
        B64.encode(self.mac(parts).finalize().into_bytes())
    }
}

/// What each provider signs: Shopify the body, Square the URL then the body.
pub fn signed_parts<'a>(
    provider: Provider,
    notification_url: &'a str,
    body: &'a [u8],
) -> Vec<&'a [u8]> {
    match provider {
        Provider::Shopify => vec![body],
        Provider::Square => vec![notification_url.as_bytes(), body],
    }
}

/// Checks the signature header's shape (before any key is looked up).
pub fn check_signature_header(
    provider: Provider,
    header: Option<&str>,
) -> Result<[u8; 32], SignatureError> {
    let name = provider.signature_header();
    let value = header
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(SignatureError::MissingHeader(name))?;
    let bytes = B64
        .decode(value)
        .map_err(|_| SignatureError::MalformedHeader {
            header: name,
            why: "must be base64",
        })?;
    bytes
        .try_into()
        .map_err(|_| SignatureError::MalformedHeader {
            header: name,
            why: "must be a 32-byte HMAC-SHA256",
        })
}

/// Succeeds when the tag matches any of the keys (compared in constant time).
pub fn verify(keys: &[ProviderKey], parts: &[&[u8]], tag: &[u8; 32]) -> Result<(), SignatureError> {
    if keys
        .iter()
        .any(|key| key.mac(parts).verify_slice(tag).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::NoValidSignature)
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

/// The Shopify headers that matter after the signature.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShopifyMeta<'a> {
    pub topic: Option<&'a str>,
    pub event_id: Option<&'a str>,
    pub webhook_id: Option<&'a str>,
    pub triggered_at: Option<&'a str>,
}

/// Entity ids from Shopify are prefixed, so they never meet a POS's ids.
fn shopify_id(id: &Value) -> Option<String> {
    match id {
        Value::Number(n) => n.as_u64().map(|n| format!("shopify-{n}")),
        Value::String(s)
            if !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Some(format!("shopify-{s}"))
        }
        _ => None,
    }
}

fn required_id(v: &Value, field: &str) -> Result<String, ValidationError> {
    shopify_id(&v[field]).ok_or_else(|| ValidationError::new(field, "is required (a numeric id)"))
}

fn keep(attributes: &mut Map<String, Value>, name: &str, value: Option<&Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        attributes.insert(name.to_owned(), v.clone());
    }
}

fn now_text(now_millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_millis) * 1_000_000)
        .map(canonical_time)
        .unwrap_or_default()
}

/// Whether a customer event is a new registration (else an update).
pub fn is_registration(topic: &str) -> bool {
    matches!(topic, "customers/create" | "customer.created")
}

/// Normalizes a verified Shopify webhook. The event id is `X-Shopify-Event-Id`
/// (or `X-Shopify-Webhook-Id`); the source time is the payload's `updated_at`
/// (or `X-Shopify-Triggered-At`).
pub fn shopify_event(
    meta: ShopifyMeta<'_>,
    payload: &Value,
    now_millis: i64,
) -> Result<InboundEvent, ValidationError> {
    let topic = meta
        .topic
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ValidationError::new("X-Shopify-Topic", "header is required"))?;
    let event_id = meta
        .event_id
        .or(meta.webhook_id)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ValidationError::new(
                "X-Shopify-Event-Id",
                "header (or X-Shopify-Webhook-Id) is required",
            )
        })?
        .to_owned();
    if !payload.is_object() {
        return Err(ValidationError::new("body", "must be a JSON object"));
    }
    let source_time = || -> Result<String, ValidationError> {
        match payload
            .get("updated_at")
            .and_then(Value::as_str)
            .or(meta.triggered_at)
        {
            Some(t) => parse_rfc3339_millis(t)
                .map(|(t, _)| canonical_time(t))
                .map_err(|rule| ValidationError::new("updated_at", rule)),
            None => Err(ValidationError::new(
                "updated_at",
                "is required (or the X-Shopify-Triggered-At header)",
            )),
        }
    };
    let object = |kind, id: String, attributes| -> Result<Inbound, ValidationError> {
        Ok(Inbound::Objects(vec![PulledObject {
            kind,
            id,
            updated_at: source_time()?,
            event_id: event_id.clone(),
            deleted: false,
            attributes,
        }]))
    };
    let mut attributes = Map::new();
    let inbound = match topic {
        "customers/create" | "customers/update" => {
            let id = required_id(payload, "id")?;
            customer_attributes(
                &mut attributes,
                payload,
                "email",
                "first_name",
                "last_name",
                "phone",
            )?;
            keep(&mut attributes, "shopifyId", payload.get("id"));
            keep(&mut attributes, "createdAt", payload.get("created_at"));
            object(EntityKind::Customer, id, attributes)?
        }
        "products/update" => {
            let id = required_id(payload, "id")?;
            keep(&mut attributes, "name", payload.get("title"));
            keep(&mut attributes, "status", payload.get("status"));
            let variants: Vec<Value> = payload["variants"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| serde_json::json!({"id": v["id"], "sku": v["sku"], "price": v["price"], "inventoryItemId": v["inventory_item_id"]}))
                .collect();
            attributes.insert("variants".into(), Value::Array(variants));
            object(EntityKind::Item, id, attributes)?
        }
        "inventory_levels/update" => {
            let item = required_id(payload, "inventory_item_id")?;
            let location = payload["location_id"]
                .as_u64()
                .ok_or_else(|| ValidationError::new("location_id", "is required (a numeric id)"))?;
            let available = payload
                .get("available")
                .filter(|v| v.is_null() || v.is_i64())
                .ok_or_else(|| ValidationError::new("available", "must be an integer or null"))?;
            attributes.insert("available".into(), available.clone());
            attributes.insert(
                "inventoryItemId".into(),
                payload["inventory_item_id"].clone(),
            );
            attributes.insert("locationId".into(), Value::from(location));
            object(
                EntityKind::Inventory,
                format!("{item}@{location}"),
                attributes,
            )?
        }
        "orders/create" | "orders/updated" => {
            let id = required_id(payload, "id")?;
            for (name, field) in [
                ("name", "name"),
                ("financialStatus", "financial_status"),
                ("fulfillmentStatus", "fulfillment_status"),
                ("totalPrice", "total_price"),
                ("currency", "currency"),
                ("createdAt", "created_at"),
            ] {
                keep(&mut attributes, name, payload.get(field));
            }
            if let Some(customer) = payload.get("customer").and_then(|c| shopify_id(&c["id"])) {
                attributes.insert("customerId".into(), Value::from(customer));
            }
            object(EntityKind::Order, id, attributes)?
        }
        "customers/redact" => {
            let id = required_id(&payload["customer"], "id")
                .map_err(|e| ValidationError::new(format!("customer.{}", e.field), e.rule))?;
            Inbound::Objects(vec![redaction(
                &id,
                "redacted (customers/redact)",
                &event_id,
                now_millis,
            )])
        }
        "customers/data_request" => {
            let id = required_id(&payload["customer"], "id")
                .map_err(|e| ValidationError::new(format!("customer.{}", e.field), e.rule))?;
            let request = payload
                .pointer("/data_request/id")
                .map(Value::to_string)
                .unwrap_or_else(|| "?".into());
            Inbound::Record {
                outcome: "data request",
                reason: format!(
                    "data request {request} for customer {id}: synchub holds its master record (email, names, phone, POS/CRM sync status) and audit rows without personal data; export with `synchub trace --kind customer --id {id}`"
                ),
                entity: Some(id),
            }
        }
        "shop/redact" => Inbound::EraseShop,
        other => Inbound::Record {
            outcome: "ignored",
            reason: format!("unsupported topic {other}"),
            entity: None,
        },
    };
    Ok(InboundEvent {
        event_id,
        topic: topic.to_owned(),
        inbound,
    })
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

/// The customer fields synchub keeps, under one set of names whatever the source.
fn customer_attributes(
    attributes: &mut Map<String, Value>,
    v: &Value,
    email: &str,
    first: &str,
    last: &str,
    phone: &str,
) -> Result<(), ValidationError> {
    match v.get(email) {
        None | Some(Value::Null) => {}
        Some(Value::String(e)) if e.contains('@') && e.len() <= 254 => {
            attributes.insert("email".into(), Value::from(e.trim().to_lowercase()));
        }
        Some(_) => return Err(ValidationError::new(email, "must be an email address")),
    }
    keep(attributes, "firstName", v.get(first));
    keep(attributes, "lastName", v.get(last));
    keep(attributes, "phone", v.get(phone));
    Ok(())
}

/// Normalizes a verified Square webhook (`{merchant_id, type, event_id,
/// created_at, data: {type, id, object}}`).
pub fn square_event(payload: &Value, now_millis: i64) -> Result<InboundEvent, ValidationError> {
    let text = |field: &str| {
        payload
            .get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ValidationError::new(field, "is required (a non-empty string)"))
    };
    let event_id = text("event_id")?.to_owned();
    let topic = text("type")?.to_owned();
    let object = &payload["data"]["object"];
    let with_event_id = |mut o: PulledObject| {
        // Objects without a version take the event's id.
        if o.event_id.is_empty() {
            o.event_id = event_id.clone();
        }
        o
    };
    let inbound = match topic.as_str() {
        "customer.created" | "customer.updated" => {
            let customer = object
                .get("customer")
                .filter(|c| c.is_object())
                .ok_or_else(|| ValidationError::new("data.object.customer", "is required"))?;
            let id = customer
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ValidationError::new("data.object.customer.id", "is required"))?;
            let updated_at = customer
                .get("updated_at")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ValidationError::new("data.object.customer.updated_at", "is required")
                })?;
            let mut attributes = Map::new();
            customer_attributes(
                &mut attributes,
                customer,
                "email_address",
                "given_name",
                "family_name",
                "phone_number",
            )?;
            attributes.insert("squareCustomerId".into(), Value::from(id));
            let version_id = customer
                .get("version")
                .and_then(Value::as_i64)
                .map(|v| format!("sq-{id}-v{v}"))
                .unwrap_or_default();
            Inbound::Objects(vec![with_event_id(PulledObject {
                kind: EntityKind::Customer,
                id: id.to_owned(),
                updated_at: updated_at.to_owned(),
                event_id: version_id,
                deleted: false,
                attributes,
            })])
        }
        "inventory.count.updated" => {
            let counts = object
                .get("inventory_counts")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    ValidationError::new("data.object.inventory_counts", "is required (an array)")
                })?;
            let objects = counts
                .iter()
                .map(|c| normalize(DataType::Inventory, c, now_millis))
                .collect::<Result<Vec<_>, _>>()?;
            Inbound::Objects(objects)
        }
        "order.created" | "order.updated" => {
            let field = if topic == "order.created" {
                "order_created"
            } else {
                "order_updated"
            };
            let order = object.get(field).ok_or_else(|| {
                ValidationError::new(format!("data.object.{field}"), "is required")
            })?;
            let id = order
                .get("order_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    ValidationError::new(format!("data.object.{field}.order_id"), "is required")
                })?;
            let updated_at = order
                .get("updated_at")
                .or(order.get("created_at"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ValidationError::new(format!("data.object.{field}.updated_at"), "is required")
                })?;
            let mut attributes = Map::new();
            keep(&mut attributes, "locationId", order.get("location_id"));
            keep(&mut attributes, "state", order.get("state"));
            keep(&mut attributes, "createdAt", order.get("created_at"));
            let version_id = order
                .get("version")
                .and_then(Value::as_i64)
                .map(|v| format!("sq-{id}-v{v}"))
                .unwrap_or_default();
            Inbound::Objects(vec![with_event_id(PulledObject {
                kind: EntityKind::Order,
                id: id.to_owned(),
                updated_at: updated_at.to_owned(),
                event_id: version_id,
                deleted: false,
                attributes,
            })])
        }
        "catalog.version.updated" => Inbound::CatalogPull,
        other => Inbound::Record {
            outcome: "ignored",
            reason: format!("unsupported topic {other}"),
            entity: None,
        },
    };
    Ok(InboundEvent {
        event_id,
        topic,
        inbound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: i64 = 1_780_000_000_000;

    #[test]
    fn shopify_signs_the_body_and_square_the_url_then_the_body() {
        let key = ProviderKey::new("hush");
        let body = br#"{"id":1}"#;
        let shopify = key.sign(&signed_parts(Provider::Shopify, "ignored", body));
        let tag = check_signature_header(Provider::Shopify, Some(&shopify)).unwrap();
        assert!(verify(
            &[key.clone()],
            &signed_parts(Provider::Shopify, "", body),
            &tag
        )
        .is_ok());

        let url = "https://hooks.example.com/webhooks/square/acme";
        let square = key.sign(&signed_parts(Provider::Square, url, body));
        let tag = check_signature_header(Provider::Square, Some(&square)).unwrap();
        assert!(verify(
            &[key.clone()],
            &signed_parts(Provider::Square, url, body),
            &tag
        )
        .is_ok());
        // The same body behind another URL does not verify.
        let other = signed_parts(
            Provider::Square,
            "https://abc.execute-api.us-east-1.amazonaws.com/webhooks/square/acme",
            body,
        );
        assert_eq!(
            verify(&[key], &other, &tag),
            Err(SignatureError::NoValidSignature)
        );
    }

    #[test]
    fn signature_headers_of_the_wrong_shape_are_named() {
        for (value, expected) in [
            (None, SignatureError::MissingHeader("x-shopify-hmac-sha256")),
            (
                Some("  "),
                SignatureError::MissingHeader("x-shopify-hmac-sha256"),
            ),
            (
                Some("not base64!"),
                SignatureError::MalformedHeader {
                    header: "x-shopify-hmac-sha256",
                    why: "must be base64",
                },
            ),
            (
                Some("c2hvcnQ="),
                SignatureError::MalformedHeader {
                    header: "x-shopify-hmac-sha256",
                    why: "must be a 32-byte HMAC-SHA256",
                },
            ),
        ] {
            assert_eq!(
                check_signature_header(Provider::Shopify, value),
                Err(expected),
                "{value:?}"
            );
        }
    }

    #[test]
    fn a_rotated_key_list_accepts_either_key() {
        let keys = ProviderKey::parse_list("old-secret new-secret").unwrap();
        let tag = check_signature_header(
            Provider::Shopify,
            Some(&ProviderKey::new("new-secret").sign(&[b"x"])),
        )
        .unwrap();
        assert!(verify(&keys, &[b"x"], &tag).is_ok());
        assert!(ProviderKey::parse_list("  ").is_err());
    }

    fn shopify(topic: &str, payload: Value) -> Result<InboundEvent, ValidationError> {
        let meta = ShopifyMeta {
            topic: Some(topic),
            event_id: Some("8f3e0b2c-evt"),
            webhook_id: Some("wh-1"),
            triggered_at: Some("2026-06-01T10:00:00Z"),
        };
        shopify_event(meta, &payload, NOW)
    }

    #[test]
    fn a_shopify_registration_becomes_a_customer_master_record() {
        // The shape of Shopify's customers/create example payload.
        let e = shopify("customers/create", json!({"id": 706405506930370084u64, "email": "Bob@Biller.com", "created_at": "2021-12-31T19:00:00-05:00",
            "updated_at": "2021-12-31T19:00:00-05:00", "first_name": "Bob", "last_name": "Biller", "phone": null, "state": "disabled"})).unwrap();
        let Inbound::Objects(objects) = e.inbound else {
            panic!("expected objects")
        };
        let o = &objects[0];
        assert_eq!(
            (o.kind, o.id.as_str(), o.event_id.as_str()),
            (
                EntityKind::Customer,
                "shopify-706405506930370084",
                "8f3e0b2c-evt"
            )
        );
        assert_eq!(o.updated_at, "2022-01-01T00:00:00.000Z");
        assert_eq!(o.attributes["email"], "bob@biller.com");
        assert!(!o.attributes.contains_key("phone"));
        assert!(is_registration(&e.topic));
    }

    #[test]
    fn shopify_falls_back_to_the_webhook_id_and_the_triggered_time() {
        let meta = ShopifyMeta {
            topic: Some("orders/create"),
            event_id: None,
            webhook_id: Some("wh-9"),
            triggered_at: Some("2026-06-01T10:00:00Z"),
        };
        let e = shopify_event(
            meta,
            &json!({"id": 820982911946154508u64, "total_price": "10.00"}),
            NOW,
        )
        .unwrap();
        let Inbound::Objects(o) = e.inbound else {
            panic!()
        };
        assert_eq!(
            (o[0].event_id.as_str(), o[0].updated_at.as_str()),
            ("wh-9", "2026-06-01T10:00:00.000Z")
        );
    }

    #[test]
    fn shopify_inventory_levels_are_keyed_by_item_and_location() {
        let e = shopify("inventory_levels/update", json!({"inventory_item_id": 271878346596884015u64, "location_id": 24826418, "available": 6, "updated_at": "2021-12-31T19:00:00-05:00"})).unwrap();
        let Inbound::Objects(o) = e.inbound else {
            panic!()
        };
        assert_eq!(o[0].id, "shopify-271878346596884015@24826418");
        assert_eq!(o[0].attributes["available"], 6);
    }

    #[test]
    fn redaction_is_a_tombstone_that_keeps_no_personal_data() {
        let e = shopify("customers/redact", json!({"shop_id": 954889, "shop_domain": "s.myshopify.com", "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"}, "orders_to_redact": [299938]})).unwrap();
        let Inbound::Objects(o) = e.inbound else {
            panic!()
        };
        assert!(o[0].deleted);
        assert_eq!(o[0].id, "shopify-191167");
        let text = serde_json::to_string(&o[0]).unwrap();
        assert!(
            !text.contains("john@example.com") && !text.contains("555-625-1199"),
            "{text}"
        );
    }

    #[test]
    fn unknown_topics_and_bad_payloads() {
        assert!(matches!(
            shopify("carts/create", json!({})).unwrap().inbound,
            Inbound::Record {
                outcome: "ignored",
                ..
            }
        ));
        assert_eq!(
            shopify("customers/create", json!({"email": "a@b.c"}))
                .unwrap_err()
                .field,
            "id"
        );
        assert_eq!(
            shopify("customers/create", json!({"id": 1, "email": 5}))
                .unwrap_err()
                .field,
            "email"
        );
        assert_eq!(
            shopify("customers/create", json!([1])).unwrap_err().field,
            "body"
        );
        let no_topic = ShopifyMeta {
            event_id: Some("e"),
            ..Default::default()
        };
        assert_eq!(
            shopify_event(no_topic, &json!({}), NOW).unwrap_err().field,
            "X-Shopify-Topic"
        );
        assert_eq!(
            shopify("customers/redact", json!({"customer": {}}))
                .unwrap_err()
                .field,
            "customer.id"
        );
    }

    #[test]
    fn square_customer_and_inventory_events() {
        // Shaped like Square's customer.created example.
        let created = json!({"merchant_id": "6SSW7HV8K2ST5", "type": "customer.created", "event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
            "created_at": "2020-05-05T15:41:13.528Z", "data": {"type": "customer", "id": "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK",
            "object": {"customer": {"id": "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK", "created_at": "2020-05-05T15:41:13.520Z", "updated_at": "2020-05-05T15:41:13Z",
            "given_name": "Amelia", "family_name": "Earhart", "email_address": "Amelia.Earhart@example.com", "version": 0}}}});
        let e = square_event(&created, NOW).unwrap();
        let Inbound::Objects(o) = e.inbound else {
            panic!()
        };
        assert_eq!(
            (o[0].id.as_str(), o[0].event_id.as_str()),
            (
                "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK",
                "sq-A0AP25A6ZH2Z6HZ9H6X6Y3V6RK-v0"
            )
        );
        assert_eq!(e.event_id, "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc");

        let counts = json!({"type": "inventory.count.updated", "event_id": "e2", "data": {"object": {"inventory_counts": [
            {"catalog_object_id": "VAR1", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK", "location_id": "L1", "quantity": "3", "calculated_at": "2026-06-01T10:00:00Z"},
            {"catalog_object_id": "VAR2", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK", "location_id": "L1", "quantity": "5", "calculated_at": "2026-06-01T10:00:00Z"}]}}});
        let Inbound::Objects(o) = square_event(&counts, NOW).unwrap().inbound else {
            panic!()
        };
        assert_eq!(
            o.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
            ["VAR1@L1", "VAR2@L1"]
        );

        assert_eq!(
            square_event(
                &json!({"type": "catalog.version.updated", "event_id": "e3", "data": {}}),
                NOW
            )
            .unwrap()
            .inbound,
            Inbound::CatalogPull
        );
        assert!(matches!(
            square_event(&json!({"type": "payment.created", "event_id": "e4"}), NOW)
                .unwrap()
                .inbound,
            Inbound::Record {
                outcome: "ignored",
                ..
            }
        ));
        assert_eq!(
            square_event(
                &json!({"type": "order.updated", "event_id": "e5", "data": {"object": {}}}),
                NOW
            )
            .unwrap_err()
            .field,
            "data.object.order_updated"
        );
        assert_eq!(
            square_event(&json!({"type": "customer.created"}), NOW)
                .unwrap_err()
                .field,
            "event_id"
        );
    }

    proptest! {
        /// Any change to the body, the URL or the key breaks the signature.
        #[test]
        fn any_tampering_breaks_the_square_signature(body in proptest::collection::vec(any::<u8>(), 0..200), flip in any::<usize>(), url_suffix in "[a-z]{0,5}") {
            let key = ProviderKey::new("signature-key");
            let url = "https://hooks.example.com/square";
            let tag = check_signature_header(Provider::Square, Some(&key.sign(&signed_parts(Provider::Square, url, &body)))).unwrap();
            prop_assert!(verify(&[key.clone()], &signed_parts(Provider::Square, url, &body), &tag).is_ok());
            if !body.is_empty() {
                let mut tampered = body.clone();
                let i = flip % tampered.len();
                tampered[i] ^= 1;
                prop_assert!(verify(&[key.clone()], &signed_parts(Provider::Square, url, &tampered), &tag).is_err());
            }
            if !url_suffix.is_empty() {
                let other = format!("{url}{url_suffix}");
                prop_assert!(verify(&[key.clone()], &signed_parts(Provider::Square, &other, &body), &tag).is_err());
            }
            prop_assert!(verify(&[ProviderKey::new("other-key")], &signed_parts(Provider::Square, url, &body), &tag).is_err());
        }

        /// Normalizing never panics, whatever JSON arrives.
        #[test]
        fn normalizing_any_json_never_panics(topic in "(customers/create|orders/create|inventory_levels/update|customers/redact|x)", n in any::<i64>(), s in "\\PC{0,20}") {
            let payload = json!({"id": n, "email": s, "updated_at": s, "customer": {"id": s}, "location_id": n, "inventory_item_id": s, "available": s});
            let _ = shopify(&topic, payload.clone());
            let _ = square_event(&json!({"type": topic, "event_id": s, "data": {"object": payload}}), NOW);
        }
    }
}
