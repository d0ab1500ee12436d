//! The spine under harsh conditions (issue 14), through the real function
//! binaries: every call the functions make to DynamoDB, SQS and SSM goes
//! through a fault-injecting proxy (throttling, 5xx, delays, connections
//! dropped before and after the request), the worker is SIGKILLed
//! mid-batch several times, the queue gives each message two receives and
//! the worker has a 5 s timeout. Afterwards the audit must still explain
//! every item exactly, and only the poison messages may be in the DLQ.
//!
//! `CHAOS_SEED=<n>` replays a run's fault draws (the seed is printed).

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use axum::body::Bytes;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use synchub_cli::local::QueueSettings;
use synchub_tests::chaos::{function_binary, Ended, Environment, FaultRates, FaultyProxy, Service};
use synchub_tests::*;

const SKUS: usize = 60;
const VERSIONS: usize = 5;
/// Events the supplier sends a second time (a new delivery of the same event).
const RESENT: usize = 30;
const WORKER_TIMEOUT: Duration = Duration::from_secs(5);
const WORKER_ENVIRONMENTS: usize = 2;
const KILLS: usize = 4;
const BATCH_SIZE: usize = 10;

fn event_id(sku: usize, version: usize) -> String {
    format!("evt-{sku:03}-{version}")
}

fn sku(i: usize) -> String {
    format!("SKU-{i:03}")
}

/// The poison: records the worker must reject and park, never apply.
fn poison(tenant: &str) -> Vec<String> {
    let envelope = |event_id: &str, source: &str, payload: Value| {
        json!({
            "schema": 1, "tenantId": tenant, "source": source, "eventId": event_id,
            "correlationId": format!("sync-{tenant}-1-poison"), "receivedAt": "2026-06-01T10:00:00Z",
            "payload": payload
        })
        .to_string()
    };
    vec![
        "this is not a queued event".to_owned(),
        envelope(
            "poison-1",
            "supplier",
            json!({"eventId": "poison-1", "supplierId": "sup-1", "sku": "SKU-900", "quantity": -4, "updatedAt": at_minute(1)}),
        ),
        envelope(
            "poison-2",
            "supplier",
            json!({"eventId": "poison-2", "supplierId": "sup-1", "quantity": 3, "updatedAt": at_minute(1)}),
        ),
        envelope("poison-3", "fax", json!({"page": 1})),
    ]
}

