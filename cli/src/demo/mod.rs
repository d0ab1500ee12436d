//! The local demo (built with the `demo` feature): a few hundred signed
//! supplier webhooks (shuffled, with duplicates and malformed ones) through
//! the real ingest handler, the real worker consuming the queue concurrently,
//! then what happened, a check that every SKU holds its newest event, the
//! failure notifier on the DLQ, Shopify registrations sent to the customer
//! targets, and last what `synchub health`, `status` and `trace` answer. The
//! storefront, Square and HubSpot are local stand-ins ([`fakes`]); everything
//! else is the stack's own code on the local engines.

mod check;
mod dashboard;
mod fakes;
mod notifier;
mod operations;
mod registrations;
mod supplier;

use crate::event_source::LocalEventSource;
use crate::local::{self, QueueSettings};
use crate::ops::Operations;
use aws_config::SdkConfig;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_core::domain::TenantId;
use synchub_core::ports::TenantSettings;
use synchub_lambda::config::Config;
use synchub_lambda::{sqs::handle_sync_batch, Ingest, Worker};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Who gets the demo tenant's failure emails.
pub const DEMO_ALERT_RECIPIENT: &str = "ops@demo-shop.example";

pub struct DemoOptions {
    pub prefix: String,
    pub tenant: String,
    pub skus: usize,
    pub pollers: usize,
    /// Serve the dashboard on the demo's data at the end, on this port,
    /// until Ctrl-C; `None` ends at once.
    pub dashboard: Option<u16>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            prefix: "synchub".into(),
            tenant: "demo-shop".into(),
            skus: 40,
            pollers: 4,
            dashboard: None,
        }
    }
}

/// Runs the demo and returns whether its checks passed.
pub async fn run(aws: &SdkConfig, options: &DemoOptions) -> Result<bool, Error> {
    let started = Instant::now();
    let config = provision(aws, &options.prefix).await?;
    let storefront = fakes::Storefront::start().await;
    let secret = seed_tenant(aws, &config, &options.tenant, &storefront.uri()).await?;
    let ingest = Ingest::new(aws, &config);
    let workers = WorkerPool::start(aws, &config, options.pollers);

    let planned = supplier::plan_webhooks(options.skus, &mut rand::rng());
    let sent = supplier::send(&ingest, &options.tenant, &secret, &planned).await;
    enqueue_junk(aws, &config, &options.tenant).await?;
    workers.drain().await?;
    let drained = started.elapsed();

    let tally = supplier::Tally::of(&planned, &sent);
    tally.print();
    let outcomes = report_worker(aws, &config, options.pollers, drained, &storefront).await?;
    notifier::report_dead_letters(aws, &config).await?;

    let tenant = TenantId::parse(&options.tenant)?;
    let newest_held = check::newest_held(aws, &config, &tenant, &tally.newest).await?;
    let ops = Operations::new(aws, &config);
    check::explain_a_stale_sku(&ops, &tenant, &tally.newest).await?;
    // Every accepted webhook, and the junk message, has exactly one audit row.
    let all_audited = outcomes.values().sum::<usize>() == tally.accepted() + 1;
    let registered = registrations::run(aws, &config, &ingest, &options.tenant).await?;
    let operated = operations::run(aws, &config, &tenant).await?;
    if let Some(port) = options.dashboard {
        dashboard::serve(aws, &config, &tenant, port).await?;
    }
    Ok(newest_held && all_audited && registered && operated)
}

/// The stack's resources, with a short visibility timeout so retries show quickly.
async fn provision(aws: &SdkConfig, prefix: &str) -> Result<Config, Error> {
    let queue = QueueSettings {
        visibility_seconds: 5,
        ..QueueSettings::default()
    };
    let config = local::provision(aws, prefix, queue).await?;
    println!(
        "resources   {}, {}, {}, queue {} (+ DLQ)",
        config.items_table,
        config.audit_table,
        config.tenants_table,
        config.sync_queue_url.rsplit('/').next().unwrap_or("")
    );
    Ok(config)
}

