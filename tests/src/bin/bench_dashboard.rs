//! dashboard benchmark: seeds --tenants active tenants with a run per data
//! type per day, serves the dashboard in process on the local stack (as the
//! demo and the tests do) and opens it in headless Chromium. It measures with
//! one day of history, grows the same tables to --days of history and
//! measures again. Per page load: the first contentful paint, the time until
//! the first refresh's data is painted, the API requests one refresh makes
//! (counted by the dashboard server) and the DynamoDB requests behind them
//! (through a counting proxy). A refresh's requests must not grow with the
//! history.
//!
//! cargo build --release -p synchub-tests --bin synchub-bench-dashboard
//! bash scripts/with-engines.sh target/release/synchub-bench-dashboard --tenants 50 --days 30

use clap::Parser;
use futures::stream::{self, StreamExt};
use std::time::{Duration, Instant};
use synchub_cli::dashboard::{Backend, Dashboard};
use synchub_cli::local::{self, QueueSettings};
use synchub_core::app::daily_sync::new_run;
use synchub_core::domain::sync_run::{RunStatus, Trigger};
use synchub_core::domain::time::{canonical_time, now_millis};
use synchub_core::domain::DataType;
use synchub_core::ports::{RunLog, TenantSettings};
use synchub_lambda::Api;
use synchub_tests::browser::{js, launch, wait_until};
use synchub_tests::lambda_emulator::{median, CountingProxy};
use synchub_tests::*;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 50)]
    tenants: usize,
    /// Days of run history in the end (measured first at one day).
    #[arg(long, default_value_t = 30)]
    days: usize,
    /// Page loads per measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    loads: usize,
    /// Run writes in flight while seeding.
    #[arg(long, default_value_t = 32)]
    writers: usize,
}

const DAY_MS: i64 = 86_400_000;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let aws = aws().await;
    let prefix = unique("dbench");
    let config = local::provision(&aws, &prefix, QueueSettings::default())
        .await
        .expect("provision");
    let seeding = Api::new(&aws, &config);
    let tenants: Vec<String> = (0..args.tenants).map(|i| format!("shop-{i:03}")).collect();
    for id in &tenants {
        let settings: TenantSettings = serde_json::from_value(serde_json::json!({
            "tenantId": id, "name": format!("Shop {id}"), "active": true
        }))
        .expect("settings");
        seeding.sync.tenants.put(&settings).await.expect("tenant");
    }
    println!(
        "dashboard benchmark: {} tenants × {} data types, a run per data type per day",
        args.tenants,
        DataType::ALL.len()
    );

    // Every DynamoDB call of the in-process API goes through the counter.
    let proxy = std::sync::Arc::new(
        CountingProxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()).await,
    );
    let direct = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", &proxy.url);
    let counted_aws = synchub_lambda::aws_config().await;
    // The clients read the endpoint when they are built.
    let dashboard = Dashboard::new(Backend::InProcess(Box::new(Api::new(
        &counted_aws,
        &config,
    ))));
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", direct);
    let serving = dashboard.start(0).await.expect("serve");

    println!("| history | runs stored | first contentful paint (ms) | data painted (ms) | API requests per refresh | DynamoDB requests per refresh |");
    println!("|---|---|---|---|---|---|");
    let mut seeded_days = 0;
    for days in [1, args.days] {
        let started = Instant::now();
        seed_runs(&seeding, &tenants, seeded_days, days, args.writers).await;
        seeded_days = days;
        let seed_s = started.elapsed().as_secs_f64();
        let url = serving.url();
        let (d, p) = (dashboard.clone(), proxy.clone());
        let loads = args.loads;
        let (fcp, painted, api, dynamo) = tokio::task::spawn_blocking(move || {
            measure(&url, loads, &d, &|| p.counts().values().sum::<usize>())
        })
        .await
        .expect("measured");
        println!(
            "| {days} day(s) | {} | {fcp:.0} | {painted:.0} | {api} | {dynamo} |",
            tenants.len() * DataType::ALL.len() * days
        );
        eprintln!("(seeded in {seed_s:.1} s)");
    }
}

/// Loads the page `loads` times; the medians of first contentful paint and
/// data painted, and the requests one refresh makes.
fn measure(
    url: &str,
    loads: usize,
    dashboard: &Dashboard,
    dynamo: &dyn Fn() -> usize,
) -> (f64, f64, u64, usize) {
    let browser = launch();
    let (mut fcps, mut painted) = (Vec::new(), Vec::new());
    let (mut api, mut calls) = (0, 0);
    for _ in 0..loads {
        let tab = browser.new_tab().expect("tab");
        tab.navigate_to(url).expect("navigate");
        wait_until(
            &tab,
            "the first refresh",
            "document.body.dataset.ready === 'true'",
        );
        let fcp = js(
            &tab,
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1",
        );
        fcps.push(fcp.as_f64().unwrap_or(-1.0));
        let ready = js(&tab, "Number(document.body.dataset.readyMs)");
        painted.push(ready.as_f64().unwrap_or(-1.0));
        // One refresh, counted at the dashboard server and at DynamoDB.
        js(&tab, "document.getElementById('auto-refresh').click()"); // stop the timer
        let (a0, d0) = (dashboard.forwarded(), dynamo());
        js(&tab, "refresh().then(() => true)");
        (api, calls) = (dashboard.forwarded() - a0, dynamo() - d0);
        tab.close(true).ok();
        std::thread::sleep(Duration::from_millis(200));
    }
    (median(fcps), median(painted), api, calls)
}

/// Saves a run per tenant and data type for each day in `from..to` days ago.
async fn seed_runs(api: &Api, tenants: &[String], from: usize, to: usize, writers: usize) {
    let now = now_millis();
    let mut runs = Vec::new();
    for tenant in tenants {
        for day in from..to {
            for (i, &data_type) in DataType::ALL.iter().enumerate() {
                let started = now - (day as i64) * DAY_MS - (i as i64) * 60_000 - 3_600_000;
                let mut run = new_run(
                    tenant,
                    data_type,
                    Trigger::Schedule,
                    started,
                    &api.sync.policy,
                );
                run.status = if (day + i) % 17 == 0 {
                    RunStatus::Failed
                } else {
                    RunStatus::Succeeded
                };
                run.fetched = 100;
                run.enqueued = 100;
                run.pages = 1;
                run.finished_at = time::OffsetDateTime::from_unix_timestamp_nanos(
                    i128::from(started + 4_000) * 1_000_000,
                )
                .ok()
                .map(canonical_time);
                runs.push(run);
            }
        }
    }
    stream::iter(runs)
        .map(|run| async move { api.sync.runs.save(&run).await.expect("save run") })
        .buffer_unordered(writers)
        .collect::<Vec<_>>()
        .await;
}
