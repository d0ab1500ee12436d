//! `GET /api/health` and `synchub health` run the dead-run sweep before
//! they answer: a run stuck `running` past its lock (its invocation crashed,
//! its work went to the runs DLQ) is failed with TIMEOUT_ERROR by one
//! health call, its failure notice is sent, and the answer names it.

use serde_json::Value;
use synchub_core::app::daily_sync::{start_run, Start};
use synchub_core::domain::sync_run::{RunStatus, SyncRun, Trigger};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::ports::RunLog;
use synchub_core::ErrorClass;
use synchub_tests::api_contract::{get, setup, Contract, Setup};
use synchub_tests::square_server::SquareData;

const HOUR: i64 = 3_600_000;

/// A run started by the schedule at `started`, whose invocation then died:
/// no progress since, and its lock (15 minutes) long expired.
async fn started(s: &Setup, tenant: &str, data_type: DataType, started: i64) -> SyncRun {
    let ports = s.api.sync.ports();
    match start_run(&ports, tenant, data_type, Trigger::Schedule, false, started).await {
        Ok(Start::Started(run)) => run,
        other => panic!("not started: {other:?}"),
    }
}

async fn load(s: &Setup, tenant: &str, run: &SyncRun) -> SyncRun {
    s.api
        .sync
        .runs
        .load(tenant, run.data_type, &run.run_id)
        .await
        .unwrap()
        .expect("the run record")
}

/// The notices on the notifications queue (received once).
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
async fn one_health_call_fails_a_run_that_died_quietly_sends_its_notice_and_names_it() {
    let s = setup(SquareData::empty()).await;
    let tenant = s.tenant().await;
    let dead = started(&s, &tenant, DataType::Catalog, now_millis() - 2 * HOUR).await;
    let live = started(&s, &tenant, DataType::Orders, now_millis() - 60_000).await;

    let a = get(&s.api, "/api/health", &[]).await;

    assert_eq!(a.status, 200, "{}", a.body);
    Contract::new().check("GET /api/health", a.status, &a.body);
    assert_eq!(
        a.body["sweptRuns"],
        serde_json::json!([dead.run_id]),
        "{}",
        a.body
    );
    let failed = load(&s, &tenant, &dead).await;
    assert_eq!(
        (failed.status, failed.error_class),
        (RunStatus::Failed, Some(ErrorClass::TimeoutError))
    );
    assert!(
        failed
            .error_message
            .as_deref()
            .unwrap_or_default()
            .contains("found by the sweep"),
        "{failed:?}"
    );
    assert_eq!(
        load(&s, &tenant, &live).await.status,
        RunStatus::Running,
        "a live run is left alone"
    );
    let notices = notices(&s).await;
    assert!(
        notices.iter().any(|n| n["type"] == "runFailed"
            && n["runId"] == dead.run_id.as_str()
            && n["errorClass"] == "TIMEOUT_ERROR"),
        "{notices:?}"
    );
    // Failed now, not stuck: the answer counts it as a failed run.
    assert_eq!(a.body["status"], "degraded", "{}", a.body);

    let again = get(&s.api, "/api/health", &[]).await;
    assert_eq!(again.body["sweptRuns"], serde_json::json!([]), "swept once");
}

#[tokio::test]
async fn synchub_health_sweeps_too_and_says_what_it_failed() {
    let s = setup(SquareData::empty()).await;
    let tenant = s.tenant().await;
    let dead = started(&s, &tenant, DataType::Inventory, now_millis() - 3 * HOUR).await;
    let ops = synchub_cli::ops::Operations::new(&s.stack.aws, &s.stack.config);

    let health = ops.health().await.unwrap();

    assert_eq!(health.swept_runs, vec![dead.run_id.clone()]);
    assert_eq!(load(&s, &tenant, &dead).await.status, RunStatus::Failed);
    let table = synchub_cli::health::render(&health);
    assert!(
        table.contains(&format!("swept {}: ", dead.run_id)),
        "{table}"
    );
    assert_eq!(synchub_cli::health::exit_status(&health), 1, "{table}");
}
