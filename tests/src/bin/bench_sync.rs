//! daily-sync benchmark: a full catalog pull of N objects from the local
//! Square-shaped server (pages of 100), through the release `daily-sync`
//! binary behind the local Lambda Runtime API (invocations get the
//! template's 300 s timeout; the run pauses before it and continues through
//! the runs queue as in AWS). The sync queue
//! is drained concurrently (as the worker would) so moto stays shallow; the
//! drain's requests are not counted.
//!
//! With `--pos posabit` the same pull goes through the manifest engine
//! instead: the tenant's POS is POSaBIT (`connectors/posabit.yaml`) and a
//! stand-in serves its venue inventory in pages of 100 (`total_pages`), the
//! records shaped as its documentation shows; everything else is the same,
//! so the two runs compare the engine with Square's hand-written path.
//!
//! cargo build --release -p daily-sync -p synchub-tests --bin synchub-bench-sync
//! target/release/synchub-bench-sync --objects 100000 [--pos posabit]

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use axum::body::Bytes;
use clap::Parser;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use synchub_cli::event_source::LocalEventSource;
use synchub_cli::local::{self, QueueSettings};
use synchub_tests::lambda_emulator::{start_function, CountingProxy, RuntimeApi};
use synchub_tests::square_server::{self, SquareData, SquareServer};
use synchub_tests::*;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    objects: usize,
    /// Seconds per invocation (template.yaml's DailySyncFunction Timeout).
    #[arg(long, default_value_t = synchub_cli::local::DAILY_SYNC_TIMEOUT_SECONDS as u64)]
    timeout: u64,
    /// Concurrent drainers of the sync queue.
    #[arg(long, default_value_t = 4)]
    drainers: usize,
    /// Pull through the manifest engine from this POS's stand-in (posabit).
    #[arg(long)]
    pos: Option<String>,
}

