//! Provider payloads of the wrong shape: a 400 naming the JSON path.

use super::*;

#[tokio::test]
async fn a_provider_value_of_the_wrong_shape_gets_400_naming_its_json_path() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let ingest = stack.ingest();
    let order = json!({"id": 820982911946154508u64, "updated_at": "2021-12-31T19:00:00-05:00", "customer": {"id": "not an id"}});
    let mut product = shopify_product();
    product["variants"][1]["sku"] = json!("../example-shirt-m");
    let shopify_cases = [
        ("orders/create", order, "customer.id"),
        ("products/update", product, "variants[1].sku"),
        (
            "customers/create",
            json!({"id": 1, "email": "bob-at-biller.com"}),
            "email",
        ),
    ];
    for (i, (topic, payload, field)) in shopify_cases.into_iter().enumerate() {
        let body = payload.to_string();
        let headers = shopify_headers(
            &tenant.shopify_secret,
            topic,
            &format!("evt-bad-{i}"),
            &body,
        );
        let (status, answer) = invoke_ingest(
            &ingest,
            &webhook_event("shopify", &tenant.id, &headers, &body),
        )
        .await;
        assert_eq!(status, 400, "{topic}: {answer}");
        assert_eq!(answer["error"]["class"], "VALIDATION_ERROR");
        assert_eq!(answer["error"]["field"], field, "{topic}: {answer}");
    }
    let mut customer = square_customer_created("e-bad-1", "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK", 1);
    customer["data"]["object"]["customer"]["id"] = json!("../A0AP25A6ZH2Z6HZ9H6X6Y3V6RK");
    let body = customer.to_string();
    let headers = square_headers(&tenant.square_key, &tenant.square_url, &body);
    let (status, answer) = invoke_ingest(
        &ingest,
        &webhook_event("square", &tenant.id, &headers, &body),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        (
            answer["error"]["field"].as_str(),
            answer["error"]["rule"].as_str()
        ),
        (
            Some("data.object.customer.id"),
            Some("must not contain '.' or '..' path segments")
        )
    );
    assert!(queued(&stack, &stack.config.sync_queue_url)
        .await
        .is_empty());
}

#[tokio::test]
async fn a_provider_number_that_does_not_fit_gets_400_naming_its_json_path() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    // serde_json cannot build this value: the body is written as text.
    let body = shopify_product()
        .to_string()
        .replace("\"position\":2", "\"position\":1e400");
    assert!(body.contains("1e400"));
    let headers = shopify_headers(&tenant.shopify_secret, "products/update", "evt-big", &body);
    let (status, answer) = invoke_ingest(
        &stack.ingest(),
        &webhook_event("shopify", &tenant.id, &headers, &body),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        (
            answer["error"]["field"].as_str(),
            answer["error"]["rule"].as_str()
        ),
        (Some("variants[1].position"), Some("number out of range"))
    );
}
