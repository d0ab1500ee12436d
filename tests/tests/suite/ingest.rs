//! webhook-ingest through the real handler (API Gateway v2 events in), with
//! secrets in SSM, tenants in DynamoDB Local and the queue in moto.

use serde_json::{json, Value};
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_tests::*;

fn body_text(v: &Value) -> String {
    v.to_string()
}

async fn queued_messages(stack: &TestStack) -> Vec<aws_sdk_sqs::types::Message> {
    stack
        .sqs()
        .receive_message()
        .queue_url(&stack.config.sync_queue_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

#[tokio::test]
async fn a_signed_event_is_on_the_queue_with_its_tenant_as_message_group_when_202_is_answered() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let body = body_text(&supplier_event(
        "evt-1",
        "SKU-1",
        12,
        "2026-06-01T10:00:00Z",
    ));
    let event = apigw_event(
        &tenant.id,
        &signed_headers(&tenant.secret, "msg_1", &body),
        &body,
    );

    let (status, answer) = invoke_ingest(&stack.ingest(), &event).await;

    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["eventId"], "evt-1");
    let correlation = answer["correlationId"].as_str().unwrap();
    assert!(
        correlation.starts_with(&format!("sync-{}-", tenant.id)),
        "{correlation}"
    );
    let messages = queued_messages(&stack).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    let queued: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    assert_eq!(queued["tenantId"], tenant.id.as_str());
    assert_eq!(queued["correlationId"], correlation);
    assert_eq!(queued["payload"]["sku"], "SKU-1");
    assert_eq!(answer["messageId"], message.message_id().unwrap());
    let group = message
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId));
    assert_eq!(group.map(String::as_str), Some(tenant.id.as_str()));
    assert_eq!(
        message.message_attributes().unwrap()["correlationId"].string_value(),
        Some(correlation)
    );
}

#[tokio::test]
async fn every_authentication_failure_is_401_naming_why_and_enqueues_nothing() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let ingest = stack.ingest();
    let body = body_text(&supplier_event(
        "evt-1",
        "SKU-1",
        12,
        "2026-06-01T10:00:00Z",
    ));
    let now = synchub_core::domain::time::now_millis() / 1000;
    let good = signed_headers(&tenant.secret, "msg_1", &body);
    let with = |name: &'static str, value: Option<String>| -> Vec<(&'static str, String)> {
        let mut h: Vec<_> = good.iter().filter(|(k, _)| *k != name).cloned().collect();
        if let Some(v) = value {
            h.push((name, v));
        }
        h
    };
    let signed_at = |ts: i64| {
        vec![
            ("webhook-id", "msg_1".to_owned()),
            ("webhook-timestamp", ts.to_string()),
            (
                "webhook-signature",
                tenant.secret.sign("msg_1", ts, body.as_bytes()),
            ),
        ]
    };
    let other = WebhookSecret::parse(&synchub_cli::local::new_signing_secret()).unwrap();
    // (case, headers, body, the field the answer must name)
    type Case = (
        &'static str,
        Vec<(&'static str, String)>,
        String,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "missing id",
            with("webhook-id", None),
            body.clone(),
            "missing webhook-id header",
        ),
        (
            "missing timestamp",
            with("webhook-timestamp", None),
            body.clone(),
            "missing webhook-timestamp header",
        ),
        (
            "missing signature",
            with("webhook-signature", None),
            body.clone(),
            "missing webhook-signature header",
        ),
        (
            "timestamp not a number",
            with("webhook-timestamp", Some("soon".into())),
            body.clone(),
            "malformed webhook-timestamp header: must be unix seconds",
        ),
        (
            "signature without version",
            with("webhook-signature", Some("abc".into())),
            body.clone(),
            "malformed webhook-signature header: each signature must look like v1,<base64>",
        ),
        (
            "stale timestamp",
            signed_at(now - 301),
            body.clone(),
            "webhook-timestamp is more than 5 minutes away from the current time",
        ),
        (
            "future timestamp",
            // 30 s past the tolerance: a loaded machine may take seconds
            // between signing and checking, which brings a future stamp
            // closer (the exact boundary is the domain's unit test).
            signed_at(now + 330),
            body.clone(),
            "webhook-timestamp is more than 5 minutes away from the current time",
        ),
        (
            "wrong secret",
            signed_headers(&other, "msg_1", &body),
            body.clone(),
            "no valid signature for this tenant",
        ),
        (
            "tampered body",
            good.clone(),
            body.replace("12", "13"),
            "no valid signature for this tenant",
        ),
    ];
    for (name, headers, sent_body, message) in cases {
        let (status, answer) =
            invoke_ingest(&ingest, &apigw_event(&tenant.id, &headers, &sent_body)).await;
        assert_eq!(status, 401, "{name}: {answer}");
        assert_eq!(answer["error"]["class"], "AUTH_ERROR", "{name}");
        assert_eq!(answer["error"]["message"], message, "{name}");
    }
    assert!(
        queued_messages(&stack).await.is_empty(),
        "nothing may be enqueued"
    );
}

