//! Creates the stack's tables, queues, tenant secrets and settings on whatever
//! endpoints the SDK config points at (the local engines in dev and tests).
//! Names and settings mirror template.yaml; a test keeps the two in step.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_ssm::types::ParameterType;
use std::time::Duration;
use synchub_aws::dynamodb::{DynamoTenantDirectory, AUDIT_BY_TENANT_HOUR, AUDIT_INDEX_PROJECTION};
use synchub_aws::ssm::SsmSecretStore;
use synchub_core::domain::TenantId;
use synchub_core::ports::TenantSettings;
use synchub_lambda::config::Config;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Settings that template.yaml fixes (checked against it by a test).
pub const WORKER_TIMEOUT_SECONDS: u32 = 30;
pub const QUEUE_VISIBILITY_SECONDS: u32 = 6 * WORKER_TIMEOUT_SECONDS;
pub const QUEUE_RETENTION_SECONDS: u32 = 4 * 86_400;
pub const DLQ_RETENTION_SECONDS: u32 = 14 * 86_400;
pub const MAX_RECEIVE_COUNT: u32 = 5;
pub const AUDIT_TTL_ATTRIBUTE: &str = "expiresAt";
pub const NOTIFIER_TIMEOUT_SECONDS: u32 = 30;
pub const NOTIFY_QUEUE_VISIBILITY_SECONDS: u32 = 6 * NOTIFIER_TIMEOUT_SECONDS;
/// A notice (or a digest whose email SES keeps refusing) is retried this often.
pub const NOTIFY_MAX_RECEIVE_COUNT: u32 = 10;
pub const DAILY_SYNC_TIMEOUT_SECONDS: u32 = 300;
pub const RUNS_QUEUE_VISIBILITY_SECONDS: u32 = 6 * DAILY_SYNC_TIMEOUT_SECONDS;
/// The sender the local stack verifies in SES (a template parameter in AWS).
pub const LOCAL_ALERT_SENDER: &str = "alerts@synchub.local";
pub const LOCAL_ALERT_RECIPIENT: &str = "ops@synchub.local";

/// Queue behaviour; tests shorten the visibility timeout and receive count.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    pub visibility_seconds: u32,
    pub max_receive_count: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            visibility_seconds: QUEUE_VISIBILITY_SECONDS,
            max_receive_count: MAX_RECEIVE_COUNT,
        }
    }
}

/// Resource names for a prefix, as template.yaml derives them from `NamePrefix`.
pub fn table_names(prefix: &str) -> [(String, bool); 5] {
    [
        (format!("{prefix}-items"), true),
        (format!("{prefix}-audit"), true),
        (format!("{prefix}-tenants"), false),
        (format!("{prefix}-notifications"), true),
        (format!("{prefix}-sync-runs"), true),
    ]
}

/// Creates everything (idempotently) and returns the functions' config.
pub async fn provision(
    aws: &SdkConfig,
    prefix: &str,
    queue: QueueSettings,
) -> Result<Config, Error> {
    create_tables(&aws_sdk_dynamodb::Client::new(aws), prefix).await?;
    let queues = create_queues(&aws_sdk_sqs::Client::new(aws), prefix, queue).await?;
    aws_sdk_ses::Client::new(aws)
        .verify_email_identity()
        .email_address(LOCAL_ALERT_SENDER)
        .send()
        .await?;
    Ok(config_for(prefix, queues))
}

