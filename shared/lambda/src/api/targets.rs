//! `PUT /api/tenants/{tenantId}/targets/{target}` with `{"enabled": bool}`:
//! the dashboard's switch for one of a tenant's targets.

use super::{body_bytes, ok, tenant_id, Answer, ApiError};
use crate::Api;
use lambda_http::Request;
use serde_json::Value;
use synchub_core::domain::ValidationError;
use synchub_core::ports::PortError;
use synchub_core::Classified;
use synchub_ops::tenants::TenantAdminError;

/// `PUT /api/tenants/{tenantId}/targets/{target}`.
pub(super) async fn put(api: &Api, tenant: &str, target: &str, request: &Request) -> Answer {
    let tenant = tenant_id(tenant)?;
    let enabled = enabled(body_bytes(request))?;
    ok(200, &api.switch_target(&tenant, target, enabled).await?)
}

/// The body's `enabled`: a JSON object with that one boolean.
fn enabled(body: &[u8]) -> Result<bool, ValidationError> {
    let rule = "is required: true or false";
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ValidationError::new("enabled", rule));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ValidationError::new("body", format!("is not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ValidationError::new("body", "must be a JSON object"))?;
    if let Some(other) = object.keys().find(|k| *k != "enabled") {
        return Err(ValidationError::new(
            other.as_str(),
            "is not a field of this request (only enabled)",
        ));
    }
    object
        .get("enabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| ValidationError::new("enabled", rule))
}

impl From<TenantAdminError> for ApiError {
    fn from(e: TenantAdminError) -> Self {
        match e {
            TenantAdminError::Port(e) => ApiError::Port(e),
            TenantAdminError::Invalid(e) => ApiError::Invalid(e),
            TenantAdminError::UnknownTenant(t) => ApiError::UnknownTenant(t),
            // A write that kept losing to others: retryable, as DynamoDB's own conflicts.
            other => ApiError::Port(PortError::new(
                "DynamoDB",
                "PutItem",
                other.class(),
                other.to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_must_be_one_boolean_named_enabled() {
        assert_eq!(enabled(br#"{"enabled": true}"#), Ok(true));
        assert_eq!(enabled(br#" {"enabled":false} "#), Ok(false));
        for (body, field) in [
            (&b""[..], "enabled"),
            (b"{}", "enabled"),
            (br#"{"enabled": "yes"}"#, "enabled"),
            (br#"{"enabled": true, "target": "pos"}"#, "target"),
            (b"[true]", "body"),
            (b"{", "body"),
        ] {
            assert_eq!(enabled(body).unwrap_err().field, field, "{body:?}");
        }
    }
}