/// Serves `n` rows at GET /api/v2/venue/inventories?page=P, 100 a page.
async fn posabit_server(n: usize) -> String {
    let pages = n.div_ceil(100);
    let app = axum::Router::new().route(
        "/api/v2/venue/inventories",
        axum::routing::get(move |uri: axum::http::Uri| async move {
            let page: usize = uri
                .query()
                .unwrap_or_default()
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .max(1);
            let rows: Vec<_> = ((page - 1) * 100..(page * 100).min(n))
                .map(square_server::posabit_row)
                .collect();
            let body = serde_json::json!({"total_records": n, "current_page": page,
                "total_pages": pages, "per_page": 100, "inventory": rows});
            ([("content-type", "application/json")], body.to_string())
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let aws = aws().await;
    let config = local::provision(
        &aws,
        &unique("sbench"),
        QueueSettings {
            visibility_seconds: 60,
            max_receive_count: 5,
        },
    )
    .await
    .unwrap();
    let tenant = "bench-shop";
    let settings = synchub_core::ports::TenantSettings {
        tenant_id: tenant.into(),
        name: "Bench".into(),
        active: true,
        storefront_url: None,
        targets_disabled: vec![],
        alert_recipients: vec![],
        daily_summary: false,
        square_notification_url: None,
        flag_overrides: Default::default(),
        sync_method: None,
        allowed_suppliers: vec![],
        pos: match args.pos.as_deref() {
            None => vec![],
            Some("posabit") => {
                serde_json::from_value(serde_json::json!([{"connector": "posabit"}])).unwrap()
            }
            Some(other) => panic!("--pos {other}: this benchmark serves posabit only"),
        },
    };
    local::seed_tenant(&aws, &config, &settings, &local::new_signing_secret())
        .await
        .unwrap();
    local::put_tenant_parameter(&aws, &config, tenant, "square-token", "EAAA-bench")
        .await
        .unwrap();
    if args.pos.is_some() {
        local::put_tenant_parameter(
            &aws,
            &config,
            tenant,
            "pos-posabit",
            r#"{"venue_token": "venue-bench"}"#,
        )
        .await
        .unwrap();
    }
    let mut data = SquareData::empty();
    if args.pos.is_none() {
        data.items = square_server::items(args.objects);
    }
    let square = SquareServer::start(data, 100).await;
    let pos_origin = posabit_server(args.objects).await;

    let dynamo_proxy =
        CountingProxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()).await;
    let moto_proxy = CountingProxy::start(&std::env::var("AWS_ENDPOINT_URL_SQS").unwrap()).await;
    let env: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamo_proxy.url.clone()),
        ("AWS_ENDPOINT_URL_SQS".into(), moto_proxy.url.clone()),
        ("AWS_ENDPOINT_URL_SSM".into(), moto_proxy.url.clone()),
        ("ITEMS_TABLE".into(), config.items_table.clone()),
        ("TENANTS_TABLE".into(), config.tenants_table.clone()),
        ("RUNS_TABLE".into(), config.runs_table.clone()),
        ("RUNS_QUEUE_URL".into(), config.runs_queue_url.clone()),
        ("SYNC_QUEUE_URL".into(), config.sync_queue_url.clone()),
        ("NOTIFY_QUEUE_URL".into(), config.notify_queue_url.clone()),
        (
            "TENANT_SECRETS_PATH".into(),
            config.tenant_secrets_path.clone(),
        ),
        ("SQUARE_BASE_URL".into(), square.url.clone()),
        ("CONNECTOR_ORIGIN".into(), pos_origin),
    ];
    // Invocations get the template's Timeout; a run pauses 20 s before it and continues.
    let api = Arc::new(RuntimeApi::with_timeout(Duration::from_secs(args.timeout)).await);
    let mut function = start_function("daily-sync", 1, &api, &env, "warn").await;
    let (cpu_ready, _, _, cold) = function.report();

    // The worker's stand-in: keep the sync queue shallow.
    let stop = Arc::new(AtomicBool::new(false));
    let drainers: Vec<_> = (0..args.drainers)
        .map(|_| {
            let (sqs, url, stop) = (
                aws_sdk_sqs::Client::new(&aws),
                config.sync_queue_url.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut drained = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    // None: moto too busy to answer in the client's timeout; ask again.
                    drained += delete_received(&sqs, &url, 1).await.unwrap_or(0);
                }
                drained
            })
        })
        .collect();

    let started = Instant::now();
    let plan = serde_json::json!({"trigger": "manual", "tenantId": tenant, "dataTypes": ["catalog"], "force": true});
    let answer = api
        .invoke(Bytes::from(plan.to_string()))
        .await
        .expect("plan answered");
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert!(
        answer["runs"][0]["outcome"]["started"].is_string(),
        "{answer}"
    );
    let mut runs_queue =
        LocalEventSource::new(aws_sdk_sqs::Client::new(&aws), &config.runs_queue_url);
    runs_queue.wait = Duration::from_secs(1);
    let mut invocations = 0;
    let runs = synchub_aws::runs::DynamoRunStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        &config.runs_table,
        Duration::from_secs(3600),
    );
    let run = loop {
        let Ok(stats) = runs_queue
            .poll_once(|event: SqsEvent| {
                let api = api.clone();
                async move {
                    serde_json::from_slice::<SqsBatchResponse>(
                        &api.invoke(Bytes::from(serde_json::to_vec(&event).unwrap()))
                            .await
                            .expect("answered"),
                    )
                    .unwrap()
                }
            })
            .await
        else {
            continue; // moto too busy to answer in time: poll again
        };
        invocations += stats.received;
        use synchub_core::ports::RunLog;
        let run = runs
            .runs(tenant)
            .await
            .unwrap()
            .into_iter()
            .next()
            .expect("a run");
        if run.status != synchub_core::domain::sync_run::RunStatus::Running {
            break run;
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut drained = 0;
    for d in drainers {
        drained += d.await.unwrap();
    }
    let (cpu, _, rss, _) = function.report();
    function.stop();
    let counts: std::collections::HashMap<String, usize> = dynamo_proxy
        .counts()
        .into_iter()
        .chain(moto_proxy.counts())
        .collect();
    let requests: usize = counts.values().sum();

    println!(
        "## daily-sync: full catalog pull of {} objects ({} pages of 100) from {}\n",
        args.objects,
        args.objects.div_ceil(100),
        args.pos.as_deref().unwrap_or("square")
    );
    println!("run {}: {:?}, fetched {}, enqueued {}, {} invocations of at most {} s (continued through the runs queue)", run.run_id, run.status, run.fetched, run.enqueued, invocations, args.timeout);
    println!("wall {elapsed:.1} s ({:.0} objects/s); CPU {:.2} s after init ({:.3} CPU-s per 1,000 objects)", run.fetched as f64 / elapsed, cpu - cpu_ready, (cpu - cpu_ready) / run.fetched as f64 * 1000.0);
    println!(
        "peak RSS {:.1} MiB; cold start {cold:.1} ms; drained by the stand-in worker: {drained}",
        rss as f64 / 1024.0
    );
    println!(
        "AWS requests per object: {:.4} ({requests} requests)",
        requests as f64 / run.fetched as f64
    );
    let mut ops: Vec<_> = counts.into_iter().collect();
    ops.sort();
    for (op, n) in ops {
        println!("  {op:<40} {n:>7}");
    }
}
