//! Each provider's signature scheme, and every way it can be wrong.

use super::*;

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
    // (case, path, headers, body, the field or rule the answer must name)
    type Case = (
        &'static str,
        String,
        Vec<(&'static str, String)>,
        String,
        &'static str,
    );
    let cases: Vec<Case> = vec![
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
