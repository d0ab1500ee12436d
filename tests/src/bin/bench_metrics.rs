//! metrics and gate benchmark: seeds audit rows (BatchWriteItem, many in
//! flight) across tenants × days, with the per-(tenant, hour) counters the
//! worker would have kept for them and a run per data type per tenant per
//! day, then times `metrics` (all tenants, and one) and `gate` over windows
//! of 1 hour, 1 day, 7 days and 30 days (the median of several calls, on the
//! sync API's own adapters, in process) and counts the AWS requests each
//! makes (through a counting proxy in front of DynamoDB Local). Two stacks
//! are seeded alike but for their audit rows (100,000 and 1,000,000 by
//! default) and answer turn about, so both see the same machine load: what
//! a call costs must follow the window, not the table. A full scan of the
//! smaller audit table is timed beside them for scale.
//!
//! cargo build --release -p synchub-tests --bin synchub-bench-metrics
//! bash scripts/with-engines.sh target/release/synchub-bench-metrics --rows 1000000

use aws_sdk_dynamodb::types::{PutRequest, Select, WriteRequest};
use clap::Parser;
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use synchub_cli::local::{self, QueueSettings};
use synchub_core::app::daily_sync::new_run;
use synchub_core::domain::audit::{AuditOutcome, AuditRow, TargetStatus};
use synchub_core::domain::metrics::{hour_of, Tally};
use synchub_core::domain::sync_run::{RunStatus, Trigger};
use synchub_core::domain::time::{canonical_time, now_millis};
use synchub_core::domain::DataType;
use synchub_core::domain::{EntityKind, TenantId};
use synchub_core::ports::{MetricsLedger, RunLog};
use synchub_core::ErrorClass;
use synchub_lambda::Api;
use synchub_ops::trace::entity_key;
use synchub_tests::lambda_emulator::CountingProxy;
use synchub_tests::*;

#[derive(Parser)]
struct Args {
    /// Audit rows in the end (measured first at --first-rows).
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    #[arg(long, default_value_t = 100_000)]
    first_rows: usize,
    #[arg(long, default_value_t = 20)]
    tenants: usize,
    #[arg(long, default_value_t = 30)]
    days: usize,
    /// Calls per (question, window); the median is reported.
    #[arg(long, default_value_t = 7)]
    calls: usize,
    /// Tables up to this many rows are also scanned whole, for scale
    /// (DynamoDB Local's scan slows down page by page: 85 s at 100,000 rows
    /// here, more than half an hour at 1,000,000).
    #[arg(long, default_value_t = 100_000)]
    scan_max_rows: usize,
    /// BatchWriteItem requests in flight while seeding.
    #[arg(long, default_value_t = 24)]
    writers: usize,
}

const HOUR_MS: i64 = 3_600_000;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let aws = aws().await;
    let tenants: Vec<String> = (0..args.tenants).map(|i| format!("shop-{i:03}")).collect();
    // The seeded hours end with the current one; every window ends with it.
    let hour_start = now_millis() / HOUR_MS * HOUR_MS;
    let proxy = CountingProxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()).await;
    let small = Stack::seed(&aws, &args, &tenants, hour_start, args.first_rows).await;
    if args.first_rows <= args.scan_max_rows {
        small.scan(&aws, &proxy).await;
    }
    let large = Stack::seed(&aws, &args, &tenants, hour_start, args.rows).await;
    if args.rows <= args.scan_max_rows {
        large.scan(&aws, &proxy).await;
    }

    // The two tables answer turn about, so both see the same machine load.
    let until_ms = hour_start + HOUR_MS - 1;
    let windows = [
        ("1 hour", 1),
        ("1 day", 24),
        ("7 days", 7 * 24),
        ("30 days", 30 * 24),
    ];
    println!(
        "\n| window | question | median ms at {} rows (min–max) | median ms at {} rows (min–max) | AWS requests (either table) | items read |",
        small.rows, large.rows
    );
    println!("|---|---|---|---|---|---|");
    let one = TenantId::parse(&tenants[0]).unwrap();
    for (name, hours) in windows {
        let since = at(until_ms - hours * HOUR_MS + 1);
        let until = at(until_ms);
        for question in [
            Question::Metrics(None),
            Question::Metrics(Some(&one)),
            Question::Gate,
        ] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..args.calls {
                for (stack, times) in [(&small, &mut a), (&large, &mut b)] {
                    let t = Instant::now();
                    question.ask(&stack.api, &since, &until, args.days).await;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            let mut counted = Vec::new();
            for stack in [&small, &large] {
                let fresh = through(&proxy, || Api::new(&aws, &stack.config));
                let before = proxy.counts();
                let items = question.ask(&fresh, &since, &until, args.days).await;
                counted.push((difference(&before, &proxy.counts()), items));
            }
            assert_eq!(
                counted[0], counted[1],
                "the same requests whatever the table"
            );
            println!(
                "| {name} | {} | {} | {} | {} | {} |",
                question.name(),
                spread(&mut a),
                spread(&mut b),
                counted[0].0,
                counted[0].1
            );
        }
    }
}

