//! Redaction: customers/redact and shop/redact erase the master record's
//! personal data and the targets' copies.

use super::*;
use std::time::Duration;
use wiremock::matchers::body_partial_json;
use wiremock::Request;

#[tokio::test]
async fn customers_redact_erases_the_personal_data_and_keeps_a_tombstone() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let worker = stack.worker();
    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(5001, "gone@shop.test", "Gone", "2026-06-01T10:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;
    let redact = json!({"shop_id": 954889, "shop_domain": "test-shop.myshopify.com", "customer": {"id": 5001, "email": "gone@shop.test", "phone": "+16135550142"}, "orders_to_redact": [299938]});
    register(&stack, &tenant, "customers/redact", "evt-redact", &redact).await;
    stack.drain(&worker, Duration::from_secs(20)).await;

    let record = customer(&stack, &tenant, 5001).await;
    assert_eq!(record["deleted"], true);
    assert_eq!(
        record["attributes"]["deletedReason"],
        "redacted (customers/redact)"
    );
    let text = record.to_string();
    assert!(
        !text.contains("gone@shop.test")
            && !text.contains("Gone")
            && !text.contains("+16135550142"),
        "{text}"
    );
    let rows = stack
        .audit_rows(&format!("{}#customer#shopify-5001", tenant.id))
        .await;
    assert!(rows
        .iter()
        .any(|r| r.outcome == "deleted"
            && r.reason.as_deref() == Some("redacted (customers/redact)")));
    assert!(
        !serde_json::to_string(&rows)
            .unwrap()
            .contains("gone@shop.test"),
        "audit rows hold no personal data"
    );
}

#[tokio::test]
async fn redaction_erases_the_targets_copies_where_their_apis_allow() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    targets.square_creates("SQ-ERASE", 1).await;
    targets.hubspot_upserts(1).await;
    Mock::given(method("DELETE"))
        .and(path("/v2/customers/SQ-ERASE"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&targets.square)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/gdpr-delete"))
        .and(body_partial_json(json!({"objectId": "512"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&targets.hubspot)
        .await;
    let worker = targets.worker(&stack, ALL_ON);

    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(6001, "erase@shop.test", "Era", "2026-06-01T10:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;
    assert_eq!(
        customer(&stack, &tenant, 6001).await["crmContactId"],
        "512",
        "the CRM's id is kept for erasure"
    );
    let redact = json!({"shop_id": 954889, "shop_domain": "test-shop.myshopify.com", "customer": {"id": 6001, "email": "erase@shop.test"}, "orders_to_redact": []});
    register(&stack, &tenant, "customers/redact", "evt-redact", &redact).await;
    stack.drain(&worker, Duration::from_secs(20)).await;

    let record = customer(&stack, &tenant, 6001).await;
    assert_eq!(
        (status(&record, "pos"), status(&record, "crm")),
        ("erased".into(), "erased".into())
    );
    assert!(!record.to_string().contains("erase@shop.test"));
    targets.square.verify().await;
    targets.hubspot.verify().await;
}

#[tokio::test]
async fn shop_redact_erases_every_shopify_customer_of_the_tenant_through_the_daily_sync_queue() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/customers"))
        .respond_with(|r: &Request| {
            let sent: Value = serde_json::from_slice(&r.body).unwrap();
            ResponseTemplate::new(200).set_body_json(square_customer(&format!(
                "SQ-{}",
                sent["reference_id"].as_str().unwrap()
            )))
        })
        .expect(2)
        .mount(&targets.square)
        .await;
    targets.hubspot_upserts(2).await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(2)
        .mount(&targets.square)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/gdpr-delete"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&targets.hubspot)
        .await;
    let worker = targets.worker(&stack, ALL_ON);
    for n in [8001u64, 8002] {
        register(
            &stack,
            &tenant,
            "customers/create",
            &format!("evt-{n}"),
            &shopify_customer(n, &format!("c{n}@shop.test"), "Cy", "2026-06-01T10:00:00Z"),
        )
        .await;
    }
    stack.drain(&worker, Duration::from_secs(20)).await;

    register(
        &stack,
        &tenant,
        "shop/redact",
        "evt-shop-redact",
        &json!({"shop_id": 954889, "shop_domain": "test-shop.myshopify.com"}),
    )
    .await;
    // daily-sync consumes its queue: the erasure request becomes one tombstone per customer.
    let out = stack
        .sqs()
        .receive_message()
        .queue_url(&stack.config.runs_queue_url)
        .send()
        .await
        .unwrap();
    let message = out.messages.unwrap().remove(0);
    let sync = synchub_lambda::DailySync::new(&stack.aws, &stack.config);
    let answer = synchub_lambda::daily_sync::handle(
        &sync,
        serde_json::to_value(as_delivered(&message, 1)).unwrap(),
        u64::MAX,
    )
    .await
    .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    stack.drain(&worker, Duration::from_secs(20)).await;

    for n in [8001, 8002] {
        let record = customer(&stack, &tenant, n).await;
        assert_eq!(record["deleted"], true);
        assert_eq!(
            record["attributes"]["deletedReason"],
            "redacted (shop/redact)"
        );
        assert!(!record.to_string().contains("@shop.test"));
        assert_eq!(
            (status(&record, "pos"), status(&record, "crm")),
            ("erased".into(), "erased".into())
        );
    }
    targets.square.verify().await;
    targets.hubspot.verify().await;
}
