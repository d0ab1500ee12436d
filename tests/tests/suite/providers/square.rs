//! Square notifications from the documented payloads: the catalog notice
//! turned into a pull request, inventory counts, orders and customers.

use super::*;

#[tokio::test]
async fn a_square_catalog_notice_requests_a_pull_on_the_runs_queue() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let body = json!({"merchant_id": "6SSW7HV8K2ST5", "type": "catalog.version.updated", "event_id": "e-cat-1", "created_at": "2026-06-01T10:00:00Z",
        "data": {"type": "catalog", "id": "", "object": {"catalog_version": {"updated_at": "2026-06-01T10:00:00.000Z"}}}}).to_string();
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
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["outcome"], "catalog pull requested");
    let pulls = queued(&stack, &stack.config.runs_queue_url).await;
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0]["plan"]["tenantId"], tenant.id.as_str());
    assert_eq!(
        pulls[0]["plan"]["dataTypes"],
        json!(["catalog", "categories"])
    );
    assert!(queued(&stack, &stack.config.sync_queue_url)
        .await
        .is_empty());
}

#[tokio::test]
async fn square_inventory_counts_become_one_change_each() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let body = json!({"merchant_id": "M1", "type": "inventory.count.updated", "event_id": "e-inv-1", "created_at": "2026-06-01T10:00:00Z",
        "data": {"type": "inventory", "id": "x", "object": {"inventory_counts": [
            {"catalog_object_id": "VAR1", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK", "location_id": "L1", "quantity": "3", "calculated_at": "2026-06-01T10:00:00Z"},
            {"catalog_object_id": "VAR2", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK", "location_id": "L1", "quantity": "8", "calculated_at": "2026-06-01T10:00:00Z"}
        ]}}}).to_string();
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
    assert_eq!(status, 202, "{answer}");
    let worker = stack.worker();
    stack
        .drain(&worker, std::time::Duration::from_secs(20))
        .await;
    assert_eq!(
        stack
            .entity(&tenant.id, "inventory", "VAR1@L1")
            .await
            .unwrap()["attributes"]["quantity"],
        "3"
    );
    assert_eq!(
        stack
            .entity(&tenant.id, "inventory", "VAR2@L1")
            .await
            .unwrap()["attributes"]["quantity"],
        "8"
    );
}

#[tokio::test]
async fn square_orders_and_customer_updates_from_the_documented_payloads_are_stored() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    // Square's order.created and order.updated examples: order.created carries no updated_at.
    let order_created = json!({"merchant_id": "5S9MXCS9Y99KK", "type": "order.created", "event_id": "116038d3-2948-439f-8679-fc86dbf80f69",
        "created_at": "2020-04-16T23:14:26.129Z", "data": {"type": "order", "id": "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", "object": {"order_created": {
        "created_at": "2020-04-16T23:14:26.129Z", "location_id": "FPYCBCHYMXFK1", "order_id": "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", "state": "OPEN", "version": 1}}}});
    let order_updated = json!({"merchant_id": "5S9MXCS9Y99KK", "type": "order.updated", "event_id": "4b8e5c91-9f17-4cf1-900a-4a0629f81add",
        "created_at": "2020-04-16T23:14:26.359Z", "data": {"type": "order", "id": "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", "object": {"order_updated": {
        "created_at": "2020-04-16T23:14:26.129Z", "location_id": "FPYCBCHYMXFK1", "order_id": "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", "state": "COMPLETED",
        "updated_at": "2020-04-16T23:14:26.359Z", "version": 2}}}});
    // Square's customer.updated example (a later version of the created customer).
    let mut customer_updated = square_customer_created(
        "c5b1f2a4-0f2c-4c8e-9a0b-2f1d7e5c9a11",
        "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK",
        4,
    );
    customer_updated["type"] = json!("customer.updated");
    let customer = &mut customer_updated["data"]["object"]["customer"];
    customer["updated_at"] = json!("2026-06-01T11:00:00Z");
    customer["email_address"] = json!("Amelia.Earhart@aviation.example.com");
    customer["phone_number"] = json!("+1-212-555-4240");

    for body in [&order_created, &order_updated, &customer_updated] {
        square_accepts(&stack, &tenant, body).await;
    }

    stack
        .drain(&stack.worker(), std::time::Duration::from_secs(20))
        .await;
    let order = stack
        .entity(&tenant.id, "order", "eA3vssLHKJrv9H0IdJCM3gNqfdcZY")
        .await
        .expect("the order is stored");
    assert_eq!(
        (
            order["attributes"]["state"].as_str(),
            order["attributes"]["locationId"].as_str()
        ),
        (Some("COMPLETED"), Some("FPYCBCHYMXFK1"))
    );
    let customer = stack
        .entity(&tenant.id, "customer", "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK")
        .await
        .expect("the customer is stored");
    assert_eq!(
        customer["attributes"]["email"],
        "amelia.earhart@aviation.example.com"
    );
    assert_eq!(customer["attributes"]["phone"], "+1-212-555-4240");
}
