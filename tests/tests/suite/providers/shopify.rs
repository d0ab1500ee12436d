//! Shopify topics from the documented payloads: customers, products, orders,
//! inventory levels, data requests, and the topics recorded as ignored.

use super::*;

#[tokio::test]
async fn a_signed_shopify_registration_is_queued_as_a_customer_change() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let body = shopify_customer(
        706405506930370084,
        "Bob@Biller.com",
        "Bob",
        "2026-06-01T10:00:00Z",
    )
    .to_string();
    let event = webhook_event(
        "shopify",
        &tenant.id,
        &shopify_headers(
            &tenant.shopify_secret,
            "customers/create",
            "evt-reg-1",
            &body,
        ),
        &body,
    );

    let (status, answer) = invoke_ingest(&stack.ingest(), &event).await;

    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (answer["eventId"].as_str(), answer["topic"].as_str()),
        (Some("evt-reg-1"), Some("customers/create"))
    );
    let messages = queued(&stack, &stack.config.sync_queue_url).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(
        (
            m["source"].as_str(),
            m["topic"].as_str(),
            m["webhookId"].as_str()
        ),
        (Some("shopify"), Some("customers/create"), Some("evt-reg-1"))
    );
    assert_eq!(m["payload"]["kind"], "customer");
    assert_eq!(m["payload"]["id"], "shopify-706405506930370084");
    assert_eq!(m["payload"]["attributes"]["email"], "bob@biller.com");
}

#[tokio::test]
async fn unsupported_topics_are_accepted_and_audited_as_ignored_and_bad_payloads_name_the_field() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let ingest = stack.ingest();
    let body = json!({"id": 5, "token": "cart-token"}).to_string();
    let (status, answer) = invoke_ingest(
        &ingest,
        &webhook_event(
            "shopify",
            &tenant.id,
            &shopify_headers(&tenant.shopify_secret, "carts/create", "evt-cart", &body),
            &body,
        ),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        answer["outcome"],
        "ignored (unsupported topic carts/create)"
    );
    let rows = stack.audit_rows(&format!("{}#shopify", tenant.id)).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].outcome.as_str(), rows[0].reason.as_deref()),
        ("ignored", Some("unsupported topic carts/create"))
    );
    assert_eq!(rows[0].event_id.as_deref(), Some("evt-cart"));

    let body =
        json!({"email": "no-id@example.com", "updated_at": "2026-06-01T10:00:00Z"}).to_string();
    let (status, answer) = invoke_ingest(
        &ingest,
        &webhook_event(
            "shopify",
            &tenant.id,
            &shopify_headers(&tenant.shopify_secret, "customers/create", "evt-bad", &body),
            &body,
        ),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        (
            answer["error"]["field"].as_str(),
            answer["error"]["rule"].as_str()
        ),
        (Some("id"), Some("is required (a numeric id)"))
    );
    assert!(queued(&stack, &stack.config.sync_queue_url)
        .await
        .is_empty());
}

#[tokio::test]
async fn a_shopify_product_update_from_the_documented_payload_is_stored_as_an_item() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;

    let answer = shopify_accepts(
        &stack,
        &tenant,
        "products/update",
        "evt-prod-1",
        &shopify_product(),
    )
    .await;

    assert_eq!(answer["outcome"], "queued 1 change(s)");
    stack
        .drain(&stack.worker(), std::time::Duration::from_secs(20))
        .await;
    let item = stack
        .entity(&tenant.id, "item", "shopify-788032119674292922")
        .await
        .expect("the product is stored as an item");
    let attributes = &item["attributes"];
    assert_eq!(
        (attributes["name"].as_str(), attributes["status"].as_str()),
        (Some("Example T-Shirt"), Some("active"))
    );
    assert_eq!(
        attributes["variants"],
        json!([
            {"id": 642667041472713922u64, "sku": "example-shirt-s", "price": "19.99", "inventoryItemId": null},
            {"id": 757650484644203962u64, "sku": "example-shirt-m", "price": "19.99", "inventoryItemId": null}
        ])
    );
}

