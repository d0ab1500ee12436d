//! Target failures: a POS outage and the backfill, Retry-After, auth and
//! multi-status errors, a tenant switch, a redelivery after a crash.

use super::*;
use std::time::{Duration, Instant};
use synchub_lambda::sqs::handle_sync_batch;
use wiremock::Request;

#[tokio::test]
async fn a_pos_outage_never_blocks_registration_or_crm_and_backfill_sends_each_missing_customer_once(
) {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    Mock::given(method("POST")).and(path("/v2/customers"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"errors": [{"category": "API_ERROR", "code": "SERVICE_UNAVAILABLE", "detail": "down"}]})))
        .mount(&targets.square).await;
    targets.hubspot_upserts(3).await;
    let worker = targets.worker(&stack, ALL_ON);

    for (n, email) in [
        (2001u64, "a@shop.test"),
        (2002, "b@shop.test"),
        (2003, "c@shop.test"),
    ] {
        register(
            &stack,
            &tenant,
            "customers/create",
            &format!("evt-{n}"),
            &shopify_customer(n, email, "Ann", "2026-06-01T10:00:00Z"),
        )
        .await;
    }
    stack.drain(&worker, Duration::from_secs(60)).await;
    for n in [2001, 2002, 2003] {
        let record = customer(&stack, &tenant, n).await;
        assert_eq!(status(&record, "crm"), "success");
        assert_eq!(status(&record, "pos"), "failed (NETWORK_ERROR)");
        assert_eq!(
            record["posSync"]["attempts"], 3,
            "retried inside the budget"
        );
    }
    assert_eq!(targets.square.received_requests().await.unwrap().len(), 9);

    // The POS recovers: backfill sends each missing customer exactly once.
    targets.square.reset().await;
    Mock::given(method("POST"))
        .and(path("/v2/customers"))
        .respond_with(|r: &Request| {
            let sent: Value = serde_json::from_slice(&r.body).unwrap();
            ResponseTemplate::new(200).set_body_json(square_customer(&format!(
                "SQ-{}",
                sent["reference_id"].as_str().unwrap()
            )))
        })
        .expect(3)
        .mount(&targets.square)
        .await;
    let tenant_id = synchub_core::domain::TenantId::parse(&tenant.id).unwrap();
    let dry = synchub_cli::backfill::run(
        &worker.targets,
        &worker.items,
        &worker.tenants,
        ALL_ON,
        &tenant_id,
        "pos",
        None,
        true,
    )
    .await
    .unwrap();
    assert_eq!(dry.1.len(), 3);
    assert!(
        dry.1.iter().all(|i| i.result.is_none()),
        "a dry run sends nothing"
    );
    let (report, items) = synchub_cli::backfill::run(
        &worker.targets,
        &worker.items,
        &worker.tenants,
        ALL_ON,
        &tenant_id,
        "pos",
        None,
        false,
    )
    .await
    .unwrap();
    let mut ids: Vec<&str> = items.iter().map(|i| i.customer_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["shopify-2001", "shopify-2002", "shopify-2003"]);
    assert!(
        report.contains("3 customer(s) needed pos; 3 sent"),
        "{report}"
    );
    assert_eq!(
        customer(&stack, &tenant, 2002).await["squareCustomerId"],
        "SQ-shopify-2002"
    );
    // Safe to run twice: nothing is missing any more.
    let (_, again) = synchub_cli::backfill::run(
        &worker.targets,
        &worker.items,
        &worker.tenants,
        ALL_ON,
        &tenant_id,
        "pos",
        None,
        false,
    )
    .await
    .unwrap();
    assert!(again.is_empty());
    targets.square.verify().await;

    // A target that is off cannot be backfilled.
    let off = synchub_cli::backfill::run(
        &worker.targets,
        &worker.items,
        &worker.tenants,
        TargetFlags::default(),
        &tenant_id,
        "pos",
        None,
        false,
    )
    .await;
    assert_eq!(
        off.unwrap_err().to_string(),
        "ENABLE_POS_SYNC is off: switch the target on before backfilling it"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_auth_errors_are_not_retried() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/customers"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(
                    json!({"errors": [{"category": "RATE_LIMIT_ERROR", "code": "RATE_LIMITED"}]}),
                ),
        )
        .up_to_n_times(1)
        .mount(&targets.square)
        .await;
    targets.square_creates("SQ-LATE", 1).await;
    Mock::given(method("POST")).and(path("/crm/v3/objects/contacts/batch/upsert"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"})))
        .expect(1).mount(&targets.hubspot).await;
    let worker = targets.worker(&stack, ALL_ON);

    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(3001, "r@shop.test", "Rae", "2026-06-01T10:00:00Z"),
    )
    .await;
    let started = Instant::now();
    stack.drain(&worker, Duration::from_secs(30)).await;

    let record = customer(&stack, &tenant, 3001).await;
    assert_eq!(status(&record, "pos"), "success");
    assert_eq!(record["posSync"]["attempts"], 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited the Retry-After second"
    );
    assert_eq!(status(&record, "crm"), "failed (AUTH_ERROR)");
    assert_eq!(record["crmSync"]["attempts"], 1);
    assert!(record["crmSync"]["last_error"]
        .as_str()
        .unwrap()
        .contains("401"));
    targets.square.verify().await;
    targets.hubspot.verify().await;
}

