//! The payload of each Shopify topic synchub takes, as a typed shape, and
//! the change it converts into.

use crate::domain::change::PulledObject;
use crate::domain::ids::{required, EntityKind, SourceSku, ValidationError};
use crate::domain::provider_webhook::{redaction, Email, Inbound, Person};
use crate::domain::square::put;
use crate::domain::time::{canonical_time, parse_rfc3339_millis};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

const ID_REQUIRED: &str = "is required (a numeric id)";

/// A Shopify id: numeric (or an alphanumeric string), kept as sent and as
/// synchub's prefixed entity id.
#[derive(Debug, Clone, PartialEq)]
struct ShopifyId {
    sent: Value,
    id: String,
}

impl<'de> Deserialize<'de> for ShopifyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let sent = Value::deserialize(d)?;
        let id = match &sent {
            Value::Number(n) => n.as_u64().map(|n| n.to_string()),
            Value::String(s)
                if !s.is_empty()
                    && s.len() <= 64
                    && s.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                Some(s.clone())
            }
            _ => None,
        };
        match id {
            Some(id) => Ok(Self {
                id: format!("shopify-{id}"),
                sent,
            }),
            None => Err(D::Error::custom("must be a numeric id")),
        }
    }
}

/// What every topic's conversion needs beside its payload.
pub(super) struct Delivery<'a> {
    pub(super) event_id: &'a str,
    pub(super) triggered_at: Option<&'a str>,
    pub(super) now_millis: i64,
}

impl Delivery<'_> {
    /// One change, at the payload's `updated_at` (or `X-Shopify-Triggered-At`).
    fn object(
        &self,
        kind: EntityKind,
        id: String,
        updated_at: Option<String>,
        attributes: Map<String, Value>,
    ) -> Result<Inbound, ValidationError> {
        let updated_at = match updated_at.as_deref().or(self.triggered_at) {
            Some(t) => parse_rfc3339_millis(t)
                .map(|(t, _)| canonical_time(t))
                .map_err(|rule| ValidationError::new("updated_at", rule))?,
            None => {
                return Err(ValidationError::new(
                    "updated_at",
                    "is required (or the X-Shopify-Triggered-At header)",
                ))
            }
        };
        Ok(Inbound::Objects(vec![PulledObject {
            kind,
            id,
            updated_at,
            event_id: self.event_id.to_owned(),
            deleted: false,
            attributes,
        }]))
    }
}

/// `customers/create`, `customers/update`.
#[derive(Deserialize)]
pub(super) struct Customer {
    id: Option<ShopifyId>,
    email: Option<Email>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

impl Customer {
    pub(super) fn into_inbound(self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
        let id = required(self.id, "id", ID_REQUIRED)?;
        let mut attributes = Person {
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
        }
        .into_attributes();
        attributes.insert("shopifyId".into(), id.sent);
        put(&mut attributes, "createdAt", self.created_at);
        delivery.object(EntityKind::Customer, id.id, self.updated_at, attributes)
    }
}

/// `products/update`.
#[derive(Deserialize)]
pub(super) struct Product {
    id: Option<ShopifyId>,
    title: Option<String>,
    status: Option<String>,
    updated_at: Option<String>,
    variants: Option<Vec<Variant>>,
}

/// A product's variant, read as Shopify sends it and kept under synchub's
/// names (absent values as null).
#[derive(Deserialize, Serialize)]
struct Variant {
    id: Option<u64>,
    sku: Option<SourceSku>,
    price: Option<String>,
    #[serde(rename(serialize = "inventoryItemId"))]
    inventory_item_id: Option<u64>,
}

impl Product {
    pub(super) fn into_inbound(self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
        let id = required(self.id, "id", ID_REQUIRED)?;
        let mut attributes = Map::new();
        put(&mut attributes, "name", self.title);
        put(&mut attributes, "status", self.status);
        put(
            &mut attributes,
            "variants",
            Some(self.variants.unwrap_or_default()),
        );
        delivery.object(EntityKind::Item, id.id, self.updated_at, attributes)
    }
}

/// `inventory_levels/update`: keyed by inventory item and location.
#[derive(Deserialize)]
pub(super) struct InventoryLevel {
    inventory_item_id: Option<ShopifyId>,
    location_id: Option<u64>,
    /// Present, and null when the item is not tracked.
    #[serde(default, deserialize_with = "integer_or_null")]
    available: Option<Option<i64>>,
    updated_at: Option<String>,
}

const AVAILABLE_RULE: &str = "must be an integer or null";

fn integer_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        Value::Number(n) if n.is_i64() => Ok(Some(n.as_i64())),
        _ => Err(D::Error::custom(AVAILABLE_RULE)),
    }
}

