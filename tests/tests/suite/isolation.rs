//! Tenant isolation at every door (issue 14), against the local engines:
//! a webhook signed with tenant B's own secret (or key) sent to tenant A's
//! path is refused and queues nothing, on the supplier, Shopify and Square
//! routes; B's ids asked for on A's API routes show nothing of B's; A's dead
//! letters never show in B's replay nor are re-driven by it, even one the
//! failure log holds under B.

use serde_json::{json, Value};
use synchub_core::domain::alert::Failure;
use synchub_core::domain::provider_webhook::{signed_parts, Provider, ProviderKey};
use synchub_core::ports::FailureLog;
use synchub_tests::api_contract::*;
use synchub_tests::square_server::SquareData;
use synchub_tests::*;

async fn queue_depth(stack: &TestStack) -> usize {
    stack.queue().depth().await.expect("depth")
}

#[tokio::test]
async fn a_supplier_webhook_signed_with_another_tenants_secret_is_refused() {
    let stack = TestStack::new().await;
    let (a, b) = (stack.tenant(None).await, stack.tenant(None).await);
    let ingest = stack.ingest();
    let body = supplier_event("evt-1", "SKU-1", 5, &at_minute(1)).to_string();

    // B's valid signature, on A's path; and A's, on B's.
    for (path_tenant, signer) in [(&a, &b), (&b, &a)] {
        let headers = signed_headers(&signer.secret, "msg_1", &body);
        let (status, answer) =
            invoke_ingest(&ingest, &apigw_event(&path_tenant.id, &headers, &body)).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"]["class"], "AUTH_ERROR", "{answer}");
    }
    assert_eq!(queue_depth(&stack).await, 0, "nothing was queued");
    // Each on its own path is accepted: the refusals were about the tenant.
    for tenant in [&a, &b] {
        let headers = signed_headers(&tenant.secret, "msg_1", &body);
        let (status, answer) =
            invoke_ingest(&ingest, &apigw_event(&tenant.id, &headers, &body)).await;
        assert_eq!(status, 202, "{answer}");
    }
}

#[tokio::test]
async fn a_provider_webhook_signed_with_another_tenants_key_is_refused() {
    let stack = TestStack::new().await;
    let a = stack.provider_tenant(vec![]).await;
    let b = stack.provider_tenant(vec![]).await;
    let ingest = stack.ingest();

    let customer =
        shopify_customer(7, "a@example.com", "Ada", "2026-06-01T10:00:00-00:00").to_string();
    let b_signed = shopify_headers(&b.shopify_secret, "customers/create", "e-1", &customer);
    let (status, answer) = invoke_ingest(
        &ingest,
        &webhook_event("shopify", &a.id, &b_signed, &customer),
    )
    .await;
    assert_eq!(status, 401, "Shopify, B's secret on A's path: {answer}");

    let notice = json!({"merchant_id": "6SSW7HV8K2ST5", "type": "customer.created", "event_id": "sq-1", "created_at": "2026-06-01T10:00:00.528Z",
        "data": {"type": "customer", "id": "C1", "object": {"customer": {"id": "C1", "updated_at": "2026-06-01T10:00:00Z", "given_name": "Grace", "version": 1}}}}).to_string();
    // B's key over A's URL (what A's subscription signs), and over B's own.
    for url in [&a.square_url, &b.square_url] {
        let signature = ProviderKey::new(&b.square_key).sign(&signed_parts(
            Provider::Square,
            url,
            notice.as_bytes(),
        ));
        let headers = vec![("x-square-hmacsha256-signature", signature)];
        let (status, answer) =
            invoke_ingest(&ingest, &webhook_event("square", &a.id, &headers, &notice)).await;
        assert_eq!(
            status, 401,
            "Square, B's key over {url} on A's path: {answer}"
        );
    }
    assert_eq!(queue_depth(&stack).await, 0, "nothing was queued");
    let a_signed = square_headers(&a.square_key, &a.square_url, &notice);
    let (status, answer) =
        invoke_ingest(&ingest, &webhook_event("square", &a.id, &a_signed, &notice)).await;
    assert_eq!(status, 202, "A's own key is accepted: {answer}");
}

