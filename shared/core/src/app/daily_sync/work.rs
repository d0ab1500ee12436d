//! daily-sync's two doors as use cases: a plan (the schedule, a manual
//! trigger, a webhook's pull) starts one run per (tenant, data type) and
//! queues it; a runs-queue message works on its run until done or out of
//! time, then queues its own continuation. The Lambda glue only decodes,
//! calls these and encodes.

use super::{
    continue_run, erase_shop, start_run_for, Progress, Start, SyncDeps, SyncError, SyncPorts,
};
use crate::domain::alert::{Notice, RunSummary};
use crate::domain::sync_run::{SyncRun, Trigger};
use crate::domain::time::parse_rfc3339_millis;
use crate::domain::DataType;
use crate::domain::TenantId;
use crate::messages::NoticeMessage;
use crate::messages::{EraseShop, PlanRequest, RunMessage, RunsWork};
use crate::ports::maintenance::MAINTENANCE;
use crate::ports::RunLog as _;
use crate::ports::{
    MessageQueue, OutgoingMessage, PortError, RunStore, TenantDirectory, TenantRoster,
    TenantSettings,
};
use crate::{Classified, ErrorClass};
use serde::Serialize;
use std::time::Duration;
use synchub_connectors::PosConnection;
use tracing::Instrument;

/// What a plan did, per (tenant, data type).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanReport {
    pub runs: Vec<PlannedRun>,
    /// Runs the schedule did not start because maintenance is on: start
    /// them (or wait for tomorrow's) once it is off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_started: Vec<NotStarted>,
}

/// A run a plan did not start, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotStarted {
    pub tenant_id: String,
    pub data_type: DataType,
    /// The connector, for a tenant's non-Square POS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `maintenance`.
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRun {
    pub tenant_id: String,
    pub data_type: DataType,
    /// The connector, for a tenant's non-Square POS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub outcome: PlanOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PlanOutcome {
    Started(String),
    AlreadyRunning(String),
    DoneToday(String),
    /// The run could not be started or queued.
    #[serde(untagged, rename_all = "camelCase")]
    Failed {
        error: String,
        class: ErrorClass,
        #[serde(skip_serializing_if = "Option::is_none")]
        run_id: Option<String>,
    },
}

impl PlanOutcome {
    fn failed(e: &dyn Classified, run_id: Option<String>) -> Self {
        Self::Failed {
            error: crate::error::chain(e),
            class: e.class(),
            run_id,
        }
    }
}

/// What a sweep failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Run ids failed with TIMEOUT_ERROR (their failure notice sent).
    pub failed: Vec<String>,
}

/// Runs that died quietly (an invocation crashed until the lock expired and
/// the work went to the runs DLQ) stay `running` with no progress: every run
/// without progress for `stuck_after` is failed with TIMEOUT_ERROR and
/// reported. On a schedule, so nobody has to start the next run to find them.
pub async fn sweep<Deps: SyncDeps, D>(
    ports: &SyncPorts<'_, Deps>,
    tenants: &D,
    now: i64,
) -> Result<SweepReport, SyncError>
where
    D: TenantRoster,
{
    let stuck_after = ports.policy.stuck_after.as_millis() as i64;
    let mut report = SweepReport::default();
    for tenant in tenants.active().await? {
        let runs = ports.runs.runs(&tenant.tenant_id).await?;
        for mut run in runs.into_iter().filter(|r| r.is_stuck(now, stuck_after)) {
            let minutes = (now - run.last_progress_millis) / 60_000;
            let why = format!("no progress for {minutes} minutes (found by the sweep)");
            super::fail(ports, &mut run, ErrorClass::TimeoutError, why, now).await?;
            report.failed.push(run.run_id);
        }
    }
    Ok(report)
}

