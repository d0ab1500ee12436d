//! Where a run pulls from: Square's hand-written client with the tenant's
//! token, or a connector manifest through the engine with the tenant's
//! connector secrets. Either way the same normalized changes, enqueued under
//! the source's name, and the same reconciliation after a full pull.

use super::{SyncDeps, SyncPorts};
use crate::app::{object_message, send_all};
use crate::domain::drift::{self, DriftEntry};
use crate::domain::square;
use crate::domain::sync_run::SyncRun;
use crate::domain::DataType;
use crate::domain::{EntityKind, PulledObject, TenantId, ValidationError};
use crate::ports::SeenLog as _;
use crate::ports::{
    ConnectorRequest, ConnectorSecrets, EntityIndex, MessageQueue, PortError, PosSource,
    PullWindow, SourcePage, TokenStore,
};
use crate::ErrorClass;
use synchub_connectors::{self as connector, mapping, Manifest, PosConnection, SQUARE_CONNECTOR};

/// A run's source with the credentials it pulls with.
pub(crate) enum Puller {
    Square {
        token: String,
    },
    Connector {
        manifest: &'static Manifest,
        pos: PosConnection,
        secrets: ConnectorSecrets,
    },
}

impl std::fmt::Debug for Puller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Puller({})", self.source())
    }
}

impl Puller {
    /// The run's source with its credentials, or why it cannot pull
    /// (class and reason: the run fails with them).
    pub(crate) async fn for_run<K: TokenStore>(
        tokens: &K,
        tenant: &TenantId,
        pos: Option<&PosConnection>,
    ) -> Result<Result<Self, (ErrorClass, String)>, PortError> {
        let Some(pos) = pos.filter(|p| !p.is_square()) else {
            return Ok(match tokens.square_token(tenant).await? {
                Some(token) => Ok(Self::Square { token }),
                None => Err((
                    ErrorClass::AuthError,
                    "no Square access token in SSM for this tenant".into(),
                )),
            });
        };
        let manifest = match connector::connector(&pos.connector) {
            Ok(m) => m,
            Err(why) => return Ok(Err((ErrorClass::ValidationError, why))),
        };
        Ok(match tokens.pos_secrets(tenant, &pos.connector).await? {
            Some(secrets) => Ok(Self::Connector {
                manifest,
                pos: pos.clone(),
                secrets,
            }),
            None => Err((
                ErrorClass::AuthError,
                format!(
                    "no {} credentials in SSM for this tenant ({})",
                    manifest.title,
                    connector::pos::secret_parameter(&pos.connector)
                ),
            )),
        })
    }

    /// The source of its changes (`square`, `flowhub`).
    pub(crate) fn source(&self) -> &str {
        match self {
            Self::Square { .. } => SQUARE_CONNECTOR,
            Self::Connector { manifest, .. } => &manifest.name,
        }
    }

