//! Runs that die quietly: found by the next run's start and by the sweep,
//! failed with TIMEOUT_ERROR and reported.

use super::*;

#[tokio::test]
async fn an_abandoned_run_is_failed_and_reported_when_the_next_run_starts() {
    let s = Sync::new();
    s.source
        .serve(DataType::Catalog, vec![items(&["A1"]), items(&["B1"])]);
    let abandoned = s.started(DataType::Catalog, T0).await;
    // One page, then its continuation is lost (or dead-lettered): no more progress.
    let Progress::Paused(_) = s.invoke(abandoned.clone(), Duration::ZERO, T0).await else {
        panic!()
    };

    let next = s.started(DataType::Catalog, T0 + 31 * MINUTE).await;

    let old = s
        .runs
        .load(TENANT, DataType::Catalog, &abandoned.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(old.run_id, next.run_id);
    assert_eq!(
        (old.status, old.error_class),
        (RunStatus::Failed, Some(ErrorClass::TimeoutError)),
        "a run that stopped making progress does not stay `running` forever"
    );
    assert!(
        s.notices()
            .iter()
            .any(|n| matches!(n, Notice::RunFailed { run_id, .. } if *run_id == old.run_id)),
        "and the notifier hears of it"
    );
}

#[tokio::test]
async fn the_sweep_fails_and_reports_a_run_that_died_quietly_and_leaves_live_ones_alone() {
    let s = Sync::new();
    s.source
        .serve(DataType::Catalog, vec![items(&["A1"]), items(&["B1"])]);
    let dead = s.started(DataType::Catalog, T0).await;
    let Progress::Paused(_) = s.invoke(dead.clone(), Duration::ZERO, T0).await else {
        panic!()
    };
    let live = s.started(DataType::Orders, T0 + 25 * MINUTE).await;
    let tenants = FakeTenants::new([tenant_settings(TENANT)]);

    let swept = crate::app::daily_sync::sweep(&s.ports(), &tenants, T0 + 31 * MINUTE)
        .await
        .unwrap();

    assert_eq!(swept.failed, vec![dead.run_id.clone()]);
    let dead = s
        .runs
        .load(TENANT, DataType::Catalog, &dead.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (dead.status, dead.error_class),
        (RunStatus::Failed, Some(ErrorClass::TimeoutError))
    );
    let live = s
        .runs
        .load(TENANT, DataType::Orders, &live.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.status, RunStatus::Running);
    assert!(s
        .notices()
        .iter()
        .any(|n| matches!(n, Notice::RunFailed { run_id, .. } if *run_id == dead.run_id)));
}