#[tokio::test]
async fn shopify_orders_and_inventory_levels_from_the_documented_payloads_are_stored() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    // Trimmed from Shopify's orders/create example payload (the same shapes).
    let customer = json!({"id": 115310627314723954u64, "email": "john@example.com", "created_at": null, "updated_at": null, "first_name": "John",
        "last_name": "Smith", "state": "disabled", "note": null, "verified_email": true, "multipass_identifier": null, "tax_exempt": false,
        "phone": null, "currency": "USD", "tax_exemptions": [], "admin_graphql_api_id": "gid://shopify/Customer/115310627314723954",
        "default_address": {"id": 715243470612851245u64, "customer_id": 115310627314723954u64, "first_name": null, "last_name": null,
            "company": null, "address1": "123 Elm St.", "address2": null, "city": "Ottawa", "province": "Ontario", "country": "Canada",
            "zip": "K2H7A8", "phone": "123-123-1234", "name": "", "province_code": "ON", "country_code": "CA", "country_name": "Canada", "default": true}});
    let line_item = json!({"id": 866550311766439020u64, "admin_graphql_api_id": "gid://shopify/LineItem/866550311766439020", "fulfillable_quantity": 1,
        "name": "IPod Nano - 8GB", "price": "199.00", "product_id": 632910392, "quantity": 1, "sku": "IPOD2008BLACK", "title": "IPod Nano - 8GB",
        "variant_id": 808950810, "vendor": null});
    let total_price_set = json!({"shop_money": {"amount": "403.00", "currency_code": "USD"}, "presentment_money": {"amount": "403.00", "currency_code": "USD"}});
    let order = json!({
        "id": 820982911946154508u64, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508", "app_id": null, "browser_ip": null,
        "buyer_accepts_marketing": true, "cancel_reason": "customer", "cancelled_at": "2021-12-31T19:00:00-05:00", "cart_token": null,
        "checkout_id": null, "confirmed": false, "contact_email": "jon@example.com", "created_at": "2021-12-31T19:00:00-05:00",
        "currency": "USD", "current_subtotal_price": "398.00", "current_total_price": "398.00", "email": "jon@example.com",
        "financial_status": "voided", "fulfillment_status": "pending", "name": "#9999", "note": null, "number": 234, "order_number": 1234,
        "phone": null, "subtotal_price": "398.00", "tags": "tag1, tag2", "test": true, "total_discounts": "0.00",
        "total_price": "403.00", "total_price_set": total_price_set, "total_tax": "0.00", "updated_at": "2021-12-31T19:00:00-05:00",
        "user_id": null, "customer": customer, "line_items": [line_item], "shipping_lines": [], "refunds": []
    });
    // Shopify's inventory_levels/update example payload.
    let level = json!({"inventory_item_id": 271878346596884015u64, "location_id": 24826418, "available": 6,
        "updated_at": "2021-12-31T19:00:00-05:00", "admin_graphql_api_id": "gid://shopify/InventoryLevel/24826418?inventory_item_id=271878346596884015"});

    shopify_accepts(&stack, &tenant, "orders/create", "evt-order-1", &order).await;
    let mut paid = order.clone();
    paid["financial_status"] = json!("paid");
    paid["updated_at"] = json!("2022-01-01T10:00:00-05:00");
    shopify_accepts(&stack, &tenant, "orders/updated", "evt-order-2", &paid).await;
    shopify_accepts(
        &stack,
        &tenant,
        "inventory_levels/update",
        "evt-level-1",
        &level,
    )
    .await;

    stack
        .drain(&stack.worker(), std::time::Duration::from_secs(20))
        .await;
    let order = stack
        .entity(&tenant.id, "order", "shopify-820982911946154508")
        .await
        .expect("the order is stored");
    assert_eq!(
        order["attributes"]["financialStatus"], "paid",
        "the later update wins"
    );
    assert_eq!(
        (
            order["attributes"]["totalPrice"].as_str(),
            order["attributes"]["customerId"].as_str()
        ),
        (Some("403.00"), Some("shopify-115310627314723954"))
    );
    let level = stack
        .entity(
            &tenant.id,
            "inventory",
            "shopify-271878346596884015@24826418",
        )
        .await
        .expect("the level is stored");
    assert_eq!(
        (
            level["attributes"]["available"].as_i64(),
            level["attributes"]["locationId"].as_u64()
        ),
        (Some(6), Some(24826418))
    );
}

#[tokio::test]
async fn a_shopify_data_request_from_the_documented_payload_is_recorded_against_the_customer() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    // Shopify's customers/data_request example payload.
    let request = json!({"shop_id": 954889, "shop_domain": "test-shop.myshopify.com", "orders_requested": [299938, 280263, 220458],
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"}, "data_request": {"id": 9999}});

    let answer = shopify_accepts(
        &stack,
        &tenant,
        "customers/data_request",
        "evt-dr-1",
        &request,
    )
    .await;

    assert!(
        answer["outcome"]
            .as_str()
            .unwrap()
            .starts_with("data request (data request 9999 for customer shopify-191167"),
        "{answer}"
    );
    let rows = stack
        .audit_rows(&format!("{}#customer#shopify-191167", tenant.id))
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].outcome.as_str(), rows[0].event_id.as_deref()),
        ("data request", Some("evt-dr-1"))
    );
    assert!(!rows[0]
        .reason
        .as_deref()
        .unwrap_or_default()
        .contains("john@example.com"));
    assert!(queued(&stack, &stack.config.sync_queue_url)
        .await
        .is_empty());
}
