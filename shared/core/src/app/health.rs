//! Is the sync healthy right now: the sync queue's backlog, the dead-letter
//! queues' depths, failed or stuck runs in the last day, each against a
//! threshold (template parameters), and the maintenance switch. Any miss is
//! `degraded` (maintenance on included); a dead letter or a stuck run is
//! `unhealthy`. Before answering, the dead-run sweep fails the runs that
//! died quietly (as the 15-minute schedule does), and the answer names them.

use crate::app::daily_sync::{sweep, SyncDeps, SyncPorts};
use crate::domain::sync_run::RunStatus;
use crate::ports::{PortError, QueueStats, RunLog, TenantRoster};
use crate::Classified;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: &'static str,
    pub value: u64,
    pub threshold: u64,
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub status: HealthStatus,
    /// One sentence per check that missed.
    pub reasons: Vec<String>,
    pub checks: Vec<Check>,
    /// Runs the sweep before this answer failed with TIMEOUT_ERROR (no
    /// progress past `stuck_after`, their lock expired), notices sent.
    pub swept_runs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthThresholds {
    /// Messages waiting on the sync queue before it counts as backed up.
    pub max_sync_backlog: u64,
    pub max_dead_letters: u64,
    pub max_failed_runs: u64,
    /// A running run without progress for this long is stuck.
    pub stuck_after_millis: i64,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            max_sync_backlog: 1_000,
            max_dead_letters: 0,
            max_failed_runs: 0,
            stuck_after_millis: 30 * 60_000,
        }
    }
}

/// The queues health looks at.
pub struct Queues<'a, Q> {
    pub sync: &'a Q,
    pub sync_dlq: &'a Q,
    pub runs_dlq: &'a Q,
    pub notify_dlq: &'a Q,
}

crate::port_kinds! {
    /// The kinds of port `health` reads, as one bound: the daily sync's (it
    /// sweeps dead runs first), the queues' depths and the tenants.
    pub trait HealthDeps {
        Sync: SyncDeps,
        Queue: QueueStats,
        Tenants: TenantRoster,
    }
}

/// What `health` reads.
pub struct HealthPorts<'a, H: HealthDeps> {
    pub sync: SyncPorts<'a, H::Sync>,
    pub queues: Queues<'a, H::Queue>,
    pub tenants: &'a H::Tenants,
}

/// Sweeps, then judges. A sweep that cannot finish (it writes runs and
/// sends notices) is a reason in the answer, not a failed answer.
pub async fn health<H: HealthDeps>(
    ports: &HealthPorts<'_, H>,
    thresholds: &HealthThresholds,
    now_millis: i64,
) -> Result<Health, PortError> {
    let (sync, tenants) = (&ports.sync, ports.tenants);
    let mut trouble = Vec::new();
    let swept_runs = match sweep(sync, tenants, now_millis).await {
        Ok(report) => report.failed,
        Err(e) => {
            tracing::warn!(error.class = %e.class(), error = %e, "dead-run sweep did not finish");
            trouble.push(format!("the dead-run sweep did not finish: {e}"));
            Vec::new()
        }
    };
    let maintenance = sync.maintenance.state().await?;
    let mut checks = queue_and_run_checks(ports, thresholds, now_millis).await?;
    checks.push(Check {
        name: MAINTENANCE_CHECK,
        value: u64::from(maintenance.is_on()),
        threshold: 0,
        ok: !maintenance.is_on(),
    });
    if maintenance.is_on() {
        trouble.push("maintenance is on: outbound sync (POS, CRM, storefront, scheduled runs) is held back; `synchub maintenance off` resumes it".into());
    }
    Ok(Health {
        swept_runs,
        ..judge(checks, trouble)
    })
}

/// The maintenance switch's check: 1 while on (never severe: `degraded`).
pub const MAINTENANCE_CHECK: &str = "maintenance";

async fn queue_and_run_checks<H: HealthDeps>(
    ports: &HealthPorts<'_, H>,
    thresholds: &HealthThresholds,
    now_millis: i64,
) -> Result<Vec<Check>, PortError> {
    let (queues, runs, tenants) = (&ports.queues, ports.sync.runs, ports.tenants);
    let backlog = queues.sync.depth().await?.visible;
    let mut dead = 0;
    for q in [queues.sync_dlq, queues.runs_dlq, queues.notify_dlq] {
        dead += q.depth().await?.visible;
    }
    let (mut failed, mut stuck) = (0, 0);
    for tenant in tenants.active().await? {
        // The last day's runs only: the cost follows the day, not the history.
        let day = runs
            .started_between(&tenant.tenant_id, now_millis - 86_400_000, now_millis)
            .await?;
        for run in day {
            failed += u64::from(run.status == RunStatus::Failed);
            stuck += u64::from(run.is_stuck(now_millis, thresholds.stuck_after_millis));
        }
    }
    let check = |name, value, threshold| Check {
        name,
        value,
        threshold,
        ok: value <= threshold,
    };
    Ok(vec![
        check("syncQueueBacklog", backlog, thresholds.max_sync_backlog),
        check("deadLetters", dead, thresholds.max_dead_letters),
        check("failedRunsLastDay", failed, thresholds.max_failed_runs),
        check("stuckRuns", stuck, 0),
    ])
}

/// The verdict: a reason per missed threshold, then `trouble` (each a
/// reason of its own, and at least `degraded`).
fn judge(checks: Vec<Check>, trouble: Vec<String>) -> Health {
    let reasons: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok && c.name != MAINTENANCE_CHECK)
        .map(|c| format!("{} is {} (threshold {})", c.name, c.value, c.threshold))
        .chain(trouble)
        .collect();
    let severe = checks
        .iter()
        .any(|c| !c.ok && matches!(c.name, "deadLetters" | "stuckRuns"));
    let status = match (reasons.is_empty(), severe) {
        (true, _) => HealthStatus::Healthy,
        (false, true) => HealthStatus::Unhealthy,
        (false, false) => HealthStatus::Degraded,
    };
    Health {
        status,
        reasons,
        checks,
        swept_runs: Vec::new(),
    }
}
