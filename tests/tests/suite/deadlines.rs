//! daily-sync and the failure notifier never run past their invocation's
//! deadline (issue 14), against the local engines: a run held up by a slow
//! POS (Square's `Retry-After`) is cut before the deadline and handed back
//! to SQS, then resumes and finishes; a record is not started once less
//! than the margin is left; a plan with no time left stops instead of
//! starting runs; the notifier, its DynamoDB calls slowed by a proxy,
//! handles what fits in its budget and hands back the rest, which a later
//! invocation finishes with no email sent twice.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use synchub_cli::local::sent_emails;
use synchub_core::domain::sync_run::{RunStatus, Trigger};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::ports::RunLog;
use synchub_lambda::daily_sync::{handle, plan, work, PlanRequest};
use synchub_lambda::notify::handle_failures_within;
use synchub_lambda::sqs::{handle_sync_batch_within, ANSWER_MARGIN};
use synchub_lambda::{DailySync, Notifier};
use synchub_tests::chaos::{FaultRates, FaultyProxy, Service};
use synchub_tests::square_server::{self, Fault, SquareData, SquareServer};
use synchub_tests::*;

struct Setup {
    stack: TestStack,
    tenant: String,
    square: SquareServer,
    sync: DailySync,
}

async fn setup(items: usize, page_size: usize) -> Setup {
    let mut stack = TestStack::new().await;
    let tenant = stack.tenant(None).await.id;
    let mut data = SquareData::empty();
    data.items = square_server::items(items);
    let square = SquareServer::start(data, page_size).await;
    stack.config.square_base_url = square.url.clone();
    stack
        .put_parameter(&tenant, "square-token", "EAAA-deadline-token")
        .await;
    let sync = DailySync::new(&stack.aws, &stack.config);
    Setup {
        stack,
        tenant,
        square,
        sync,
    }
}

impl Setup {
    /// Starts a manual run of each data type and returns the runs queue's
    /// messages as one SQS event (received; redelivered after 2 s).
    async fn queued_runs(&self, data_types: Vec<DataType>) -> SqsEvent {
        let request = PlanRequest {
            trigger: Some(Trigger::Manual),
            tenant_id: Some(self.tenant.clone()),
            data_types: Some(data_types.clone()),
            ..Default::default()
        };
        plan(&self.sync, &request).await.expect("the plan answers");
        self.runs_event(data_types.len()).await
    }

    async fn runs_event(&self, expected: usize) -> SqsEvent {
        let mut runs_queue = synchub_cli::event_source::LocalEventSource::new(
            self.stack.sqs(),
            &self.stack.config.runs_queue_url,
        );
        runs_queue.wait = Duration::from_secs(1);
        let mut event = SqsEvent::default();
        let started = Instant::now();
        while event.records.len() < expected {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "runs not queued"
            );
            // Taken, and handed back so SQS redelivers them later.
            runs_queue
                .poll_once(|e: SqsEvent| {
                    let mut back = aws_lambda_events::sqs::SqsBatchResponse::default();
                    for r in &e.records {
                        let mut f = aws_lambda_events::sqs::BatchItemFailure::default();
                        f.item_identifier = r.message_id.clone().unwrap_or_default();
                        back.batch_item_failures.push(f);
                    }
                    event.records.extend(e.records);
                    async move { back }
                })
                .await
                .expect("poll the runs queue");
        }
        event
    }

    async fn run_status(&self, data_type: DataType) -> (RunStatus, u64) {
        let runs = self.sync.runs.runs(&self.tenant).await.unwrap();
        let run = runs
            .iter()
            .find(|r| r.data_type == data_type)
            .expect("the run");
        (run.status, run.fetched)
    }
}

