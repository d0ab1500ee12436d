//! Lambda glue written once: init (JSON logs, EMF metrics, one SDK config),
//! the wiring of adapters per function, HTTP mapping and SQS partial batch
//! responses.

pub mod api;
pub mod config;
pub mod daily_sync;
pub mod emf;
pub mod error;
pub mod http;
pub mod notify;
mod operations;
pub mod sqs;
#[cfg(test)]
mod tests;

use crate::config::Config;
use aws_config::SdkConfig;
use std::time::Duration;
use synchub_aws::alerts::DynamoAlertStore;
use synchub_aws::dynamodb::{DynamoAuditLog, DynamoItemStore, DynamoTenantDirectory};
use synchub_aws::maintenance::SsmMaintenanceSwitch;
use synchub_aws::ses::SesMailer;
use synchub_aws::sqs::SqsQueue;
use synchub_aws::ssm::SsmSecretStore;
use synchub_aws::storefront::HttpStorefront;
use synchub_aws::targets::{HttpCustomerTargets, TargetEndpoints};
use synchub_core::app::apply::ApplyPorts;
use synchub_core::app::customers::TargetFlags;
use synchub_core::app::ingest::{IngestPorts, ProviderPorts};
use synchub_core::app::notify::{AlertPolicy, NotifyPorts};
use synchub_core::ports::maintenance::Maintenance;

/// The worker's ports as deployed: the items and audit tables, the
/// tenants, the dead-letter queue, the storefront and the customer targets.
pub type LiveApply = (
    DynamoItemStore,
    DynamoAuditLog,
    DynamoTenantDirectory,
    SqsQueue,
    HttpStorefront,
    HttpCustomerTargets<SsmSecretStore>,
);

/// The daily sync's ports as deployed: Square and the connectors, the runs
/// table, SQS, SSM and the items table.
pub type LiveSync = (
    synchub_aws::pos_clients::PosClients,
    synchub_aws::runs::DynamoRunStore,
    SqsQueue,
    SsmSecretStore,
    DynamoItemStore,
);

/// JSON log lines (one object per line), level from `RUST_LOG` (default info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let named = std::env::var("RUST_LOG").is_ok_and(|v| v.contains("lambda_runtime"));
    let filter = without_runtime_span(filter, named);
    let _ = tracing::subscriber::set_global_default(json_logs(filter, std::io::stdout));
}

/// The Lambda runtime's span around each invocation (its request and X-Ray
/// ids, ~120 bytes) would be the current span of every line written outside
/// the use cases' own spans; each of those lines names its correlation id
/// instead, so the span is left off unless `RUST_LOG` names `lambda_runtime`
/// (`named`). CloudWatch Logs bills every byte (see BENCHMARKS.md, cost).
pub fn without_runtime_span(
    filter: tracing_subscriber::EnvFilter,
    named: bool,
) -> tracing_subscriber::EnvFilter {
    if named {
        return filter;
    }
    match "lambda_runtime::layers::trace=warn".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// The functions' log format, writing to `writer`: one flat JSON object per
/// line, with the current span (the record or run being handled, and so its
/// correlation id), no time (CloudWatch stamps every line).
pub fn json_logs<W>(
    filter: tracing_subscriber::EnvFilter,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .with_writer(writer)
        .finish()
}

/// Loads the SDK config once. Endpoints come from the standard
/// `AWS_ENDPOINT_URL_*` variables, so there is no emulator branch here.
///
/// Every call is small, so explicit timeouts guard against a hung dependency
/// (surfacing as TIMEOUT_ERROR) instead of stalled-stream protection, which
/// measured about a quarter of the CPU of each call (see BENCHMARKS.md).
///
/// Retries are quick and many rather than slow and few: the SDK's standard
/// backoff (1 s × jitter, doubling) spent most of a 5 s invocation on one
/// unlucky call under injected faults (BENCHMARKS.md, reliability), while a
/// Lambda's deadline and SQS's redelivery are the real backoff for lasting
/// trouble. Five attempts 50 ms × jitter apart (doubling, ≤ 1 s) make a call
/// fail only when every attempt does, in well under a second of waiting.
pub async fn aws_config() -> SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
    use aws_config::timeout::TimeoutConfig;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(50))
                .with_max_backoff(Duration::from_secs(1)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(12))
                .build(),
        )
        .load()
        .await
}

