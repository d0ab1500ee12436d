//! What did a tenant's runs do: the last run per data type with its counts,
//! the collections whose last run failed, the flags in effect and why, and
//! the tenant's sync method.

use super::flags::{effective_flags, FlagPolicy, FlagValue};
use super::OpsError;
use serde::Serialize;
use synchub_core::domain::sync_run::{RunStatus, SyncRun};
use synchub_core::domain::time::parse_rfc3339_millis;
use synchub_core::domain::DataType;
use synchub_core::domain::TenantId;
use synchub_core::ports::{RunLog, TenantDirectory};
use synchub_core::ErrorClass;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    pub tenant_id: String,
    pub active: bool,
    /// The newest run of each data type that has run.
    pub last_runs: Vec<RunLine>,
    /// Data types whose newest run failed.
    pub failed_collections: Vec<DataType>,
    pub flags: Vec<FlagValue>,
    pub targets_disabled: Vec<String>,
    pub sync_method: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunLine {
    pub run_id: String,
    pub data_type: DataType,
    pub status: RunStatus,
    pub trigger: synchub_core::domain::sync_run::Trigger,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    pub fetched: u64,
    pub enqueued: u64,
    pub rejected: u64,
    pub pages: u64,
    /// Records of an id the pull had already returned (kept; the newest wins).
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicates: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl From<&SyncRun> for RunLine {
    fn from(r: &SyncRun) -> Self {
        let duration_ms = r
            .finished_at
            .as_deref()
            .and_then(|f| parse_rfc3339_millis(f).ok())
            .map(|(_, end)| end - r.started_millis);
        Self {
            run_id: r.run_id.clone(),
            data_type: r.data_type,
            status: r.status,
            trigger: r.trigger,
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            duration_ms,
            fetched: r.fetched,
            enqueued: r.enqueued,
            rejected: r.rejected,
            pages: r.pages,
            duplicates: r.duplicates,
            error_class: r.error_class,
            error_message: r.error_message.clone(),
        }
    }
}

pub async fn status<R: RunLog, T: TenantDirectory>(
    runs: &R,
    tenants: &T,
    policy: &FlagPolicy,
    tenant: &TenantId,
) -> Result<TenantStatus, OpsError> {
    let settings = tenants
        .settings(tenant)
        .await?
        .ok_or_else(|| OpsError::UnknownTenant(tenant.to_string()))?;
    let all = runs.runs(tenant.as_str()).await?;
    let last_runs: Vec<RunLine> = DataType::ALL
        .iter()
        .filter_map(|d| all.iter().find(|r| r.data_type == *d))
        .map(RunLine::from)
        .collect();
    let failed_collections = last_runs
        .iter()
        .filter(|r| r.status == RunStatus::Failed)
        .map(|r| r.data_type)
        .collect();
    Ok(TenantStatus {
        tenant_id: tenant.to_string(),
        active: settings.active,
        last_runs,
        failed_collections,
        flags: effective_flags(policy, &settings),
        targets_disabled: settings.targets_disabled.clone(),
        sync_method: settings
            .sync_method
            .clone()
            .unwrap_or_else(|| "queued".into()),
    })
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
