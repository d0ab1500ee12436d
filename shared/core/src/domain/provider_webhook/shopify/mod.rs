//! Shopify webhooks: each topic synchub takes has its payload's shape, and
//! converts into the change it carries. Entity ids are prefixed
//! (`shopify-…`), so they never meet a POS's ids.

mod payloads;

use super::{ignored, Inbound, InboundEvent};
use crate::domain::ids::{typed, ValidationError};
use payloads::{Customer, CustomerRequest, Delivery, InventoryLevel, Order, Product};
use serde_json::Value;

/// The Shopify headers that matter after the signature.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShopifyMeta<'a> {
    pub topic: Option<&'a str>,
    pub event_id: Option<&'a str>,
    pub webhook_id: Option<&'a str>,
    pub triggered_at: Option<&'a str>,
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
    use crate::domain::change::PulledObject;
    use crate::domain::ids::EntityKind;
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

    #[allow(clippy::too_many_lines, reason = "a table of bad inputs, one per line")]
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