impl InventoryLevel {
    pub(super) fn into_inbound(self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
        let item = required(self.inventory_item_id, "inventory_item_id", ID_REQUIRED)?;
        let location = required(self.location_id, "location_id", ID_REQUIRED)?;
        let available = required(self.available, "available", AVAILABLE_RULE)?;
        let mut attributes = Map::new();
        attributes.insert("available".into(), Value::from(available));
        attributes.insert("inventoryItemId".into(), item.sent);
        attributes.insert("locationId".into(), Value::from(location));
        let id = format!("{}@{location}", item.id);
        delivery.object(EntityKind::Inventory, id, self.updated_at, attributes)
    }
}

/// `orders/create`, `orders/updated`.
#[derive(Deserialize)]
pub(super) struct Order {
    id: Option<ShopifyId>,
    name: Option<String>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    total_price: Option<String>,
    currency: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    customer: Option<CustomerRef>,
}

#[derive(Deserialize)]
struct CustomerRef {
    id: Option<ShopifyId>,
}

impl Order {
    pub(super) fn into_inbound(self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
        let id = required(self.id, "id", ID_REQUIRED)?;
        let mut attributes = Map::new();
        put(&mut attributes, "name", self.name);
        put(&mut attributes, "financialStatus", self.financial_status);
        put(
            &mut attributes,
            "fulfillmentStatus",
            self.fulfillment_status,
        );
        put(&mut attributes, "totalPrice", self.total_price);
        put(&mut attributes, "currency", self.currency);
        put(&mut attributes, "createdAt", self.created_at);
        let customer = self.customer.and_then(|c| c.id).map(|c| c.id);
        put(&mut attributes, "customerId", customer);
        delivery.object(EntityKind::Order, id.id, self.updated_at, attributes)
    }
}

/// The privacy topics' payload: `customers/redact`, `customers/data_request`.
#[derive(Deserialize)]
pub(super) struct CustomerRequest {
    customer: Option<CustomerRef>,
    data_request: Option<DataRequest>,
}

#[derive(Deserialize)]
struct DataRequest {
    id: Option<ShopifyId>,
}

impl CustomerRequest {
    fn customer_id(&mut self) -> Result<String, ValidationError> {
        let customer = self.customer.take().and_then(|c| c.id);
        Ok(required(customer, "customer.id", ID_REQUIRED)?.id)
    }

    /// `customers/redact`: a tombstone that keeps no personal data.
    pub(super) fn redact(mut self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
        let id = self.customer_id()?;
        Ok(Inbound::Objects(vec![redaction(
            &id,
            "redacted (customers/redact)",
            delivery.event_id,
            delivery.now_millis,
        )]))
    }

    /// `customers/data_request`: recorded, with how to answer it.
    pub(super) fn data_request(mut self) -> Result<Inbound, ValidationError> {
        let id = self.customer_id()?;
        let request = self
            .data_request
            .and_then(|r| r.id)
            .map_or_else(|| "?".to_owned(), |r| r.sent.to_string());
        Ok(Inbound::Record {
            outcome: "data request",
            reason: format!(
                "data request {request} for customer {id}: synchub holds its master record (email, names, phone, POS/CRM sync status) and audit rows without personal data; export with `synchub trace --kind customer --id {id}`"
            ),
            entity: Some(id),
        })
    }
}
