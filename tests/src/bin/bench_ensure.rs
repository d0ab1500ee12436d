//! `ensure` benchmark: p50/p95 of `POST /api/tenants/{tenantId}/ensure` for
//! a tenant with 1,000 catalog objects on the local stack, direct vs
//! queued. The sync API's router runs in process (as the sync-api function
//! would) against DynamoDB Local, moto and the Square stand-in (pages of
//! 100, as Square's ListCatalog). For `queued`, a runs-queue consumer plays
//! Lambda's event source with the real daily-sync handler; for both, the
//! sync queue is emptied between calls (or, with `--drain-during`, drained
//! by four tasks while they run). Every sample is a fresh run (`ensure` forces one), after the
//! previous one's messages are gone. Durations are measured around the
//! request; method-stats' estimates (from its histogram) are printed beside.
//!
//! cargo build --release -p synchub-tests --bin synchub-bench-ensure
//! bash scripts/with-engines.sh target/release/synchub-bench-ensure --samples 20

use clap::Parser;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use synchub_cli::event_source::LocalEventSource;
use synchub_cli::local::{self, QueueSettings};
use synchub_core::domain::time::now_millis;
use synchub_lambda::api::handle_api;
use synchub_lambda::{Api, DailySync};
use synchub_tests::api_contract::api_event;
use synchub_tests::square_server::{self, SquareData, SquareServer};
use synchub_tests::*;

#[derive(Parser)]
struct Args {
    /// Catalog objects the tenant holds in Square.
    #[arg(long, default_value_t = 1_000)]
    objects: usize,
    /// Calls per method.
    #[arg(long, default_value_t = 20)]
    samples: usize,
    /// The callers' timeoutMs.
    #[arg(long, default_value_t = 25_000)]
    timeout_ms: u64,
    /// Drain the sync queue while calls run (four drainers), as a live
    /// worker would, instead of purging it between calls.
    #[arg(long)]
    drain_during: bool,
}

async fn tenant(
    aws: &aws_config::SdkConfig,
    config: &synchub_lambda::config::Config,
    method: &str,
) -> String {
    let id = unique(&format!("bench-{method}"));
    let settings: synchub_core::ports::TenantSettings =
        serde_json::from_value(json!({"tenantId": id, "name": "Bench", "syncMethod": method}))
            .unwrap();
    local::seed_tenant(aws, config, &settings, &local::new_signing_secret())
        .await
        .unwrap();
    local::put_tenant_parameter(aws, config, &id, "square-token", "EAAA-bench")
        .await
        .unwrap();
    id
}

/// Deletes what lands on a queue until `stop`.
fn empty_continuously(sqs: aws_sdk_sqs::Client, url: String, stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            delete_received(&sqs, &url, 1).await;
        }
    });
}

/// Empties a queue now, four receivers at once (moto's PurgeQueue allows
/// one call a minute).
async fn drain_now(sqs: &aws_sdk_sqs::Client, url: &str) {
    let drainers: Vec<_> = (0..4)
        .map(|_| {
            let (sqs, url) = (sqs.clone(), url.to_owned());
            tokio::spawn(async move {
                while delete_received(&sqs, &url, 0).await.is_some_and(|n| n > 0) {}
            })
        })
        .collect();
    for d in drainers {
        let _ = d.await;
    }
}

/// Lambda's runs-queue event source with the real daily-sync handler.
fn consume_runs(sync: DailySync, source: LocalEventSource, stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let deadline = now_millis() as u64 + 300_000;
            let _ = source
                .poll_once(|event| synchub_lambda::daily_sync::work(&sync, event, deadline))
                .await;
        }
    });
}

/// One `ensure` through the router: (wall ms, HTTP status, the answer).
async fn ensure(api: &Api, tenant: &str, timeout_ms: u64) -> (f64, u16, Value) {
    let body = json!({"dataTypes": ["catalog"], "timeoutMs": timeout_ms}).to_string();
    let event = api_event(
        "POST",
        &format!("/api/tenants/{tenant}/ensure"),
        &[],
        Some(&body),
    );
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let started = Instant::now();
    let response = handle_api(api, request).await;
    let ms = started.elapsed().as_secs_f64() * 1_000.0;
    let status = response.status().as_u16();
    let answer: Value = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("not JSON: {other:?}"),
    };
    (ms, status, answer)
}