/// The tables, with TTL on the ones whose rows expire.
async fn create_tables(dynamo: &aws_sdk_dynamodb::Client, prefix: &str) -> Result<(), Error> {
    for (name, has_sort_key) in table_names(prefix) {
        let index = name
            .ends_with("-audit")
            .then(audit_by_tenant_hour)
            .transpose()?;
        create_table(dynamo, &name, has_sort_key, index).await?;
    }
    for table in [
        format!("{prefix}-audit"),
        format!("{prefix}-notifications"),
        format!("{prefix}-sync-runs"),
    ] {
        let enabled = dynamo
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(AUDIT_TTL_ATTRIBUTE)
                    .build()?,
            )
            .send()
            .await;
        match enabled {
            Ok(_) => {}
            // A second provision of the same stack: TTL is on already.
            Err(e) if format!("{e:?}").contains("already enabled") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The URLs of the stack's queues.
struct QueueUrls {
    sync: String,
    sync_dlq: String,
    notify: String,
    notify_dlq: String,
    runs: String,
    runs_dlq: String,
}

async fn create_queues(
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
    queue: QueueSettings,
) -> Result<QueueUrls, Error> {
    let (sync, sync_dlq) = create_queue_with_dlq(
        sqs,
        &format!("{prefix}-sync-events"),
        queue.visibility_seconds,
        queue.max_receive_count,
    )
    .await?;
    let (notify, notify_dlq) = create_queue_with_dlq(
        sqs,
        &format!("{prefix}-notifications"),
        queue
            .visibility_seconds
            .min(NOTIFY_QUEUE_VISIBILITY_SECONDS),
        NOTIFY_MAX_RECEIVE_COUNT,
    )
    .await?;
    let (runs, runs_dlq) = create_queue_with_dlq(
        sqs,
        &format!("{prefix}-sync-runs"),
        queue.visibility_seconds.min(RUNS_QUEUE_VISIBILITY_SECONDS),
        MAX_RECEIVE_COUNT,
    )
    .await?;
    Ok(QueueUrls {
        sync,
        sync_dlq,
        notify,
        notify_dlq,
        runs,
        runs_dlq,
    })
}

/// A local stack's shard count: `ITEM_SHARDS` when set (so the whole test
/// suite can run on a sharded layout), else 1.
fn item_shards_from_env() -> synchub_core::domain::layout::ItemShards {
    std::env::var("ITEM_SHARDS")
        .ok()
        .and_then(|v| v.trim().parse::<u16>().ok())
        .and_then(|n| synchub_core::domain::layout::ItemShards::new(n).ok())
        .unwrap_or_default()
}

/// The functions' config for the stack, as template.yaml sets their environment.
fn config_for(prefix: &str, queues: QueueUrls) -> Config {
    Config {
        items_table: format!("{prefix}-items"),
        item_shards: item_shards_from_env(),
        audit_table: format!("{prefix}-audit"),
        tenants_table: format!("{prefix}-tenants"),
        sync_queue_url: queues.sync,
        sync_dlq_url: queues.sync_dlq,
        tenant_secrets_path: format!("/{prefix}/tenants"),
        audit_ttl: Duration::from_secs(90 * 86_400),
        tenant_cache_ttl: Duration::from_secs(60),
        notifications_table: format!("{prefix}-notifications"),
        notify_queue_url: queues.notify,
        alert_sender: LOCAL_ALERT_SENDER.into(),
        alert_default_recipient: LOCAL_ALERT_RECIPIENT.into(),
        alert_window: Duration::from_secs(15 * 60),
        runs_table: format!("{prefix}-sync-runs"),
        runs_queue_url: queues.runs,
        square_base_url: "https://connect.squareup.com".into(),
        connector_origin: None,
        orders_lookback: Duration::from_secs(7 * 86_400),
        inventory_lookback: Duration::from_secs(86_400),
        stuck_after: Duration::from_secs(30 * 60),
        hubspot_base_url: "https://api.hubapi.com".into(),
        target_attempts: 4,
        flags: Default::default(),
        runs_dlq_url: queues.runs_dlq,
        notify_dlq_url: queues.notify_dlq,
        canary_tenants: Vec::new(),
        health: Default::default(),
        maintenance_parameter: format!("/{prefix}/maintenance"),
    }
}

/// A queue and its dead-letter queue (`{name}-dlq`), with the redrive policy;
/// returns both URLs.
async fn create_queue_with_dlq(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    visibility_seconds: u32,
    max_receive_count: u32,
) -> Result<(String, String), Error> {
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            DLQ_RETENTION_SECONDS.to_string(),
        )
        // The failure notifier consumes the sync DLQ, so it has a consumer's visibility timeout.
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_seconds
                .min(NOTIFY_QUEUE_VISIBILITY_SECONDS)
                .to_string(),
        )
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
            .to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_seconds.to_string(),
        )
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            QUEUE_RETENTION_SECONDS.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    Ok((queue_url, dlq_url))
}