/// `median (min–max)` of timings in ms.
fn spread(times: &mut [f64]) -> String {
    times.sort_by(f64::total_cmp);
    format!(
        "{:.1} ({:.1}–{:.1})",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    )
}

/// One stack (its own tables) with tenants, their runs and `rows` audit
/// rows with their counters.
struct Stack {
    api: Api,
    config: synchub_lambda::config::Config,
    rows: usize,
}

impl Stack {
    async fn seed(
        aws: &aws_config::SdkConfig,
        args: &Args,
        tenants: &[String],
        hour_start: i64,
        rows: usize,
    ) -> Self {
        let config = local::provision(aws, &unique("mbench"), QueueSettings::default())
            .await
            .unwrap();
        let api = Api::new(aws, &config);
        for id in tenants {
            let settings = serde_json::from_value(serde_json::json!({
                "tenantId": id, "name": format!("Bench {id}"), "active": true
            }))
            .unwrap();
            local::seed_tenant(aws, &config, &settings, &local::new_signing_secret())
                .await
                .unwrap();
        }
        seed_runs(&api, tenants, args.days, hour_start).await;
        let seed = Seed {
            client: aws_sdk_dynamodb::Client::new(aws),
            table: config.audit_table.clone(),
            tenants: tenants.to_vec(),
            hours: args.days * 24,
            hour_start,
            writers: args.writers,
        };
        let t = Instant::now();
        seed.rows(0, rows, &api).await;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{}: {} runs, {rows} audit rows and their counters, seeded in {secs:.1} s ({:.0} rows/s)",
            config.audit_table,
            tenants.len() * args.days * DataType::ALL.len(),
            rows as f64 / secs
        );
        Self { api, config, rows }
    }

    async fn scan(&self, aws: &aws_config::SdkConfig, proxy: &CountingProxy) {
        // A scan of the whole table takes longer than the functions' timeouts allow.
        let scanner = through(proxy, || {
            let timeouts = aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(3_600))
                .operation_attempt_timeout(Duration::from_secs(600))
                .build();
            let config = aws_sdk_dynamodb::config::Builder::from(aws)
                .timeout_config(timeouts)
                .build();
            aws_sdk_dynamodb::Client::from_conf(config)
        });
        let (items, ms, requests) = full_scan(&scanner, &self.config.audit_table, proxy).await;
        println!(
            "a full scan of {} (Select COUNT): {items} items (rows and counters), {ms:.0} ms, {requests} requests",
            self.config.audit_table
        );
    }
}

enum Question<'a> {
    Metrics(Option<&'a TenantId>),
    Gate,
}

impl Question<'_> {
    fn name(&self) -> &'static str {
        match self {
            Question::Metrics(None) => "metrics (all tenants)",
            Question::Metrics(Some(_)) => "metrics --tenant",
            Question::Gate => "gate",
        }
    }

    /// Asks; what it read: the hours' counter items (one per tenant and
    /// hour that holds any, `days` of them seeded) and, for metrics, the
    /// runs in the window.
    async fn ask(&self, api: &Api, since: &str, until: &str, days: usize) -> String {
        let hours = |since: &str, until: &str| {
            let ms = |t: &str| {
                synchub_core::domain::time::parse_rfc3339_millis(t)
                    .unwrap()
                    .1
            };
            ((ms(until) / HOUR_MS - ms(since) / HOUR_MS + 1) as usize).min(days * 24)
        };
        match self {
            Question::Metrics(tenant) => {
                let report = api
                    .metrics(Some(since), Some(until), *tenant)
                    .await
                    .unwrap();
                assert!(
                    report.fleet.deliveries.received > 0,
                    "the window holds rows"
                );
                let runs: u64 = report.fleet.data_types.iter().map(|d| d.runs).sum();
                let counters = report.tenants.len() * hours(since, until);
                format!("{counters} counters + {runs} runs")
            }
            Question::Gate => {
                let report = api.gate(Some(since), Some(until)).await.unwrap();
                assert!(report.totals.received > 0, "the window holds rows");
                format!("{} counters", report.tenants.len() * hours(since, until))
            }
        }
    }
}

