//! End-to-end benchmark: N signed webhooks through the real, release-built
//! function binaries (webhook-ingest → SQS → sync-worker → DynamoDB) on the
//! local engines, each function in its own process behind a local Lambda
//! Runtime API. Reports events/s, CPU seconds per 1,000 events and peak RSS
//! per function process, cold start, and AWS requests per delivered event
//! (counted by a pass-through proxy in front of the engines).
//!
//! cargo build --release -p webhook-ingest -p sync-worker && cargo build --release -p synchub-tests --bin synchub-bench
//! target/release/synchub-bench --events 2000

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use axum::body::Bytes;
use clap::Parser;
use rand::seq::SliceRandom;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use synchub_cli::event_source::LocalEventSource;
use synchub_cli::local::{self, QueueSettings};
use synchub_lambda::config::Config;
use synchub_tests::lambda_emulator::{start_function, usage, CountingProxy, RuntimeApi};
use synchub_tests::*;

#[derive(Parser)]
struct Args {
    /// Webhooks to send.
    #[arg(long, default_value_t = 2000)]
    events: usize,
    /// Versions per SKU (events / versions SKUs).
    #[arg(long, default_value_t = 4)]
    versions: usize,
    /// Execution environments (processes) per function.
    #[arg(long, default_value_t = 2)]
    envs: usize,
    /// Records per worker invocation (the event source's BatchSize).
    #[arg(long, default_value_t = 25)]
    batch_size: usize,
    /// Log level inside the functions.
    #[arg(long, default_value = "info")]
    log: String,
    /// Send every webhook with a stale timestamp: measures the floor (Lambda
    /// runtime loop, request parsing, a 401) with no AWS call at all.
    #[arg(long)]
    floor: bool,
    /// Only time N SQS SendMessage calls from this process (SDK cost per call).
    #[arg(long)]
    sdk_only: bool,
    /// Send Shopify `customers/create` webhooks instead (one per customer),
    /// with both customer targets on and answered by a local server.
    #[arg(long)]
    registrations: bool,
    /// The functions reach the engines directly, without the counting proxy
    /// (for latency figures that include no proxy hop).
    #[arg(long)]
    direct: bool,
    /// Also measure the cost model's inputs (cost/inputs.json): the
    /// functions' log lines and bytes per event (their stdout, kept in this
    /// directory) and the write units of the audit rows, their index copies
    /// and the items (DynamoDB Local's ReturnConsumedCapacity).
    #[arg(long, value_name = "DIR")]
    cost: Option<std::path::PathBuf>,
    /// The tenant has no storefront: the worker makes no cache-bust call
    /// (what the storefront's one call per applied change costs).
    #[arg(long)]
    no_storefront: bool,
}

