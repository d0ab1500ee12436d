//! The maintenance switch end to end on the local engines (its SSM
//! parameter in moto, DynamoDB Local, the real ingest, worker, daily-sync
//! and sync-api code): while it is on, webhooks are still applied but
//! nothing goes out, and each skipped call is recorded `skipped
//! (maintenance)` so it can be backfilled once it is off; the schedule
//! starts no run, a manual run is refused, and health shows it.

use serde_json::{json, Value};
use std::time::Duration;
use synchub_aws::maintenance::{MaintenanceReading, SsmMaintenanceSwitch};
use synchub_cli::maintenance::{act, MaintenanceAction};
use synchub_core::app::customers::TargetFlags;
use synchub_core::domain::DataType;
use synchub_core::domain::TenantId;
use synchub_core::ports::maintenance::{Maintenance, MaintenanceSwitch};
use synchub_core::ports::RunLog;
use synchub_core::ErrorClass;
use synchub_lambda::{Api, DailySync};
use synchub_tests::api_contract::{get, post, setup, Contract};
use synchub_tests::square_server::SquareData;
use synchub_tests::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ALL_ON: TargetFlags = TargetFlags {
    pos: true,
    crm: true,
    updates: true,
};

/// Flips (or reads) the stack's switch as `synchub maintenance` does.
async fn maintenance(stack: &TestStack, action: MaintenanceAction) -> MaintenanceReading {
    let switch = synchub_lambda::maintenance_switch(&stack.aws, &stack.config);
    act(&switch, action).await.expect("the switch answers")
}

/// The target statuses of an entity's one audit row.
async fn targets(stack: &TestStack, pk: &str) -> Vec<(String, String)> {
    let rows = stack.audit_rows(pk).await;
    assert_eq!(rows.len(), 1, "one audit row per delivery: {rows:?}");
    assert_eq!(rows[0].outcome.to_string(), "applied");
    rows[0]
        .targets
        .iter()
        .map(|(t, s)| (t.clone(), s.status.to_string()))
        .collect()
}

async fn send_supplier_event(stack: &TestStack, tenant: &TestTenant, event: &str, sku: &str) {
    let body = supplier_event(event, sku, 7, &at_minute(1)).to_string();
    let headers = signed_headers(&tenant.secret, &format!("msg_{event}"), &body);
    let (status, answer) =
        invoke_ingest(&stack.ingest(), &apigw_event(&tenant.id, &headers, &body)).await;
    assert_eq!(status, 202, "webhooks are still accepted: {answer}");
}

#[tokio::test]
async fn a_supplier_event_is_applied_while_its_storefront_publish_is_held_back() {
    let stack = TestStack::new().await;
    let storefront = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bust"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1) // the change made after maintenance, only
        .mount(&storefront)
        .await;
    let tenant = stack
        .tenant(Some(format!("{}/bust", storefront.uri())))
        .await;
    let on = maintenance(&stack, MaintenanceAction::On).await;
    assert_eq!(on.maintenance, Maintenance::On);
    assert!(on.changed_at.is_some(), "{on:?}");

    send_supplier_event(&stack, &tenant, "evt-1", "SKU-1").await;
    stack.drain(&stack.worker(), Duration::from_secs(30)).await;

    let item = stack
        .item(&tenant.id, "SKU-1")
        .await
        .expect("applied to our own store");
    assert_eq!(item["quantity"], 7, "{item}");
    assert_eq!(
        targets(&stack, &format!("{}#catalog_item#SKU-1", tenant.id)).await,
        vec![("storefront".to_owned(), "skipped (maintenance)".to_owned())]
    );
    assert!(storefront.received_requests().await.unwrap().is_empty());

    maintenance(&stack, MaintenanceAction::Off).await;
    send_supplier_event(&stack, &tenant, "evt-2", "SKU-2").await;
    // A new worker: a warm one trusts what it read for up to 30 s.
    stack.drain(&stack.worker(), Duration::from_secs(30)).await;
    assert_eq!(
        targets(&stack, &format!("{}#catalog_item#SKU-2", tenant.id)).await,
        vec![("storefront".to_owned(), "success".to_owned())]
    );
    storefront.verify().await;
}

fn shopify_customer_created(id: u64) -> Value {
    shopify_customer(id, "bob@biller.com", "Bob", "2026-06-01T10:00:00-00:00")
}

