//! `connector pull --dry-run`: the first page a tenant's run of one POS
//! would pull, normalized as the run would enqueue it, with nothing written
//! or enqueued.

use super::source::Puller;
use super::{new_run, SyncError, SyncPolicy};
use crate::domain::sync_run::Trigger;
use crate::domain::DataType;
use crate::domain::{PulledObject, TenantId};
use crate::ports::{PortError, PosSource, PullWindow, TokenStore};
use serde::Serialize;
use synchub_connectors::PosConnection;

/// The first page, as its changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstPage {
    pub tenant_id: String,
    /// `square` or the connector's name.
    pub source: String,
    pub data_type: DataType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_before: Option<String>,
    /// Records the page held.
    pub fetched: usize,
    /// The normalized changes the run would enqueue.
    pub entities: Vec<PulledObject>,
    /// (object id, reason) of the records the run would reject.
    pub rejected: Vec<(String, String)>,
    /// Whether more pages follow.
    pub more: bool,
}

/// Pulls the first page of `data_type` from `pos` for `tenant`, with the
/// window a run started `now` would use.
pub async fn first_page<P: PosSource, K: TokenStore>(
    source: &P,
    tokens: &K,
    tenant: &TenantId,
    pos: &PosConnection,
    data_type: DataType,
    policy: &SyncPolicy,
    now: i64,
) -> Result<FirstPage, SyncError> {
    if !pos.data_types().contains(&data_type) {
        return Err(crate::domain::ValidationError::new(
            "dataType",
            format!("{} has no {data_type} stream", pos.connector),
        )
        .into());
    }
    let mut run = new_run(tenant.as_str(), data_type, Trigger::Manual, now, policy);
    run.pos = Some(pos.clone()).filter(|p| !p.is_square());
    let puller = Puller::for_run(tokens, tenant, run.pos.as_ref())
        .await?
        .map_err(|(class, why)| PortError::new("connectors", "pull", class, why))?;
    let window = PullWindow {
        updated_after: run.updated_after.clone(),
        updated_before: run.updated_before.clone(),
    };
    let page = puller
        .page(source, tenant, data_type, &window, None)
        .await?;
    let entities = super::source::normalize_page(&puller, &mut run, &page.objects);
    Ok(FirstPage {
        tenant_id: tenant.to_string(),
        source: puller.source().to_owned(),
        data_type,
        updated_after: window.updated_after,
        updated_before: window.updated_before,
        fetched: page.objects.len(),
        entities,
        rejected: run.rejections,
        more: page.cursor.is_some(),
    })
}