/// webhook-ingest's adapters, built once per cold start.
pub struct Ingest {
    pub secrets: SsmSecretStore,
    pub tenants: DynamoTenantDirectory,
    pub queue: SqsQueue,
    pub pulls: SqsQueue,
    pub audit: DynamoAuditLog,
    pub audit_ttl: Duration,
}

impl Ingest {
    pub fn new(aws: &SdkConfig, config: &Config) -> Self {
        Self {
            secrets: SsmSecretStore::new(
                aws_sdk_ssm::Client::new(aws),
                &config.tenant_secrets_path,
                config.tenant_cache_ttl,
            ),
            tenants: DynamoTenantDirectory::new(
                aws_sdk_dynamodb::Client::new(aws),
                &config.tenants_table,
                config.tenant_cache_ttl,
            ),
            queue: SqsQueue::new(aws_sdk_sqs::Client::new(aws), &config.sync_queue_url),
            pulls: SqsQueue::new(aws_sdk_sqs::Client::new(aws), &config.runs_queue_url),
            audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(aws), &config.audit_table),
            audit_ttl: config.audit_ttl,
        }
    }

    pub fn ports(&self) -> IngestPorts<'_, (SsmSecretStore, DynamoTenantDirectory, SqsQueue)> {
        IngestPorts {
            secrets: &self.secrets,
            tenants: &self.tenants,
            queue: &self.queue,
        }
    }

    pub fn provider_ports(
        &self,
    ) -> ProviderPorts<
        '_,
        (
            SsmSecretStore,
            DynamoTenantDirectory,
            SqsQueue,
            DynamoAuditLog,
        ),
    > {
        ProviderPorts {
            secrets: &self.secrets,
            tenants: &self.tenants,
            queue: &self.queue,
            pulls: &self.pulls,
            audit: &self.audit,
            audit_ttl: self.audit_ttl,
        }
    }
}

/// sync-worker's adapters, built once per cold start.
pub struct Worker {
    pub canary_tenants: Vec<String>,
    pub metrics: synchub_aws::dynamodb::DynamoMetricsLedger,
    pub items: DynamoItemStore,
    pub audit: DynamoAuditLog,
    pub tenants: DynamoTenantDirectory,
    pub dead_letters: SqsQueue,
    pub storefront: HttpStorefront,
    pub targets: HttpCustomerTargets<SsmSecretStore>,
    pub flags: TargetFlags,
    pub audit_ttl: Duration,
    /// Read once per batch (cached ~30 s): on holds back every outbound call.
    pub maintenance: SsmMaintenanceSwitch,
}

/// The maintenance switch named by `MAINTENANCE_PARAMETER`.
pub fn maintenance_switch(aws: &SdkConfig, config: &Config) -> SsmMaintenanceSwitch {
    SsmMaintenanceSwitch::new(aws_sdk_ssm::Client::new(aws), &config.maintenance_parameter)
}

/// The customer targets with the tenant's tokens from SSM.
pub fn customer_targets(aws: &SdkConfig, config: &Config) -> HttpCustomerTargets<SsmSecretStore> {
    let tokens = SsmSecretStore::new(
        aws_sdk_ssm::Client::new(aws),
        &config.tenant_secrets_path,
        config.tenant_cache_ttl,
    );
    let endpoints = TargetEndpoints {
        square_base_url: config.square_base_url.clone(),
        hubspot_base_url: config.hubspot_base_url.clone(),
        attempts: config.target_attempts,
        max_wait: Duration::from_secs(5),
    };
    HttpCustomerTargets::new(endpoints, tokens)
}

