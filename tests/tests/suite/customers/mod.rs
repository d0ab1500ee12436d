//! Customer registration fan-out end to end: Shopify webhook → ingest → queue
//! → worker → master record → POS (Square Customers API) and CRM (HubSpot
//! contacts batch upsert), served by local servers with the providers'
//! documented payload shapes; the flags, the ledger, isolation, retries and
//! the backfill.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use synchub_core::app::customers::TargetFlags;
use synchub_lambda::sqs::handle_sync_batch;
use synchub_lambda::Worker;
use synchub_tests::*;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ALL_ON: TargetFlags = TargetFlags {
    pos: true,
    crm: true,
    updates: true,
};

fn square_customer(id: &str) -> Value {
    // Square's CreateCustomer response shape.
    json!({"customer": {"id": id, "created_at": "2026-06-01T10:00:01.000Z", "updated_at": "2026-06-01T10:00:01Z",
        "given_name": "Bob", "family_name": "Biller", "email_address": "bob@biller.com", "reference_id": "shopify-1",
        "preferences": {"email_unsubscribed": false}, "creation_source": "THIRD_PARTY", "version": 0}})
}

fn hubspot_ok() -> Value {
    // HubSpot's batch upsert response shape (200, COMPLETE).
    json!({"status": "COMPLETE", "results": [{"id": "512", "properties": {"email": "bob@biller.com", "firstname": "Bob"},
        "createdAt": "2026-06-01T10:00:01.000Z", "updatedAt": "2026-06-01T10:00:01.000Z", "archived": false, "new": true}],
        "startedAt": "2026-06-01T10:00:01.000Z", "completedAt": "2026-06-01T10:00:01.100Z"})
}

struct Targets {
    square: MockServer,
    hubspot: MockServer,
}

impl Targets {
    async fn start() -> Self {
        Self {
            square: MockServer::start().await,
            hubspot: MockServer::start().await,
        }
    }

