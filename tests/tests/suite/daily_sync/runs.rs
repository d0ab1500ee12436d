//! The run's lifecycle: deadlines and checkpoints, crashes, one run at a time,
//! stuck runs, and continuations through the runs queue.

use super::*;
use std::cell::Cell;
use std::collections::HashSet;
use synchub_core::app::daily_sync::{continue_run, start_run, Progress, Start};
use synchub_core::domain::sync_run::{RunStatus, Trigger};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::ports::{RunLock, RunLog};
use synchub_core::ErrorClass;

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