impl Worker {
    pub fn new(aws: &SdkConfig, config: &Config) -> Self {
        let dynamo = aws_sdk_dynamodb::Client::new(aws);
        Self {
            canary_tenants: config.canary_tenants.clone(),
            metrics: synchub_aws::dynamodb::DynamoMetricsLedger::new(
                dynamo.clone(),
                &config.audit_table,
                config.audit_ttl,
            ),
            items: DynamoItemStore::new(dynamo.clone(), &config.items_table)
                .with_shards(config.item_shards),
            audit: DynamoAuditLog::new(dynamo.clone(), &config.audit_table),
            tenants: DynamoTenantDirectory::new(
                dynamo,
                &config.tenants_table,
                config.tenant_cache_ttl,
            ),
            dead_letters: SqsQueue::new(aws_sdk_sqs::Client::new(aws), &config.sync_dlq_url),
            storefront: HttpStorefront::default(),
            targets: customer_targets(aws, config),
            flags: config.flags,
            audit_ttl: config.audit_ttl,
            maintenance: maintenance_switch(aws, config),
        }
    }

    /// The ports with the maintenance switch off; a batch from the queue
    /// gets [`Worker::ports_with`] the switch as read (see `sqs.rs`).
    pub fn ports(&self) -> ApplyPorts<'_, LiveApply> {
        self.ports_with(Maintenance::Off)
    }

    pub fn ports_with(&self, maintenance: Maintenance) -> ApplyPorts<'_, LiveApply> {
        ApplyPorts {
            items: &self.items,
            audit: &self.audit,
            tenants: &self.tenants,
            dead_letters: &self.dead_letters,
            storefront: &self.storefront,
            targets: &self.targets,
            flags: self.flags,
            canary_tenants: &self.canary_tenants,
            audit_ttl: self.audit_ttl,
            maintenance,
        }
    }
}

/// failure-notifier's adapters, built once per cold start.
pub struct Notifier {
    pub store: DynamoAlertStore,
    pub mailer: SesMailer,
    pub tenants: DynamoTenantDirectory,
    pub notices: SqsQueue,
    pub policy: AlertPolicy,
}

impl Notifier {
    pub fn new(aws: &SdkConfig, config: &Config) -> Self {
        let dynamo = aws_sdk_dynamodb::Client::new(aws);
        Self {
            store: DynamoAlertStore::new(
                dynamo.clone(),
                &config.notifications_table,
                config.audit_ttl,
            ),
            mailer: SesMailer::new(aws_sdk_ses::Client::new(aws), &config.alert_sender),
            tenants: DynamoTenantDirectory::new(
                dynamo,
                &config.tenants_table,
                config.tenant_cache_ttl,
            ),
            notices: SqsQueue::new(aws_sdk_sqs::Client::new(aws), &config.notify_queue_url),
            policy: AlertPolicy {
                window_millis: config.alert_window.as_millis() as i64,
                default_recipient: config.alert_default_recipient.clone(),
            },
        }
    }

    pub fn ports(
        &self,
    ) -> NotifyPorts<'_, (DynamoAlertStore, SesMailer, DynamoTenantDirectory, SqsQueue)> {
        NotifyPorts {
            store: &self.store,
            mailer: &self.mailer,
            tenants: &self.tenants,
            notices: &self.notices,
            policy: &self.policy,
        }
    }
}

/// The connector engine as the deployment configures it (five attempts,
/// at most 30 s of waiting per page; a local origin for stand-ins).
pub fn connector_engine(config: &Config) -> synchub_aws::connector_http::ConnectorEngine {
    let engine = synchub_aws::connector_http::ConnectorEngine::new(5, Duration::from_secs(30));
    match &config.connector_origin {
        Some(origin) => engine.with_origin(origin),
        None => engine,
    }
}

/// daily-sync's adapters, built once per cold start.
pub struct DailySync {
    /// Square's client and the connector engine.
    pub source: synchub_aws::pos_clients::PosClients,
    pub runs: synchub_aws::runs::DynamoRunStore,
    pub queue: SqsQueue,
    pub notices: SqsQueue,
    pub work: SqsQueue,
    pub tokens: SsmSecretStore,
    pub index: DynamoItemStore,
    pub tenants: DynamoTenantDirectory,
    pub policy: synchub_core::app::daily_sync::SyncPolicy,
    /// On: the schedule's runs are not started, manual ones refused.
    pub maintenance: SsmMaintenanceSwitch,
}

