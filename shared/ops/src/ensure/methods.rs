//! The two ways `ensure` brings data types up to date, each until a
//! deadline: queued (plan, then watch the run records) and direct (the
//! runs' page loop, inline).

use super::{direct_policy, EnsureDeps, EnsurePorts, Failure, State, Track};
use std::time::Instant;
use synchub_core::app::daily_sync::{
    continue_run, plan, queue_run, start_run_for, PlanOutcome, Progress, Start, SyncDeps, SyncPorts,
};
use synchub_core::domain::ensure::SyncMethod;
use synchub_core::domain::sync_run::{RunStatus, SyncRun, Trigger};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::TenantId;
use synchub_core::messages::{PlanRequest, RunMessage};
use synchub_core::ports::RunLog as _;
use synchub_core::{Classified, ErrorClass};

/// Works on every pending track by `method` until each is done or `deadline`.
pub(super) async fn attempt<E: EnsureDeps>(
    ports: &EnsurePorts<'_, E>,
    method: SyncMethod,
    tenant: &TenantId,
    tracks: &mut [Track],
    started: Instant,
    deadline: Instant,
) {
    match method {
        SyncMethod::Queued => queued(ports, tenant, tracks, started, deadline).await,
        SyncMethod::Direct => {
            let policy = direct_policy(ports.sync.policy, ports.policy);
            let sync = SyncPorts {
                policy: &policy,
                ..copy(&ports.sync)
            };
            let work = tracks
                .iter_mut()
                .map(|t| direct(ports, &sync, tenant, t, started, deadline));
            futures::future::join_all(work).await;
        }
    }
}

fn copy<'a, Deps: SyncDeps>(s: &SyncPorts<'a, Deps>) -> SyncPorts<'a, Deps> {
    SyncPorts {
        source: s.source,
        runs: s.runs,
        queue: s.queue,
        notices: s.notices,
        work: s.work,
        tokens: s.tokens,
        index: s.index,
        policy: s.policy,
        maintenance: s.maintenance,
    }
}

/// Queued: a run the direct pull left paused (still holding its lock) is
/// continued from its checkpoint by the runs queue; the others are started
/// by the schedule's `plan` (a run holding the lock is reported and waited
/// for, not doubled). Then the run records are watched.
async fn queued<E: EnsureDeps>(
    ports: &EnsurePorts<'_, E>,
    tenant: &TenantId,
    tracks: &mut [Track],
    started: Instant,
    deadline: Instant,
) {
    let mut to_plan = Vec::new();
    let now = now_millis();
    for t in tracks.iter_mut() {
        t.watched_since = now;
        match t.run.as_ref().filter(|r| r.status == RunStatus::Running) {
            Some(run) => {
                let message = RunMessage::new(tenant.as_str(), t.data_type, &run.run_id);
                if let Err(e) = queue_run(ports.sync.work, &message).await {
                    t.failed(Failure::new(e.class(), e.to_string()), started);
                }
            }
            // One plan per data type starts a run of each POS that pulls it.
            None if !to_plan.contains(&t.data_type) => to_plan.push(t.data_type),
            None => {}
        }
    }
    if !to_plan.is_empty() {
        let request = PlanRequest {
            trigger: Some(Trigger::Manual),
            tenant_id: Some(tenant.to_string()),
            data_types: Some(to_plan),
            // On demand means now, whatever today's schedule did.
            force: true,
            ..PlanRequest::default()
        };
        match plan(&ports.sync, ports.tenants, &request, now_millis).await {
            Ok(report) => {
                for planned in report.runs {
                    let Some(t) = tracks
                        .iter_mut()
                        .find(|t| t.data_type == planned.data_type && t.source() == planned.source)
                    else {
                        continue;
                    };
                    match planned.outcome {
                        PlanOutcome::Started(id)
                        | PlanOutcome::AlreadyRunning(id)
                        | PlanOutcome::DoneToday(id) => t.run_id = Some(id),
                        PlanOutcome::Failed { error, class, .. } => {
                            t.failed(Failure::new(class, error), started)
                        }
                    }
                }
            }
            Err(e) => {
                for t in tracks.iter_mut().filter(|t| t.state == State::Pending) {
                    t.failed(
                        Failure::new(e.class(), synchub_core::error::chain(&e)),
                        started,
                    );
                }
            }
        }
    }
    let watching: Vec<&mut Track> = tracks
        .iter_mut()
        .filter(|t| t.state == State::Pending)
        .collect();
    watch(ports, tenant, watching, started, deadline).await;
}