/// The audit table's index of accepted deliveries by (tenant, hour), as
/// template.yaml declares it: a replay finds a window's deliveries by it.
fn audit_by_tenant_hour() -> Result<(GlobalSecondaryIndex, [AttributeDefinition; 2]), Error> {
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let mut projection = Projection::builder().projection_type(ProjectionType::Include);
    for name in AUDIT_INDEX_PROJECTION {
        projection = projection.non_key_attributes(name);
    }
    let index = GlobalSecondaryIndex::builder()
        .index_name(AUDIT_BY_TENANT_HOUR)
        .key_schema(key("tenantHour", KeyType::Hash)?)
        .key_schema(key("recordedAt", KeyType::Range)?)
        .projection(projection.build())
        .build()?;
    Ok((index, [attribute("tenantHour")?, attribute("recordedAt")?]))
}

async fn create_table(
    dynamo: &aws_sdk_dynamodb::Client,
    name: &str,
    has_sort_key: bool,
    index: Option<(GlobalSecondaryIndex, [AttributeDefinition; 2])>,
) -> Result<(), Error> {
    let mut request = dynamo
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()?,
        );
    if has_sort_key {
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("sk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("sk")
                    .key_type(KeyType::Range)
                    .build()?,
            );
    }
    if let Some((index, [hash, range])) = index {
        request = request
            .global_secondary_indexes(index)
            .attribute_definitions(hash)
            .attribute_definitions(range);
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Stores a tenant's signing secret (SecureString) and settings.
pub async fn seed_tenant(
    aws: &SdkConfig,
    config: &Config,
    settings: &TenantSettings,
    secret: &str,
) -> Result<(), Error> {
    let tenant = TenantId::parse(&settings.tenant_id)?;
    aws_sdk_ssm::Client::new(aws)
        .put_parameter()
        .name(SsmSecretStore::webhook_secret_name(
            &config.tenant_secrets_path,
            &tenant,
        ))
        .value(secret)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await?;
    DynamoTenantDirectory::new(
        aws_sdk_dynamodb::Client::new(aws),
        &config.tenants_table,
        Duration::ZERO,
    )
    .put(settings)
    .await?;
    Ok(())
}

/// Stores one of a tenant's credentials (SecureString) beside its webhook
/// secret: `shopify-secret`, `square-signature-key`, `square-token`, `hubspot-token`.
pub async fn put_tenant_parameter(
    aws: &SdkConfig,
    config: &Config,
    tenant: &str,
    name: &str,
    value: &str,
) -> Result<(), Error> {
    aws_sdk_ssm::Client::new(aws)
        .put_parameter()
        .name(format!("{}/{tenant}/{name}", config.tenant_secrets_path))
        .value(value)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await?;
    Ok(())
}

/// A fresh random signing secret in the `whsec_` form.
pub fn new_signing_secret() -> String {
    use base64::Engine;
    let key: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// An email the local SES (moto) accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub source: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The HTML part when both were sent (moto keeps one body).
    pub body: String,
}

/// Every email moto's SES has accepted, oldest first. `moto_endpoint` is the
/// engine's base URL (`AWS_ENDPOINT_URL_SES`).
pub async fn sent_emails(moto_endpoint: &str) -> Result<Vec<SentEmail>, Error> {
    let data: serde_json::Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        moto_endpoint.trim_end_matches('/')
    ))
    .await?
    .json()
    .await?;
    let mut out = Vec::new();
    // Shape: {"ses": {"Message": [{"source", "destinations": {"ToAddresses": [..]}, "subject", "body"}, ..]}}
    for m in data["ses"]["Message"].as_array().into_iter().flatten() {
        let text = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
        let to = m["destinations"]["ToAddresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        out.push(SentEmail {
            source: text("source"),
            to,
            subject: text("subject"),
            body: text("body"),
        });
    }
    Ok(out)
}

/// Audit rows by outcome: a scan, fine for a local stack's table and never
/// what production asks (its counts come from counters).
pub async fn count_outcomes(
    aws: &SdkConfig,
    config: &Config,
) -> Result<std::collections::BTreeMap<String, usize>, Error> {
    let mut counts = std::collections::BTreeMap::new();
    let mut pages = aws_sdk_dynamodb::Client::new(aws)
        .scan()
        .table_name(&config.audit_table)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for item in page?.items() {
            if let Some(outcome) = item.get("outcome").and_then(|v| v.as_s().ok()) {
                *counts.entry(outcome.clone()).or_default() += 1;
            }
        }
    }
    Ok(counts)
}
