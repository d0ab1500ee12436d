//! The Shopify and Square routes of webhook-ingest through the real handler:
//! each provider's signature scheme (and every way it can be wrong), topics
//! normalized onto the sync queue, unsupported topics recorded as ignored,
//! and Square's catalog notice turned into a pull request.

use serde_json::{json, Value};
use synchub_tests::*;

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
async fn every_way_a_shopify_signature_can_be_wrong_is_401_and_queues_nothing() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let ingest = stack.ingest();
    let body = shopify_customer(1, "a@b.co", "A", "2026-06-01T10:00:00Z").to_string();
    let good = shopify_headers(&tenant.shopify_secret, "customers/create", "evt-1", &body);
    let with_hmac = |value: Option<&str>| -> Vec<(&'static str, String)> {
        let mut h: Vec<_> = good
            .iter()
            .filter(|(k, _)| *k != "x-shopify-hmac-sha256")
            .cloned()
            .collect();
        if let Some(v) = value {
            h.push(("x-shopify-hmac-sha256", v.to_owned()));
        }
        h
    };
    let other_secret = shopify_headers("another-apps-secret", "customers/create", "evt-1", &body);
    let cases: Vec<(&str, String, Vec<(&'static str, String)>, String, &str)> = vec![
        (
            "missing header",
            tenant.id.clone(),
            with_hmac(None),
            body.clone(),
            "missing x-shopify-hmac-sha256 header",
        ),
        (
            "not base64",
            tenant.id.clone(),
            with_hmac(Some("%%%")),
            body.clone(),
            "malformed x-shopify-hmac-sha256 header: must be base64",
        ),
        (
            "short",
            tenant.id.clone(),
            with_hmac(Some("c2hvcnQ=")),
            body.clone(),
            "malformed x-shopify-hmac-sha256 header: must be a 32-byte HMAC-SHA256",
        ),
        (
            "wrong secret",
            tenant.id.clone(),
            other_secret,
            body.clone(),
            "no valid signature for this tenant",
        ),
        (
            "tampered body",
            tenant.id.clone(),
            good.clone(),
            body.replace("a@b.co", "x@b.co"),
            "no valid signature for this tenant",
        ),
        (
            "unknown tenant",
            "no-such-shop".into(),
            good.clone(),
            body.clone(),
            "no valid signature for this tenant",
        ),
    ];
    for (name, tenant_id, headers, body, message) in cases {
        let (status, answer) = invoke_ingest(
            &ingest,
            &webhook_event("shopify", &tenant_id, &headers, &body),
        )
        .await;
        assert_eq!(status, 401, "{name}: {answer}");
        assert_eq!(answer["error"]["class"], "AUTH_ERROR", "{name}");
        assert_eq!(answer["error"]["message"], message, "{name}");
    }
    assert!(queued(&stack, &stack.config.sync_queue_url)
        .await
        .is_empty());
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

#[tokio::test]
async fn square_signs_the_configured_url_and_the_body() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let ingest = stack.ingest();
    let body = square_customer_created(
        "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
        "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK",
        3,
    )
    .to_string();

    let (status, answer) = invoke_ingest(
        &ingest,
        &webhook_event(
            "square",
            &tenant.id,
            &square_headers(&tenant.square_key, &tenant.square_url, &body),
            &body,
        ),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let messages = queued(&stack, &stack.config.sync_queue_url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        (
            messages[0]["source"].as_str(),
            messages[0]["eventId"].as_str()
        ),
        (Some("square"), Some("sq-A0AP25A6ZH2Z6HZ9H6X6Y3V6RK-v3"))
    );
    assert_eq!(
        messages[0]["webhookId"],
        "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc"
    );

    // Signed for the URL the function sees behind API Gateway, not the configured one.
    let seen_url = format!(
        "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/square/{}",
        tenant.id
    );
    let wrong = [
        (
            "url mismatch",
            square_headers(&tenant.square_key, &seen_url, &body),
            body.clone(),
        ),
        (
            "body only",
            vec![(
                "x-square-hmacsha256-signature",
                shopify_headers(&tenant.square_key, "", "", &body)[0]
                    .1
                    .clone(),
            )],
            body.clone(),
        ),
        (
            "wrong key",
            square_headers("not-the-key", &tenant.square_url, &body),
            body.clone(),
        ),
        (
            "tampered",
            square_headers(&tenant.square_key, &tenant.square_url, &body),
            body.replace("Amelia", "Amelie"),
        ),
        ("missing", vec![], body.clone()),
    ];
    for (name, headers, body) in wrong {
        let (status, answer) = invoke_ingest(
            &ingest,
            &webhook_event("square", &tenant.id, &headers, &body),
        )
        .await;
        assert_eq!(status, 401, "{name}: {answer}");
    }
    assert!(
        queued(&stack, &stack.config.sync_queue_url)
            .await
            .is_empty(),
        "nothing else was queued"
    );
}

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
