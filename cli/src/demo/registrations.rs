//! Shopify registrations through the real ingest and worker: the master
//! record first, then the POS (the Square stand-in, its flag on) while the
//! CRM's flag is off; then the CRM is switched on and backfilled. Last, a
//! customer's data request, and the trace its audit row tells support to run.

use super::fakes::CustomerTargets;
use super::Error;
use crate::api_gateway::{invoke_ingest, shopify_headers, webhook_event};
use crate::event_source::LocalEventSource;
use crate::local;
use aws_config::SdkConfig;
use serde_json::json;
use synchub_aws::dynamodb::DynamoAuditLog;
use synchub_core::app::customers::{TargetFlags, CRM};
use synchub_core::domain::audit::AuditOutcome;
use synchub_core::domain::{EntityKind, TenantId};
use synchub_core::ports::CustomerLedger;
use synchub_lambda::config::Config;
use synchub_lambda::{sqs::handle_sync_batch, Ingest, Worker};
use synchub_ops::trace::entity_key;

/// The Shopify customer ids the demo registers.
const CUSTOMERS: [(u64, &str); 3] = [
    (7_000_000_001, "Ada"),
    (7_000_000_002, "Grace"),
    (7_000_000_003, "Alan"),
];

/// Runs the registrations and returns whether each target got what it should.
pub(super) async fn run(
    aws: &SdkConfig,
    config: &Config,
    ingest: &Ingest,
    tenant: &str,
) -> Result<bool, Error> {
    let shopify_secret = store_credentials(aws, config, tenant).await?;
    let targets = CustomerTargets::start().await;
    let mut config = config.clone();
    (config.square_base_url, config.hubspot_base_url) = (targets.uri(), targets.uri());
    config.flags = TargetFlags {
        pos: true,
        crm: false,
        updates: false,
    };
    let worker = Worker::new(aws, &config);

    println!("\nregistrations  {} Shopify customers/create webhooks (X-Shopify-Hmac-Sha256); ENABLE_POS_SYNC=true, ENABLE_CRM_SYNC=false", CUSTOMERS.len());
    send_registrations(ingest, tenant, &shopify_secret).await;
    let source = LocalEventSource::new(aws_sdk_sqs::Client::new(aws), &config.sync_queue_url);
    while source
        .poll_once(|event| async { handle_sync_batch(&worker, event).await })
        .await?
        .received
        > 0
    {}
    let tenant = TenantId::parse(tenant)?;
    let recorded = show_master_records(&worker, &tenant).await?;
    let flags = TargetFlags {
        crm: true,
        ..config.flags
    };
    let backfilled = backfill_crm(&worker, flags, &tenant).await?;
    // One Square create per registration, then one HubSpot upsert per backfilled customer.
    let calls = targets.requests().await == 2 * CUSTOMERS.len();
    let traced = data_request(aws, &config, ingest, &tenant, &shopify_secret).await?;
    Ok(recorded && backfilled && calls && traced)
}

/// The tenant's Shopify signing secret and target tokens, in SSM; returns the secret.
async fn store_credentials(
    aws: &SdkConfig,
    config: &Config,
    tenant: &str,
) -> Result<String, Error> {
    let shopify_secret = format!("shpss_{:032x}", rand::random::<u128>());
    for (name, value) in [
        ("shopify-secret", shopify_secret.as_str()),
        ("square-token", "EAAA-demo"),
        ("hubspot-token", "pat-demo"),
    ] {
        local::put_tenant_parameter(aws, config, tenant, name, value).await?;
    }
    Ok(shopify_secret)
}

/// Shopify's `customers/create` webhooks, signed, through the real ingest handler.
async fn send_registrations(ingest: &Ingest, tenant: &str, shopify_secret: &str) {
    for (n, (id, first_name)) in CUSTOMERS.iter().enumerate() {
        let body = json!({"id": id, "email": format!("customer{n}@demo-shop.example"), "first_name": first_name, "last_name": "Demo",
            "created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-06-01T10:00:00Z", "state": "enabled"}).to_string();
        let headers = shopify_headers(
            shopify_secret,
            "customers/create",
            &format!("demo-reg-{id}"),
            &body,
        );
        let (status, answer) =
            invoke_ingest(ingest, &webhook_event("shopify", tenant, &headers, &body)).await;
        println!(
            "  HTTP {status} {}",
            answer["outcome"].as_str().unwrap_or_default()
        );
    }
}

/// Prints each master record's target statuses; true when the POS has each
/// and the CRM's are recorded as skipped (its flag is off).
async fn show_master_records(worker: &Worker, tenant: &TenantId) -> Result<bool, Error> {
    let mut ok = true;
    for (id, _) in CUSTOMERS {
        let record = worker
            .items
            .customer(tenant, &format!("shopify-{id}"))
            .await?
            .ok_or("master record missing")?;
        let status = |t: &str| {
            record
                .sync_status
                .get(t)
                .map(|s| s.status.to_string())
                .unwrap_or_default()
        };
        println!(
            "  master record {:<24} pos: {:<10} (Square id {})  crm: {}",
            record.profile.id,
            status("pos"),
            record.square_customer_id.as_deref().unwrap_or("-"),
            status("crm")
        );
        ok &= status("pos") == "success" && status("crm") == "skipped (disabled)";
    }
    Ok(ok)
}

/// `synchub backfill --target crm` once the CRM is switched on; true when it
/// sent every registration.
async fn backfill_crm(
    worker: &Worker,
    flags: TargetFlags,
    tenant: &TenantId,
) -> Result<bool, Error> {
    println!("\n$ ENABLE_CRM_SYNC=true synchub backfill --tenant {tenant} --target {CRM}");
    let (report, items) = crate::backfill::run(
        &worker.targets,
        &worker.items,
        &worker.tenants,
        flags,
        tenant,
        CRM.as_str(),
        None,
        false,
    )
    .await?;
    print!("{report}");
    Ok(items.len() == CUSTOMERS.len())
}

/// Shopify's `customers/data_request` for the first customer, then `synchub
/// trace --kind customer`, as its audit row tells support; true when the
/// trace shows the request beside the registration.
async fn data_request(
    aws: &SdkConfig,
    config: &Config,
    ingest: &Ingest,
    tenant: &TenantId,
    shopify_secret: &str,
) -> Result<bool, Error> {
    let (id, _) = CUSTOMERS[0];
    let body = json!({"shop_id": 954889, "shop_domain": "demo-shop.myshopify.com", "orders_requested": [],
        "customer": {"id": id, "email": "customer0@demo-shop.example"}, "data_request": {"id": 9999}})
    .to_string();
    let headers = shopify_headers(
        shopify_secret,
        "customers/data_request",
        &format!("demo-dr-{id}"),
        &body,
    );
    let event = webhook_event("shopify", tenant.as_str(), &headers, &body);
    let (status, _) = invoke_ingest(ingest, &event).await;
    println!(
        "
data request  Shopify customers/data_request for shopify-{id}: HTTP {status}"
    );
    let key = entity_key(
        tenant.clone(),
        EntityKind::Customer,
        &format!("shopify-{id}"),
    )?;
    let audit = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(aws), &config.audit_table);
    let trace = crate::trace::trace(&audit, &key).await?;
    println!(
        "\n$ synchub trace --tenant {tenant} --kind customer --id {}\n{}",
        key.id,
        crate::trace::render(&trace)
    );
    let held = |outcome| trace.deliveries.iter().any(|d| d.outcome == outcome);
    Ok(status == 202 && held(AuditOutcome::DataRequest) && held(AuditOutcome::Applied))
}
