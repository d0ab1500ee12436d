//! sync-api: the operations API's door (`/api/*` on the HTTP API, IAM
//! authorized). Each route only decodes the request, calls the use case in
//! `app::ops` or `app::daily_sync` and encodes its answer as JSON, with the
//! request's correlation id and how long it took. `openapi.yaml` at the
//! repository root is the contract; tests/tests/api.rs holds the code to it.
//!
//! Tenant isolation: a route about tenant T reads and writes only through
//! keys built from T (the path's id, validated), never from the query or
//! body, so no answer can carry another tenant's data.

use super::Api;
use crate::app::daily_sync::{dry_run, plan, DryRun, PlanOutcome, SyncError};
use crate::app::ops::trace::entity_key;
use crate::app::ops::OpsError;
use crate::domain::correlation::new_correlation_id;
use crate::domain::ids::typed;
use crate::domain::square::DataType;
use crate::domain::supplier::parse_body;
use crate::domain::sync_run::Trigger;
use crate::domain::time::now_millis;
use crate::domain::{EntityKind, TenantId, ValidationError};
use crate::error::chain;
use crate::messages::PlanRequest;
use crate::ports::PortError;
use crate::{Classified, ErrorClass};
use http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Instant;
use tracing::Instrument;

/// The pseudo-tenant in the correlation id of a request about no tenant
/// (health, an unknown route, a malformed tenant id).
const NO_TENANT: &str = "api";

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no route {method} {path}; the routes are /api/health and /api/tenants/{{tenantId}}/(status|trace|runs)")]
    NoRoute { method: String, path: String },
    #[error("{method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: &'static str,
    },
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("tenant {0} is not known")]
    UnknownTenant(String),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<OpsError> for ApiError {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::Port(e) => ApiError::Port(e),
            OpsError::Invalid(e) => ApiError::Invalid(e),
            OpsError::UnknownTenant(t) => ApiError::UnknownTenant(t),
        }
    }
}

impl Classified for ApiError {
    fn class(&self) -> ErrorClass {
        match self {
            ApiError::NoRoute { .. }
            | ApiError::MethodNotAllowed { .. }
            | ApiError::Invalid(_)
            | ApiError::UnknownTenant(_) => ErrorClass::ValidationError,
            ApiError::Port(e) => e.class(),
            ApiError::Sync(e) => e.class(),
        }
    }
}

impl ApiError {
    /// The HTTP status: the caller's mistakes are 4xx; a dependency that may
    /// recover is 503 (retry later); anything else (a missing token, stored
    /// data that cannot be used) is 500, since the caller cannot fix it.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::NoRoute { .. } | ApiError::UnknownTenant(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Invalid(_) => 400,
            other if other.is_retryable() => 503,
            _ => 500,
        }
    }

    /// The field a validation error names.
    fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid(e) => Some(&e.field),
            _ => None,
        }
    }
}

/// What a route asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Health,
    Gate,
    Status(&'a str),
    Trace(&'a str),
    Runs(&'a str),
}

impl<'a> Route<'a> {
    /// The route a path names, if any; the tenant id is not validated yet.
    fn parse(path: &'a str) -> Option<Self> {
        let rest = path.trim_end_matches('/').strip_prefix("/api/")?;
        match rest {
            "health" => return Some(Route::Health),
            "gate" => return Some(Route::Gate),
            _ => {}
        }
        let (tenant, what) = rest.strip_prefix("tenants/")?.split_once('/')?;
        match what {
            "status" => Some(Route::Status(tenant)),
            "trace" => Some(Route::Trace(tenant)),
            "runs" => Some(Route::Runs(tenant)),
            _ => None,
        }
    }

    fn allowed(self) -> &'static str {
        match self {
            Route::Runs(_) => "GET, POST",
            _ => "GET",
        }
    }

    fn tenant(self) -> Option<&'a str> {
        match self {
            Route::Health | Route::Gate => None,
            Route::Status(t) | Route::Trace(t) | Route::Runs(t) => Some(t),
        }
    }
}

/// Answers one API request: status and JSON body, always with the
/// request's `correlationId` and `durationMs`.
pub async fn handle_api(api: &Api, request: Request) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = Route::parse(&path);
    let correlation_tenant = route
        .and_then(Route::tenant)
        .and_then(|t| TenantId::parse(t).ok())
        .unwrap_or_else(|| TenantId::parse(NO_TENANT).expect("a valid tenant id"));
    let correlation_id = new_correlation_id(&correlation_tenant, now_millis());
    let span = tracing::info_span!("api", correlation_id = %correlation_id, method = %method, path = %path);
    let answer = answer(api, route, &method, &path, &request)
        .instrument(span.clone())
        .await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let _entered = span.enter();
    let (status, mut body, allow) = match answer {
        Ok((status, body)) => {
            tracing::info!(status, duration_ms, "answered");
            (status, body, None)
        }
        Err(e) => {
            let status = e.status();
            if status >= 500 {
                tracing::error!(status, duration_ms, error.class = %e.class(), error = %chain(&e), "request failed");
            } else {
                tracing::info!(status, duration_ms, error.class = %e.class(), error = %e, "request refused");
            }
            let allow = match &e {
                ApiError::MethodNotAllowed { allow, .. } => Some(*allow),
                _ => None,
            };
            (status, error_body(&e), allow)
        }
    };
    if let Value::Object(map) = &mut body {
        map.insert("correlationId".into(), json!(correlation_id));
        map.insert("durationMs".into(), json!(duration_ms));
    }
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(allow) = allow {
        response = response.header("allow", allow);
    }
    response
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// `{"error": {"class", "retryable", "message", "field"?}}`.
pub fn error_body(e: &ApiError) -> Value {
    let mut error = json!({
        "class": e.class(),
        "retryable": e.is_retryable(),
        "message": chain(e),
    });
    if let Some(field) = e.field() {
        error["field"] = json!(field);
    }
    json!({ "error": error })
}

