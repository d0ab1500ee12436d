//! sync-api: the operations API's door (`/api/*` on the HTTP API, IAM
//! authorized). Each route only decodes the request, calls the use case in
//! `app::ops` or `app::daily_sync` (one file per concern: `reads.rs`,
//! `runs.rs`) and encodes its answer as JSON, with the
//! request's correlation id and how long it took. `openapi.yaml` at the
//! repository root is the contract; tests/tests/suite/api.rs holds the code to it.
//!
//! Tenant isolation: a route about tenant T reads and writes only through
//! keys built from T (the path's id, validated), never from the query or
//! body, so no answer can carry another tenant's data.

use super::Api;
use http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Instant;
use synchub_core::app::daily_sync::SyncError;
use synchub_core::domain::correlation::new_correlation_id;
use synchub_core::domain::time::now_millis;
use synchub_core::domain::{TenantId, ValidationError};
use synchub_core::error::chain;
use synchub_core::ports::PortError;
use synchub_core::{Classified, ErrorClass};
use synchub_ops::OpsError;
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
            ApiError::Invalid(_) | ApiError::Sync(SyncError::Maintenance) => 400,
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
    Metrics,
    Status(&'a str),
    Trace(&'a str),
    Runs(&'a str),
    Replay(&'a str),
    Target(&'a str, &'a str),
    Tenants,
    Failures,
    Ensure(&'a str),
    MethodStats,
}

impl<'a> Route<'a> {
    /// The route a path names, if any; the tenant id is not validated yet.
    fn parse(path: &'a str) -> Option<Self> {
        let rest = path.trim_end_matches('/').strip_prefix("/api/")?;
        match rest {
            "health" => return Some(Route::Health),
            "gate" => return Some(Route::Gate),
            "metrics" => return Some(Route::Metrics),
            "tenants" => return Some(Route::Tenants),
            "failures" => return Some(Route::Failures),
            "method-stats" => return Some(Route::MethodStats),
            _ => {}
        }
        let (tenant, what) = rest.strip_prefix("tenants/")?.split_once('/')?;
        match what {
            "status" => Some(Route::Status(tenant)),
            "trace" => Some(Route::Trace(tenant)),
            "runs" => Some(Route::Runs(tenant)),
            "replay" => Some(Route::Replay(tenant)),
            "ensure" => Some(Route::Ensure(tenant)),
            w => w.strip_prefix("targets/").map(|t| Route::Target(tenant, t)),
        }
    }

    fn allowed(self) -> &'static str {
        match self {
            Route::Runs(_) => "GET, POST",
            Route::Replay(_) | Route::Ensure(_) => "POST",
            Route::Target(..) => "PUT",
            _ => "GET",
        }
    }

    fn tenant(self) -> Option<&'a str> {
        match self {
            Route::Health | Route::Gate | Route::Metrics | Route::Tenants | Route::Failures => None,
            Route::MethodStats => None,
            Route::Ensure(t) => Some(t),
            Route::Status(t) | Route::Trace(t) | Route::Runs(t) | Route::Replay(t) => Some(t),
            Route::Target(t, _) => Some(t),
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
    // On the heap: the routes' futures together are large, and a debug
    // build's test thread has 2 MiB of stack (one allocation per request).
    let answer = Box::pin(answer(api, route, &method, &path, &request))
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

pub(super) type Answer = Result<(u16, Value), ApiError>;

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
    within_limits(request)?;
    let not_allowed = || ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: path.to_owned(),
        allow: route.allowed(),
    };
    match (route, method) {
        (Route::Health, &Method::GET) => reads::get_health(api).await,
        (Route::Gate, &Method::GET) => reads::get_gate(api, request).await,
        (Route::Metrics, &Method::GET) => metrics::get_metrics(api, request).await,
        (Route::Status(t), &Method::GET) => reads::get_status(api, &tenant_id(t)?).await,
        (Route::Trace(t), &Method::GET) => reads::get_trace(api, &tenant_id(t)?, request).await,
        (Route::Runs(t), &Method::GET) => runs::get_runs(api, &tenant_id(t)?, request).await,
        (Route::Runs(t), &Method::POST) => runs::post_runs(api, &tenant_id(t)?, request).await,
        (Route::Replay(t), &Method::POST) => {
            replay::post_replay(api, &tenant_id(t)?, request).await
        }
        (Route::Target(t, target), &Method::PUT) => targets::put(api, t, target, request).await,
        (Route::Tenants, &Method::GET) => fleet::get_tenants(api, request).await,
        (Route::Failures, &Method::GET) => fleet::get_failures(api, request).await,
        (Route::Ensure(t), &Method::POST) => {
            ensure::post_ensure(api, &tenant_id(t)?, request).await
        }
        (Route::MethodStats, &Method::GET) => ensure::get_method_stats(api, request).await,
        _ => Err(not_allowed()),
    }
}

/// The request's body, query and lists within their bounds (see
/// `domain::limits`), checked before any route reads anything.
fn within_limits(request: &Request) -> Result<(), ValidationError> {
    use synchub_core::domain::limits::*;
    let body = body_bytes(request);
    if body.len() > API_BODY_BYTES {
        return Err(ValidationError::new(
            "body",
            format!("must be at most {API_BODY_BYTES} bytes"),
        ));
    }
    if let Some(query) = request.query_string_parameters_ref() {
        let mut count = 0;
        for (name, value) in query.iter() {
            count += 1;
            if value.len() > API_QUERY_VALUE_BYTES {
                return Err(ValidationError::new(
                    name,
                    format!("must be at most {API_QUERY_VALUE_BYTES} bytes"),
                ));
            }
        }
        check_list("query", count, API_QUERY_PARAMETERS)?;
    }
    // A body that is not JSON is named by the route's own parser.
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => check_lists(&value),
        Err(_) => Ok(()),
    }
}

pub(super) fn tenant_id(path_segment: &str) -> Result<TenantId, ApiError> {
    Ok(TenantId::parse(path_segment)?)
}

pub(super) fn ok<T: Serialize>(status: u16, answer: &T) -> Answer {
    let body = serde_json::to_value(answer)
        .map_err(|e| ApiError::Port(PortError::encode("API answer", e)))?;
    Ok((status, body))
}

/// A query parameter, `None` when absent or empty.
pub(super) fn query(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The request body's bytes (empty when there is none).
pub(super) fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

mod ensure;
mod fleet;
mod metrics;
mod reads;
mod replay;
mod runs;
mod targets;

pub use runs::{DryRunLine, DryRunReport, PlannedRunView, PlannedRuns, RunsRequest};

#[cfg(test)]
mod tests;