#[tokio::test]
async fn an_unknown_tenant_gets_exactly_the_answer_a_bad_signature_gets() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let ingest = stack.ingest();
    let body = body_text(&supplier_event(
        "evt-1",
        "SKU-1",
        12,
        "2026-06-01T10:00:00Z",
    ));
    let other = WebhookSecret::parse(&synchub_cli::local::new_signing_secret()).unwrap();

    let (s1, mut unknown) = invoke_ingest(
        &ingest,
        &apigw_event(
            "no-such-shop",
            &signed_headers(&tenant.secret, "m", &body),
            &body,
        ),
    )
    .await;
    let (s2, mut bad_sig) = invoke_ingest(
        &ingest,
        &apigw_event(&tenant.id, &signed_headers(&other, "m", &body), &body),
    )
    .await;
    let (s3, mut bad_id) = invoke_ingest(
        &ingest,
        &apigw_event(
            "no#such",
            &signed_headers(&tenant.secret, "m", &body),
            &body,
        ),
    )
    .await;

    for v in [&mut unknown, &mut bad_sig, &mut bad_id] {
        v.as_object_mut().unwrap().remove("correlationId");
    }
    assert_eq!((s1, s2, s3), (401, 401, 401));
    assert_eq!(unknown, bad_sig);
    assert_eq!(bad_id, bad_sig);
}

#[tokio::test]
async fn a_rotated_key_list_accepts_either_secret_and_several_signatures_need_one_match() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let next = synchub_cli::local::new_signing_secret();
    let settings = synchub_core::ports::TenantSettings {
        tenant_id: tenant.id.clone(),
        name: "t".into(),
        active: true,
        storefront_url: None,
        targets_disabled: vec![],
        alert_recipients: vec![],
        daily_summary: false,
        square_notification_url: None,
        flag_overrides: Default::default(),
        sync_method: None,
        allowed_suppliers: vec![],
        pos: vec![],
    };
    synchub_cli::local::seed_tenant(
        &stack.aws,
        &stack.config,
        &settings,
        &format!("{} {next}", tenant.secret_text),
    )
    .await
    .unwrap();
    let ingest = stack.ingest();
    let next = WebhookSecret::parse(&next).unwrap();
    let body = body_text(&supplier_event(
        "evt-1",
        "SKU-1",
        12,
        "2026-06-01T10:00:00Z",
    ));

    let (status, _) = invoke_ingest(
        &ingest,
        &apigw_event(&tenant.id, &signed_headers(&next, "m1", &body), &body),
    )
    .await;
    assert_eq!(status, 202);
    let mut headers = signed_headers(&tenant.secret, "m2", &body);
    let ts: i64 = headers[1].1.parse().unwrap();
    let wrong = WebhookSecret::parse(&synchub_cli::local::new_signing_secret())
        .unwrap()
        .sign("m2", ts, body.as_bytes());
    headers[2].1 = format!("{wrong} v1a,ignored {}", headers[2].1);
    let (status, answer) = invoke_ingest(&ingest, &apigw_event(&tenant.id, &headers, &body)).await;
    assert_eq!(status, 202, "{answer}");
}

#[tokio::test]
async fn invalid_json_and_fields_get_400_naming_the_field_and_rule() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let ingest = stack.ingest();
    let ok = supplier_event("evt-1", "SKU-1", 12, "2026-06-01T10:00:00Z");
    let with = |field: &str, value: Value| {
        let mut v = ok.clone();
        v[field] = value;
        v.to_string()
    };
    let cases = vec![
        ("{\"eventId\": ".to_owned(), "body", None),
        ("[]".to_owned(), "body", Some("must be a JSON object")),
        (
            with("quantity", json!(-3)),
            "quantity",
            Some("must be a whole number from 0 to 1000000000"),
        ),
        (
            with("quantity", json!("7")),
            "quantity",
            Some("must be a whole number from 0 to 1000000000"),
        ),
        (with("sku", json!("")), "sku", Some("must not be empty")),
        (
            with("sku", json!("SKU 1")),
            "sku",
            Some("must contain only letters, digits, '-', '_', '.' and '/' (found ' ')"),
        ),
        (
            with("updatedAt", json!("2026-13-01")),
            "updatedAt",
            Some("must be an RFC 3339 timestamp with a UTC offset, e.g. 2026-06-01T10:00:00Z"),
        ),
        (with("eventId", Value::Null), "eventId", Some("is required")),
        (
            with("price", json!(-1)),
            "price",
            Some("must be a number from 0 to 1000000000"),
        ),
    ];
    for (i, (body, field, rule)) in cases.into_iter().enumerate() {
        let event = apigw_event(
            &tenant.id,
            &signed_headers(&tenant.secret, &format!("m{i}"), &body),
            &body,
        );
        let (status, answer) = invoke_ingest(&ingest, &event).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["class"], "VALIDATION_ERROR");
        assert_eq!(answer["error"]["field"], field, "{body}");
        if let Some(rule) = rule {
            assert_eq!(answer["error"]["rule"], rule, "{body}");
        } else {
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("body is not valid JSON"),
                "{answer}"
            );
        }
    }
    assert!(queued_messages(&stack).await.is_empty());
}

