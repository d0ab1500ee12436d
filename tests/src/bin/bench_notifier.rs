//! failure-notifier benchmark: the release binary behind a local Lambda
//! Runtime API, fed from the real sync DLQ on the local engines.
//!
//! 1. Latency: one dead letter at a time (a new tenant each, so each is the
//!    first failure of a quiet window and is emailed at once); the time from
//!    the message landing in the DLQ to the email being accepted by SES,
//!    read back from moto, with the event source long-polling as Lambda's does.
//! 2. Cost: N dead letters across a few tenants in batches of 10; CPU seconds
//!    per 1,000 failures in the notifier process and AWS requests per failure.
//!
//! cargo build --release -p failure-notifier -p synchub-tests --bin synchub-bench-notifier
//! target/release/synchub-bench-notifier --failures 1000

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use axum::body::Bytes;
use clap::Parser;
use std::sync::Arc;
use std::time::{Duration, Instant};
use synchub_cli::event_source::LocalEventSource;
use synchub_cli::local::{self, sent_emails, QueueSettings};
use synchub_tests::lambda_emulator::{median, start_function, CountingProxy, RuntimeApi};
use synchub_tests::*;

#[derive(Parser)]
struct Args {
    /// Dead letters for the cost run.
    #[arg(long, default_value_t = 1000)]
    failures: usize,
    /// Single dead letters timed for latency.
    #[arg(long, default_value_t = 20)]
    samples: usize,
    /// Tenants the cost run's failures are spread over.
    #[arg(long, default_value_t = 10)]
    tenants: usize,
}

fn dead_letter(tenant: &str, i: usize) -> aws_sdk_sqs::types::SendMessageBatchRequestEntry {
    use aws_sdk_sqs::types::MessageAttributeValue;
    let attr = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    let body = queued(
        tenant,
        &supplier_event(
            &format!("evt-{i}"),
            &format!("SKU-{i}"),
            -1,
            "2026-06-01T10:00:00Z",
        ),
    );
    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
        .id(format!("{i}"))
        .message_body(body)
        .message_group_id(tenant)
        .message_attributes("errorClass", attr("VALIDATION_ERROR"))
        .message_attributes(
            "rejectReason",
            attr("quantity: must be a whole number >= 0"),
        )
        .message_attributes("tenantId", attr(tenant))
        .build()
        .unwrap()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let aws = aws().await;
    let config = local::provision(
        &aws,
        &unique("nbench"),
        QueueSettings {
            visibility_seconds: 30,
            max_receive_count: 5,
        },
    )
    .await
    .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let moto = std::env::var("AWS_ENDPOINT_URL_SES").unwrap();

    let dynamo_proxy =
        CountingProxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()).await;
    let moto_proxy = CountingProxy::start(&moto).await;
    let env: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamo_proxy.url.clone()),
        ("AWS_ENDPOINT_URL_SQS".into(), moto_proxy.url.clone()),
        ("AWS_ENDPOINT_URL_SES".into(), moto_proxy.url.clone()),
        ("TENANTS_TABLE".into(), config.tenants_table.clone()),
        (
            "NOTIFICATIONS_TABLE".into(),
            config.notifications_table.clone(),
        ),
        ("NOTIFY_QUEUE_URL".into(), config.notify_queue_url.clone()),
        ("ALERT_SENDER".into(), config.alert_sender.clone()),
        (
            "ALERT_DEFAULT_RECIPIENT".into(),
            config.alert_default_recipient.clone(),
        ),
    ];
    let api = Arc::new(RuntimeApi::start().await);
    let mut notifier = start_function("failure-notifier", 1, &api, &env, "warn").await;
    let invoke = |event: SqsEvent| {
        let api = api.clone();
        async move {
            serde_json::from_slice::<SqsBatchResponse>(
                &api.invoke(Bytes::from(serde_json::to_vec(&event).unwrap()))
                    .await
                    .expect("notifier answered"),
            )
            .unwrap()
        }
    };
    let mut source = LocalEventSource::new(sqs.clone(), &config.sync_dlq_url);
    source.wait = Duration::from_secs(1); // long polling, as the Lambda event source does

    // 1. Latency, one quiet-window failure at a time.
    let mut latencies = Vec::new();
    for i in 0..args.samples {
        let tenant = format!("quiet-{i}-{}", unique("t"));
        let before = sent_emails(&moto).await.unwrap().len();
        let landed = Instant::now();
        sqs.send_message_batch()
            .queue_url(&config.sync_dlq_url)
            .entries(dead_letter(&tenant, i))
            .send()
            .await
            .unwrap();
        // The invocation returns once SES has accepted the email.
        while source.poll_once(&invoke).await.unwrap().received == 0 {
            assert!(
                landed.elapsed() < Duration::from_secs(30),
                "sample {i} never reached the notifier"
            );
        }
        latencies.push(landed.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(
            sent_emails(&moto).await.unwrap().len(),
            before + 1,
            "sample {i} was emailed"
        );
    }
    let (cpu_before, _, _, cold) = notifier.report();
    let requests_before: usize = dynamo_proxy
        .counts()
        .values()
        .chain(moto_proxy.counts().values())
        .sum();

    // 2. Cost: a burst of failures, batches of 10.
    let tenants: Vec<String> = (0..args.tenants).map(|_| unique("burst")).collect();
    let emails_before = sent_emails(&moto).await.unwrap().len();
    let started = Instant::now();
    let entries: Vec<_> = (0..args.failures)
        .map(|i| dead_letter(&tenants[i % tenants.len()], 100_000 + i))
        .collect();
    for chunk in entries.chunks(10) {
        sqs.send_message_batch()
            .queue_url(&config.sync_dlq_url)
            .set_entries(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
    }
    source.wait = Duration::ZERO;
    let mut handled = 0;
    while handled < args.failures {
        let stats = source.poll_once(&invoke).await.unwrap();
        handled += stats.received - stats.failed;
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "burst not handled"
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    let burst_emails = sent_emails(&moto).await.unwrap().len() - emails_before;
    let (cpu_after, _, rss, _) = notifier.report();
    let counts: std::collections::HashMap<String, usize> = dynamo_proxy
        .counts()
        .into_iter()
        .chain(moto_proxy.counts())
        .collect();
    let requests: usize = counts.values().sum::<usize>() - requests_before;
    notifier.stop();

    println!(
        "## failure-notifier: {} timed dead letters, then a burst of {} over {} tenants\n",
        args.samples, args.failures, args.tenants
    );
    let mut sorted = latencies.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "DLQ → email accepted by SES: median {:.0} ms, max {:.0} ms (includes the event source's long poll)",
        median(latencies),
        sorted.last().copied().unwrap_or(0.0)
    );
    println!("burst: {} failures in {elapsed:.2} s; emails sent: {burst_emails} for {} tenants (the rest wait for each tenant's digest)", args.failures, args.tenants);
    println!(
        "CPU: {:.3} CPU-s per 1,000 failures; peak RSS {:.1} MiB; cold start {cold:.1} ms",
        (cpu_after - cpu_before) / args.failures as f64 * 1000.0,
        rss as f64 / 1024.0
    );
    println!(
        "AWS requests per failure in the burst: {:.2}",
        requests as f64 / args.failures as f64
    );
    let mut ops: Vec<_> = counts.into_iter().collect();
    ops.sort();
    for (op, n) in ops {
        println!("  {op:<40} {n:>7} (whole run)");
    }
}
