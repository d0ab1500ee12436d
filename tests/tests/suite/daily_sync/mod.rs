//! The daily pull end to end: a local Square-shaped server (cursor pages,
//! 429 with Retry-After, 500s, 401, malformed objects), the real runs store,
//! sync queue and worker on the local engines.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::HashSet;
use std::time::Duration;
use synchub_cli::sync::{sync, RunLine};
use synchub_core::app::daily_sync::{continue_run, dry_run, start_run, Progress, Start};
use synchub_core::domain::square::DataType;
use synchub_core::domain::sync_run::{RunStatus, Trigger};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::TenantId;
use synchub_core::ports::{AuditHistory, RunLock, RunLog};
use synchub_core::ErrorClass;
use synchub_lambda::DailySync;
use synchub_tests::square_server::{self, Fault, SquareData, SquareServer};
use synchub_tests::*;

const TOKEN: &str = "EAAA-test-token";

struct Setup {
    stack: TestStack,
    tenant: TestTenant,
    square: SquareServer,
    sync: DailySync,
}

async fn setup(data: SquareData, page_size: usize) -> Setup {
    let mut stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let square = SquareServer::start(data, page_size).await;
    stack.config.square_base_url = square.url.clone();
    synchub_cli::local::put_tenant_parameter(
        &stack.aws,
        &stack.config,
        &tenant.id,
        "square-token",
        TOKEN,
    )
    .await
    .unwrap();
    let mut sync = DailySync::new(&stack.aws, &stack.config);
    // The fixtures are dated mid-2026: widen the incremental windows to reach them.
    sync.policy.orders_lookback = Duration::from_secs(3 * 365 * 86_400);
    sync.policy.inventory_lookback = Duration::from_secs(3 * 365 * 86_400);
    Setup {
        stack,
        tenant,
        square,
        sync,
    }
}

fn data(items: usize) -> SquareData {
    let mut d = SquareData::empty();
    d.items = square_server::items(items);
    d
}

impl Setup {
    fn tenant_id(&self) -> TenantId {
        TenantId::parse(&self.tenant.id).unwrap()
    }