fn failed_ids(response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

fn ids(event: &SqsEvent) -> Vec<String> {
    event
        .records
        .iter()
        .map(|r| r.message_id.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_run_held_up_by_a_slow_pos_is_handed_back_before_the_deadline_then_finishes() {
    let s = setup(6, 2).await;
    let event = s.queued_runs(vec![DataType::Catalog]).await;
    // Square asks for 20 s of patience (the client honours up to 30 s).
    s.square.inject(
        "/v2/catalog/list",
        Fault::RateLimited {
            retry_after_secs: 20,
        },
        1,
    );
    let timeout = Duration::from_secs(4);
    let started = Instant::now();
    let response = work(
        &s.sync,
        event.clone(),
        now_millis() as u64 + timeout.as_millis() as u64,
    )
    .await;
    let took = started.elapsed();
    assert!(
        took <= timeout - ANSWER_MARGIN + Duration::from_millis(300),
        "answered {took:?} into a {timeout:?} invocation"
    );
    assert_eq!(failed_ids(&response), ids(&event), "the run is handed back");
    assert_eq!(s.run_status(DataType::Catalog).await.0, RunStatus::Running);

    // Redelivered with time to spare, it finishes: every item once.
    let event = s.runs_event(1).await;
    let response = work(&s.sync, event, now_millis() as u64 + 60_000).await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    assert_eq!(
        s.run_status(DataType::Catalog).await,
        (RunStatus::Succeeded, 6)
    );
}

#[tokio::test]
async fn no_record_is_started_with_less_than_the_margin_left() {
    let mut s = setup(2, 10).await;
    s.sync.policy.margin = Duration::from_secs(30);
    let event = s
        .queued_runs(vec![DataType::Catalog, DataType::Categories])
        .await;
    let all = ids(&event);
    // 10 s left, under the 30 s margin: the first record works (one page
    // per invocation, always), the second is not started.
    let response = work(&s.sync, event, now_millis() as u64 + 10_000).await;
    assert_eq!(failed_ids(&response), all[1..].to_vec());
    let statuses = [
        s.run_status(DataType::Catalog).await.0,
        s.run_status(DataType::Categories).await.0,
    ];
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == RunStatus::Succeeded)
            .count(),
        1,
        "one run done, one not started: {statuses:?}"
    );
    assert_eq!(s.square.requests_to("/v2/catalog/list"), 1);
}

#[tokio::test]
async fn a_plan_without_time_left_stops_naming_the_deadline_and_starts_nothing() {
    let s = setup(2, 10).await;
    let deadline = now_millis() as u64 + ANSWER_MARGIN.as_millis() as u64;
    let error = handle(
        &s.sync,
        json!({"trigger": "manual", "tenantId": s.tenant}),
        deadline,
    )
    .await
    .expect_err("no time to plan");
    assert_eq!(
        synchub_core::Classified::class(&error),
        synchub_core::ErrorClass::TimeoutError
    );
    assert!(error.to_string().contains("plan stopped before"), "{error}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.sync.runs.runs(&s.tenant).await.unwrap().is_empty());
}

/// A dead letter as the worker parks a rejected record, as the DLQ hands it on.
fn dead_letter(stack: &TestStack, tenant: &str, n: usize) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(format!("dlq-{n}"));
    m.body = Some(queued(
        tenant,
        &supplier_event(&format!("evt-{n}"), &format!("SKU-{n}"), -1, &at_minute(1)),
    ));
    m.event_source_arn = Some(format!(
        "arn:aws:sqs:us-east-1:000000000000:{}",
        stack.config.sync_dlq_url.rsplit('/').next().unwrap()
    ));
    m.attributes
        .insert("SentTimestamp".into(), now_millis().to_string());
    for (k, v) in [
        ("errorClass", "VALIDATION_ERROR".to_owned()),
        (
            "rejectReason",
            "quantity: must be a whole number >= 0".into(),
        ),
        ("sourceMessageId", format!("m-{n}")),
        ("tenantId", tenant.to_owned()),
    ] {
        let mut a = SqsMessageAttribute::default();
        a.string_value = Some(v);
        a.data_type = Some("String".into());
        m.message_attributes.insert(k.into(), a);
    }
    m
}

#[tokio::test]
async fn the_notifier_hands_back_what_does_not_fit_its_budget_and_emails_once() {
    let stack = TestStack::new().await;
    let recipient = format!("{}@example.com", unique("deadline"));
    let tenant = stack.tenant_with(None, vec![recipient.clone()]).await.id;
    // The notifier's table reached through a proxy that delays every call 0.1-0.8 s.
    let proxy = FaultyProxy::start(
        Service::DynamoDb,
        &std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap(),
        14,
    )
    .await;
    proxy.set_rates(FaultRates {
        delay: 1.0,
        ..FaultRates::default()
    });
    let mut slow = Notifier::new(&stack.aws, &stack.config);
    let slow_dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&stack.aws)
            .endpoint_url(&proxy.url)
            .build(),
    );
    slow.store = synchub_aws::alerts::DynamoAlertStore::new(
        slow_dynamo,
        &stack.config.notifications_table,
        stack.config.audit_ttl,
    );
    let mut event = SqsEvent::default();
    event.records = (0..8).map(|n| dead_letter(&stack, &tenant, n)).collect();
    let all: BTreeSet<String> = ids(&event).into_iter().collect();

    let budget = Duration::from_secs(3);
    let started = Instant::now();
    let notify_queue = stack.config.notify_queue_url.clone();
    let response = handle_failures_within(&slow, &notify_queue, event.clone(), budget).await;
    let took = started.elapsed();
    assert!(
        took <= budget + Duration::from_millis(300),
        "answered after {took:?} on a {budget:?} budget"
    );
    let back: BTreeSet<String> = failed_ids(&response).into_iter().collect();
    assert!(
        !back.is_empty(),
        "eight slow records do not fit in {budget:?}"
    );
    assert!(back.is_subset(&all));

    // The rest, redelivered to a notifier with time and a fast table.
    let mut rest = event.clone();
    rest.records
        .retain(|r| back.contains(r.message_id.as_deref().unwrap_or_default()));
    let fast = Notifier::new(&stack.aws, &stack.config);
    let response =
        handle_failures_within(&fast, &notify_queue, rest, Duration::from_secs(20)).await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    let moto = std::env::var("AWS_ENDPOINT_URL_SES").unwrap();
    let emails: Vec<_> = sent_emails(&moto)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.to.contains(&recipient))
        .collect();
    assert_eq!(
        emails.len(),
        1,
        "one email for the window, none twice: {emails:#?}"
    );
}

