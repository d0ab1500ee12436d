//! Test harness: the local AWS engines (Amazon's DynamoDB Local, moto), one
//! isolated stack per test (its own tables, queues and tenant), and helpers
//! to drive the real handlers.
//!
//! `scripts/test.sh` starts the engines once and exports the standard
//! `AWS_ENDPOINT_URL_*` variables; when they are missing (a bare `cargo test`)
//! the harness starts the engines itself, tied to this process's lifetime.

use aws_config::SdkConfig;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use synchub_cli::event_source::LocalEventSource;
use synchub_cli::local::{self, QueueSettings};
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_core::ports::{AuditHistory, TenantSettings};
use synchub_lambda::config::Config;
use synchub_lambda::{sqs::handle_sync_batch, Ingest, Worker};

pub mod api_contract;
pub mod browser;
pub mod chaos;
pub mod flowhub_server;
pub mod lambda_emulator;
pub mod square_server;

/// The local stack's API Gateway stand-in: the events webhooks become, the
/// headers each sender signs them with, and the real ingest handler run on them.
pub use synchub_cli::api_gateway::{
    apigw_event, invoke_ingest, shopify_headers, signed_headers, square_headers, webhook_event,
};

/// The engines child, kept alive (its stdin open) for the life of the process.
static ENGINES: OnceLock<Mutex<Option<Child>>> = OnceLock::new();

pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repo")
        .to_path_buf()
}

/// Makes sure the engines run and the SDK's standard variables point at them.
pub fn ensure_engines() {
    ENGINES.get_or_init(|| {
        let defaults = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ];
        for (k, v) in defaults {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
        if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some()
            && std::env::var_os("AWS_ENDPOINT_URL_SQS").is_some()
        {
            return Mutex::new(None);
        }
        let root = repo_root();
        let status = Command::new("bash")
            .arg(root.join("scripts/bootstrap.sh"))
            .status()
            .expect("bash runs scripts/bootstrap.sh");
        assert!(status.success(), "scripts/bootstrap.sh failed");
        let mut child = Command::new("python3")
            .arg(root.join("scripts/engines.py"))
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts scripts/engines.py");
        let stdout = child.stdout.take().expect("piped stdout");
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("engines.py output");
            if let Some(url) = line.strip_prefix("DYNAMODB_ENDPOINT=") {
                std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", url);
            } else if let Some(url) = line.strip_prefix("MOTO_ENDPOINT=") {
                for service in ["SQS", "SES", "SSM"] {
                    std::env::set_var(format!("AWS_ENDPOINT_URL_{service}"), url);
                }
            } else if line == "ENGINES_READY" {
                break;
            }
        }
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
            "engines.py did not report its endpoints"
        );
        Mutex::new(Some(child))
    });
}

/// SDK config for the engines, built the way the functions build theirs.
pub async fn aws() -> SdkConfig {
    ensure_engines();
    synchub_lambda::aws_config().await
}

/// This thread's CPU time in seconds, to the nanosecond (the benchmarks'
/// stages take a few hundred milliseconds; /proc's ticks are 10 ms).
pub fn thread_cpu() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

/// A unique name prefix, so tests running in parallel never share a resource.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::random::<u32>())
}

/// One test's isolated stack.
pub struct TestStack {
    pub aws: SdkConfig,
    pub config: Config,
    pub prefix: String,
}

/// A tenant seeded into a stack.
pub struct TestTenant {
    pub id: String,
    pub secret: WebhookSecret,
    pub secret_text: String,
}

impl TestStack {
    pub async fn new() -> Self {
        Self::with_queue(QueueSettings {
            visibility_seconds: 2,
            max_receive_count: 3,
        })
        .await
    }

    pub async fn with_queue(queue: QueueSettings) -> Self {
        let aws = aws().await;
        let prefix = unique("t");
        let config = local::provision(&aws, &prefix, queue)
            .await
            .expect("provision the test stack");
        Self {
            aws,
            config,
            prefix,
        }
    }

    pub async fn tenant(&self, storefront_url: Option<String>) -> TestTenant {
        self.tenant_with(storefront_url, vec![]).await
    }

    /// A tenant whose failure emails go to `alert_recipients`.
    pub async fn tenant_with(
        &self,
        storefront_url: Option<String>,
        alert_recipients: Vec<String>,
    ) -> TestTenant {
        let id = unique("shop");
        let secret_text = local::new_signing_secret();
        let settings = TenantSettings {
            tenant_id: id.clone(),
            name: "Test shop".into(),
            active: true,
            storefront_url,
            targets_disabled: vec![],
            alert_recipients,
            daily_summary: false,
            square_notification_url: None,
            flag_overrides: Default::default(),
            sync_method: None,
            allowed_suppliers: vec![],
            pos: vec![],
        };
        local::seed_tenant(&self.aws, &self.config, &settings, &secret_text)
            .await
            .expect("seed tenant");
        TestTenant {
            id,
            secret: WebhookSecret::parse(&secret_text).unwrap(),
            secret_text,
        }
    }

