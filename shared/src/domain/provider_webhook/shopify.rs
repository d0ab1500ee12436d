//! Shopify webhooks: each topic synchub takes has its payload's shape, and
//! converts into the change it carries. Entity ids are prefixed
//! (`shopify-…`), so they never meet a POS's ids.

use super::{ignored, redaction, Email, Inbound, InboundEvent, Person};
use crate::domain::change::PulledObject;
use crate::domain::ids::{required, typed, EntityKind, SourceSku, ValidationError};
use crate::domain::square::put;
use crate::domain::time::{canonical_time, parse_rfc3339_millis};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The Shopify headers that matter after the signature.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShopifyMeta<'a> {
    pub topic: Option<&'a str>,
    pub event_id: Option<&'a str>,
    pub webhook_id: Option<&'a str>,
    pub triggered_at: Option<&'a str>,
}

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
struct Delivery<'a> {
    event_id: &'a str,
    triggered_at: Option<&'a str>,
    now_millis: i64,
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
struct Customer {
    id: Option<ShopifyId>,
    email: Option<Email>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

impl Customer {
    fn into_inbound(self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
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
struct Product {
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
    fn into_inbound(self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
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
struct InventoryLevel {
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
    fn into_inbound(self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
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
struct Order {
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
    fn into_inbound(self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
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
struct CustomerRequest {
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
    fn redact(mut self, delivery: &Delivery<'_>) -> Result<Inbound, ValidationError> {
        let id = self.customer_id()?;
        Ok(Inbound::Objects(vec![redaction(
            &id,
            "redacted (customers/redact)",
            delivery.event_id,
            delivery.now_millis,
        )]))
    }

    /// `customers/data_request`: recorded, with how to answer it.
    fn data_request(mut self) -> Result<Inbound, ValidationError> {
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

/// A header's value, when it has one.
fn header(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|t| !t.is_empty())
}

/// Normalizes a verified Shopify webhook. The event id is `X-Shopify-Event-Id`
/// (or `X-Shopify-Webhook-Id`); the source time is the payload's `updated_at`
/// (or `X-Shopify-Triggered-At`).
pub fn shopify_event(
    meta: ShopifyMeta<'_>,
    payload: &Value,
    now_millis: i64,
) -> Result<InboundEvent, ValidationError> {
    let topic = header(meta.topic)
        .ok_or_else(|| ValidationError::new("X-Shopify-Topic", "header is required"))?;
    let event_id = header(meta.event_id.or(meta.webhook_id)).ok_or_else(|| {
        ValidationError::new(
            "X-Shopify-Event-Id",
            "header (or X-Shopify-Webhook-Id) is required",
        )
    })?;
    if !payload.is_object() {
        return Err(ValidationError::new("body", "must be a JSON object"));
    }
    let delivery = Delivery {
        event_id,
        triggered_at: meta.triggered_at,
        now_millis,
    };
    let inbound = match topic {
        "customers/create" | "customers/update" => {
            typed::<Customer>(payload)?.into_inbound(&delivery)?
        }
        "products/update" => typed::<Product>(payload)?.into_inbound(&delivery)?,
        "inventory_levels/update" => typed::<InventoryLevel>(payload)?.into_inbound(&delivery)?,
        "orders/create" | "orders/updated" => typed::<Order>(payload)?.into_inbound(&delivery)?,
        "customers/redact" => typed::<CustomerRequest>(payload)?.redact(&delivery)?,
        "customers/data_request" => typed::<CustomerRequest>(payload)?.data_request()?,
        "shop/redact" => Inbound::EraseShop,
        other => ignored(other),
    };
    Ok(InboundEvent {
        event_id: event_id.to_owned(),
        topic: topic.to_owned(),
        inbound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::provider_webhook::is_registration;
    use serde_json::json;

    const NOW: i64 = 1_780_000_000_000;

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

    fn one_object(e: InboundEvent) -> PulledObject {
        match e.inbound {
            Inbound::Objects(mut o) if o.len() == 1 => o.remove(0),
            other => panic!("expected one object, got {other:?}"),
        }
    }

    #[test]
    fn a_product_update_keeps_the_title_status_and_variants() {
        // The shape of Shopify's products/update example payload.
        let e = shopify("products/update", json!({
            "admin_graphql_api_id": "gid://shopify/Product/788032119674292922", "body_html": "An example T-Shirt", "created_at": null,
            "handle": "example-t-shirt", "id": 788032119674292922u64, "product_type": "Shirts", "published_at": "2021-12-31T19:00:00-05:00",
            "template_suffix": null, "title": "Example T-Shirt", "updated_at": "2021-12-31T19:00:00-05:00", "vendor": "Acme", "status": "active",
            "published_scope": "web", "tags": "example, mens, t-shirt",
            "variants": [
                {"admin_graphql_api_id": "gid://shopify/ProductVariant/642667041472713922", "barcode": null, "compare_at_price": "24.99",
                 "created_at": "2021-12-29T19:00:00-05:00", "id": 642667041472713922u64, "inventory_policy": "deny", "position": 1, "price": "19.99",
                 "product_id": 788032119674292922u64, "sku": "example-shirt-s", "taxable": true, "title": "Small", "updated_at": "2021-12-30T19:00:00-05:00",
                 "option1": "Small", "option2": null, "option3": null, "image_id": null, "inventory_item_id": null, "inventory_quantity": 75, "old_inventory_quantity": 75},
                {"admin_graphql_api_id": "gid://shopify/ProductVariant/757650484644203962", "barcode": null, "compare_at_price": "24.99",
                 "created_at": "2021-12-29T19:00:00-05:00", "id": 757650484644203962u64, "inventory_policy": "deny", "position": 2, "price": "19.99",
                 "product_id": 788032119674292922u64, "sku": "example-shirt-m", "taxable": true, "title": "Medium", "updated_at": "2021-12-31T19:00:00-05:00",
                 "option1": "Medium", "option2": null, "option3": null, "image_id": null, "inventory_item_id": null, "inventory_quantity": 50, "old_inventory_quantity": 50}
            ],
            "options": [], "images": [], "image": null, "media": [], "has_variants_that_requires_components": false, "category": null
        })).unwrap();
        let o = one_object(e);
        assert_eq!(
            (o.kind, o.id.as_str(), o.updated_at.as_str()),
            (
                EntityKind::Item,
                "shopify-788032119674292922",
                "2022-01-01T00:00:00.000Z"
            )
        );
        assert_eq!(
            Value::Object(o.attributes),
            json!({"name": "Example T-Shirt", "status": "active", "variants": [
                {"id": 642667041472713922u64, "sku": "example-shirt-s", "price": "19.99", "inventoryItemId": null},
                {"id": 757650484644203962u64, "sku": "example-shirt-m", "price": "19.99", "inventoryItemId": null}
            ]})
        );
    }

    #[test]
    fn an_order_keeps_its_totals_and_its_customer() {
        // Trimmed from Shopify's orders/create example payload, same shapes.
        let order = json!({"id": 820982911946154508u64, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508", "app_id": null,
            "browser_ip": null, "buyer_accepts_marketing": true, "cancel_reason": "customer", "cancelled_at": "2021-12-31T19:00:00-05:00",
            "currency": "USD", "current_total_price": "398.00", "email": "jon@example.com", "financial_status": "voided",
            "fulfillment_status": "pending", "name": "#9999", "order_number": 1234, "total_price": "403.00",
            "total_price_set": {"shop_money": {"amount": "403.00", "currency_code": "USD"}, "presentment_money": {"amount": "403.00", "currency_code": "USD"}},
            "created_at": "2021-12-31T19:00:00-05:00", "updated_at": "2021-12-31T19:00:00-05:00",
            "customer": {"id": 115310627314723954u64, "email": "john@example.com", "created_at": null, "updated_at": null, "first_name": "John",
                "last_name": "Smith", "state": "disabled", "note": null, "verified_email": true, "phone": null, "currency": "USD",
                "admin_graphql_api_id": "gid://shopify/Customer/115310627314723954", "default_address": null},
            "line_items": [{"id": 866550311766439020u64, "price": "199.00", "quantity": 1, "sku": "IPOD2008BLACK", "title": "IPod Nano - 8GB"}]});
        for topic in ["orders/create", "orders/updated"] {
            let o = one_object(shopify(topic, order.clone()).unwrap());
            assert_eq!(
                (o.kind, o.id.as_str()),
                (EntityKind::Order, "shopify-820982911946154508")
            );
            assert_eq!(
                Value::Object(o.attributes),
                json!({"name": "#9999", "financialStatus": "voided", "fulfillmentStatus": "pending", "totalPrice": "403.00",
                    "currency": "USD", "createdAt": "2021-12-31T19:00:00-05:00", "customerId": "shopify-115310627314723954"})
            );
        }
    }

    #[test]
    fn a_data_request_is_recorded_against_the_customer() {
        // Shopify's customers/data_request example payload.
        let e = shopify("customers/data_request", json!({"shop_id": 954889, "shop_domain": "{shop}.myshopify.com",
            "orders_requested": [299938, 280263, 220458], "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
            "data_request": {"id": 9999}})).unwrap();
        let Inbound::Record {
            outcome,
            reason,
            entity,
        } = e.inbound
        else {
            panic!("expected a record")
        };
        assert_eq!(
            (outcome, entity.as_deref()),
            ("data request", Some("shopify-191167"))
        );
        assert!(
            reason.starts_with("data request 9999 for customer shopify-191167"),
            "{reason}"
        );
        assert!(!reason.contains("john@example.com"));
        assert_eq!(
            shopify(
                "shop/redact",
                json!({"shop_id": 954889, "shop_domain": "{shop}.myshopify.com"})
            )
            .unwrap()
            .inbound,
            Inbound::EraseShop
        );
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_named_by_its_json_path() {
        for (topic, payload, field) in [
            (
                "customers/create",
                json!({"id": 1e20, "email": "a@b.co"}),
                "id",
            ),
            ("customers/create", json!({"id": -5}), "id"),
            (
                "customers/create",
                json!({"id": "gid://shopify/Customer/1"}),
                "id",
            ),
            (
                "customers/update",
                json!({"id": 1, "first_name": 7}),
                "first_name",
            ),
            (
                "orders/create",
                json!({"id": 1, "customer": {"id": "x y"}}),
                "customer.id",
            ),
            (
                "orders/create",
                json!({"id": 1, "total_price": 403}),
                "total_price",
            ),
            (
                "products/update",
                json!({"id": 1, "variants": [{"id": 2}, {"id": 1.5}]}),
                "variants[1].id",
            ),
            (
                "products/update",
                json!({"id": 1, "variants": [{"id": 2, "sku": "a/../b"}]}),
                "variants[0].sku",
            ),
            (
                "inventory_levels/update",
                json!({"inventory_item_id": 1, "location_id": 2, "available": "6"}),
                "available",
            ),
            (
                "inventory_levels/update",
                json!({"inventory_item_id": 1, "location_id": 2}),
                "available",
            ),
            (
                "inventory_levels/update",
                json!({"inventory_item_id": 1, "location_id": -2, "available": 1}),
                "location_id",
            ),
            (
                "inventory_levels/update",
                json!({"location_id": 2, "available": 1}),
                "inventory_item_id",
            ),
            (
                "customers/redact",
                json!({"customer": "191167"}),
                "customer",
            ),
            ("customers/redact", json!({}), "customer.id"),
            (
                "customers/data_request",
                json!({"customer": {"id": 1}, "data_request": {"id": [9999]}}),
                "data_request.id",
            ),
            (
                "customers/create",
                json!({"id": 1, "updated_at": "yesterday"}),
                "updated_at",
            ),
        ] {
            assert_eq!(
                shopify(topic, payload.clone()).unwrap_err().field,
                field,
                "{topic} {payload}"
            );
        }
        let e = shopify(
            "customers/create",
            json!({"id": 1, "email": "not-an-address"}),
        )
        .unwrap_err();
        assert_eq!(e, ValidationError::new("email", "must be an email address"));
        let e = shopify(
            "inventory_levels/update",
            json!({"inventory_item_id": 1, "location_id": 2, "available": 1.5}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            ValidationError::new("available", "must be an integer or null")
        );
    }

    #[test]
    fn an_untracked_inventory_level_is_null() {
        let e = shopify(
            "inventory_levels/update",
            json!({"inventory_item_id": 1, "location_id": 2, "available": null}),
        )
        .unwrap();
        assert_eq!(one_object(e).attributes["available"], Value::Null);
    }
}
