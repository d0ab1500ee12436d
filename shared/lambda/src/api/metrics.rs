//! `GET /api/metrics?since=&until=&tenant=`: the sync's metrics over a window
//! (RFC 3339; the last 24 hours by default), for every active tenant or one.

use super::{ok, query, Answer};
use crate::Api;
use lambda_http::Request;
use synchub_core::domain::{TenantId, ValidationError};

pub(super) async fn get_metrics(api: &Api, request: &Request) -> Answer {
    let (since, until) = (query(request, "since"), query(request, "until"));
    let tenant = query(request, "tenant")
        .map(|t| TenantId::parse(&t).map_err(|e| ValidationError::new("tenant", e.rule)))
        .transpose()?;
    let report = api
        .metrics(since.as_deref(), until.as_deref(), tenant.as_ref())
        .await?;
    ok(200, &report)
}