/// Reads the runs' records until each has ended or `deadline` passes.
async fn watch<E: EnsureDeps>(
    ports: &EnsurePorts<'_, E>,
    tenant: &TenantId,
    mut tracks: Vec<&mut Track>,
    started: Instant,
    deadline: Instant,
) {
    loop {
        for t in tracks.iter_mut() {
            let Some(run_id) = t.run_id.clone() else {
                t.failed(
                    Failure::new(ErrorClass::UnknownError, "no run to wait for"),
                    started,
                );
                continue;
            };
            match ports
                .sync
                .runs
                .load(tenant.as_str(), t.data_type, &run_id)
                .await
            {
                Ok(Some(run)) if run.status != RunStatus::Running => t.ended(run, started),
                Ok(Some(run)) => t.run = Some(run),
                // The lock names a run whose record is not written yet: read again.
                Ok(None) => {}
                // A read that failed is read again at the next poll.
                Err(e) => {
                    tracing::warn!(tenant_id = %tenant, run_id, error = %e, "run record not read")
                }
            }
        }
        tracks.retain(|t| t.state == State::Pending);
        let now = Instant::now();
        if tracks.is_empty() {
            return;
        }
        if now >= deadline {
            for t in tracks {
                t.timed_out(started);
            }
            return;
        }
        tokio::time::sleep(ports.policy.poll_every.min(deadline - now)).await;
    }
}

/// Direct: pulls one data type inline. A run left by the queued attempt is
/// taken over from its checkpoint unless a consumer is moving it (it made
/// progress while it was watched), in which case it is waited for; a run
/// someone else holds the lock for is waited for, never doubled.
async fn direct<E: EnsureDeps>(
    ports: &EnsurePorts<'_, E>,
    sync: &SyncPorts<'_, E::Sync>,
    tenant: &TenantId,
    t: &mut Track,
    started: Instant,
    deadline: Instant,
) {
    let run = match t.run.clone().filter(|r| r.status == RunStatus::Running) {
        Some(run) => take_over(ports, sync, tenant, t, run, started, deadline).await,
        None => start_direct_run(ports, sync, tenant, t, started, deadline).await,
    };
    let Some(run) = run else {
        return;
    };
    pull_inline(sync, t, run, started, deadline).await;
}

/// The run the queued attempt left, read again: the one to take over, or
/// `None` once the track is settled (the run ended, a consumer is moving it
/// and it was waited for, or it could not be read).
async fn take_over<E: EnsureDeps>(
    ports: &EnsurePorts<'_, E>,
    sync: &SyncPorts<'_, E::Sync>,
    tenant: &TenantId,
    t: &mut Track,
    run: SyncRun,
    started: Instant,
    deadline: Instant,
) -> Option<SyncRun> {
    match sync
        .runs
        .load(tenant.as_str(), t.data_type, &run.run_id)
        .await
    {
        Ok(Some(fresh)) if fresh.status != RunStatus::Running => {
            t.ended(fresh, started);
            None
        }
        Ok(Some(fresh))
            if fresh.last_progress_millis > t.watched_since.max(fresh.started_millis) =>
        {
            t.run = Some(fresh);
            watch(ports, tenant, vec![t], started, deadline).await;
            None
        }
        Ok(Some(fresh)) => Some(fresh),
        Ok(None) => {
            let why = format!("run {} not found", run.run_id);
            t.failed(Failure::new(ErrorClass::UnknownError, why), started);
            None
        }
        Err(e) => {
            t.failed(Failure::new(e.class(), e.to_string()), started);
            None
        }
    }
}

/// A new run of the track's data type and POS: the one to pull, or `None`
/// once the track is settled (a run someone else holds was waited for, or
/// the start failed).
async fn start_direct_run<E: EnsureDeps>(
    ports: &EnsurePorts<'_, E>,
    sync: &SyncPorts<'_, E::Sync>,
    tenant: &TenantId,
    t: &mut Track,
    started: Instant,
    deadline: Instant,
) -> Option<SyncRun> {
    match start_run_for(
        sync,
        tenant.as_str(),
        Some(&t.pos),
        t.data_type,
        Trigger::Manual,
        true,
        now_millis(),
    )
    .await
    {
        Ok(Start::Started(run)) => Some(run),
        Ok(Start::AlreadyRunning { run_id } | Start::DoneToday { run_id }) => {
            t.run_id = Some(run_id);
            watch(ports, tenant, vec![t], started, deadline).await;
            None
        }
        Err(e) => {
            t.failed(
                Failure::new(e.class(), synchub_core::error::chain(&e)),
                started,
            );
            None
        }
    }
}

/// Pulls `run` page by page until it finishes or `deadline` leaves no room.
async fn pull_inline<Deps: SyncDeps>(
    sync: &SyncPorts<'_, Deps>,
    t: &mut Track,
    run: SyncRun,
    started: Instant,
    deadline: Instant,
) {
    t.run_id = Some(run.run_id.clone());
    t.run = Some(run.clone());
    let left = || deadline.saturating_duration_since(Instant::now());
    // A page still in flight at the deadline is dropped: its objects are
    // re-sent from the checkpoint by whoever continues (duplicates to the worker).
    let pull = continue_run(sync, run, left, now_millis, |_| {});
    match tokio::time::timeout(left(), pull).await {
        Ok(Ok(Progress::Finished(run))) => t.ended(run, started),
        Ok(Ok(Progress::Paused(run))) => {
            t.run = Some(run);
            t.timed_out(started);
        }
        Ok(Err(e)) => t.failed(
            Failure::new(e.class(), synchub_core::error::chain(&e)),
            started,
        ),
        Err(_) => t.timed_out(started),
    }
}
