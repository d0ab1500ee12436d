//! Sync on demand: `POST /api/tenants/{tenantId}/ensure` `{dataTypes?,
//! timeoutMs}` brings the tenant's data up to date by its sync method (200
//! when every data type is fresh; otherwise the same answer with its
//! `error`, 503 when retrying may help, 500 when not), and
//! `GET /api/method-stats?since=&until=` says how each method did.

use super::{body_bytes, ok, query, Answer, ApiError};
use crate::Api;
use lambda_http::Request;
use serde::Deserialize;
use synchub_core::domain::ids::typed;
use synchub_core::domain::supplier::parse_body;
use synchub_core::domain::DataType;
use synchub_core::domain::{TenantId, ValidationError};
use synchub_ops::ensure::{EnsureError, EnsureRequest};

impl From<EnsureError> for ApiError {
    fn from(e: EnsureError) -> Self {
        match e {
            EnsureError::Sync(e) => ApiError::Sync(e),
            EnsureError::Port(e) => ApiError::Port(e),
            EnsureError::Invalid(e) => ApiError::Invalid(e),
            EnsureError::UnknownTenant(t) => ApiError::UnknownTenant(t),
        }
    }
}

/// The request body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct EnsureBody {
    /// Every data type when absent.
    #[serde(default)]
    pub data_types: Option<Vec<DataType>>,
    /// How long the caller waits, in milliseconds.
    pub timeout_ms: u64,
}

impl EnsureBody {
    pub(crate) fn parse(body: &[u8]) -> Result<EnsureRequest, ValidationError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ValidationError::new(
                "timeoutMs",
                "is required (milliseconds the caller waits)",
            ));
        }
        let value = parse_body(body)
            .map_err(|e| ValidationError::new("body", format!("is not JSON: {e}")))??;
        if value.is_object() && value.get("timeoutMs").is_none() {
            return Err(ValidationError::new(
                "timeoutMs",
                "is required (milliseconds the caller waits)",
            ));
        }
        let asked: Self = typed(&value)?;
        EnsureRequest::new(asked.data_types, Some(asked.timeout_ms))
    }
}

pub(super) async fn post_ensure(api: &Api, tenant: &TenantId, request: &Request) -> Answer {
    let asked = EnsureBody::parse(body_bytes(request))?;
    // Boxed: the pulls and waits would otherwise sit in every request's future.
    let report = Box::pin(api.ensure(tenant, &asked)).await?;
    let status = match &report.error {
        None => 200,
        Some(e) if e.retryable => 503,
        Some(_) => 500,
    };
    ok(status, &report)
}

pub(super) async fn get_method_stats(api: &Api, request: &Request) -> Answer {
    let (since, until) = (query(request, "since"), query(request, "until"));
    let report = api.method_stats(since.as_deref(), until.as_deref()).await?;
    ok(200, &report)
}
