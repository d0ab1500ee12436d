//! The read-only routes: health, the launch gate, a tenant's status, an
//! entity's trace.

use super::{ok, query, Answer};
use crate::Api;
use lambda_http::Request;
use synchub_core::domain::{EntityKind, TenantId, ValidationError};
use synchub_ops::trace::entity_key;

/// `GET /api/health`.
pub(super) async fn get_health(api: &Api) -> Answer {
    ok(200, &api.health().await?)
}

/// `GET /api/gate?since=&until=` (RFC 3339; the last 24 hours by default).
pub(super) async fn get_gate(api: &Api, request: &Request) -> Answer {
    let (since, until) = (query(request, "since"), query(request, "until"));
    ok(200, &api.gate(since.as_deref(), until.as_deref()).await?)
}

/// `GET /api/tenants/{tenantId}/status`.
pub(super) async fn get_status(api: &Api, tenant: &TenantId) -> Answer {
    ok(200, &api.status(tenant).await?)
}

/// `GET /api/tenants/{tenantId}/trace?kind=&id=`.
pub(super) async fn get_trace(api: &Api, tenant: &TenantId, request: &Request) -> Answer {
    let kind = entity_kind(query(request, "kind").as_deref())?;
    let id = query(request, "id").ok_or_else(|| ValidationError::new("id", "is required"))?;
    // Every rule entity_key checks is about the id, whatever it calls it.
    let key =
        entity_key(tenant.clone(), kind, &id).map_err(|e| ValidationError::new("id", e.rule))?;
    ok(200, &api.trace(&key).await?)
}

pub(super) fn entity_kind(text: Option<&str>) -> Result<EntityKind, ValidationError> {
    let names = || {
        EntityKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = text
        .ok_or_else(|| ValidationError::new("kind", format!("is required: one of {}", names())))?;
    EntityKind::parse(text)
        .ok_or_else(|| ValidationError::new("kind", format!("must be one of {}", names())))
}