    /// Every message on the sync queue, received and deleted (no worker).
    async fn take_queue(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let sqs = self.stack.sqs();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(&self.stack.config.sync_queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(&self.stack.config.sync_queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Stored entities of a kind: (id, deleted).
    async fn stored(&self, kind: &str) -> Vec<(String, bool)> {
        let mut items = Vec::new();
        for partition in self.stack.item_partitions(&self.tenant.id) {
            let out = self
                .stack
                .dynamo()
                .query()
                .table_name(&self.stack.config.items_table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :k)")
                .expression_attribute_values(":pk", AttributeValue::S(partition))
                .expression_attribute_values(":k", AttributeValue::S(format!("{kind}#")))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            items.extend(out.items.unwrap_or_default());
        }
        let mut v: Vec<(String, bool)> = items
            .iter()
            .map(|i| {
                (
                    i["sk"]
                        .as_s()
                        .unwrap()
                        .trim_start_matches(&format!("{kind}#"))
                        .to_owned(),
                    i.get("deleted")
                        .and_then(|d| d.as_bool().ok())
                        .copied()
                        .unwrap_or(false),
                )
            })
            .collect();
        v.sort();
        v
    }
}

fn ran(lines: &[RunLine]) -> Vec<synchub_core::domain::sync_run::SyncRun> {
    lines
        .iter()
        .filter_map(|l| {
            if let RunLine::Ran(r) = l {
                Some(r.clone())
            } else {
                None
            }
        })
        .collect()
}

#[tokio::test]
async fn every_data_type_lands_in_dynamodb_through_the_worker() {
    let mut d = data(25);
    d.categories = square_server::categories(3);
    d.locations = square_server::locations(12);
    d.orders = square_server::orders(30, 12);
    d.counts = square_server::counts(7, 12);
    let s = setup(d, 10).await;
    let lines = sync(&s.sync, &s.tenant_id(), &DataType::ALL, false, true)
        .await
        .unwrap();
    let runs = ran(&lines);
    assert_eq!(runs.len(), 5, "{lines:?}");
    for r in &runs {
        assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
        assert!(
            r.run_id.starts_with(&format!("sync-{}-", s.tenant.id)),
            "{}",
            r.run_id
        );
    }
    let fetched: Vec<(DataType, u64)> = runs.iter().map(|r| (r.data_type, r.fetched)).collect();
    assert_eq!(
        fetched,
        vec![
            (DataType::Orders, 30),
            (DataType::Catalog, 25),
            (DataType::Categories, 3),
            (DataType::Locations, 12),
            (DataType::Inventory, 7)
        ]
    );
    assert!(s
        .square
        .authorizations()
        .iter()
        .all(|a| a == &format!("Bearer {TOKEN}")));
    // Orders for 12 locations take two searches of at most ten.
    assert!(
        s.square
            .requests()
            .iter()
            .filter(|(m, p)| m == "POST" && p.starts_with("/v2/orders/search"))
            .count()
            >= 2
    );

    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(60))
        .await;
    assert_eq!(s.stored("item").await.len(), 25);
    assert_eq!(s.stored("category").await.len(), 3);
    assert_eq!(s.stored("location").await.len(), 12);
    assert_eq!(s.stored("order").await.len(), 30);
    assert_eq!(s.stored("inventory").await.len(), 7);
}

#[tokio::test]
async fn a_run_paused_by_its_deadline_continues_without_losing_or_duplicating_objects() {
    let s = setup(data(95), 10).await;
    let Start::Started(run) = start_run(
        &s.sync.ports(),
        &s.tenant.id,
        DataType::Catalog,
        Trigger::Schedule,
        false,
        now_millis(),
    )
    .await
    .unwrap() else {
        panic!()
    };
    let calls = Cell::new(0);
    let tiny_deadline = || {
        calls.set(calls.get() + 1);
        if calls.get() <= 3 {
            Duration::from_secs(3600)
        } else {
            Duration::ZERO
        }
    };
    let Progress::Paused(paused) =
        continue_run(&s.sync.ports(), run, tiny_deadline, now_millis, |_| {})
            .await
            .unwrap()
    else {
        panic!("should pause")
    };
    // The first page is always pulled; the deadline is checked before each next one.
    assert_eq!(
        (paused.pages, paused.fetched, paused.status),
        (4, 40, RunStatus::Running)
    );
    // The next invocation starts from the stored checkpoint.
    let stored = s
        .sync
        .runs
        .load(&s.tenant.id, DataType::Catalog, &paused.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.cursor, paused.cursor);
    let Progress::Finished(done) = continue_run(
        &s.sync.ports(),
        stored,
        || Duration::from_secs(3600),
        now_millis,
        |_| {},
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        (done.status, done.fetched, done.enqueued, done.invocations),
        (RunStatus::Succeeded, 95, 95, 2)
    );
    let messages = s.take_queue().await;
    let ids: HashSet<String> = messages
        .iter()
        .map(|m| m["payload"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        (messages.len(), ids.len()),
        (95, 95),
        "every object exactly once"
    );
}

#[tokio::test]
async fn a_crashed_invocation_resumes_from_its_checkpoint_and_loses_nothing() {
    let s = setup(data(60), 10).await;
    let Start::Started(run) = start_run(
        &s.sync.ports(),
        &s.tenant.id,
        DataType::Catalog,
        Trigger::Schedule,
        false,
        now_millis(),
    )
    .await
    .unwrap() else {
        panic!()
    };
    // The invocation dies at an arbitrary point (here: cancelled mid-flight).
    let _ = tokio::time::timeout(
        Duration::from_millis(40),
        continue_run(
            &s.sync.ports(),
            run.clone(),
            || Duration::from_secs(3600),
            now_millis,
            |_| {},
        ),
    )
    .await;
    let checkpoint = s
        .sync
        .runs
        .load(&s.tenant.id, DataType::Catalog, &run.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint.status, RunStatus::Running);
    let Progress::Finished(done) = continue_run(
        &s.sync.ports(),
        checkpoint,
        || Duration::from_secs(3600),
        now_millis,
        |_| {},
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!(done.status, RunStatus::Succeeded);
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(60))
        .await;
    assert_eq!(
        s.stored("item").await.len(),
        60,
        "every object stored once, re-sent ones were duplicates"
    );
}

#[tokio::test]
async fn one_run_at_a_time_and_force_only_after_today_succeeded() {
    let s = setup(data(5), 10).await;
    let ports = s.sync.ports();
    let Start::Started(first) = start_run(
        &ports,
        &s.tenant.id,
        DataType::Catalog,
        Trigger::Schedule,
        false,
        now_millis(),
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        start_run(
            &ports,
            &s.tenant.id,
            DataType::Catalog,
            Trigger::Manual,
            true,
            now_millis()
        )
        .await
        .unwrap(),
        Start::AlreadyRunning {
            run_id: first.run_id.clone()
        },
        "force never runs two at once"
    );
    continue_run(
        &ports,
        first.clone(),
        || Duration::from_secs(3600),
        now_millis,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        start_run(
            &ports,
            &s.tenant.id,
            DataType::Catalog,
            Trigger::Manual,
            false,
            now_millis()
        )
        .await
        .unwrap(),
        Start::DoneToday {
            run_id: first.run_id.clone()
        }
    );
    assert!(matches!(
        start_run(
            &ports,
            &s.tenant.id,
            DataType::Catalog,
            Trigger::Manual,
            true,
            now_millis()
        )
        .await
        .unwrap(),
        Start::Started(_)
    ));
}

#[tokio::test]
async fn a_stuck_run_is_failed_with_timeout_error_and_reported() {
    let s = setup(data(5), 10).await;
    let ports = s.sync.ports();
    let long_ago = now_millis() - 2 * 3_600_000;
    let Start::Started(stuck) = start_run(
        &ports,
        &s.tenant.id,
        DataType::Catalog,
        Trigger::Schedule,
        false,
        long_ago,
    )
    .await
    .unwrap() else {
        panic!()
    };
    // Its lock is still held (renewed by a zombie) but it made no progress for two hours.
    s.sync
        .runs
        .renew(&stuck, now_millis(), 600_000)
        .await
        .unwrap();
    let Start::Started(_) = start_run(
        &ports,
        &s.tenant.id,
        DataType::Catalog,
        Trigger::Schedule,
        true,
        now_millis(),
    )
    .await
    .unwrap() else {
        panic!("the stuck run gives way")
    };
    let failed = s
        .sync
        .runs
        .load(&s.tenant.id, DataType::Catalog, &stuck.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (failed.status, failed.error_class),
        (RunStatus::Failed, Some(ErrorClass::TimeoutError))
    );
    let notices = notices(&s).await;
    assert!(
        notices.iter().any(|n| n["type"] == "runFailed"
            && n["runId"] == stuck.run_id.as_str()
            && n["errorClass"] == "TIMEOUT_ERROR"),
        "{notices:?}"
    );
}

async fn notices(s: &Setup) -> Vec<Value> {
    let got = s
        .stack
        .sqs()
        .receive_message()
        .queue_url(&s.stack.config.notify_queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    got.messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_complete_full_pull_tombstones_what_square_no_longer_returns_and_a_partial_one_does_not()
{
    let s = setup(data(10), 4).await;
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], false, true)
        .await
        .unwrap();
    assert_eq!(ran(&lines)[0].status, RunStatus::Succeeded);
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;

    // A product from the storefront (Shopify) lives beside Square's items: a
    // full pull from Square says nothing about it.
    let shopify_product = json!({"schema": 1, "tenantId": s.tenant.id, "source": "shopify", "eventId": "shp-evt-1", "correlationId": "sync-t-1-shp",
        "receivedAt": "2026-06-01T10:00:00Z", "topic": "products/update",
        "payload": {"kind": "item", "id": "shopify-42", "updatedAt": "2026-06-01T10:00:00Z", "eventId": "shp-evt-1", "attributes": {"name": "Storefront mug"}}});
    s.stack
        .sqs()
        .send_message()
        .queue_url(&s.stack.config.sync_queue_url)
        .message_body(shopify_product.to_string())
        .send()
        .await
        .unwrap();
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;

    // ITEM000003 is deleted at Square (gone from the listing); a run that fails midway must not conclude that.
    let mut d = data(10);
    d.items.retain(|i| i["id"] != "ITEM000003");
    s.square.set_data(d);
    // The pull fails before it completes: a partial pull proves nothing.
    s.square.inject("/v2/catalog/list", Fault::Unauthorized, 1);
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], true, true)
        .await
        .unwrap();
    assert_eq!(ran(&lines)[0].status, RunStatus::Failed);
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;
    assert!(
        s.stored("item").await.iter().all(|(_, deleted)| !deleted),
        "no tombstone from a failed run"
    );

    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], true, true)
        .await
        .unwrap();
    assert_eq!(ran(&lines)[0].status, RunStatus::Succeeded);
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;
    let deleted: Vec<String> = s
        .stored("item")
        .await
        .into_iter()
        .filter(|(_, d)| *d)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        deleted,
        vec!["ITEM000003".to_owned()],
        "the Shopify product is not Square's to delete"
    );
    assert!(s
        .stored("item")
        .await
        .contains(&("shopify-42".to_owned(), false)));
    let rows =
        synchub_aws::dynamodb::DynamoAuditLog::new(s.stack.dynamo(), &s.stack.config.audit_table)
            .entity_history(&format!("{}#item#ITEM000003", s.tenant.id))
            .await
            .unwrap();
    assert!(rows.iter().any(|r| r.outcome == "deleted" && r.reason.as_deref() == Some("absent from full sync")), "{rows:?}");
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_auth_errors_fail_the_run_at_once() {
    let s = setup(data(12), 5).await;
    s.square.inject(
        "/v2/catalog/list",
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    s.square.inject("/v2/catalog/list", Fault::ServerError, 1);
    let started = std::time::Instant::now();
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], false, true)
        .await
        .unwrap();
    let run = &ran(&lines)[0];
    assert_eq!((run.status, run.fetched), (RunStatus::Succeeded, 12));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(
        s.square.requests_to("/v2/catalog/list"),
        3 + 2,
        "three pages plus the two retried attempts"
    );

    s.square.inject("/v2/locations", Fault::Unauthorized, 5);
    let before = s.square.requests_to("/v2/locations");
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Locations], false, true)
        .await
        .unwrap();
    let run = &ran(&lines)[0];
    assert_eq!(
        (run.status, run.error_class),
        (RunStatus::Failed, Some(ErrorClass::AuthError))
    );
    assert_eq!(
        s.square.requests_to("/v2/locations") - before,
        1,
        "AUTH is never retried"
    );
    assert!(notices(&s)
        .await
        .iter()
        .any(|n| n["errorClass"] == "AUTH_ERROR" && n["dataType"] == "locations"));
}