/// Starts the runs a plan asks for and queues them: per tenant, each POS it
/// runs (Square unless its settings name others) for each asked data type
/// the POS has. Only a failure to learn which tenants to sync fails the
/// whole plan; one run's failure is reported in its row. While maintenance
/// is on, the schedule's runs are not started (each listed in
/// `not_started`), a run asked for by hand is refused, and a source's pull
/// (a webhook) still runs: it only brings data in.
pub async fn plan<Deps: SyncDeps, D>(
    ports: &SyncPorts<'_, Deps>,
    tenants: &D,
    request: &PlanRequest,
    now: impl Fn() -> i64,
) -> Result<PlanReport, SyncError>
where
    D: TenantRoster + TenantDirectory,
{
    let tenants: Vec<(String, Vec<PosConnection>)> = match &request.tenant_id {
        Some(t) => vec![(t.clone(), sources_of(tenants, t).await?)],
        None => scheduled_tenants(ports, tenants, now())
            .await?
            .into_iter()
            .map(|s| (s.tenant_id.clone(), s.pos_sources()))
            .collect(),
    };
    let data_types = request
        .data_types
        .clone()
        .unwrap_or_else(|| DataType::ALL.to_vec());
    let trigger = request.trigger.unwrap_or(Trigger::Schedule);
    let held_back = trigger != Trigger::Webhook && ports.maintenance.state().await?.is_on();
    if held_back && trigger != Trigger::Schedule {
        return Err(SyncError::Maintenance);
    }
    let (mut runs, mut not_started) = (Vec::new(), Vec::new());
    for (tenant, sources) in &tenants {
        for pos in sources {
            let covered = pos.data_types();
            let source = (!pos.is_square()).then(|| pos.connector.clone());
            for &data_type in data_types.iter().filter(|d| covered.contains(d)) {
                if held_back {
                    tracing::warn!(tenant_id = %tenant, data_type = %data_type, source = %pos.connector, reason = MAINTENANCE, "scheduled sync run not started: maintenance is on");
                    not_started.push(NotStarted {
                        tenant_id: tenant.clone(),
                        data_type,
                        source: source.clone(),
                        reason: MAINTENANCE,
                    });
                    continue;
                }
                let outcome =
                    start_and_queue(ports, tenant, pos, data_type, trigger, request.force, now())
                        .await;
                tracing::info!(tenant_id = %tenant, data_type = %data_type, source = %pos.connector, outcome = ?outcome, "sync run planned");
                runs.push(PlannedRun {
                    tenant_id: tenant.clone(),
                    data_type,
                    source: source.clone(),
                    outcome,
                });
            }
        }
    }
    Ok(PlanReport { runs, not_started })
}

/// The POS a tenant's settings name (Square for a tenant without settings:
/// its run then reports what is missing).
async fn sources_of<D: TenantDirectory>(
    tenants: &D,
    tenant: &str,
) -> Result<Vec<PosConnection>, SyncError> {
    let Ok(id) = crate::domain::TenantId::parse(tenant) else {
        return Ok(vec![PosConnection::square()]);
    };
    Ok(tenants
        .settings(&id)
        .await?
        .map_or_else(|| vec![PosConnection::square()], |s| s.pos_sources()))
}

/// Every active tenant; those that want one also get yesterday's report.
async fn scheduled_tenants<Deps: SyncDeps, D>(
    ports: &SyncPorts<'_, Deps>,
    tenants: &D,
    now: i64,
) -> Result<Vec<TenantSettings>, SyncError>
where
    D: TenantRoster,
{
    let all = tenants.active().await?;
    for settings in all.iter().filter(|t| t.daily_summary) {
        if let Err(e) = send_summary(ports.runs, ports.notices, &settings.tenant_id, now).await {
            tracing::warn!(tenant_id = %settings.tenant_id, error.class = %e.class(), error = %e, "daily summary not queued");
        }
    }
    Ok(all)
}

async fn start_and_queue<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    tenant: &str,
    pos: &PosConnection,
    data_type: DataType,
    trigger: Trigger,
    force: bool,
    now: i64,
) -> PlanOutcome {
    match start_run_for(ports, tenant, Some(pos), data_type, trigger, force, now).await {
        Ok(Start::Started(run)) => {
            match queue_run(ports.work, &RunMessage::new(tenant, data_type, &run.run_id)).await {
                Ok(()) => PlanOutcome::Started(run.run_id),
                Err(e) => PlanOutcome::failed(&e, Some(run.run_id)),
            }
        }
        Ok(Start::AlreadyRunning { run_id }) => PlanOutcome::AlreadyRunning(run_id),
        Ok(Start::DoneToday { run_id }) => PlanOutcome::DoneToday(run_id),
        Err(e) => PlanOutcome::failed(&e, None),
    }
}