impl DailySync {
    pub fn new(aws: &SdkConfig, config: &Config) -> Self {
        let dynamo = aws_sdk_dynamodb::Client::new(aws);
        let sqs = aws_sdk_sqs::Client::new(aws);
        Self {
            source: synchub_aws::pos_clients::PosClients {
                square: synchub_aws::square::SquareClient::new(
                    &config.square_base_url,
                    5,
                    Duration::from_secs(30),
                ),
                connectors: connector_engine(config),
            },
            runs: synchub_aws::runs::DynamoRunStore::new(
                dynamo.clone(),
                &config.runs_table,
                config.audit_ttl,
            ),
            queue: SqsQueue::new(sqs.clone(), &config.sync_queue_url),
            notices: SqsQueue::new(sqs.clone(), &config.notify_queue_url),
            work: SqsQueue::new(sqs, &config.runs_queue_url),
            tokens: SsmSecretStore::new(
                aws_sdk_ssm::Client::new(aws),
                &config.tenant_secrets_path,
                config.tenant_cache_ttl,
            ),
            index: DynamoItemStore::new(dynamo.clone(), &config.items_table)
                .with_shards(config.item_shards),
            tenants: DynamoTenantDirectory::new(
                dynamo,
                &config.tenants_table,
                config.tenant_cache_ttl,
            ),
            policy: synchub_core::app::daily_sync::SyncPolicy {
                orders_lookback: config.orders_lookback,
                inventory_lookback: config.inventory_lookback,
                stuck_after: config.stuck_after,
                ..Default::default()
            },
            maintenance: maintenance_switch(aws, config),
        }
    }

    pub fn ports(&self) -> synchub_core::app::daily_sync::SyncPorts<'_, LiveSync> {
        synchub_core::app::daily_sync::SyncPorts {
            source: &self.source,
            runs: &self.runs,
            queue: &self.queue,
            notices: &self.notices,
            work: &self.work,
            tokens: &self.tokens,
            index: &self.index,
            policy: &self.policy,
            maintenance: &self.maintenance,
        }
    }
}

/// sync-api's adapters, built once per cold start: daily-sync's (runs,
/// tenants, the Square client, tokens and the item index, so a manual or dry
/// run takes the schedule's code path), the audit trail for traces, the
/// dead-letter queues health counts, and the deploy-time flags and thresholds.
pub struct Api {
    pub sync: DailySync,
    pub audit: DynamoAuditLog,
    pub sync_dlq: SqsQueue,
    pub runs_dlq: SqsQueue,
    pub notify_dlq: SqsQueue,
    pub flags: synchub_ops::FlagPolicy,
    pub thresholds: synchub_ops::HealthThresholds,
    /// The per-(tenant, hour) counters the gate reads.
    pub metrics: synchub_aws::dynamodb::DynamoMetricsLedger,
    /// The failures the notifier recorded, by tenant and error class.
    pub failures: DynamoAlertStore,
    /// `ensure`'s per-(method, hour) counters, on the audit table.
    pub method_stats: synchub_aws::dynamodb::DynamoMethodStats,
}

impl Api {
    pub fn new(aws: &SdkConfig, config: &Config) -> Self {
        let sqs = aws_sdk_sqs::Client::new(aws);
        Self {
            sync: DailySync::new(aws, config),
            audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(aws), &config.audit_table),
            sync_dlq: SqsQueue::new(sqs.clone(), &config.sync_dlq_url),
            runs_dlq: SqsQueue::new(sqs.clone(), &config.runs_dlq_url),
            notify_dlq: SqsQueue::new(sqs, &config.notify_dlq_url),
            flags: synchub_ops::FlagPolicy {
                deploy: config.flags,
                canary_tenants: config.canary_tenants.clone(),
            },
            thresholds: config.health,
            metrics: synchub_aws::dynamodb::DynamoMetricsLedger::new(
                aws_sdk_dynamodb::Client::new(aws),
                &config.audit_table,
                config.audit_ttl,
            ),
            failures: DynamoAlertStore::new(
                aws_sdk_dynamodb::Client::new(aws),
                &config.notifications_table,
                config.audit_ttl,
            ),
            method_stats: synchub_aws::dynamodb::DynamoMethodStats::new(
                aws_sdk_dynamodb::Client::new(aws),
                &config.audit_table,
                config.audit_ttl,
            ),
        }
    }
}