#[tokio::test]
async fn a_malformed_object_is_rejected_by_id_and_the_run_goes_on() {
    let mut d = data(6);
    d.items[2].as_object_mut().unwrap().remove("version");
    let s = setup(d, 4).await;
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], false, true)
        .await
        .unwrap();
    let run = &ran(&lines)[0];
    assert_eq!(
        (run.status, run.fetched, run.enqueued, run.rejected),
        (RunStatus::Partial, 6, 5, 1)
    );
    assert_eq!(
        run.rejections,
        vec![(
            "ITEM000002".to_owned(),
            "version: is required (a number)".to_owned()
        )]
    );
    assert!(synchub_cli::sync::table(&lines).contains("rejected ITEM000002"));
}

#[tokio::test]
async fn a_dry_run_reports_changes_and_writes_nothing() {
    let s = setup(data(8), 3).await;
    let report = dry_run(
        &s.sync.source,
        &s.sync.tokens,
        &s.sync.index,
        &s.tenant_id(),
        DataType::Catalog,
        &s.sync.policy,
        now_millis(),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.fetched,
            report.new,
            report.changed,
            report.would_delete
        ),
        (8, 8, 0, 0)
    );
    assert!(s.take_queue().await.is_empty(), "nothing enqueued");
    assert!(
        s.sync.runs.runs(&s.tenant.id).await.unwrap().is_empty(),
        "no run recorded"
    );

    sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], false, true)
        .await
        .unwrap();
    s.stack
        .drain(&s.stack.worker(), Duration::from_secs(30))
        .await;
    let mut d = data(8);
    d.items.truncate(7);
    d.items[0]["version"] = Value::from(99_999);
    s.square.set_data(d);
    let report = dry_run(
        &s.sync.source,
        &s.sync.tokens,
        &s.sync.index,
        &s.tenant_id(),
        DataType::Catalog,
        &s.sync.policy,
        now_millis(),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.new,
            report.changed,
            report.unchanged,
            report.would_delete
        ),
        (0, 1, 6, 1)
    );
}