/// Requests between two readings of the proxy's counts, total and by operation.
fn difference(before: &HashMap<String, usize>, after: &HashMap<String, usize>) -> String {
    let by_op: BTreeMap<&str, usize> = after
        .iter()
        .map(|(op, n)| {
            let short = op.rsplit('.').next().unwrap_or(op);
            (short, n - before.get(op).copied().unwrap_or(0))
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let total: usize = by_op.values().sum();
    let parts: Vec<String> = by_op.iter().map(|(op, n)| format!("{n} {op}")).collect();
    format!("{total} ({})", parts.join(", "))
}

/// Builds clients whose DynamoDB calls go through the counting proxy: a
/// client takes the service's endpoint variable when it is built, so the
/// variable points at the proxy only meanwhile.
fn through<T>(proxy: &CountingProxy, build: impl FnOnce() -> T) -> T {
    let direct = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", &proxy.url);
    let built = build();
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", direct);
    built
}

async fn full_scan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    proxy: &CountingProxy,
) -> (i64, f64, String) {
    let before = proxy.counts();
    let t = Instant::now();
    let mut items = 0;
    let mut pages = client
        .scan()
        .table_name(table)
        .select(Select::Count)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        items += i64::from(page.unwrap().count);
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    (items, ms, difference(&before, &proxy.counts()))
}

fn at(millis: i64) -> String {
    canonical_time(
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap(),
    )
}

/// One run per data type per tenant per day, mostly succeeded.
async fn seed_runs(api: &Api, tenants: &[String], days: usize, hour_start: i64) {
    let mut runs = Vec::new();
    for (t, tenant) in tenants.iter().enumerate() {
        for day in 0..days as i64 {
            for (j, data_type) in DataType::ALL.into_iter().enumerate() {
                let start = hour_start - (day * 24 + j as i64 * 4) * HOUR_MS + 300_000;
                let mut run = new_run(
                    tenant,
                    data_type,
                    Trigger::Schedule,
                    start,
                    &api.sync.policy,
                );
                let n = t + day as usize * 7 + j;
                run.status = match n % 50 {
                    0 => RunStatus::Failed,
                    1 | 2 => RunStatus::Partial,
                    _ => RunStatus::Succeeded,
                };
                if run.status == RunStatus::Failed {
                    run.error_class = Some(ErrorClass::NetworkError);
                    run.error_message = Some("Square 503 after 5 attempts".into());
                }
                run.fetched = 1_000 + (n as u64 % 500);
                run.enqueued = run.fetched - u64::from(run.status == RunStatus::Partial);
                run.rejected = run.fetched - run.enqueued;
                run.pages = run.fetched / 100 + 1;
                run.complete = true;
                run.finished_at = Some(at(start + 5_000 + (n as i64 % 40) * 3_000));
                runs.push(run);
            }
        }
    }
    stream::iter(runs)
        .for_each_concurrent(
            16,
            |run| async move { api.sync.runs.save(&run).await.unwrap() },
        )
        .await;
}

struct Seed {
    client: aws_sdk_dynamodb::Client,
    table: String,
    tenants: Vec<String>,
    hours: usize,
    hour_start: i64,
    writers: usize,
}

impl Seed {
    /// Audit rows `from..to`, spread evenly over tenants and hours, then
    /// what they add to each (tenant, hour)'s counters.
    async fn rows(&self, from: usize, to: usize, api: &Api) {
        let mut tallies: HashMap<(usize, usize), Tally> = HashMap::new();
        let total = (to - from).div_ceil(25);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let batches = (from..to).step_by(25).map(|first| {
            (first..(first + 25).min(to))
                .map(|i| {
                    let n = self.tenants.len();
                    let (tenant, hour) = (i % n, (i / n) % self.hours);
                    let row = self.row(i, tenant, hour, tallies.entry((tenant, hour)).or_default());
                    let item = serde_dynamo::to_item(&row).unwrap();
                    let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
                    WriteRequest::builder().put_request(put).build()
                })
                .collect::<Vec<_>>()
        });
        // Built as the writers take them, so the rows are never all in memory.
        stream::iter(batches)
            .for_each_concurrent(self.writers, |b| {
                let done = &done;
                async move {
                    self.write(b).await;
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    if n.is_multiple_of(4_000) {
                        eprintln!("  {n}/{total} batches");
                    }
                }
            })
            .await;
        stream::iter(tallies)
            .for_each_concurrent(16, |((tenant, hour), tally)| async move {
                let hour = hour_of(&at(self.hour_start - hour as i64 * HOUR_MS));
                api.metrics
                    .add(&self.tenants[tenant], &hour, &tally)
                    .await
                    .unwrap();
            })
            .await;
    }

    /// Row `i`: 85 % applied (0.2 % of those with a failed publish, half
    /// recovered later), 8 % stale, 5 % duplicate, 2 % rejected.
    fn row(&self, i: usize, tenant: usize, hour: usize, tally: &mut Tally) -> AuditRow {
        let tenant_id = &self.tenants[tenant];
        let recorded = self.hour_start - hour as i64 * HOUR_MS + (i as i64 * 7_919) % HOUR_MS;
        let recorded_at = at(recorded);
        let sku = format!("SKU-{:06}", (i * 31) % 50_000);
        let (event, message) = (format!("evt-{i:08}"), format!("msg-{i:08}"));
        let outcome = match i % 100 {
            0..=84 => AuditOutcome::Applied,
            85..=92 => AuditOutcome::Stale,
            93..=97 => AuditOutcome::Duplicate,
            _ => AuditOutcome::Rejected,
        };
        let key = entity_key(
            TenantId::parse(tenant_id).unwrap(),
            EntityKind::CatalogItem,
            &sku,
        )
        .unwrap();
        let mut row = AuditRow::new(
            key.audit_partition(),
            AuditRow::sort_key(Some(&event), &message),
            tenant_id.clone(),
            outcome,
            recorded_at.clone(),
            (recorded / 1000) + 90 * 86_400,
        );
        row.entity = Some(key.to_string());
        row.event_id = Some(event);
        row.message_id = message;
        row.correlation_id = format!("sync-{tenant_id}-{recorded}-{i:08x}");
        row.source_updated_at = Some(at(recorded - 2_000));
        tally.received += 1;
        tally.audited += 1;
        tally.lag_max_ms = tally.lag_max_ms.max(200 + (i as u64 * 37) % 3_000);
        match outcome {
            AuditOutcome::Applied => {
                tally.applied += 1;
                row.revision = Some(i as i64);
                let status = if i.is_multiple_of(500) {
                    tally.publish_failed += 1;
                    tally.publish_recovered += u64::from(i.is_multiple_of(1_000));
                    TargetStatus::failed(
                        ErrorClass::NetworkError,
                        3,
                        "storefront 503".into(),
                        recorded_at,
                    )
                } else {
                    tally.publish_ok += 1;
                    TargetStatus::success(1, recorded_at)
                };
                row.targets.insert("storefront".into(), status);
            }
            AuditOutcome::Stale => {
                tally.stale += 1;
                row.beaten_by = Some(format!("evt-{:08}", i + 1));
            }
            AuditOutcome::Duplicate => tally.duplicate += 1,
            _ => {
                tally.rejected += 1;
                row.reason = Some("quantity: must not be negative".into());
            }
        }
        row
    }

    /// One BatchWriteItem, retrying what DynamoDB leaves unprocessed.
    async fn write(&self, batch: Vec<WriteRequest>) {
        let mut pending = HashMap::from([(self.table.clone(), batch)]);
        for attempt in 0..20u32 {
            let out = self
                .client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .unwrap();
            match out.unprocessed_items.filter(|u| !u.is_empty()) {
                None => return,
                Some(rest) => {
                    pending = rest;
                    tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
                }
            }
        }
        panic!("BatchWriteItem left items unprocessed after 20 attempts");
    }
}