/// p50, p90, p99 and max of some durations, in ms.
fn spread(mut took: Vec<Duration>) -> String {
    took.sort();
    let at = |p: f64| {
        let i = ((took.len().max(1) - 1) as f64 * p).round() as usize;
        took.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n = {})",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        took.len()
    )
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let aws = aws().await;
    if args.sdk_only {
        let sqs = if std::env::var_os("NO_STALL").is_some() {
            let conf = aws_sdk_sqs::config::Builder::from(&aws)
                .stalled_stream_protection(
                    aws_sdk_sqs::config::StalledStreamProtectionConfig::disabled(),
                )
                .build();
            aws_sdk_sqs::Client::from_conf(conf)
        } else {
            aws_sdk_sqs::Client::new(&aws)
        };
        let url = sqs
            .create_queue()
            .queue_name(unique("sdk"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue = synchub_aws::sqs::SqsQueue::new(sqs, url);
        let message = synchub_core::ports::OutgoingMessage {
            group_id: "t".into(),
            body: "x".repeat(400),
            attributes: vec![("tenantId", "t".into())],
            delay_seconds: 0,
        };
        use synchub_core::ports::MessageQueue;
        queue.send(&message).await.unwrap();
        let (cpu0, _) = usage(std::process::id());
        let t0 = Instant::now();
        let mut took = Vec::with_capacity(args.events);
        for _ in 0..args.events {
            let call = Instant::now();
            queue.send(&message).await.unwrap();
            took.push(call.elapsed());
        }
        let (cpu1, _) = usage(std::process::id());
        println!("SendMessage latency: {}", spread(took));
        println!(
            "SendMessage: {:.0} us CPU per call, {:.0} us wall",
            (cpu1 - cpu0) * 1e6 / args.events as f64,
            t0.elapsed().as_secs_f64() * 1e6 / args.events as f64
        );
        return;
    }
    let prefix = unique("bench");
    let config: Config = local::provision(
        &aws,
        &prefix,
        QueueSettings {
            visibility_seconds: 30,
            max_receive_count: 5,
        },
    )
    .await
    .unwrap();

    // A storefront that answers every cache-bust.
    let published = Arc::new(AtomicUsize::new(0));
    let counter = published.clone();
    let storefront = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::Relaxed);
            axum::http::StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let storefront_url = format!("http://{}/cache-bust", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, storefront).await });

    let tenant_id = "bench-shop".to_owned();
    let secret_text = local::new_signing_secret();
    let settings = synchub_core::ports::TenantSettings {
        tenant_id: tenant_id.clone(),
        name: "Bench".into(),
        active: true,
        storefront_url: (!args.no_storefront).then_some(storefront_url),
        targets_disabled: vec![],
        alert_recipients: vec![],
        daily_summary: false,
        square_notification_url: None,
        flag_overrides: Default::default(),
        sync_method: None,
        allowed_suppliers: vec![],
        pos: vec![],
    };
    local::seed_tenant(&aws, &config, &settings, &secret_text)
        .await
        .unwrap();
    let secret =
        synchub_core::domain::webhook_signature::WebhookSecret::parse(&secret_text).unwrap();
    let shopify_secret = "shpss_bench_client_secret";
    for (name, value) in [
        ("shopify-secret", shopify_secret),
        ("square-token", "EAAA-bench"),
        ("hubspot-token", "pat-bench"),
    ] {
        local::put_tenant_parameter(&aws, &config, &tenant_id, name, value)
            .await
            .unwrap();
    }
    // The customer targets: Square's CreateCustomer and HubSpot's batch upsert, counted.
    let target_calls = Arc::new(std::sync::Mutex::new(HashMap::<String, usize>::new()));
    let targets = {
        let calls = target_calls.clone();
        axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let calls = calls.clone();
            async move {
                let n = {
                    let mut calls = calls.lock().unwrap();
                    let n = calls.entry(uri.path().to_owned()).or_default();
                    *n += 1;
                    *n
                };
                let body = if uri.path() == "/v2/customers" {
                    serde_json::json!({"customer": {"id": format!("SQ-{n}"), "version": 0}})
                } else {
                    serde_json::json!({"status": "COMPLETE", "results": [{"id": n.to_string(), "new": true}]})
                };
                ([(axum::http::header::CONTENT_TYPE, "application/json")], body.to_string())
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let targets_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, targets).await });

    let dynamo_proxy =
        CountingProxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()).await;
    let moto_proxy = CountingProxy::start(&std::env::var("AWS_ENDPOINT_URL_SQS").unwrap()).await;
    let endpoint = |proxy: &CountingProxy, service: &str| match args.direct {
        true => std::env::var(format!("AWS_ENDPOINT_URL_{service}")).unwrap(),
        false => proxy.url.clone(),
    };
    let env: Vec<(String, String)> = vec![
        (
            "AWS_ENDPOINT_URL_DYNAMODB".into(),
            endpoint(&dynamo_proxy, "DYNAMODB"),
        ),
        ("AWS_ENDPOINT_URL_SQS".into(), endpoint(&moto_proxy, "SQS")),
        ("AWS_ENDPOINT_URL_SSM".into(), endpoint(&moto_proxy, "SSM")),
        ("ITEMS_TABLE".into(), config.items_table.clone()),
        ("AUDIT_TABLE".into(), config.audit_table.clone()),
        ("TENANTS_TABLE".into(), config.tenants_table.clone()),
        ("SYNC_QUEUE_URL".into(), config.sync_queue_url.clone()),
        ("SYNC_DLQ_URL".into(), config.sync_dlq_url.clone()),
        ("RUNS_QUEUE_URL".into(), config.runs_queue_url.clone()),
        (
            "TENANT_SECRETS_PATH".into(),
            config.tenant_secrets_path.clone(),
        ),
        ("SQUARE_BASE_URL".into(), targets_url.clone()),
        ("HUBSPOT_BASE_URL".into(), targets_url.clone()),
        ("ENABLE_POS_SYNC".into(), args.registrations.to_string()),
        ("ENABLE_CRM_SYNC".into(), args.registrations.to_string()),
    ];
    if let Some(dir) = &args.cost {
        std::fs::create_dir_all(dir).unwrap();
        std::env::set_var("SYNCHUB_BENCH_LOG_DIR", dir);
    }
    let ingest_api = Arc::new(RuntimeApi::start().await);
    let worker_api = Arc::new(RuntimeApi::start().await);
    let mut ingest =
        start_function("webhook-ingest", args.envs, &ingest_api, &env, &args.log).await;
    let mut worker = start_function("sync-worker", args.envs, &worker_api, &env, &args.log).await;

    // The supplier's stream: several versions per SKU, shuffled.
    let skus = if args.registrations {
        args.events
    } else {
        (args.events / args.versions).max(1)
    };
    let mut planned: Vec<(String, String)> = (0..args.events)
        .map(|i| {
            if args.registrations {
                let body = shopify_customer(
                    1_000_000 + i as u64,
                    &format!("customer{i}@bench.test"),
                    "Bench",
                    &at_minute(1),
                )
                .to_string();
                return (format!("evt-reg-{i}"), body);
            }
            let (sku, version) = (i % skus, i / skus);
            let body = supplier_event(
                &format!("evt-{sku}-{version}"),
                &format!("SKU-{sku:05}"),
                version as i64,
                &at_minute(version as i64),
            )
            .to_string();
            (format!("msg_{i}"), body)
        })
        .collect();
    planned.shuffle(&mut rand::rng());

    let started = Instant::now();
    let accepted = Arc::new(AtomicUsize::new(0));
    let sending_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let (ingest_api, accepted, sending_done, tenant_id) = (
            ingest_api.clone(),
            accepted.clone(),
            sending_done.clone(),
            tenant_id.clone(),
        );
        let floor = args.floor;
        let registrations = args.registrations;
        tokio::spawn(async move {
            use futures::StreamExt;
            let mut statuses: HashMap<u16, usize> = HashMap::new();
            let results: Vec<u16> = futures::stream::iter(planned)
                .map(|(id, body)| {
                    let event = if registrations {
                        webhook_event(
                            "shopify",
                            &tenant_id,
                            &shopify_headers(shopify_secret, "customers/create", &id, &body),
                            &body,
                        )
                        .to_string()
                    } else {
                        let mut headers = signed_headers(&secret, &id, &body);
                        if floor {
                            headers[1].1 = "1".into();
                        }
                        apigw_event(&tenant_id, &headers, &body).to_string()
                    };
                    let api = ingest_api.clone();
                    async move {
                        let answer = api
                            .invoke(Bytes::from(event))
                            .await
                            .expect("ingest answered");
                        let v: Value = serde_json::from_slice(&answer).unwrap();
                        v["statusCode"].as_u64().unwrap_or(0) as u16
                    }
                })
                .buffer_unordered(8)
                .collect()
                .await;
            for s in results {
                *statuses.entry(s).or_default() += 1;
                if s == 202 {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
            }
            sending_done.store(true, Ordering::SeqCst);
            statuses
        })
    };

    // moto's own latency meanwhile: one cheap call (an empty queue's
    // attributes) every 20 ms from this process, beside the functions' calls.
    let probing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let probe = {
        let (sqs, url, probing) = (
            aws_sdk_sqs::Client::new(&aws),
            config.sync_dlq_url.clone(),
            probing.clone(),
        );
        tokio::spawn(async move {
            let mut took = Vec::new();
            while probing.load(Ordering::SeqCst) {
                let call = Instant::now();
                let _ = sqs
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .send()
                    .await;
                took.push(call.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            took
        })
    };

    // The event source: batches of up to `batch_size` records, one worker invocation each.
    let deleted = Arc::new(AtomicUsize::new(0));
    let batches = Arc::new(AtomicUsize::new(0));
    let pollers: Vec<_> = (0..args.envs)
        .map(|_| {
            let (worker_api, deleted, accepted, sending_done, batches) = (
                worker_api.clone(),
                deleted.clone(),
                accepted.clone(),
                sending_done.clone(),
                batches.clone(),
            );
            let mut source =
                LocalEventSource::new(aws_sdk_sqs::Client::new(&aws), &config.sync_queue_url);
            source.wait = Duration::from_secs(0);
            let batch_size = args.batch_size;
            tokio::spawn(async move {
                loop {
                    if sending_done.load(Ordering::SeqCst)
                        && deleted.load(Ordering::SeqCst) >= accepted.load(Ordering::SeqCst)
                    {
                        return;
                    }
                    let stats = source
                        .poll_batch(batch_size, Duration::from_millis(500), |event: SqsEvent| {
                            let api = worker_api.clone();
                            async move {
                                let answer = api
                                    .invoke(Bytes::from(serde_json::to_vec(&event).unwrap()))
                                    .await
                                    .expect("worker answered");
                                serde_json::from_slice::<SqsBatchResponse>(&answer).unwrap()
                            }
                        })
                        .await
                        .unwrap();
                    deleted.fetch_add(stats.received - stats.failed, Ordering::SeqCst);
                    batches.fetch_add(usize::from(stats.received > 0), Ordering::SeqCst);
                    if stats.received == 0 {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();
    let statuses = producer.await.unwrap();
    // Lambda's Duration: from the event handed to the process to its answer.
    let ingest_took = spread(ingest_api.durations());
    probing.store(false, Ordering::SeqCst);
    let probe_took = spread(probe.await.unwrap());
    for p in pollers {
        p.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let delivered = if args.floor {
        args.events
    } else {
        accepted.load(Ordering::SeqCst)
    };

    let ops_total = |p: &CountingProxy| -> usize { p.counts().values().sum() };
    let all: HashMap<String, usize> = dynamo_proxy
        .counts()
        .into_iter()
        .chain(moto_proxy.counts())
        .collect();
    let mut ops: Vec<_> = all.iter().collect();
    ops.sort();
    let requests = ops_total(&dynamo_proxy) + ops_total(&moto_proxy);

    let what = if args.registrations {
        "Shopify registrations (POS and CRM on)"
    } else {
        "webhooks"
    };
    println!(
        "## End-to-end: {} {what}, {} entities, {} environments per function, worker batch {}\n",
        args.events, skus, args.envs, args.batch_size
    );
    if args.registrations {
        let calls = target_calls.lock().unwrap().clone();
        for (path, n) in &calls {
            println!(
                "target calls {path}: {n} = {:.3} per registration",
                *n as f64 / delivered as f64
            );
        }
    }
    println!(
        "HTTP statuses: {statuses:?}; delivered {delivered}; storefront cache-busts {}",
        published.load(Ordering::Relaxed)
    );
    println!("throughput: {:.0} events/s ({delivered} events in {elapsed:.2} s, first webhook to last worker ack)", delivered as f64 / elapsed);
    println!("webhook-ingest duration per invocation: {ingest_took}");
    let batches = batches.load(Ordering::SeqCst).max(1);
    println!(
        "worker batches: {batches}, {:.1} records each (the event source's BatchSize is {})",
        delivered as f64 / batches as f64,
        args.batch_size
    );
    println!(
        "moto meanwhile, one GetQueueAttributes every 20 ms from the benchmark: {probe_took}\n"
    );
    println!("| function | CPU-s per 1,000 events (after init) | CPU-s total incl. init | peak RSS (MiB, max of envs) | cold start (median ms) |");
    println!("|---|---|---|---|---|");
    for f in [&mut ingest, &mut worker] {
        let (cpu, total, rss, cold) = f.report();
        println!(
            "| {} | {:.3} | {:.2} | {:.1} | {:.1} |",
            f.name,
            cpu / delivered as f64 * 1000.0,
            total,
            rss as f64 / 1024.0,
            cold
        );
        f.stop();
    }
    println!(
        "\nAWS requests made by the functions: {requests} = {:.3} per delivered event",
        requests as f64 / delivered as f64
    );
    for (op, n) in ops {
        println!(
            "  {op:<40} {n:>7}  ({:.3}/event)",
            *n as f64 / delivered as f64
        );
    }
    if !args.floor {
        let outcomes = synchub_cli::local::count_outcomes(&aws, &config)
            .await
            .unwrap();
        println!("audit rows by outcome: {outcomes:?}");
        assert_eq!(
            outcomes.values().sum::<usize>(),
            delivered,
            "one audit row per delivered event"
        );
    }
    if let Some(dir) = &args.cost {
        let functions = ["webhook-ingest", "sync-worker"];
        cost_inputs(&aws, &config, dir, &functions, args.envs, delivered).await;
    }
}

/// The cost model's measured inputs, per delivered event.
async fn cost_inputs(
    aws: &aws_config::SdkConfig,
    config: &Config,
    dir: &std::path::Path,
    functions: &[&str],
    envs: usize,
    delivered: usize,
) {
    use synchub_cli::cost::{log_volume, write_units};
    let per = |n: usize| n as f64 / delivered as f64;
    println!("\ncost model inputs (per delivered event):");
    for name in functions {
        let mut total = synchub_cli::cost::LogVolume::default();
        for i in 0..envs {
            let v = log_volume(&dir.join(format!("{name}-{i}.jsonl"))).unwrap();
            total.lines += v.lines;
            total.bytes += v.bytes;
            for (kind, (lines, bytes)) in v.by_message {
                let e = total.by_message.entry(kind).or_default();
                e.0 += lines;
                e.1 += bytes;
            }
        }
        let (lines, bytes) = (per(total.lines), per(total.bytes));
        println!("  {name} logs: {lines:.3} lines, {bytes:.0} bytes");
        for (kind, (l, b)) in total.by_message {
            println!("    {kind:<40} {:.3} lines, {:.0} bytes", per(l), per(b));
        }
    }
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    for table in [&config.audit_table, &config.items_table] {
        let units = write_units(&dynamo, table).await.unwrap();
        let (median, largest) = units.sizes();
        println!(
            "  {table}: {} rows ({:.3} per event), {:.3} WRU per row, rows {median} B median, {largest} B largest",
            units.rows,
            per(units.rows),
            units.per_row()
        );
        for (index, rows) in &units.index_rows {
            let (median, largest) = units.index_sizes(index);
            println!(
                "    index {index}: {rows} rows ({:.3} of the table's), {:.3} WRU per row, copies {median} B median, {largest} B largest",
                *rows as f64 / units.rows.max(1) as f64,
                units.index_per_row(index)
            );
        }
        if units.journal_items > 0 {
            println!(
                "    deliveries journal: {} items ({:.3} per event), {:.3} WRU per item, {:.1} rows listed per item",
                units.journal_items,
                per(units.journal_items),
                units.journal_units / units.journal_items as f64,
                units.journal_listed as f64 / units.journal_items as f64
            );
        }
    }
}