/// The machine's 1, 5 and 15 minute load averages.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    LocalEventSource::new(sqs.clone(), url)
        .depth()
        .await
        .unwrap_or(usize::MAX)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let aws = aws().await;
    let mut config = local::provision(
        &aws,
        &unique("ebench"),
        QueueSettings {
            visibility_seconds: 60,
            max_receive_count: 5,
        },
    )
    .await
    .unwrap();
    let mut data = SquareData::empty();
    data.items = square_server::items(args.objects);
    let square = SquareServer::start(data, 100).await;
    config.square_base_url = square.url.clone();
    let api = Api::new(&aws, &config);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let stop = Arc::new(AtomicBool::new(false));
    // The sync queue is emptied between calls, not drained
    // during them: moto serves every queue from one Python process, so a
    // drainer's receives and deletes would slow the very SendMessageBatch
    // calls being timed (in AWS the worker's reads do not contend with them).
    if args.drain_during {
        for _ in 0..4 {
            empty_continuously(sqs.clone(), config.sync_queue_url.clone(), stop.clone());
        }
    }
    let mut runs_queue = LocalEventSource::new(sqs.clone(), &config.runs_queue_url);
    runs_queue.wait = Duration::from_secs(1);
    consume_runs(DailySync::new(&aws, &config), runs_queue, stop.clone());

    println!(
        "## ensure: {} catalog objects (pages of 100), {} calls per method, timeoutMs {}\n",
        args.objects, args.samples, args.timeout_ms
    );
    println!("load average before: {}", load());
    println!("| method | p50 ms | p95 ms | mean ms | min ms | max ms | fallbacks | not fresh | method-stats p50 / p95 ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for method in ["direct", "queued"] {
        let shop = tenant(&aws, &config, method).await;
        // One call first, not counted: connections and caches warm, as a live function's.
        let _ = ensure(&api, &shop, args.timeout_ms).await;
        let mut samples = Vec::with_capacity(args.samples);
        let (mut fallbacks, mut not_fresh) = (0, 0);
        for _ in 0..args.samples {
            while depth(&sqs, &config.runs_queue_url).await > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            while depth(&sqs, &config.sync_queue_url).await > 0 {
                if args.drain_during {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                } else {
                    drain_now(&sqs, &config.sync_queue_url).await;
                }
            }
            let (ms, status, answer) = ensure(&api, &shop, args.timeout_ms).await;
            assert_eq!(answer["method"], method, "{answer}");
            let result = &answer["results"][0];
            if status == 200 {
                assert_eq!(result["objects"], json!(args.objects), "{answer}");
            } else {
                // Counted, not hidden: the caller waited this long for nothing fresh.
                not_fresh += 1;
                eprintln!("{method}: not fresh ({status}): {}", answer["error"]);
            }
            fallbacks += usize::from(answer["fallbackUsed"] == true);
            samples.push(ms);
        }
        samples.sort_by(f64::total_cmp);
        let stats = api.method_stats(None, None).await.unwrap();
        let line = stats
            .methods
            .iter()
            .find(|m| m.method.as_str() == method)
            .unwrap();
        println!(
            "| {method} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {fallbacks} | {not_fresh} | {} / {} |",
            percentile(&samples, 0.50),
            percentile(&samples, 0.95),
            samples.iter().sum::<f64>() / samples.len() as f64,
            samples[0],
            samples[samples.len() - 1],
            line.duration_ms_p50.unwrap_or_default(),
            line.duration_ms_p95.unwrap_or_default(),
        );
    }
    stop.store(true, Ordering::Relaxed);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\n({cores} cores; Square stand-in requests: {})",
        square.requests_to("/v2/catalog")
    );
}
