//! A tenant's runs: the history (`GET`) and starting or dry-running pulls
//! (`POST`) by the same code the schedule uses.

use super::{body_bytes, ok, query, Answer};
use crate::Api;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use synchub_core::app::daily_sync::{dry_run, plan, DryRun, PlanOutcome};
use synchub_core::domain::ids::typed;
use synchub_core::domain::supplier::parse_body;
use synchub_core::domain::sync_run::Trigger;
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::domain::{TenantId, ValidationError};
use synchub_core::messages::PlanRequest;

/// `GET /api/tenants/{tenantId}/runs?limit=&cursor=`.
pub(super) async fn get_runs(api: &Api, tenant: &TenantId, request: &Request) -> Answer {
    let limit = query(request, "limit");
    let cursor = query(request, "cursor");
    ok(
        200,
        &api.runs(tenant, limit.as_deref(), cursor.as_deref())
            .await?,
    )
}

/// The body of `POST /api/tenants/{tenantId}/runs`; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunsRequest {
    /// Every data type when absent.
    #[serde(default)]
    pub data_types: Option<Vec<DataType>>,
    /// Compare what a pull would change, writing and queueing nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Start another run even if today's succeeded (never two at once).
    #[serde(default)]
    pub force: bool,
}

impl RunsRequest {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ValidationError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let value = parse_body(body)
            .map_err(|e| ValidationError::new("body", format!("is not JSON: {e}")))??;
        let request: Self = typed(&value)?;
        if request.data_types.as_ref().is_some_and(Vec::is_empty) {
            return Err(ValidationError::new(
                "dataTypes",
                "must name at least one data type (omit it for all)",
            ));
        }
        Ok(request)
    }

    /// The data types asked for, each once, in the order asked.
    pub(crate) fn data_types(&self) -> Vec<DataType> {
        let mut out: Vec<DataType> = Vec::new();
        for d in self
            .data_types
            .clone()
            .unwrap_or_else(|| DataType::ALL.to_vec())
        {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }
}

/// What a manual trigger did for one data type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRunView {
    pub data_type: DataType,
    /// `started`, `alreadyRunning` (`runId` holds the lock), `doneToday`
    /// (`runId` succeeded today; `force` starts another) or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

impl PlannedRunView {
    fn new(data_type: DataType, outcome: PlanOutcome) -> Self {
        let view = |outcome, run_id| Self {
            data_type,
            outcome,
            run_id: Some(run_id),
            error: None,
        };
        match outcome {
            PlanOutcome::Started(id) => view("started", id),
            PlanOutcome::AlreadyRunning(id) => view("alreadyRunning", id),
            PlanOutcome::DoneToday(id) => view("doneToday", id),
            PlanOutcome::Failed {
                error,
                class,
                run_id,
            } => Self {
                data_type,
                outcome: "failed",
                run_id,
                error: Some(json!({
                    "class": class,
                    "retryable": class.is_retryable(),
                    "message": error,
                })),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRuns {
    pub tenant_id: String,
    pub runs: Vec<PlannedRunView>,
}

/// What a dry run of one data type found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRunLine {
    pub data_type: DataType,
    pub fetched: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub would_delete: u64,
}

impl DryRunLine {
    fn new(data_type: DataType, r: DryRun) -> Self {
        Self {
            data_type,
            fetched: r.fetched,
            new: r.new,
            changed: r.changed,
            unchanged: r.unchanged,
            rejected: r.rejected,
            would_delete: r.would_delete,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRunReport {
    pub tenant_id: String,
    /// Always true: nothing was written or queued.
    pub dry_run: bool,
    pub results: Vec<DryRunLine>,
}

/// `POST /api/tenants/{tenantId}/runs`: starts (202) or dry-runs (200) the
/// tenant's pulls by the same code the schedule uses.
pub(super) async fn post_runs(api: &Api, tenant: &TenantId, request: &Request) -> Answer {
    let asked = RunsRequest::parse(body_bytes(request))?;
    api.known_tenant(tenant).await?;
    let data_types = asked.data_types();
    if asked.dry_run {
        let mut results = Vec::new();
        for &data_type in &data_types {
            let found = dry_run(&api.sync.ports(), tenant, data_type, now_millis()).await?;
            results.push(DryRunLine::new(data_type, found));
        }
        let report = DryRunReport {
            tenant_id: tenant.to_string(),
            dry_run: true,
            results,
        };
        return ok(200, &report);
    }
    let request = PlanRequest {
        trigger: Some(Trigger::Manual),
        tenant_id: Some(tenant.to_string()),
        data_types: Some(data_types),
        force: asked.force,
        ..PlanRequest::default()
    };
    let report = plan(&api.sync.ports(), &api.sync.tenants, &request, now_millis).await?;
    let runs = report
        .runs
        .into_iter()
        // plan was asked about this tenant only; keep the answer to it regardless.
        .filter(|r| r.tenant_id == tenant.as_str())
        .map(|r| PlannedRunView::new(r.data_type, r.outcome))
        .collect();
    ok(
        202,
        &PlannedRuns {
            tenant_id: tenant.to_string(),
            runs,
        },
    )
}
