//! `synchub drift`: the drift a tenant's full pulls recorded, per id — the
//! newest complete full pull per (data type, source), or one run by id.

use super::SyncError;
use crate::domain::drift::{DriftCounts, DriftEntry};
use crate::domain::sync_run::{RunStatus, SyncRun};
use crate::domain::DataType;
use crate::domain::{TenantId, ValidationError};
use crate::ports::{RunLog, SeenLog};
use serde::Serialize;

/// One run's drift.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDrift {
    pub run_id: String,
    pub data_type: DataType,
    /// `square` or the connector's name.
    pub source: String,
    pub started_at: String,
    pub status: RunStatus,
    pub counts: DriftCounts,
    pub entries: Vec<DriftEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftReport {
    pub tenant_id: String,
    pub runs: Vec<RunDrift>,
}

/// The drift of `run_id`, or of the newest complete full pull of each
/// (data type, source) — only `data_type`'s when given.
pub async fn drift<R: RunLog + SeenLog>(
    runs: &R,
    tenant: &TenantId,
    data_type: Option<DataType>,
    run_id: Option<&str>,
) -> Result<DriftReport, SyncError> {
    if let Some(d) = data_type.filter(|d| !d.is_full()) {
        return Err(ValidationError::new(
            "dataType",
            format!("{d} is pulled incrementally: drift is recorded by full pulls (catalog, categories, locations)"),
        )
        .into());
    }
    let all = runs.runs(tenant.as_str()).await?;
    let chosen: Vec<SyncRun> = match run_id {
        Some(id) => vec![full_pull_by_id(all, tenant, id)?],
        None => newest_full_pulls(all, data_type),
    };
    let mut out = Vec::new();
    for run in chosen {
        let entries = runs.drift(&run).await?;
        out.push(RunDrift {
            run_id: run.run_id.clone(),
            data_type: run.data_type,
            source: run.source().to_owned(),
            started_at: run.started_at.clone(),
            status: run.status,
            counts: run.drift,
            entries,
        });
    }
    Ok(DriftReport {
        tenant_id: tenant.to_string(),
        runs: out,
    })
}

/// The tenant's run `id`, refused when there is none or it is not a full
/// pull (only full pulls record drift).
fn full_pull_by_id(
    all: Vec<SyncRun>,
    tenant: &TenantId,
    id: &str,
) -> Result<SyncRun, ValidationError> {
    let run = all
        .into_iter()
        .find(|r| r.run_id == id)
        .ok_or_else(|| ValidationError::new("run", format!("tenant {tenant} has no run {id}")))?;
    if !run.data_type.is_full() {
        return Err(ValidationError::new(
            "run",
            format!(
                "{id} pulled {} incrementally: only full pulls record drift",
                run.data_type
            ),
        ));
    }
    Ok(run)
}

/// The newest complete full pull of each (data type, source) — only
/// `data_type`'s when given — in data type, then source, order.
fn newest_full_pulls(all: Vec<SyncRun>, data_type: Option<DataType>) -> Vec<SyncRun> {
    let mut newest: Vec<SyncRun> = Vec::new();
    // Newest first: the first complete run of each (data type, source).
    for run in all.into_iter().filter(|r| {
        r.data_type.is_full()
            && r.complete
            && matches!(r.status, RunStatus::Succeeded | RunStatus::Partial)
            && data_type.is_none_or(|d| d == r.data_type)
    }) {
        if !newest
            .iter()
            .any(|n| n.data_type == run.data_type && n.source() == run.source())
        {
            newest.push(run);
        }
    }
    newest.sort_by(|a, b| {
        (a.data_type.as_str(), a.source()).cmp(&(b.data_type.as_str(), b.source()))
    });
    newest
}