    pub(crate) async fn page<P: PosSource>(
        &self,
        source: &P,
        tenant: &TenantId,
        data_type: DataType,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> Result<SourcePage, PortError> {
        match self {
            Self::Square { token } => source.page(token, data_type, window, cursor).await,
            Self::Connector { pos, secrets, .. } => {
                let request = ConnectorRequest {
                    tenant,
                    pos,
                    secrets,
                };
                source
                    .connector_page(&request, data_type, window, cursor)
                    .await
            }
        }
    }

    pub(crate) fn normalize(
        &self,
        data_type: DataType,
        object: &serde_json::Value,
        pulled_at_millis: i64,
    ) -> Result<PulledObject, ValidationError> {
        match self {
            Self::Square { .. } => square::normalize(data_type, object, pulled_at_millis),
            Self::Connector { manifest, .. } => {
                manifest.normalize(data_type, object, pulled_at_millis)
            }
        }
    }

    /// The id to name a rejected object by (what could be read of it).
    pub(crate) fn object_id(&self, data_type: DataType, object: &serde_json::Value) -> String {
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let found = match self {
            Self::Square { .. } => object
                .get("id")
                .or_else(|| object.get("catalog_object_id"))
                .and_then(text),
            Self::Connector { manifest, .. } => manifest.streams.get(&data_type).and_then(|s| {
                let parts: Option<Vec<String>> = s
                    .mapping
                    .id
                    .paths()
                    .into_iter()
                    .map(|p| mapping::value_at(object, p).and_then(text))
                    .collect();
                parts.map(|p| p.join("@"))
            }),
        };
        found.unwrap_or_else(|| "(no id)".into())
    }

    /// The tombstone of an entity a complete full pull no longer returned.
    pub(crate) fn absent(&self, kind: EntityKind, id: &str, run: &SyncRun) -> PulledObject {
        match self {
            Self::Square { .. } => square::absent(kind, id, run.started_millis, &run.started_at),
            Self::Connector { manifest, .. } => mapping::absent(
                &manifest.name,
                kind,
                id,
                run.started_millis,
                &run.started_at,
            ),
        }
    }
}

/// Enqueues objects ten per `SendMessageBatch` under the run's source; any
/// failed entry fails the page (the run resumes from the previous
/// checkpoint, and the worker's ordering rule makes the re-sent objects
/// duplicates).
pub(crate) async fn enqueue<Q: MessageQueue>(
    queue: &Q,
    run: &SyncRun,
    objects: &[PulledObject],
) -> Result<u64, PortError> {
    let messages = objects
        .iter()
        .map(|o| object_message(&run.tenant_id, run.source(), &run.run_id, None, None, o))
        .collect::<Result<Vec<_>, _>>()?;
    send_all(queue, &messages).await?;
    Ok(messages.len() as u64)
}

/// The page's objects as changes; a malformed one is recorded on the run
/// (its id and reason) and the run goes on.
pub(crate) fn normalize_page(
    puller: &Puller,
    run: &mut SyncRun,
    objects: &[serde_json::Value],
) -> Vec<PulledObject> {
    let mut changes: Vec<PulledObject> = Vec::with_capacity(objects.len());
    for object in objects {
        match puller.normalize(run.data_type, object, run.started_millis) {
            Ok(o) => changes.push(o),
            Err(reason) => {
                let id = puller.object_id(run.data_type, object);
                tracing::warn!(tenant_id = %run.tenant_id, data_type = %run.data_type, source = run.source(), correlation_id = %run.run_id, object_id = %id, reason = %reason, "object rejected");
                run.reject(id, reason.to_string());
            }
        }
    }
    let mut ids = std::collections::HashSet::with_capacity(changes.len());
    for o in &changes {
        if !ids.insert(o.id.as_str()) {
            run.duplicate(&o.id);
        }
    }
    changes
}

/// After a complete full pull: entities held from the run's source but no
/// longer returned get a tombstone, through the worker like any other change.
pub(crate) async fn reconcile<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    puller: &Puller,
    run: &mut SyncRun,
    tenant: &TenantId,
) -> Result<(), PortError> {
    let seen = ports.runs.seen(run).await?;
    // The pages counted their own repeats; across pages only the whole set knows.
    run.duplicates = run.duplicates.max(seen.repeated() as u64);
    let kind = run.data_type.kind();
    let mut after = None;
    let (mut gone_total, mut part) = (0, 0);
    loop {
        let (rows, next) = ports
            .index
            .live_page(tenant, kind, puller.source(), after)
            .await?;
        let gone: Vec<PulledObject> = rows
            .iter()
            .filter(|(id, _)| !seen.contains(id))
            .map(|(id, _)| puller.absent(kind, id, run))
            .collect();
        gone_total += gone.len();
        run.enqueued += enqueue(ports.queue, run, &gone).await?;
        let drift = drift::gone(gone.iter().map(|o| o.id.as_str()));
        part += 1;
        ports.runs.save_drift(run, run.pages + part, &drift).await?;
        run.drift.add(&drift);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    if gone_total > 0 {
        tracing::info!(tenant_id = %run.tenant_id, data_type = %run.data_type, source = run.source(), correlation_id = %run.run_id, count = gone_total, "entities absent from the full sync got tombstones");
    }
    Ok(())
}

/// A full pull's page against what the tenant holds: each object the
/// tenant did not hold (missed) or holds otherwise (changed, with fields).
pub(crate) async fn page_drift<I: EntityIndex>(
    index: &I,
    run: &SyncRun,
    objects: &[PulledObject],
) -> Result<Vec<DriftEntry>, PortError> {
    let Ok(tenant) = TenantId::parse(&run.tenant_id) else {
        return Ok(Vec::new());
    };
    let ids: Vec<String> = objects.iter().map(|o| o.id.clone()).collect();
    let held = index.held(&tenant, run.data_type.kind(), &ids).await?;
    Ok(objects
        .iter()
        .filter_map(|o| drift::compare(o, held.get(&o.id)))
        .collect())
}