#[tokio::test]
async fn a_customer_is_held_back_from_pos_and_crm_then_backfilled_once_maintenance_is_off() {
    let stack = TestStack::new().await;
    let tenant = stack.provider_tenant(vec![]).await;
    let (square, hubspot) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .and(path("/v2/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"customer": {
            "id": "SQ-7", "created_at": "2026-06-01T10:00:01.000Z", "updated_at": "2026-06-01T10:00:01Z",
            "given_name": "Bob", "email_address": "bob@biller.com", "reference_id": "shopify-3001", "version": 0}})))
        .expect(1)
        .mount(&square)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/batch/upsert"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "COMPLETE",
            "results": [{"id": "512", "properties": {"email": "bob@biller.com"}, "createdAt": "2026-06-01T10:00:01.000Z",
            "updatedAt": "2026-06-01T10:00:01.000Z", "archived": false, "new": true}],
            "startedAt": "2026-06-01T10:00:01.000Z", "completedAt": "2026-06-01T10:00:01.100Z"})))
        .expect(1)
        .mount(&hubspot)
        .await;
    maintenance(&stack, MaintenanceAction::On).await;
    let worker = stack.worker_with_targets(ALL_ON, &square.uri(), &hubspot.uri());

    let body = shopify_customer_created(3001).to_string();
    let headers = shopify_headers(
        &tenant.shopify_secret,
        "customers/create",
        "shp-evt-1",
        &body,
    );
    let (status, answer) = invoke_ingest(
        &stack.ingest(),
        &webhook_event("shopify", &tenant.id, &headers, &body),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    stack.drain(&worker, Duration::from_secs(30)).await;

    assert!(square.received_requests().await.unwrap().is_empty());
    assert!(hubspot.received_requests().await.unwrap().is_empty());
    let pk = format!("{}#customer#shopify-3001", tenant.id);
    assert_eq!(
        targets(&stack, &pk).await,
        vec![
            ("crm".to_owned(), "skipped (maintenance)".to_owned()),
            ("pos".to_owned(), "skipped (maintenance)".to_owned()),
        ]
    );
    let record = stack
        .entity(&tenant.id, "customer", "shopify-3001")
        .await
        .expect("the master record is written");
    for ledger in ["posSync", "crmSync"] {
        assert_eq!(
            record[ledger]["status"], "skipped (maintenance)",
            "{record}"
        );
    }

    maintenance(&stack, MaintenanceAction::Off).await;
    let tenant_id = TenantId::parse(&tenant.id).unwrap();
    for target in ["pos", "crm"] {
        let (report, items) = synchub_cli::backfill::run(
            &worker.targets,
            &worker.items,
            &worker.tenants,
            ALL_ON,
            &tenant_id,
            target,
            None,
            false,
        )
        .await
        .unwrap();
        assert_eq!(items.len(), 1, "{report}");
        assert_eq!(items[0].previous, "skipped (maintenance)");
        assert!(
            items[0].result.as_ref().is_some_and(|s| s.is_success()),
            "{report}"
        );
    }
    let record = stack
        .entity(&tenant.id, "customer", "shopify-3001")
        .await
        .unwrap();
    assert_eq!(record["squareCustomerId"], "SQ-7");
    assert_eq!(record["posSync"]["status"], "success");
    square.verify().await;
    hubspot.verify().await;
}