    async fn square_creates(&self, id: &str, expected: u64) {
        Mock::given(method("POST"))
            .and(path("/v2/customers"))
            .and(header("authorization", "Bearer EAAA-square-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(square_customer(id)))
            .expect(expected)
            .mount(&self.square)
            .await;
    }

    async fn hubspot_upserts(&self, expected: u64) {
        Mock::given(method("POST"))
            .and(path("/crm/v3/objects/contacts/batch/upsert"))
            .and(header("authorization", "Bearer pat-na1-hubspot-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(hubspot_ok()))
            .expect(expected)
            .mount(&self.hubspot)
            .await;
    }

    fn worker(&self, stack: &TestStack, flags: TargetFlags) -> Worker {
        stack.worker_with_targets(flags, &self.square.uri(), &self.hubspot.uri())
    }
}

async fn register(
    stack: &TestStack,
    tenant: &ProviderTenant,
    topic: &str,
    event_id: &str,
    payload: &Value,
) {
    let body = payload.to_string();
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
    assert_eq!(status, 202, "{answer}");
}

async fn customer(stack: &TestStack, tenant: &ProviderTenant, shopify_id: u64) -> Value {
    stack
        .entity(&tenant.id, "customer", &format!("shopify-{shopify_id}"))
        .await
        .expect("master record")
}

/// Takes the one queued message, as the SQS event source would.
async fn take_one(stack: &TestStack) -> aws_sdk_sqs::types::Message {
    let out = stack
        .sqs()
        .receive_message()
        .queue_url(&stack.config.sync_queue_url)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    out.messages.unwrap().remove(0)
}

/// The message as a one-record SQS event on its `receive_count`th delivery.
fn as_delivered(
    message: &aws_sdk_sqs::types::Message,
    receive_count: u32,
) -> aws_lambda_events::sqs::SqsEvent {
    let mut m = aws_lambda_events::sqs::SqsMessage::default();
    m.message_id = message.message_id.clone();
    m.body = message.body.clone();
    m.attributes
        .insert("ApproximateReceiveCount".into(), receive_count.to_string());
    let mut e = aws_lambda_events::sqs::SqsEvent::default();
    e.records = vec![m];
    e
}

fn status(record: &Value, target: &str) -> String {
    record[format!("{target}Sync")]["status"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

#[tokio::test]
async fn flags_off_means_no_target_call_and_a_skipped_ledger() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    targets.square_creates("SQ-1", 0).await;
    targets.hubspot_upserts(0).await;
    let worker = targets.worker(&stack, TargetFlags::default());

    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(1001, "bob@biller.com", "Bob", "2026-06-01T10:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;

    let record = customer(&stack, &tenant, 1001).await;
    assert_eq!(
        record["attributes"]["email"], "bob@biller.com",
        "the master record is written first, whatever the targets"
    );
    assert_eq!(
        (status(&record, "pos"), status(&record, "crm")),
        ("skipped (disabled)".into(), "skipped (disabled)".into())
    );
    let rows = stack
        .audit_rows(&format!("{}#customer#shopify-1001", tenant.id))
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].targets["pos"].status, "skipped (disabled)");
    assert_eq!(rows[0].targets["crm"].status, "skipped (disabled)");
    targets.square.verify().await;
    targets.hubspot.verify().await;
}

#[tokio::test]
async fn flags_on_call_each_target_exactly_once_even_when_sqs_redelivers() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    targets.square_creates("SQ-CUST-1", 1).await;
    targets.hubspot_upserts(1).await;
    let worker = targets.worker(&stack, ALL_ON);

    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(1002, "bob@biller.com", "Bob", "2026-06-01T10:00:00Z"),
    )
    .await;
    // Take the message as SQS would hand it over, then hand it over again.
    let message = take_one(&stack).await;
    let event = |receive_count: u32| as_delivered(&message, receive_count);
    let first = handle_sync_batch(&worker, event(1)).await;
    let again = handle_sync_batch(&worker, event(2)).await;
    assert!(first.batch_item_failures.is_empty() && again.batch_item_failures.is_empty());

    let record = customer(&stack, &tenant, 1002).await;
    assert_eq!(
        (status(&record, "pos"), status(&record, "crm")),
        ("success".into(), "success".into())
    );
    assert_eq!(
        record["squareCustomerId"], "SQ-CUST-1",
        "the POS id is kept on the master record"
    );
    let requests = targets.square.received_requests().await.unwrap();
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["email_address"], "bob@biller.com");
    assert_eq!(sent["reference_id"], "shopify-1002");
    assert_eq!(sent["idempotency_key"].as_str().map(str::len), Some(40));
    let upsert: Value =
        serde_json::from_slice(&targets.hubspot.received_requests().await.unwrap()[0].body)
            .unwrap();
    assert_eq!(upsert["inputs"][0]["idProperty"], "email");
    assert_eq!(upsert["inputs"][0]["id"], "bob@biller.com");
    targets.square.verify().await;
    targets.hubspot.verify().await;
}

#[tokio::test]
async fn updates_change_the_master_record_but_call_no_target_unless_update_sync_is_on() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let targets = Targets::start().await;
    targets.square_creates("SQ-UPD", 1).await;
    targets.hubspot_upserts(1).await;
    let worker = targets.worker(
        &stack,
        TargetFlags {
            pos: true,
            crm: true,
            updates: false,
        },
    );

    register(
        &stack,
        &tenant,
        "customers/create",
        "evt-1",
        &shopify_customer(1003, "bob@biller.com", "Bob", "2026-06-01T10:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;
    register(
        &stack,
        &tenant,
        "customers/update",
        "evt-2",
        &shopify_customer(1003, "bob@biller.com", "Robert", "2026-06-01T11:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;

    let record = customer(&stack, &tenant, 1003).await;
    assert_eq!(record["attributes"]["firstName"], "Robert");
    assert_eq!(status(&record, "pos"), "skipped (disabled)");
    targets.square.verify().await;
    targets.hubspot.verify().await;

    // With update sync on, the update goes to the POS by its kept id, and to the CRM.
    targets.hubspot.reset().await;
    targets.hubspot_upserts(1).await;
    Mock::given(method("PUT"))
        .and(path("/v2/customers/SQ-UPD"))
        .and(body_partial_json(json!({"given_name": "Roberto"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(square_customer("SQ-UPD")))
        .expect(1)
        .mount(&targets.square)
        .await;
    let worker = targets.worker(&stack, ALL_ON);
    register(
        &stack,
        &tenant,
        "customers/update",
        "evt-3",
        &shopify_customer(1003, "bob@biller.com", "Roberto", "2026-06-01T12:00:00Z"),
    )
    .await;
    stack.drain(&worker, Duration::from_secs(20)).await;
    assert_eq!(
        status(&customer(&stack, &tenant, 1003).await, "pos"),
        "success"
    );
}

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