type Answer = Result<(u16, Value), ApiError>;

async fn answer(
    api: &Api,
    route: Option<Route<'_>>,
    method: &Method,
    path: &str,
    request: &Request,
) -> Answer {
    let no_route = || ApiError::NoRoute {
        method: method.to_string(),
        path: path.to_owned(),
    };
    let route = route.ok_or_else(no_route)?;
    let not_allowed = || ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: path.to_owned(),
        allow: route.allowed(),
    };
    match (route, method) {
        (Route::Health, &Method::GET) => get_health(api).await,
        (Route::Gate, &Method::GET) => get_gate(api, request).await,
        (Route::Status(t), &Method::GET) => get_status(api, &tenant_id(t)?).await,
        (Route::Trace(t), &Method::GET) => get_trace(api, &tenant_id(t)?, request).await,
        (Route::Runs(t), &Method::GET) => get_runs(api, &tenant_id(t)?, request).await,
        (Route::Runs(t), &Method::POST) => post_runs(api, &tenant_id(t)?, request).await,
        _ => Err(not_allowed()),
    }
}

fn tenant_id(path_segment: &str) -> Result<TenantId, ApiError> {
    Ok(TenantId::parse(path_segment)?)
}

fn ok<T: Serialize>(status: u16, answer: &T) -> Answer {
    let body = serde_json::to_value(answer)
        .map_err(|e| ApiError::Port(PortError::encode("API answer", e)))?;
    Ok((status, body))
}

/// A query parameter, `None` when absent or empty.
fn query(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `GET /api/health`.
async fn get_health(api: &Api) -> Answer {
    ok(200, &api.health().await?)
}

/// `GET /api/gate?since=&until=` (RFC 3339; the last 24 hours by default).
async fn get_gate(api: &Api, request: &Request) -> Answer {
    let (since, until) = (query(request, "since"), query(request, "until"));
    ok(200, &api.gate(since.as_deref(), until.as_deref()).await?)
}

/// `GET /api/tenants/{tenantId}/status`.
async fn get_status(api: &Api, tenant: &TenantId) -> Answer {
    ok(200, &api.status(tenant).await?)
}

/// `GET /api/tenants/{tenantId}/trace?kind=&id=`.
async fn get_trace(api: &Api, tenant: &TenantId, request: &Request) -> Answer {
    let kind = entity_kind(query(request, "kind").as_deref())?;
    let id = query(request, "id").ok_or_else(|| ValidationError::new("id", "is required"))?;
    // Every rule entity_key checks is about the id, whatever it calls it.
    let key =
        entity_key(tenant.clone(), kind, &id).map_err(|e| ValidationError::new("id", e.rule))?;
    ok(200, &api.trace(&key).await?)
}

const KINDS: [EntityKind; 7] = [
    EntityKind::CatalogItem,
    EntityKind::Item,
    EntityKind::Category,
    EntityKind::Location,
    EntityKind::Order,
    EntityKind::Inventory,
    EntityKind::Customer,
];

fn entity_kind(text: Option<&str>) -> Result<EntityKind, ValidationError> {
    let names = || {
        KINDS
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = text
        .ok_or_else(|| ValidationError::new("kind", format!("is required: one of {}", names())))?;
    KINDS
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| ValidationError::new("kind", format!("must be one of {}", names())))
}

/// `GET /api/tenants/{tenantId}/runs?limit=&cursor=`.
async fn get_runs(api: &Api, tenant: &TenantId, request: &Request) -> Answer {
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
    fn parse(body: &[u8]) -> Result<Self, ValidationError> {
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
    fn data_types(&self) -> Vec<DataType> {
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

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// `POST /api/tenants/{tenantId}/runs`: starts (202) or dry-runs (200) the
/// tenant's pulls by the same code the schedule uses.
async fn post_runs(api: &Api, tenant: &TenantId, request: &Request) -> Answer {
    let asked = RunsRequest::parse(body_bytes(request))?;
    api.known_tenant(tenant).await?;
    let data_types = asked.data_types();
    if asked.dry_run {
        let mut results = Vec::new();
        for &data_type in &data_types {
            let found = dry_run(
                &api.sync.source,
                &api.sync.tokens,
                &api.sync.index,
                tenant,
                data_type,
                &api.sync.policy,
                now_millis(),
            )
            .await?;
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

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