#[tokio::test]
async fn the_worker_tries_a_failed_write_again_while_time_allows_instead_of_spending_a_receive() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await.id;
    let proxy = FaultyProxy::start(
        Service::DynamoDb,
        &std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap(),
        15,
    )
    .await;
    // The item table's writes go through the proxy, which throttles the
    // next five conditional writes: every attempt the SDK makes.
    let mut worker = stack.worker();
    let through_proxy = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&stack.aws)
            .endpoint_url(&proxy.url)
            .build(),
    );
    worker.items =
        synchub_aws::dynamodb::DynamoItemStore::new(through_proxy, &stack.config.items_table)
            .with_shards(stack.config.item_shards);
    let body = queued(&tenant, &supplier_event("evt-1", "SKU-1", 3, &at_minute(1)));
    let event = sqs_event(&[("m-1", &body, 1)]);

    // With under the margin left, the record goes back to SQS.
    proxy.throttle_next("UpdateItem", 5);
    let response =
        handle_sync_batch_within(&worker, event.clone(), Duration::from_millis(1_400)).await;
    assert_eq!(failed_ids(&response), vec!["m-1".to_owned()]);
    assert!(stack.item(&tenant, "SKU-1").await.is_none());

    // With time left, it is written on a second try in the same invocation.
    proxy.throttle_next("UpdateItem", 5);
    let response = handle_sync_batch_within(&worker, event, Duration::from_secs(5)).await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    assert_eq!(stack.item(&tenant, "SKU-1").await.unwrap()["quantity"], 3);
    let rows = stack.audit(&tenant, "SKU-1").await;
    let outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["applied"], "one row, applied once: {rows:#?}");
    assert!(
        proxy.faults()[&synchub_tests::chaos::Fault::Throttled] >= 10,
        "{:?}",
        proxy.faults()
    );
}