/// The demo tenant: a fresh signing secret in SSM, settings pointing at the
/// storefront stand-in; returns the secret the supplier signs with.
async fn seed_tenant(
    aws: &SdkConfig,
    config: &Config,
    tenant: &str,
    storefront_uri: &str,
) -> Result<WebhookSecret, Error> {
    let secret_text = local::new_signing_secret();
    let settings = TenantSettings {
        tenant_id: tenant.to_owned(),
        name: "Demo Shop".into(),
        active: true,
        storefront_url: Some(format!("{storefront_uri}/cache-bust")),
        targets_disabled: vec![],
        alert_recipients: vec![DEMO_ALERT_RECIPIENT.into()],
        daily_summary: true,
        square_notification_url: None,
        flag_overrides: Default::default(),
        sync_method: None,
        allowed_suppliers: vec![],
        pos: vec![],
    };
    local::seed_tenant(aws, config, &settings, &secret_text).await?;
    println!(
        "tenant      {tenant} (signing secret in SSM {}/{tenant}/webhook-secret, storefront at {storefront_uri})",
        config.tenant_secrets_path,
    );
    Ok(WebhookSecret::parse(&secret_text)?)
}

/// The real worker on several pollers, consuming the queue while webhooks arrive.
struct WorkerPool {
    producing: Arc<AtomicBool>,
    pollers: Vec<tokio::task::JoinHandle<Result<(), Error>>>,
}

impl WorkerPool {
    fn start(aws: &SdkConfig, config: &Config, pollers: usize) -> Self {
        let worker = Arc::new(Worker::new(aws, config));
        let source = LocalEventSource::new(aws_sdk_sqs::Client::new(aws), &config.sync_queue_url);
        let producing = Arc::new(AtomicBool::new(true));
        let pollers = (0..pollers)
            .map(|_| tokio::spawn(poll(source.clone(), worker.clone(), producing.clone())))
            .collect();
        Self { producing, pollers }
    }

    /// Tells the pollers nothing more is coming and waits until the queue is empty.
    async fn drain(self) -> Result<(), Error> {
        self.producing.store(false, Ordering::Relaxed);
        for poller in self.pollers {
            poller.await??;
        }
        Ok(())
    }
}

/// One poller: polls until producing has stopped and the queue stays empty.
async fn poll(
    source: LocalEventSource,
    worker: Arc<Worker>,
    producing: Arc<AtomicBool>,
) -> Result<(), Error> {
    let mut idle = 0;
    loop {
        let stats = source
            .poll_once(|event| async { handle_sync_batch(&worker, event).await })
            .await?;
        if stats.received == 0 && !producing.load(Ordering::Relaxed) {
            idle += 1;
            if idle >= 2 && source.depth().await? == 0 {
                return Ok(());
            }
        } else {
            idle = 0;
        }
    }
}

/// A producer that bypasses ingest and puts junk on the queue: the worker must reject it.
async fn enqueue_junk(aws: &SdkConfig, config: &Config, tenant: &str) -> Result<(), Error> {
    let body = json!({"schema": 1, "tenantId": tenant, "source": "supplier", "eventId": "evt-junk", "correlationId": "sync-demo-junk", "receivedAt": "2026-06-01T10:00:00Z",
                      "payload": {"eventId": "evt-junk", "supplierId": "acme-supply", "sku": "SKU-000", "quantity": 1.5, "updatedAt": "2026-06-01T10:00:00Z"}});
    aws_sdk_sqs::Client::new(aws)
        .send_message()
        .queue_url(&config.sync_queue_url)
        .message_group_id(tenant)
        .message_body(body.to_string())
        .send()
        .await?;
    Ok(())
}

/// What the worker recorded, and what the storefront received; returns the
/// audit rows by outcome.
async fn report_worker(
    aws: &SdkConfig,
    config: &Config,
    pollers: usize,
    drained: Duration,
    storefront: &fakes::Storefront,
) -> Result<BTreeMap<String, usize>, Error> {
    let outcomes = local::count_outcomes(aws, config).await?;
    println!(
        "worker      {pollers} pollers drained the queue in {:.2} s since start; audit rows by outcome:",
        drained.as_secs_f64()
    );
    for (outcome, count) in &outcomes {
        println!("  {outcome:<10} {count:>4}");
    }
    println!(
        "storefront  {} cache-bust POSTs (one per applied change: {})",
        storefront.publishes().await,
        outcomes.get("applied").copied().unwrap_or(0)
    );
    Ok(outcomes)
}