#[tokio::test]
async fn the_schedule_starts_no_run_and_a_manual_run_is_refused_while_maintenance_is_on() {
    let s = setup(SquareData::empty()).await;
    let tenant = s.tenant().await;
    maintenance(&s.stack, MaintenanceAction::On).await;

    // The daily schedule's invocation, as EventBridge sends it.
    let sync = DailySync::new(&s.stack.aws, &s.stack.config);
    let answer =
        synchub_lambda::daily_sync::handle(&sync, json!({"trigger": "schedule"}), u64::MAX)
            .await
            .expect("the plan answers");
    assert_eq!(answer["runs"], json!([]), "{answer}");
    let not_started: Vec<(String, String)> = answer["notStarted"]
        .as_array()
        .expect("the answer lists what it did not start")
        .iter()
        .map(|n| {
            assert_eq!(n["reason"], "maintenance", "{n}");
            (
                n["tenantId"].as_str().unwrap().to_owned(),
                n["dataType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = DataType::ALL
        .iter()
        .map(|d| (tenant.clone(), d.to_string()))
        .collect();
    assert_eq!(not_started, expected);
    assert!(
        s.api.sync.runs.runs(&tenant).await.unwrap().is_empty(),
        "no run record"
    );
    assert_eq!(
        s.queue_depth(&s.stack.config.runs_queue_url).await,
        0,
        "nothing queued"
    );

    // By hand, through the sync API: refused, naming maintenance.
    let a = post(&s.api, &format!("/api/tenants/{tenant}/runs"), "{}").await;
    Contract::new().check("POST /api/tenants/{tenantId}/runs", a.status, &a.body);
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.body["error"]["class"], "VALIDATION_ERROR");
    assert_eq!(a.body["error"]["retryable"], false);
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maintenance is on"),
        "{}",
        a.body
    );
    // A dry run only reads: it still answers.
    let a = post(
        &s.api,
        &format!("/api/tenants/{tenant}/runs"),
        r#"{"dryRun": true}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);

    maintenance(&s.stack, MaintenanceAction::Off).await;
    let api = Api::new(&s.stack.aws, &s.stack.config);
    let a = post(
        &api,
        &format!("/api/tenants/{tenant}/runs"),
        r#"{"dataTypes": ["catalog"]}"#,
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.body["runs"][0]["outcome"], "started", "{}", a.body);
}

#[tokio::test]
async fn health_is_degraded_while_maintenance_is_on_on_both_doors() {
    let s = setup(SquareData::empty()).await;
    s.tenant().await;
    let a = get(&s.api, "/api/health", &[]).await;
    assert_eq!(a.body["status"], "healthy", "{}", a.body);
    let check = |body: &Value| -> Value {
        body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "maintenance")
            .cloned()
            .unwrap_or_else(|| panic!("no maintenance check: {body}"))
    };
    assert_eq!(check(&a.body)["value"], 0);

    maintenance(&s.stack, MaintenanceAction::On).await;
    let api = Api::new(&s.stack.aws, &s.stack.config);
    let a = get(&api, "/api/health", &[]).await;
    Contract::new().check("GET /api/health", a.status, &a.body);
    assert_eq!(a.body["status"], "degraded", "{}", a.body);
    assert_eq!(
        check(&a.body),
        json!({"name": "maintenance", "value": 1, "threshold": 0, "ok": false})
    );
    assert!(
        a.body["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("maintenance is on")),
        "{}",
        a.body
    );

    // `synchub health`: the same answer, exit status 1 (degraded).
    let ops = synchub_cli::ops::Operations::new(&s.stack.aws, &s.stack.config);
    let health = ops.health().await.unwrap();
    assert_eq!(synchub_cli::health::exit_status(&health), 1);
    let table = synchub_cli::health::render(&health);
    assert!(table.contains("maintenance"), "{table}");
    assert!(table.contains("because maintenance is on"), "{table}");
}

#[tokio::test]
async fn the_switch_reads_absent_as_off_names_a_bad_value_and_keeps_its_last_position() {
    let stack = TestStack::new().await;
    let ssm = aws_sdk_ssm::Client::new(&stack.aws);
    let name = stack.config.maintenance_parameter.clone();
    assert_eq!(name, format!("/{}/maintenance", stack.prefix));
    let warm = SsmMaintenanceSwitch::with_ttl(ssm.clone(), &name, Duration::from_millis(50));

    let absent = warm.read().await.unwrap();
    assert_eq!(
        (absent.maintenance, absent.changed_at),
        (Maintenance::Off, None)
    );
    assert_eq!(
        maintenance(&stack, MaintenanceAction::Status)
            .await
            .maintenance,
        Maintenance::Off
    );

    maintenance(&stack, MaintenanceAction::On).await;
    assert_eq!(warm.state().await.unwrap(), Maintenance::On);

    // Someone writes a value that is neither on nor off.
    ssm.put_parameter()
        .name(&name)
        .value("sometimes")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let err = warm.read().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::ValidationError);
    assert!(
        err.to_string().contains(&name) && err.to_string().contains("must be on or off"),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(
        warm.state().await.unwrap(),
        Maintenance::On,
        "a warm function keeps the last position it read"
    );
    let cold = SsmMaintenanceSwitch::new(ssm.clone(), &name);
    assert!(
        cold.state().await.is_err(),
        "with none read, the caller hears of it"
    );
}

#[tokio::test]
async fn an_unreachable_ssm_is_a_retryable_error_for_a_switch_never_read() {
    let stack = TestStack::new().await;
    let conf = aws_sdk_ssm::config::Builder::from(&stack.aws)
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    let switch = SsmMaintenanceSwitch::new(
        aws_sdk_ssm::Client::from_conf(conf),
        &stack.config.maintenance_parameter,
    );
    let err = switch.state().await.unwrap_err();
    assert!(err.class().is_retryable(), "{err}");
    assert!(err.to_string().contains("SSM GetParameter"), "{err}");
}