/// Queues the report of the UTC day before `now` for the failure notifier.
pub async fn send_summary<R: RunStore, Q: MessageQueue>(
    runs: &R,
    notices: &Q,
    tenant: &str,
    now: i64,
) -> Result<(), PortError> {
    let yesterday =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now - 86_400_000) * 1_000_000)
            .map(|t| t.date().to_string())
            .unwrap_or_default();
    let runs: Vec<RunSummary> = runs
        .runs(tenant)
        .await?
        .into_iter()
        .filter(|r| r.started_at.starts_with(&yesterday))
        .map(run_summary)
        .collect();
    let notice = Notice::DailySummary {
        tenant_id: tenant.to_owned(),
        day: yesterday,
        runs,
    };
    notices
        .send(&OutgoingMessage::json(tenant, &NoticeMessage::new(notice))?)
        .await
        .map(|_| ())
}

fn run_summary(r: SyncRun) -> RunSummary {
    RunSummary {
        duration_seconds: r
            .finished_at
            .as_deref()
            .and_then(|f| parse_rfc3339_millis(f).ok())
            .map_or(0, |(_, end)| (end - r.started_millis) / 1000),
        run_id: r.run_id,
        data_type: r.data_type.to_string(),
        status: format!("{:?}", r.status).to_lowercase(),
        fetched: r.fetched,
        enqueued: r.enqueued,
        rejected: r.rejected,
        started_at: r.started_at,
    }
}

/// Puts work on a run on the runs queue.
pub async fn queue_run<Q: MessageQueue>(queue: &Q, message: &RunMessage) -> Result<(), PortError> {
    queue
        .send(&OutgoingMessage::json(
            &message.tenant_id,
            &RunsWork::Run(message.clone()),
        )?)
        .await
        .map(|_| ())
}

/// Handles one runs-queue message: a plan, a shop erasure, or work on a run
/// until it is done or `remaining` runs low. Returns what it did.
pub async fn handle_work<Deps: SyncDeps, D>(
    ports: &SyncPorts<'_, Deps>,
    tenants: &D,
    body: &str,
    remaining: impl Fn() -> Duration,
    now: impl Fn() -> i64 + Copy,
) -> Result<String, SyncError>
where
    D: TenantRoster + TenantDirectory,
{
    let work = RunsWork::parse(body).map_err(|e| SyncError::UnreadableWork(e.to_string()))?;
    match work {
        // Boxed: planning inside the runs consumer would otherwise nest its future too deep.
        RunsWork::Plan(request) => {
            let report = Box::pin(plan(ports, tenants, &request, now)).await?;
            Ok(serde_json::to_string(&report).unwrap_or_default())
        }
        RunsWork::EraseShop(EraseShop {
            tenant_id,
            event_id,
            correlation_id,
            ..
        }) => {
            let tenant = TenantId::parse(&tenant_id)?;
            let n = erase_shop(
                ports.queue,
                ports.index,
                &tenant,
                &event_id,
                &correlation_id,
                now(),
            )
            .await?;
            Ok(format!("shop erasure: {n} customer(s) queued"))
        }
        RunsWork::Run(message) => work_on_run(ports, &message, remaining, now).await,
    }
}

async fn work_on_run<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    message: &RunMessage,
    remaining: impl Fn() -> Duration,
    now: impl Fn() -> i64 + Copy,
) -> Result<String, SyncError> {
    let Some(run) = ports
        .runs
        .load(&message.tenant_id, message.data_type, &message.run_id)
        .await?
    else {
        return Ok(format!("run {} not found", message.run_id));
    };
    let span = tracing::info_span!("run", correlation_id = %run.run_id);
    match continue_run(ports, run, remaining, now, |_| {})
        .instrument(span)
        .await?
    {
        Progress::Finished(run) => Ok(format!("{:?}", run.status).to_lowercase()),
        Progress::Paused(run) => {
            queue_run(ports.work, message).await?;
            Ok(format!(
                "paused after {} pages; continuation queued",
                run.pages
            ))
        }
    }
}