/// A run's tallies, for the report line and the assertions.
#[derive(Default)]
struct Tallies {
    invocations: AtomicUsize,
    kills_left: AtomicUsize,
    errors: AtomicUsize,
    handed_back: AtomicUsize,
    durations: Mutex<Vec<Duration>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_and_kills_the_audit_explains_every_item_and_only_poison_is_dead_lettered() {
    let stack = TestStack::with_queue(QueueSettings {
        visibility_seconds: 6,
        max_receive_count: 2,
    })
    .await;
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("chaos seed {seed} (CHAOS_SEED={seed} replays the fault draws)");
    let mut rng = StdRng::seed_from_u64(seed);

    // A storefront that takes every cache-bust.
    let published = Arc::new(AtomicUsize::new(0));
    let counter = published.clone();
    let storefront = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { axum::http::StatusCode::NO_CONTENT }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let storefront_url = format!("http://{}/bust", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, storefront).await });
    let tenant = stack.tenant(Some(storefront_url)).await;

    let endpoint = |service: &str| std::env::var(format!("AWS_ENDPOINT_URL_{service}")).unwrap();
    let proxies = [
        (
            "DynamoDB",
            FaultyProxy::start(Service::DynamoDb, &endpoint("DYNAMODB"), seed).await,
        ),
        (
            "SQS",
            FaultyProxy::start(Service::Sqs, &endpoint("SQS"), seed ^ 1).await,
        ),
        (
            "SSM",
            FaultyProxy::start(Service::Ssm, &endpoint("SSM"), seed ^ 2).await,
        ),
    ];
    let config = &stack.config;
    let env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL_DYNAMODB", proxies[0].1.url.clone()),
        ("AWS_ENDPOINT_URL_SQS", proxies[1].1.url.clone()),
        ("AWS_ENDPOINT_URL_SSM", proxies[2].1.url.clone()),
        ("ITEMS_TABLE", config.items_table.clone()),
        ("AUDIT_TABLE", config.audit_table.clone()),
        ("TENANTS_TABLE", config.tenants_table.clone()),
        ("SYNC_QUEUE_URL", config.sync_queue_url.clone()),
        ("SYNC_DLQ_URL", config.sync_dlq_url.clone()),
        ("RUNS_QUEUE_URL", config.runs_queue_url.clone()),
        ("TENANT_SECRETS_PATH", config.tenant_secrets_path.clone()),
        (
            "MAINTENANCE_PARAMETER",
            config.maintenance_parameter.clone(),
        ),
        ("RUST_LOG", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let logs = std::env::temp_dir().join(format!("{}-chaos", stack.prefix));
    std::fs::create_dir_all(&logs).unwrap();
    println!("function logs in {}", logs.display());
    let ingest = Environment::start(
        function_binary("webhook-ingest"),
        env.clone(),
        Duration::from_secs(10),
        logs.join("webhook-ingest.log"),
    )
    .await;
    let worker_binary = function_binary("sync-worker");
    let mut workers = Vec::new();
    for n in 0..WORKER_ENVIRONMENTS {
        workers.push(Arc::new(
            Environment::start(
                worker_binary.clone(),
                env.clone(),
                WORKER_TIMEOUT,
                logs.join(format!("sync-worker-{n}.log")),
            )
            .await,
        ));
    }
    for (_, proxy) in &proxies {
        // About a fifth of the functions' calls fail or are slow, as in the run.
        proxy.set_rates(FaultRates::failing(0.16, 0.05));
    }

    // The supplier's stream: every version of every SKU, some sent twice, shuffled.
    let mut webhooks: Vec<(String, String)> = (0..SKUS * VERSIONS)
        .map(|i| {
            let (s, v) = (i % SKUS, i / SKUS);
            let body = supplier_event(&event_id(s, v), &sku(s), v as i64, &at_minute(v as i64));
            (format!("msg_{s}_{v}"), body.to_string())
        })
        .collect();
    let again: Vec<(String, String)> = webhooks
        .choose_multiple(&mut rng, RESENT)
        .map(|(id, body)| (format!("{id}_again"), body.clone()))
        .collect();
    webhooks.extend(again.iter().cloned());
    webhooks.shuffle(&mut rng);
    let sends = webhooks.len();

    let started = Instant::now();
    let sending_done = Arc::new(AtomicBool::new(false));
    let ingest = Arc::new(ingest);
    let producer = {
        let (ingest, secret, tenant_id, sending_done) = (
            ingest.clone(),
            tenant.secret.clone(),
            tenant.id.clone(),
            sending_done.clone(),
        );
        tokio::spawn(async move {
            let retried = AtomicUsize::new(0);
            futures::stream::iter(webhooks)
                .for_each_concurrent(6, |(id, body)| {
                    let (ingest, secret, tenant_id, retried) =
                        (&ingest, &secret, &tenant_id, &retried);
                    async move {
                        // The supplier retries a failed webhook, as Standard Webhooks senders do.
                        for attempt in 1..=8 {
                            let headers = signed_headers(secret, &id, &body);
                            let event = apigw_event(tenant_id, &headers, &body).to_string();
                            let status = match ingest.invoke(Bytes::from(event), None).await {
                                Ended::Answered(Ok(answer)) => {
                                    let v: Value = serde_json::from_slice(&answer).unwrap();
                                    v["statusCode"].as_u64().unwrap_or(0)
                                }
                                other => panic!("ingest did not answer {id}: {other:?}"),
                            };
                            match status {
                                200..=299 => return,
                                500..=599 if attempt < 8 => {
                                    retried.fetch_add(1, Ordering::Relaxed);
                                    tokio::time::sleep(Duration::from_millis(50)).await;
                                }
                                _ => panic!("webhook {id} answered {status} (attempt {attempt})"),
                            }
                        }
                    }
                })
                .await;
            sending_done.store(true, Ordering::SeqCst);
            retried.into_inner()
        })
    };
    let poison = poison(&tenant.id);
    for body in &poison {
        stack
            .sqs()
            .send_message()
            .queue_url(&config.sync_queue_url)
            .message_body(body)
            .send()
            .await
            .expect("poison enqueued");
    }

    // Lambda's event source: one poller per environment, batches of ten.
    let tallies = Arc::new(Tallies {
        kills_left: AtomicUsize::new(KILLS),
        ..Tallies::default()
    });
    let drained = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = workers
        .iter()
        .enumerate()
        .map(|(n, worker)| {
            let (worker, tallies, drained) = (worker.clone(), tallies.clone(), drained.clone());
            let mut source = stack.queue();
            source.wait = Duration::ZERO;
            let mut rng = StdRng::seed_from_u64(seed ^ (100 + n as u64));
            tokio::spawn(async move {
                while !drained.load(Ordering::SeqCst) {
                    let kill_after = Duration::from_millis(rng.random_range(5..120));
                    let kill_turn = rng.random_bool(0.3);
                    let stats = source
                        .poll_batch(BATCH_SIZE, Duration::from_millis(100), |event: SqsEvent| {
                            invoke_worker(&worker, &tallies, event, kill_turn.then_some(kill_after))
                        })
                        .await
                        .expect("poll the sync queue");
                    if stats.received == 0 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect();
    let source = stack.queue();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "not drained in 150 s (logs in {})",
            logs.display()
        );
        if sending_done.load(Ordering::SeqCst) && source.depth().await.expect("depth") == 0 {
            drained.store(true, Ordering::SeqCst);
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let supplier_retries = producer.await.expect("producer");
    for p in pollers {
        p.await.expect("poller");
    }
    let elapsed = started.elapsed();
    for (_, proxy) in &proxies {
        proxy.set_rates(FaultRates::default());
    }

    // What happened, for the record.
    let mut durations = tallies.durations.lock().unwrap().clone();
    durations.sort();
    let pct = |p: f64| durations[((durations.len() - 1) as f64 * p) as usize];
    let timed_out: usize = workers
        .iter()
        .map(|w| w.timed_out.load(Ordering::SeqCst))
        .sum();
    let killed: usize = workers
        .iter()
        .map(|w| w.killed.load(Ordering::SeqCst))
        .sum();
    println!(
        "{sends} webhooks ({} supplier retries) + {} poison in {elapsed:.1?}; worker invocations {}, killed {killed}, timed out {timed_out}, errors {}, batches handed back {}; answered invocations p50 {:?} p99 {:?} max {:?}; cache-busts {}",
        supplier_retries,
        poison.len(),
        tallies.invocations.load(Ordering::SeqCst),
        tallies.errors.load(Ordering::SeqCst),
        tallies.handed_back.load(Ordering::SeqCst),
        pct(0.5),
        pct(0.99),
        durations.last().unwrap(),
        published.load(Ordering::SeqCst),
    );
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for (name, proxy) in &proxies {
        println!(
            "faults {name}: {:?} of {} requests",
            proxy.faults(),
            proxy.requests()
        );
        for (fault, n) in proxy.faults() {
            *by_kind.entry(format!("{fault:?}")).or_default() += n;
        }
    }
    println!(
        "faults injected by kind: {by_kind:?} in {} requests",
        proxies.iter().map(|(_, p)| p.requests()).sum::<usize>()
    );

    let resent: BTreeSet<String> = again
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<Value>(body).unwrap()["eventId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_audit_explains_every_item(&stack, &tenant.id, &resent, &logs).await;
    assert_dead_letters_are_the_poison(&stack, &tenant.id, &poison).await;
    assert_eq!(
        timed_out,
        0,
        "no invocation ran past its timeout (logs in {})",
        logs.display()
    );
    assert_eq!(
        killed, KILLS,
        "the worker was killed mid-batch {KILLS} times"
    );
    // SSM is read once per cold start (then cached), so it sees too few calls to count on.
    for (name, proxy) in &proxies[..2] {
        assert_eq!(proxy.faults().len(), 5, "{name} saw every kind of fault");
    }
}

/// One worker invocation as Lambda's event source makes it: a crash, an
/// error or a timeout hands the whole batch back.
async fn invoke_worker(
    worker: &Environment,
    tallies: &Tallies,
    event: SqsEvent,
    kill_after: Option<Duration>,
) -> SqsBatchResponse {
    tallies.invocations.fetch_add(1, Ordering::SeqCst);
    // Killed only where every record has a receive left: a record killed on
    // its last receive belongs in the DLQ by SQS's own rule.
    let first_receives = event.records.iter().all(|r| {
        r.attributes
            .get("ApproximateReceiveCount")
            .map(String::as_str)
            == Some("1")
    });
    let kill_after = kill_after.filter(|_| {
        first_receives
            && tallies
                .kills_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |k| k.checked_sub(1))
                .is_ok()
    });
    let all_back = |event: &SqsEvent| {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = event
            .records
            .iter()
            .map(|r| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = r.message_id.clone().unwrap_or_default();
                f
            })
            .collect();
        response
    };
    let started = Instant::now();
    let payload = Bytes::from(serde_json::to_vec(&event).unwrap());
    let ended = worker.invoke(payload, kill_after).await;
    if kill_after.is_some() && matches!(ended, Ended::Answered(_)) {
        // Done before the kill: the kill is kept for a later batch.
        tallies.kills_left.fetch_add(1, Ordering::SeqCst);
    }
    match ended {
        Ended::Answered(Ok(answer)) => {
            tallies.durations.lock().unwrap().push(started.elapsed());
            let response: SqsBatchResponse =
                serde_json::from_slice(&answer).expect("a batch response");
            if response.batch_item_failures.len() == event.records.len() && event.records.len() > 1
            {
                tallies.handed_back.fetch_add(1, Ordering::SeqCst);
            }
            response
        }
        Ended::Answered(Err(_)) => {
            tallies.errors.fetch_add(1, Ordering::SeqCst);
            all_back(&event)
        }
        Ended::Killed | Ended::TimedOut => all_back(&event),
    }
}

/// The DLQ holds the poison and nothing else (a record parked twice after a
/// lost answer is the same message again).
async fn assert_dead_letters_are_the_poison(stack: &TestStack, tenant: &str, poison: &[String]) {
    let mut bodies = BTreeSet::new();
    let mut copies = 0;
    loop {
        let out = stack
            .sqs()
            .receive_message()
            .queue_url(&stack.config.sync_dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .send()
            .await
            .expect("receive from the DLQ");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            copies += 1;
            bodies.insert(m.body.unwrap_or_default());
        }
    }
    println!(
        "events in the DLQ: {} distinct bodies ({} poison) in {copies} messages",
        bodies.len(),
        poison.len()
    );
    let expected: BTreeSet<String> = poison.iter().cloned().collect();
    let valid: Vec<&String> = bodies.difference(&expected).collect();
    assert!(valid.is_empty(), "valid events reached the DLQ: {valid:#?}");
    assert_eq!(
        bodies, expected,
        "every poison message is parked ({copies} copies)"
    );
    let rejected = stack.rejected_audit(tenant).await;
    let ids: BTreeSet<&str> = rejected
        .iter()
        .filter_map(|r| r.event_id.as_deref())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["poison-1", "poison-2", "poison-3"]),
        "{rejected:#?}"
    );
    assert!(rejected
        .iter()
        .all(|r| r.outcome == "rejected" && r.reason.is_some()));
}

/// The exact checks: each item holds its newest event, its revision equals
/// its `applied` rows, no event is applied twice, and every event has an
/// `applied` or `stale` row (a re-sent copy may be `duplicate`).
async fn assert_audit_explains_every_item(
    stack: &TestStack,
    tenant: &str,
    resent: &BTreeSet<String>,
    logs: &std::path::Path,
) {
    let mut problems = Vec::new();
    for s in 0..SKUS {
        let sku = sku(s);
        let item = stack.item(tenant, &sku).await.expect("every SKU is stored");
        let newest = event_id(s, VERSIONS - 1);
        if item["eventId"] != json!(newest) {
            problems.push(format!(
                "{sku} holds {} instead of {newest}",
                item["eventId"]
            ));
        }
        let rows = stack.audit(tenant, &sku).await;
        let mut by_event: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for row in &rows {
            by_event
                .entry(row.event_id.as_deref().unwrap_or("?"))
                .or_default()
                .push(row.outcome.as_str());
        }
        let applied = rows.iter().filter(|r| r.outcome == "applied").count() as i64;
        if item["revision"] != json!(applied) {
            problems.push(format!(
                "{sku}: revision {} but {applied} applied rows: {by_event:?}",
                item["revision"]
            ));
        }
        let mut messages: HashMap<&str, usize> = HashMap::new();
        for row in &rows {
            *messages.entry(row.message_id.as_str()).or_default() += 1;
        }
        if let Some((m, n)) = messages.iter().find(|(_, n)| **n > 1) {
            problems.push(format!("{sku}: message {m} has {n} rows"));
        }
        for v in 0..VERSIONS {
            let id = event_id(s, v);
            let outcomes = by_event.get(id.as_str()).cloned().unwrap_or_default();
            let applied = outcomes.iter().filter(|o| **o == "applied").count();
            let settled = outcomes
                .iter()
                .filter(|o| matches!(**o, "applied" | "stale"))
                .count();
            let sent = 1 + usize::from(resent.contains(&id));
            if applied > 1 {
                problems.push(format!("{id} applied {applied} times: {outcomes:?}"));
            }
            if settled == 0 || outcomes.len() < sent {
                problems.push(format!("{id} sent {sent}× has rows {outcomes:?}"));
            }
            if outcomes
                .iter()
                .any(|o| !matches!(*o, "applied" | "stale" | "duplicate"))
            {
                problems.push(format!("{id} has rows {outcomes:?}"));
            }
        }
    }
    println!("audit mismatches: {} over {SKUS} items", problems.len());
    assert!(
        problems.is_empty(),
        "{} problems (logs in {}):\n{}",
        problems.len(),
        logs.display(),
        problems.join("\n")
    );
}
