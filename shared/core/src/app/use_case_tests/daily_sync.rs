//! The daily pull: one run per (tenant, data type) under a lock, page by
//! page with a checkpoint after each, pausing before the deadline, failing
//! loudly, tombstoning what a complete full pull no longer returns; and the
//! plan that starts runs for every active tenant.

use super::support::{tenant, TENANT};
use crate::app::daily_sync::{
    continue_run, handle_work, plan, start_run, PlanOutcome, Progress, Start, SyncPolicy, SyncPorts,
};
use crate::app::QueuedEvent;
use crate::domain::alert::Notice;
use crate::domain::change::IntoChange;
use crate::domain::sync_run::{RunStatus, SyncRun, Trigger};
use crate::domain::DataType;
use crate::domain::{EntityKind, PulledObject};
use crate::messages::{PlanRequest, RunMessage, RunsWork};
use crate::ports::fakes::{
    tenant_settings, FakeItemStore, FakePosSource, FakeQueue, FakeRunStore, FakeSecrets,
    FakeTenants, SQUARE_TOKEN,
};
use crate::ports::{ItemStore, RunLog, TenantSettings};
use crate::ErrorClass;
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN: &str = "EAAA-test-token";
/// 2025-06-15T15:06:40Z.
const T0: i64 = 1_750_000_000_000;
const MINUTE: i64 = 60_000;

pub(super) struct Sync {
    source: FakePosSource,
    runs: FakeRunStore,
    queue: FakeQueue,
    notices: FakeQueue,
    work: FakeQueue,
    secrets: FakeSecrets,
    index: FakeItemStore,
    policy: SyncPolicy,
}

impl Sync {
    fn new() -> Self {
        let secrets = FakeSecrets::new();
        secrets.put(TENANT, SQUARE_TOKEN, TOKEN);
        Self {
            source: FakePosSource::with_token(TOKEN),
            runs: FakeRunStore::new(),
            queue: FakeQueue::new(),
            notices: FakeQueue::new(),
            work: FakeQueue::new(),
            secrets,
            // One row per index page, so reconciliation must page.
            index: FakeItemStore::with_page_size(1),
            policy: SyncPolicy::default(),
        }
    }

    fn ports(
        &self,
    ) -> SyncPorts<
        '_,
        (
            FakePosSource,
            FakeRunStore,
            FakeQueue,
            FakeSecrets,
            FakeItemStore,
        ),
    > {
        SyncPorts {
            source: &self.source,
            runs: &self.runs,
            queue: &self.queue,
            notices: &self.notices,
            work: &self.work,
            tokens: &self.secrets,
            index: &self.index,
            policy: &self.policy,
            maintenance: &crate::ports::maintenance::Maintenance::Off,
        }
    }

    async fn start(&self, data_type: DataType, force: bool, now: i64) -> Start {
        start_run(
            &self.ports(),
            TENANT,
            data_type,
            Trigger::Schedule,
            force,
            now,
        )
        .await
        .unwrap()
    }

    async fn started(&self, data_type: DataType, now: i64) -> SyncRun {
        match self.start(data_type, false, now).await {
            Start::Started(run) => run,
            other => panic!("not started: {other:?}"),
        }
    }

    /// One invocation's work at `now`, with `left` before its deadline.
    async fn invoke(&self, run: SyncRun, left: Duration, now: i64) -> Progress {
        continue_run(&self.ports(), run, || left, || now, |_| {})
            .await
            .unwrap()
    }

    /// The objects queued for the worker.
    fn queued(&self) -> Vec<PulledObject> {
        self.queue
            .sent()
            .iter()
            .map(|m| {
                let event: QueuedEvent = serde_json::from_str(&m.body).unwrap();
                serde_json::from_value(event.payload).unwrap()
            })
            .collect()
    }

    fn notices(&self) -> Vec<Notice> {
        self.notices
            .sent()
            .iter()
            .map(|m| serde_json::from_str(&m.body).unwrap())
            .collect()
    }
}

/// A Square catalog `ITEM`.
fn item(id: &str) -> Value {
    json!({"type": "ITEM", "id": id, "version": 7, "updated_at": "2025-06-01T10:00:00.000Z",
           "item_data": {"name": format!("Item {id}")}})
}

fn items(ids: &[&str]) -> Vec<Value> {
    ids.iter().map(|id| item(id)).collect()
}

const PLENTY: Duration = Duration::from_secs(600);

