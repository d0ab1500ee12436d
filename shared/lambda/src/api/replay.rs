//! `POST /api/tenants/{tenantId}/replay`: re-drive a window through the
//! worker; a dry run unless the body says `"dryRun": false`.

use super::{body_bytes, ok, Answer};
use crate::Api;
use lambda_http::Request;
use serde::Deserialize;
use synchub_core::domain::ids::typed;
use synchub_core::domain::supplier::parse_body;
use synchub_core::domain::{EntityKind, TenantId, ValidationError};
use synchub_core::ErrorClass;
use synchub_ops::ReplayRequest;

/// The request body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ReplayBody {
    pub since: String,
    pub until: String,
    /// Entity kinds (`catalog_item`, `item`, ...); every kind when absent.
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
    #[serde(default)]
    pub republish: bool,
    /// True unless said otherwise: a replay is looked at before it is done.
    #[serde(default = "yes")]
    pub dry_run: bool,
    /// Only the window's dead letters of this class.
    #[serde(default)]
    pub error_class: Option<ErrorClass>,
}

fn yes() -> bool {
    true
}

impl ReplayBody {
    pub(crate) fn parse(body: &[u8]) -> Result<ReplayRequest, ValidationError> {
        let value = parse_body(body)
            .map_err(|e| ValidationError::new("body", format!("is not JSON: {e}")))??;
        let asked: Self = typed(&value)?;
        let kinds = asked
            .kinds
            .unwrap_or_default()
            .iter()
            .map(|k| {
                EntityKind::parse(k).ok_or_else(|| {
                    let names: Vec<&str> = EntityKind::ALL.iter().map(|k| k.as_str()).collect();
                    ValidationError::new(
                        "kinds",
                        format!("{k:?} is not one of {}", names.join(", ")),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ReplayRequest {
            since: asked.since,
            until: asked.until,
            kinds,
            republish: asked.republish,
            dry_run: asked.dry_run,
            error_class: asked.error_class,
        })
    }
}

pub(super) async fn post_replay(api: &Api, tenant: &TenantId, request: &Request) -> Answer {
    let asked = ReplayBody::parse(body_bytes(request))?;
    let report = api.replay(tenant, &asked, &|_, _| {}).await?;
    ok(if report.dry_run { 200 } else { 202 }, &report)
}