    pub fn ingest(&self) -> Ingest {
        Ingest::new(&self.aws, &self.config)
    }

    pub fn worker(&self) -> Worker {
        Worker::new(&self.aws, &self.config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.aws)
    }

    pub fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.aws)
    }

    pub fn queue(&self) -> LocalEventSource {
        let mut source = LocalEventSource::new(self.sqs(), &self.config.sync_queue_url);
        source.wait = Duration::from_secs(0);
        source
    }

    pub fn dlq(&self) -> LocalEventSource {
        LocalEventSource::new(self.sqs(), &self.config.sync_dlq_url)
    }

    /// Runs the real worker over the queue until it is empty (or the deadline passes).
    pub async fn drain(&self, worker: &Worker, deadline: Duration) {
        let source = self.queue();
        let start = std::time::Instant::now();
        while start.elapsed() < deadline {
            let stats = source
                .poll_once(|event| async { handle_sync_batch(worker, event).await })
                .await
                .expect("poll");
            if stats.received == 0 {
                if source.depth().await.expect("depth") == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        panic!("queue not drained within {deadline:?}");
    }

    /// Every message on the DLQ (received once, then left for the next reader).
    pub async fn dlq_messages(&self) -> Vec<aws_sdk_sqs::types::Message> {
        let out = self
            .sqs()
            .receive_message()
            .queue_url(&self.config.sync_dlq_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive from DLQ");
        out.messages.unwrap_or_default()
    }

    /// The stored item for a SKU, as a JSON object.
    pub async fn item(&self, tenant: &str, sku: &str) -> Option<Value> {
        self.entity(tenant, "catalog_item", sku).await
    }

    /// The audit rows of one SKU.
    pub async fn audit(&self, tenant: &str, sku: &str) -> Vec<synchub_core::domain::AuditRow> {
        synchub_aws::dynamodb::DynamoAuditLog::new(self.dynamo(), &self.config.audit_table)
            .entity_history(&format!("{tenant}#catalog_item#{sku}"))
            .await
            .expect("audit history")
    }

    pub async fn rejected_audit(&self, tenant: &str) -> Vec<synchub_core::domain::AuditRow> {
        synchub_aws::dynamodb::DynamoAuditLog::new(self.dynamo(), &self.config.audit_table)
            .entity_history(&format!("{tenant}#rejected"))
            .await
            .expect("audit history")
    }
}

/// An SQS event of `(message id, body, ApproximateReceiveCount)` records,
/// as the Lambda event source hands the worker a batch.
pub fn sqs_event(records: &[(&str, &str, u32)]) -> aws_lambda_events::sqs::SqsEvent {
    let mut event = aws_lambda_events::sqs::SqsEvent::default();
    event.records = records
        .iter()
        .map(|(id, body, receive_count)| {
            let mut m = aws_lambda_events::sqs::SqsMessage::default();
            m.message_id = Some((*id).into());
            m.body = Some((*body).into());
            m.attributes
                .insert("ApproximateReceiveCount".into(), receive_count.to_string());
            m
        })
        .collect();
    event
}

/// A supplier event body.
pub fn supplier_event(event_id: &str, sku: &str, quantity: i64, updated_at: &str) -> Value {
    serde_json::json!({"eventId": event_id, "supplierId": "sup-1", "sku": sku, "quantity": quantity, "updatedAt": updated_at})
}

/// The queue message the ingest would enqueue for a body.
pub fn queued(tenant: &str, payload: &Value) -> String {
    serde_json::json!({
        "schema": 1, "tenantId": tenant, "source": "supplier",
        "eventId": payload["eventId"], "correlationId": format!("sync-{tenant}-1-test"),
        "receivedAt": "2026-06-01T10:00:00Z", "payload": payload
    })
    .to_string()
}

/// `minute` minutes after 2026-06-01T00:00:00Z, as RFC 3339.
pub fn at_minute(minute: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(1_780_272_000 + minute * 60).unwrap();
    synchub_core::domain::time::canonical_time(t)
}

/// A tenant set up for the Shopify and Square routes and the customer targets.
pub struct ProviderTenant {
    pub id: String,
    pub shopify_secret: String,
    pub square_key: String,
    /// The URL configured in the tenant's Square subscription.
    pub square_url: String,
}

impl TestStack {
    /// Seeds a tenant with Shopify and Square signing keys and target tokens in
    /// SSM (SecureString) and its Square notification URL in its settings.
    pub async fn provider_tenant(&self, targets_disabled: Vec<String>) -> ProviderTenant {
        let id = unique("shop");
        let square_url = format!("https://hooks.example.com/webhooks/square/{id}");
        let settings = TenantSettings {
            tenant_id: id.clone(),
            name: "Provider shop".into(),
            active: true,
            storefront_url: None,
            targets_disabled,
            alert_recipients: vec![],
            daily_summary: false,
            square_notification_url: Some(square_url.clone()),
            flag_overrides: Default::default(),
            sync_method: None,
            allowed_suppliers: vec![],
            pos: vec![],
        };
        local::seed_tenant(
            &self.aws,
            &self.config,
            &settings,
            &local::new_signing_secret(),
        )
        .await
        .expect("seed tenant");
        let tenant = ProviderTenant {
            id,
            shopify_secret: format!("shpss_{:032x}", rand::random::<u128>()),
            square_key: format!("sq-key-{:016x}", rand::random::<u64>()),
            square_url,
        };
        for (name, value) in [
            ("shopify-secret", tenant.shopify_secret.as_str()),
            ("square-signature-key", tenant.square_key.as_str()),
            ("square-token", "EAAA-square-token"),
            ("hubspot-token", "pat-na1-hubspot-token"),
        ] {
            self.put_parameter(&tenant.id, name, value).await;
        }
        tenant
    }

    pub async fn put_parameter(&self, tenant: &str, name: &str, value: &str) {
        local::put_tenant_parameter(&self.aws, &self.config, tenant, name, value)
            .await
            .expect("put parameter");
    }

    /// A worker whose customer targets are local servers, with these flags.
    pub fn worker_with_targets(
        &self,
        flags: synchub_core::app::customers::TargetFlags,
        square: &str,
        hubspot: &str,
    ) -> Worker {
        let mut config = self.config.clone();
        config.flags = flags;
        config.square_base_url = square.to_owned();
        config.hubspot_base_url = hubspot.to_owned();
        config.target_attempts = 3;
        Worker::new(&self.aws, &config)
    }

    /// The items-table partition of an entity, as the stack's shard count
    /// lays it out.
    pub fn item_partition(&self, tenant: &str, kind: &str, id: &str) -> String {
        let tenant = synchub_core::domain::TenantId::parse(tenant).expect("a tenant id");
        self.config
            .item_shards
            .partition(&tenant, &format!("{kind}#{id}"))
    }

    /// Every items-table partition of a tenant.
    pub fn item_partitions(&self, tenant: &str) -> Vec<String> {
        let tenant = synchub_core::domain::TenantId::parse(tenant).expect("a tenant id");
        self.config.item_shards.partitions(&tenant)
    }

    /// A stored entity of any kind, as a JSON object.
    pub async fn entity(&self, tenant: &str, kind: &str, id: &str) -> Option<Value> {
        let out = self
            .dynamo()
            .get_item()
            .table_name(&self.config.items_table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(self.item_partition(tenant, kind, id)),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("{kind}#{id}")),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("get item");
        out.item
            .map(|i| serde_dynamo::from_item(i).expect("item decodes"))
    }

    /// Every audit row under a partition key.
    pub async fn audit_rows(&self, pk: &str) -> Vec<synchub_core::domain::AuditRow> {
        synchub_aws::dynamodb::DynamoAuditLog::new(self.dynamo(), &self.config.audit_table)
            .entity_history(pk)
            .await
            .expect("audit history")
    }
}

/// A Shopify customer payload shaped like the documented `customers/create` example.
pub fn shopify_customer(id: u64, email: &str, first: &str, updated_at: &str) -> Value {
    serde_json::json!({
        "id": id, "email": email, "created_at": "2026-06-01T09:00:00-00:00", "updated_at": updated_at,
        "first_name": first, "last_name": "Biller", "state": "enabled", "note": null, "verified_email": true,
        "multipass_identifier": null, "tax_exempt": false, "phone": "+16135550142", "currency": "USD",
        "addresses": [], "tax_exemptions": [], "admin_graphql_api_id": format!("gid://shopify/Customer/{id}"), "default_address": null
    })
}

/// Receives up to ten messages of a queue and deletes them, as the
/// benchmarks' stand-in for the worker: how many went, or `None` when the
/// engine did not answer in time (the caller asks again).
pub async fn delete_received(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    wait_seconds: i32,
) -> Option<usize> {
    let got = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_seconds)
        .send()
        .await
        .ok()?;
    let entries: Vec<_> = got
        .messages
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle.clone())
                .build()
                .ok()
        })
        .collect();
    let n = entries.len();
    if n > 0 {
        let _ = sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await;
    }
    Some(n)
}