#[tokio::test]
async fn a_run_takes_the_lock_and_a_second_start_reports_it_running() {
    let s = Sync::new();

    let run = s.started(DataType::Catalog, T0).await;
    let second = s.start(DataType::Catalog, false, T0 + MINUTE).await;
    let forced = s.start(DataType::Catalog, true, T0 + MINUTE).await;

    assert_eq!(
        second,
        Start::AlreadyRunning {
            run_id: run.run_id.clone()
        }
    );
    assert_eq!(
        forced,
        Start::AlreadyRunning {
            run_id: run.run_id.clone()
        },
        "force never breaks a held lock"
    );
    assert_eq!(
        s.runs
            .load(TENANT, DataType::Catalog, &run.run_id)
            .await
            .unwrap(),
        Some(run.clone())
    );
    assert!(
        matches!(
            s.start(DataType::Orders, false, T0).await,
            Start::Started(_)
        ),
        "one lock per data type"
    );
}

#[tokio::test]
async fn a_run_pulls_page_by_page_checkpointing_and_pauses_when_time_runs_short() {
    let s = Sync::new();
    s.source.serve(
        DataType::Catalog,
        vec![items(&["A1", "A2"]), items(&["B1", "B2"]), items(&["C1"])],
    );
    let run = s.started(DataType::Catalog, T0).await;

    let Progress::Paused(first) = s.invoke(run, Duration::ZERO, T0 + MINUTE).await else {
        panic!("pauses after one page when no time is left")
    };
    assert_eq!(
        (first.pages, first.fetched, first.cursor.as_deref()),
        (1, 2, Some("page-1"))
    );
    let checkpoint = s
        .runs
        .load(TENANT, DataType::Catalog, &first.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint, first, "the checkpoint holds the cursor");
    assert_eq!(
        s.runs
            .lock_item(TENANT, DataType::Catalog)
            .unwrap()
            .lock_until,
        Some(T0 + MINUTE + s.policy.lock_ttl.as_millis() as i64),
        "pausing renews the lock"
    );
    assert_eq!(s.queued().len(), 2);

    // The next invocation resumes from the stored checkpoint.
    let Progress::Paused(second) = s.invoke(checkpoint, Duration::ZERO, T0 + 2 * MINUTE).await
    else {
        panic!()
    };
    let Progress::Finished(done) = s.invoke(second, PLENTY, T0 + 3 * MINUTE).await else {
        panic!()
    };

    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(
        (done.pages, done.fetched, done.enqueued, done.invocations),
        (3, 5, 5, 3)
    );
    let cursors: Vec<Option<String>> = s.source.calls().into_iter().map(|c| c.cursor).collect();
    assert_eq!(
        cursors,
        vec![None, Some("page-1".into()), Some("page-2".into())],
        "no page pulled twice"
    );
    let ids: Vec<String> = s.queued().into_iter().map(|o| o.id).collect();
    assert_eq!(ids, ["A1", "A2", "B1", "B2", "C1"]);
    assert_eq!(
        s.runs
            .load(TENANT, DataType::Catalog, &done.run_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RunStatus::Succeeded
    );
}

#[tokio::test]
async fn a_finished_run_marks_its_day_done_and_only_force_or_the_next_day_starts_another() {
    let finished_today = || async {
        let s = Sync::new();
        s.source.serve(DataType::Catalog, vec![items(&["A1"])]);
        let run = s.started(DataType::Catalog, T0).await;
        let Progress::Finished(done) = s.invoke(run, PLENTY, T0).await else {
            panic!()
        };
        (s, done)
    };

    let (s, done) = finished_today().await;
    assert_eq!(
        s.start(DataType::Catalog, false, T0 + 60 * MINUTE).await,
        Start::DoneToday {
            run_id: done.run_id.clone()
        }
    );
    let forced = s.start(DataType::Catalog, true, T0 + 60 * MINUTE).await;
    assert!(matches!(forced, Start::Started(_)), "{forced:?}");

    let (s, _) = finished_today().await;
    let tomorrow = s
        .start(DataType::Catalog, false, T0 + 24 * 60 * MINUTE)
        .await;
    assert!(matches!(tomorrow, Start::Started(_)), "{tomorrow:?}");
}

#[tokio::test]
async fn a_malformed_object_is_kept_on_the_run_which_ends_partial() {
    let s = Sync::new();
    let mut page = items(&["A1"]);
    page.push(json!({"type": "ITEM", "id": "BAD1", "updated_at": "2025-06-01T10:00:00Z"}));
    s.source.serve(DataType::Catalog, vec![page]);
    let run = s.started(DataType::Catalog, T0).await;

    let Progress::Finished(done) = s.invoke(run, PLENTY, T0).await else {
        panic!()
    };

    assert_eq!(done.status, RunStatus::Partial);
    assert_eq!((done.fetched, done.enqueued, done.rejected), (2, 1, 1));
    assert_eq!(done.rejections[0].0, "BAD1");
    assert!(
        done.rejections[0].1.contains("version"),
        "{:?}",
        done.rejections
    );
}

#[tokio::test]
async fn a_source_failure_fails_the_run_tells_the_notifier_and_frees_the_lock() {
    let s = Sync::new();
    s.source
        .serve(DataType::Catalog, vec![items(&["A1"]), items(&["B1"])]);
    s.source.faults.fail_after(1, ErrorClass::AuthError, 1);
    let run = s.started(DataType::Catalog, T0).await;

    let Progress::Finished(failed) = s.invoke(run, PLENTY, T0 + MINUTE).await else {
        panic!()
    };

    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.error_class, Some(ErrorClass::AuthError));
    assert_eq!(
        failed.cursor.as_deref(),
        Some("page-1"),
        "the checkpoint is kept"
    );
    let notices = s.notices();
    assert!(
        matches!(&notices[..], [Notice::RunFailed { run_id, error_class: ErrorClass::AuthError, .. }] if *run_id == failed.run_id),
        "{notices:?}"
    );
    assert_eq!(
        s.runs
            .lock_item(TENANT, DataType::Catalog)
            .unwrap()
            .lock_until,
        None
    );
    assert!(
        matches!(
            s.start(DataType::Catalog, false, T0 + 2 * MINUTE).await,
            Start::Started(_)
        ),
        "a failed run does not count as today's"
    );
}