#[tokio::test]
async fn ids_made_of_path_segments_get_400_naming_the_field() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let ingest = stack.ingest();
    let ok = supplier_event("evt-1", "SKU-1", 12, "2026-06-01T10:00:00Z");
    let cases = [
        ("sku", "../SKU-1"),
        ("sku", ".."),
        ("sku", "catalog/../SKU-1"),
        ("sku", "SKU-1/."),
        ("supplierId", ".."),
        ("eventId", "."),
    ];
    for (i, (field, id)) in cases.into_iter().enumerate() {
        let mut v = ok.clone();
        v[field] = json!(id);
        let body = v.to_string();
        let event = apigw_event(
            &tenant.id,
            &signed_headers(&tenant.secret, &format!("m{i}"), &body),
            &body,
        );
        let (status, answer) = invoke_ingest(&ingest, &event).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["class"], "VALIDATION_ERROR");
        assert_eq!(
            (
                answer["error"]["field"].as_str(),
                answer["error"]["rule"].as_str()
            ),
            (
                Some(field),
                Some("must not contain '.' or '..' path segments")
            ),
            "{body}"
        );
    }
    assert!(queued_messages(&stack).await.is_empty());
}

#[tokio::test]
async fn a_number_that_does_not_fit_gets_400_naming_its_field() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    // serde_json cannot build this value: the body is written as text.
    let body = supplier_event("evt-1", "SKU-1", 12, "2026-06-01T10:00:00Z")
        .to_string()
        .replace("\"quantity\":12", "\"quantity\":1e400");
    assert!(body.contains("1e400"), "{body}");
    let event = apigw_event(
        &tenant.id,
        &signed_headers(&tenant.secret, "m1", &body),
        &body,
    );
    let (status, answer) = invoke_ingest(&stack.ingest(), &event).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["class"], "VALIDATION_ERROR");
    assert_eq!(
        (
            answer["error"]["field"].as_str(),
            answer["error"]["rule"].as_str()
        ),
        (Some("quantity"), Some("number out of range"))
    );
    assert!(queued_messages(&stack).await.is_empty());
}

#[tokio::test]
async fn a_body_over_256_kb_gets_413_before_any_lookup() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let mut event = supplier_event("evt-1", "SKU-1", 12, "2026-06-01T10:00:00Z");
    event["name"] = json!("x".repeat(256 * 1024));
    let body = event.to_string();
    let (status, answer) = invoke_ingest(
        &stack.ingest(),
        &apigw_event(
            &tenant.id,
            &signed_headers(&tenant.secret, "m", &body),
            &body,
        ),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(answer["error"]["rule"], "must be at most 262144 bytes");
    assert_eq!(answer["error"]["field"], "body");
}

#[tokio::test]
async fn a_base64_encoded_body_is_verified_on_its_raw_bytes() {
    use base64::Engine;
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let body = body_text(&supplier_event(
        "evt-1",
        "SKU-1",
        12,
        "2026-06-01T10:00:00Z",
    ));
    let mut event = apigw_event(&tenant.id, &signed_headers(&tenant.secret, "m", &body), "");
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&body));
    event["isBase64Encoded"] = json!(true);
    let (status, answer) = invoke_ingest(&stack.ingest(), &event).await;
    assert_eq!(status, 202, "{answer}");
}

#[tokio::test]
async fn when_the_queue_is_unreachable_the_sender_gets_503_to_retry_never_202() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let mut config = stack.config.clone();
    config.sync_queue_url = format!("{}-missing", config.sync_queue_url);
    let ingest = synchub_lambda::Ingest::new(&stack.aws, &config);
    let body = body_text(&supplier_event(
        "evt-1",
        "SKU-1",
        12,
        "2026-06-01T10:00:00Z",
    ));
    let (status, answer) = invoke_ingest(
        &ingest,
        &apigw_event(
            &tenant.id,
            &signed_headers(&tenant.secret, "m", &body),
            &body,
        ),
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "the event could not be accepted right now; retry later"
    );
}

#[tokio::test]
async fn a_malformed_secret_in_ssm_is_a_500_for_operators_not_a_401() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let settings = synchub_core::ports::TenantSettings {
        tenant_id: tenant.id.clone(),
        name: "t".into(),
        active: true,
        storefront_url: None,
        targets_disabled: vec![],
        alert_recipients: vec![],
        daily_summary: false,
        square_notification_url: None,
        flag_overrides: Default::default(),
        sync_method: None,
        allowed_suppliers: vec![],
        pos: vec![],
    };
    synchub_cli::local::seed_tenant(&stack.aws, &stack.config, &settings, "not-a-secret")
        .await
        .unwrap();
    let body = body_text(&supplier_event(
        "evt-1",
        "SKU-1",
        12,
        "2026-06-01T10:00:00Z",
    ));
    let (status, answer) = invoke_ingest(
        &stack.ingest(),
        &apigw_event(
            &tenant.id,
            &signed_headers(&tenant.secret, "m", &body),
            &body,
        ),
    )
    .await;
    assert_eq!(status, 500);
    assert!(
        !answer.to_string().contains("not-a-secret"),
        "a secret value must never be echoed: {answer}"
    );
}