#[tokio::test]
async fn a_hubspot_multi_status_failure_is_recorded_per_record_and_a_tenant_switch_turns_a_target_off(
) {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec!["pos".into()]).await;
    let targets = Targets::start().await;
    targets.square_creates("never", 0).await;
    Mock::given(method("POST")).and(path("/crm/v3/objects/contacts/batch/upsert"))
        .respond_with(ResponseTemplate::new(207).set_body_json(json!({"status": "COMPLETE", "results": [], "numErrors": 1,
            "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "Property values were not valid", "context": {}}],
            "startedAt": "2026-06-01T10:00:01.000Z", "completedAt": "2026-06-01T10:00:01.100Z"})))
        .expect(1).mount(&targets.hubspot).await;
    let worker = targets.worker(&stack, ALL_ON);

    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(4001, "v@shop.test", "Val", "2026-06-01T10:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;

    let record = customer(&stack, &tenant, 4001).await;
    assert_eq!(
        status(&record, "pos"),
        "skipped (disabled)",
        "the tenant switched the POS off"
    );
    assert_eq!(status(&record, "crm"), "failed (VALIDATION_ERROR)");
    assert!(record["crmSync"]["last_error"]
        .as_str()
        .unwrap()
        .contains("Property values were not valid"));
    targets.square.verify().await;
    targets.hubspot.verify().await;
}

#[tokio::test]
async fn a_redelivery_after_a_crash_before_the_audit_row_calls_no_target_twice() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    targets.square_creates("SQ-ONCE", 1).await;
    targets.hubspot_upserts(1).await;
    let worker = targets.worker(&stack, ALL_ON);
    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(7001, "once@shop.test", "One", "2026-06-01T10:00:00Z"),
    )
    .await;
    let message = take_one(&stack).await;
    let event = |receive_count: u32| as_delivered(&message, receive_count);
    handle_sync_batch(&worker, event(1)).await;
    // The first invocation died after the targets but before its audit row.
    let pk = format!("{}#customer#shopify-7001", tenant.id);
    for row in stack.audit_rows(&pk).await {
        stack
            .dynamo()
            .delete_item()
            .table_name(&stack.config.audit_table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(row.pk.clone()),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(row.sk.clone()),
            )
            .send()
            .await
            .unwrap();
    }
    let again = handle_sync_batch(&worker, event(2)).await;
    assert!(again.batch_item_failures.is_empty());

    let rows = stack.audit_rows(&pk).await;
    assert_eq!(rows.len(), 1, "the redelivery records the row");
    assert_eq!(
        rows[0].targets["pos"].status, "success",
        "what was done is reported, not redone"
    );
    targets.square.verify().await;
    targets.hubspot.verify().await;
}