#[tokio::test]
async fn a_tenant_without_a_token_fails_its_run_as_an_auth_error() {
    let s = Sync::new();
    let other = FakeSecrets::new();
    let ports = SyncPorts {
        tokens: &other,
        ..s.ports()
    };
    let run = s.started(DataType::Orders, T0).await;

    let Progress::Finished(failed) = continue_run(&ports, run, || PLENTY, || T0, |_| {})
        .await
        .unwrap()
    else {
        panic!()
    };

    assert_eq!(
        (failed.status, failed.error_class),
        (RunStatus::Failed, Some(ErrorClass::AuthError))
    );
    assert!(s.source.calls().is_empty());
    assert_eq!(s.notices().len(), 1);
}

/// Puts a Square object of `kind` from `source` into the store.
async fn hold(s: &Sync, source: &str, kind: EntityKind, id: &str, deleted: bool) {
    let object = PulledObject {
        kind,
        id: id.into(),
        updated_at: "2025-05-01T00:00:00Z".into(),
        event_id: format!("sq-{id}-v1"),
        deleted,
        attributes: Default::default(),
    };
    let change = object.into_change(tenant(), source, T0).unwrap();
    s.index.put_if_newer(&change, "seed", "seed").await.unwrap();
}

#[tokio::test]
async fn a_complete_full_pull_tombstones_only_what_its_source_no_longer_returns() {
    let s = Sync::new();
    for (source, kind, id, deleted) in [
        ("square", EntityKind::Item, "A1", false),
        ("square", EntityKind::Item, "GONE1", false),
        ("square", EntityKind::Item, "GONE2", false),
        ("square", EntityKind::Item, "DEAD", true),
        ("shopify", EntityKind::Item, "SHOP1", false),
        ("square", EntityKind::Category, "CAT1", false),
    ] {
        hold(&s, source, kind, id, deleted).await;
    }
    s.source
        .serve(DataType::Catalog, vec![items(&["A1", "A2"])]);
    let run = s.started(DataType::Catalog, T0).await;

    let Progress::Finished(done) = s.invoke(run.clone(), PLENTY, T0).await else {
        panic!()
    };

    let tombstones: Vec<(String, String)> = s
        .queued()
        .into_iter()
        .filter(|o| o.deleted)
        .map(|o| {
            (
                o.id,
                o.attributes["deletedReason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        tombstones,
        vec![
            ("GONE1".into(), "absent from full sync".into()),
            ("GONE2".into(), "absent from full sync".into())
        ]
    );
    assert_eq!(done.enqueued, 4, "two objects and two tombstones");
    assert_eq!(done.status, RunStatus::Succeeded);
}

#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
#[tokio::test]
async fn a_plan_starts_and_queues_a_run_for_every_active_tenant() {
    let s = Sync::new();
    let roster = FakeTenants::new([
        tenant_settings("t1"),
        TenantSettings {
            daily_summary: true,
            ..tenant_settings("t2")
        },
        TenantSettings {
            active: false,
            ..tenant_settings("t3")
        },
    ]);
    let request = PlanRequest {
        data_types: Some(vec![DataType::Catalog, DataType::Orders]),
        ..PlanRequest::default()
    };

    let report = plan(&s.ports(), &roster, &request, || T0).await.unwrap();

    let planned: Vec<(&str, DataType, bool)> = report
        .runs
        .iter()
        .map(|r| {
            (
                r.tenant_id.as_str(),
                r.data_type,
                matches!(r.outcome, PlanOutcome::Started(_)),
            )
        })
        .collect();
    assert_eq!(
        planned,
        vec![
            ("t1", DataType::Catalog, true),
            ("t1", DataType::Orders, true),
            ("t2", DataType::Catalog, true),
            ("t2", DataType::Orders, true),
        ]
    );
    let queued: Vec<(String, RunMessage)> = s
        .work
        .sent()
        .into_iter()
        .map(|m| match RunsWork::parse(&m.body).unwrap() {
            RunsWork::Run(run) => (m.group_id, run),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(queued.len(), 4);
    for ((group, message), planned) in queued.iter().zip(&report.runs) {
        assert_eq!(group, &planned.tenant_id);
        assert_eq!(
            PlanOutcome::Started(message.run_id.clone()),
            planned.outcome
        );
    }
    let summaries: Vec<String> = s
        .notices()
        .into_iter()
        .filter_map(|n| match n {
            Notice::DailySummary { tenant_id, .. } => Some(tenant_id),
            _ => None,
        })
        .collect();
    assert_eq!(summaries, ["t2"], "only the tenant that asked for one");

    let again = plan(&s.ports(), &roster, &request, || T0 + MINUTE)
        .await
        .unwrap();
    assert!(again
        .runs
        .iter()
        .all(|r| matches!(r.outcome, PlanOutcome::AlreadyRunning(_))));
}

#[tokio::test]
async fn one_run_that_cannot_be_queued_does_not_fail_the_plan_but_an_unreadable_roster_does() {
    let s = Sync::new();
    let roster = FakeTenants::new([tenant_settings("t1"), tenant_settings("t2")]);
    let request = PlanRequest {
        data_types: Some(vec![DataType::Catalog]),
        ..PlanRequest::default()
    };
    s.work.faults.fail(ErrorClass::NetworkError, 1);

    let report = plan(&s.ports(), &roster, &request, || T0).await.unwrap();

    assert!(
        matches!(
            &report.runs[0].outcome,
            PlanOutcome::Failed {
                class: ErrorClass::NetworkError,
                run_id: Some(_),
                ..
            }
        ),
        "{report:?}"
    );
    assert!(matches!(report.runs[1].outcome, PlanOutcome::Started(_)));

    roster.faults.fail(ErrorClass::DatabaseError, 1);
    assert!(plan(&s.ports(), &roster, &PlanRequest::default(), || T0)
        .await
        .is_err());
}

#[tokio::test]
async fn work_on_a_run_queues_its_own_continuation_when_it_pauses() {
    let s = Sync::new();
    s.source
        .serve(DataType::Catalog, vec![items(&["A1"]), items(&["B1"])]);
    let run = s.started(DataType::Catalog, T0).await;
    let message = RunMessage::new(TENANT, DataType::Catalog, &run.run_id);
    let body = serde_json::to_string(&RunsWork::Run(message.clone())).unwrap();
    let roster = FakeTenants::new([tenant_settings(TENANT)]);

    let paused = handle_work(&s.ports(), &roster, &body, || Duration::ZERO, || T0)
        .await
        .unwrap();
    assert_eq!(paused, "paused after 1 pages; continuation queued");
    let continuation = s.work.sent();
    assert_eq!(continuation.len(), 1);
    assert_eq!(
        RunsWork::parse(&continuation[0].body).unwrap(),
        RunsWork::Run(message)
    );

    let done = handle_work(&s.ports(), &roster, &continuation[0].body, || PLENTY, || T0)
        .await
        .unwrap();
    assert_eq!(done, "succeeded");
    assert_eq!(s.work.sent().len(), 1, "nothing more to continue");
}

#[path = "dead_runs.rs"]
mod dead_runs;
#[path = "maintenance.rs"]
mod maintenance;