#[tokio::test]
async fn the_lambda_path_queues_runs_and_continues_them_through_the_runs_queue() {
    let s = setup(data(30), 5).await;
    let plan = synchub_lambda::daily_sync::PlanRequest {
        trigger: Some(Trigger::Schedule),
        tenant_id: Some(s.tenant.id.clone()),
        data_types: Some(vec![DataType::Catalog]),
        force: false,
        ..Default::default()
    };
    let planned = synchub_lambda::daily_sync::plan(&s.sync, &plan)
        .await
        .unwrap();
    let planned = serde_json::to_value(planned).unwrap();
    assert!(
        planned["runs"][0]["outcome"]["started"].is_string(),
        "{planned}"
    );
    let mut runs_queue = synchub_cli::event_source::LocalEventSource::new(
        s.stack.sqs(),
        &s.stack.config.runs_queue_url,
    );
    runs_queue.wait = Duration::from_secs(1);
    let mut invocations = 0;
    for _ in 0..20 {
        // Each invocation is near its deadline (3 s left, under the 20 s
        // margin): it pulls one page and queues its continuation.
        let stats = runs_queue
            .poll_once(|event| {
                synchub_lambda::daily_sync::work(&s.sync, event, now_millis() as u64 + 3_000)
            })
            .await
            .unwrap();
        invocations += stats.received;
        let run = &s.sync.runs.runs(&s.tenant.id).await.unwrap()[0];
        if run.status != RunStatus::Running {
            assert_eq!((run.status, run.fetched), (RunStatus::Succeeded, 30));
            assert_eq!(
                (invocations, run.invocations),
                (6, 6),
                "six pages, one invocation each, continued through the runs queue"
            );
            return;
        }
    }
    panic!("the run did not finish");
}
