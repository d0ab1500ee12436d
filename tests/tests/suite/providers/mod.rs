//! The Shopify and Square routes of webhook-ingest through the real handler:
//! each provider's signature scheme (and every way it can be wrong), topics
//! normalized onto the sync queue, unsupported topics recorded as ignored,
//! and Square's catalog notice turned into a pull request.

use serde_json::{json, Value};
use synchub_tests::*;

mod shopify;
mod signatures;
mod square;
mod validation;

async fn queued(stack: &TestStack, url: &str) -> Vec<Value> {
    let out = stack
        .sqs()
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

fn square_customer_created(event_id: &str, customer_id: &str, version: i64) -> Value {
    // Shaped like Square's documented customer.created notification.
    json!({
        "merchant_id": "6SSW7HV8K2ST5", "type": "customer.created", "event_id": event_id, "created_at": "2026-06-01T10:00:00.528Z",
        "data": {"type": "customer", "id": customer_id, "object": {"customer": {
            "id": customer_id, "created_at": "2026-06-01T10:00:00.520Z", "updated_at": "2026-06-01T10:00:00Z",
            "given_name": "Amelia", "family_name": "Earhart", "email_address": "Amelia.Earhart@example.com",
            "preferences": {"email_unsubscribed": false}, "creation_source": "THIRD_PARTY", "version": version
        }}}
    })
}

/// Sends a signed Shopify delivery and expects it accepted.
async fn shopify_accepts(
    stack: &TestStack,
    tenant: &ProviderTenant,
    topic: &str,
    event_id: &str,
    body: &Value,
) -> Value {
    let body = body.to_string();
    let (status, answer) = invoke_ingest(
        &stack.ingest(),
        &webhook_event(
            "shopify",
            &tenant.id,
            &shopify_headers(&tenant.shopify_secret, topic, event_id, &body),
            &body,
        ),
    )
    .await;
    assert_eq!(status, 202, "{topic}: {answer}");
    answer
}

/// Sends a signed Square notification and expects it accepted.
async fn square_accepts(stack: &TestStack, tenant: &ProviderTenant, body: &Value) -> Value {
    let body = body.to_string();
    let (status, answer) = invoke_ingest(
        &stack.ingest(),
        &webhook_event(
            "square",
            &tenant.id,
            &square_headers(&tenant.square_key, &tenant.square_url, &body),
            &body,
        ),
    )
    .await;
    assert_eq!(status, 202, "{body}: {answer}");
    answer
}

/// Shaped like Shopify's documented `products/update` example payload.
fn shopify_product() -> Value {
    let variant = |id: u64, title: &str, sku: &str, position: u64, quantity: u64| {
        json!({
            "admin_graphql_api_id": format!("gid://shopify/ProductVariant/{id}"), "barcode": null, "compare_at_price": "24.99",
            "created_at": "2021-12-29T19:00:00-05:00", "id": id, "inventory_policy": "deny", "position": position, "price": "19.99",
            "product_id": 788032119674292922u64, "sku": sku, "taxable": true, "title": title, "updated_at": "2021-12-30T19:00:00-05:00",
            "option1": title, "option2": null, "option3": null, "image_id": null, "inventory_item_id": null,
            "inventory_quantity": quantity, "old_inventory_quantity": quantity
        })
    };
    json!({
        "admin_graphql_api_id": "gid://shopify/Product/788032119674292922", "body_html": "An example T-Shirt", "created_at": null,
        "handle": "example-t-shirt", "id": 788032119674292922u64, "product_type": "Shirts", "published_at": "2021-12-31T19:00:00-05:00",
        "template_suffix": null, "title": "Example T-Shirt", "updated_at": "2021-12-31T19:00:00-05:00", "vendor": "Acme", "status": "active",
        "published_scope": "web", "tags": "example, mens, t-shirt",
        "variants": [
            variant(642667041472713922, "Small", "example-shirt-s", 1, 75),
            variant(757650484644203962, "Medium", "example-shirt-m", 2, 50)
        ],
        "options": [], "images": [], "image": null, "media": [],
        "variant_gids": [
            {"admin_graphql_api_id": "gid://shopify/ProductVariant/642667041472713922", "updated_at": "2022-01-01T00:00:00.000Z"},
            {"admin_graphql_api_id": "gid://shopify/ProductVariant/757650484644203962", "updated_at": "2022-01-01T00:00:00.000Z"}
        ],
        "has_variants_that_requires_components": false, "category": null
    })
}