#[tokio::test]
async fn b_ids_on_a_routes_show_nothing_of_b() {
    let s = setup(SquareData::empty()).await;
    let (a, b) = (s.tenant().await, s.tenant().await);
    s.deliver(&b, "SKU-B", &[("evt-b", 1)]).await;
    s.deliver(&a, "SKU-A", &[("evt-a", 1)]).await;

    // B's entity by its id, on A's trace.
    let trace = format!("/api/tenants/{a}/trace");
    let answer = get(&s.api, &trace, &[("kind", "catalog_item"), ("id", "SKU-B")]).await;
    assert!(
        matches!(answer.status, 200 | 404),
        "{}: {}",
        answer.status,
        answer.body
    );
    let text = answer.body.to_string();
    assert!(
        !text.contains("evt-b") && !text.contains(b.as_str()),
        "A's trace shows B's delivery: {text}"
    );
    // B's key, spelled into the id, is refused rather than looked up.
    for id in [format!("{b}#catalog_item#SKU-B"), format!("../{b}/SKU-B")] {
        let answer = get(&s.api, &trace, &[("kind", "catalog_item"), ("id", &id)]).await;
        assert_eq!(answer.status, 400, "{id}: {}", answer.body);
        assert_eq!(answer.body["error"]["field"], "id", "{}", answer.body);
    }
    // A's own entity is there, so the trace does answer.
    let answer = get(&s.api, &trace, &[("kind", "catalog_item"), ("id", "SKU-A")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.to_string().contains("evt-a"), "{}", answer.body);
}

#[tokio::test]
async fn a_dead_letters_never_show_in_b_replay_nor_are_sent_by_it() {
    let s = setup(SquareData::empty()).await;
    let (a, b) = (s.stack.tenant(None).await, s.stack.tenant(None).await);
    let now = synchub_core::domain::time::now_millis();
    let dead_letter = |holder: &str, body_tenant: &str, n: u32| Failure {
        tenant_id: holder.to_owned(),
        source: "webhook:supplier".into(),
        error_class: synchub_core::ErrorClass::ValidationError,
        reason: "tenant was not configured".into(),
        subject_id: format!("e{n}"),
        correlation_id: format!("sync-{holder}-1-test"),
        entity: Some(format!("SKU-{n}")),
        at_millis: now - 60_000,
        key: format!("dlq-msg-{n}"),
        dead_letter_body: Some(queued(
            body_tenant,
            &supplier_event(&format!("e{n}"), &format!("SKU-{n}"), 4, &at_minute(4)),
        )),
    };
    // A's dead letter, and one about A that the failure log holds under B.
    for failure in [dead_letter(&a.id, &a.id, 1), dead_letter(&b.id, &a.id, 2)] {
        s.api.failures.record(&failure).await.unwrap();
    }
    let now_text = |offset: i64| {
        synchub_core::domain::time::canonical_time(
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now + offset) * 1_000_000)
                .unwrap(),
        )
    };
    let window = |dry_run: bool| {
        json!({"since": now_text(-3_600_000), "until": now_text(60_000), "dryRun": dry_run})
            .to_string()
    };

    let mut contract = Contract::new();
    for dry_run in [true, false] {
        let answer = post(
            &s.api,
            &format!("/api/tenants/{}/replay", b.id),
            &window(dry_run),
        )
        .await;
        assert!(matches!(answer.status, 200 | 202), "{}", answer.body);
        contract.check(
            "POST /api/tenants/{tenantId}/replay",
            answer.status,
            &answer.body,
        );
        assert_eq!(answer.body["deadLetters"], 0, "{:#}", answer.body);
        assert_eq!(answer.body["items"], json!([]), "{:#}", answer.body);
        assert_eq!(answer.body["sent"], 0, "{:#}", answer.body);
    }
    assert_eq!(
        s.queue_depth(&s.stack.config.sync_queue_url).await,
        0,
        "B's replay sent nothing"
    );
    // A's replay has its own dead letter.
    let answer = post(
        &s.api,
        &format!("/api/tenants/{}/replay", a.id),
        &window(true),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let ids: Vec<&Value> = answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(ids, vec![&json!("SKU-1")], "{:#}", answer.body);
}
