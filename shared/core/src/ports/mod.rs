//! Small capability traits the use cases depend on. Adapters implement them
//! against AWS and HTTP; the use cases never see an SDK type.

mod alerts;
mod error;
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
mod kinds;
pub mod maintenance;
pub mod method_stats;
pub mod replay;
pub mod tenant_admin;
use crate::domain::audit::{AuditRow, TargetStatus};
use crate::domain::ordering::WriteResult;
use crate::domain::provider_webhook::{Provider, ProviderKey};
use crate::domain::sync_run::SyncRun;
use crate::domain::webhook_signature::WebhookSecret;
use crate::domain::DataType;
use crate::domain::{EntityChange, EntityKind, TenantId};
pub use alerts::{AlertClaim, AlertLedger, AlertStore, Email, FailureLog, Mailer, SummaryLedger};
pub use error::PortError;
use std::future::Future;

/// Per-entity state with the ordering rule enforced by a conditional write.
pub trait ItemStore: Send + Sync {
    /// Writes the change only if it is newer than what is stored.
    fn put_if_newer(
        &self,
        change: &EntityChange,
        message_id: &str,
        correlation_id: &str,
    ) -> impl Future<Output = Result<WriteResult, PortError>> + Send;
}

/// The per-delivery audit trail.
pub trait AuditLog: Send + Sync {
    /// Records rows that cannot exist yet (first deliveries), batched.
    fn record_new(
        &self,
        rows: &[AuditRow],
    ) -> impl Future<Output = Vec<Result<(), PortError>>> + Send;
    /// Records a row unless one is already there; `Ok(false)` when it was.
    fn record_once(&self, row: &AuditRow) -> impl Future<Output = Result<bool, PortError>> + Send;
    fn find(
        &self,
        pk: &str,
        sk: &str,
    ) -> impl Future<Output = Result<Option<AuditRow>, PortError>> + Send;
    fn set_target(
        &self,
        pk: &str,
        sk: &str,
        target: &str,
        status: &TargetStatus,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Every delivery about one entity, for `trace`.
pub trait AuditHistory: Send + Sync {
    /// The rows of one entity's audit partition.
    fn entity_history(
        &self,
        partition: &str,
    ) -> impl Future<Output = Result<Vec<AuditRow>, PortError>> + Send;
}

/// What a queue holds right now, for `health`.
pub trait QueueStats: Send + Sync {
    /// Messages waiting (visible) and being worked on (in flight).
    fn depth(&self) -> impl Future<Output = Result<QueueDepth, PortError>> + Send;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueDepth {
    pub visible: u64,
    pub in_flight: u64,
}

/// The per-(tenant, hour) counters behind the gate and the metrics.
pub trait MetricsLedger: Send + Sync {
    /// Adds a batch's counts to the tenant's hour (`2026-12-02T07`).
    fn add(
        &self,
        tenant: &str,
        hour: &str,
        tally: &crate::domain::metrics::Tally,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The tenant's hours from `since` to `until` (inclusive), in order.
    fn hours(
        &self,
        tenant: &str,
        since: &str,
        until: &str,
    ) -> impl Future<Output = Result<Vec<(String, crate::domain::metrics::Tally)>, PortError>> + Send;
}

/// A message for the sync queue.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub group_id: String,
    pub body: String,
    pub attributes: Vec<(&'static str, String)>,
    /// Seconds before SQS makes it visible (0 to 900).
    pub delay_seconds: i32,
}

impl OutgoingMessage {
    /// A message for `tenant` (its message group, so the queue runs as an SQS
    /// fair queue) whose body is `message` as JSON, with a `tenantId` attribute.
    pub fn json<T: serde::Serialize>(tenant: &str, message: &T) -> Result<Self, PortError> {
        Ok(Self {
            group_id: tenant.to_owned(),
            body: serde_json::to_string(message)
                .map_err(|e| PortError::encode("queue message", e))?,
            attributes: vec![("tenantId", tenant.to_owned())],
            delay_seconds: 0,
        })
    }

    /// A message whose body is sent as it is (a dead letter re-driven or
    /// parked), for `tenant`.
    pub fn raw(tenant: &str, body: impl Into<String>) -> Self {
        Self {
            group_id: tenant.to_owned(),
            body: body.into(),
            attributes: vec![("tenantId", tenant.to_owned())],
            delay_seconds: 0,
        }
    }

    pub fn with_attribute(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attributes.push((name, value.into()));
        self
    }

    pub fn delayed(mut self, seconds: i32) -> Self {
        self.delay_seconds = seconds;
        self
    }
}

/// The sync queue (and its dead-letter queue).
pub trait MessageQueue: Send + Sync {
    fn send(
        &self,
        message: &OutgoingMessage,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
    /// Sends up to ten messages in one request; one result per message, in order.
    fn send_batch(
        &self,
        messages: &[OutgoingMessage],
    ) -> impl Future<Output = Vec<Result<(), PortError>>> + Send;
}

/// What synchub knows about a tenant (stored in DynamoDB).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSettings {
    pub tenant_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storefront_url: Option<String>,
    /// Per-target switches that can turn a target off without a deploy.
    #[serde(default)]
    pub targets_disabled: Vec<String>,
    /// Who gets failure emails; the deployment's default recipient when empty.
    #[serde(default)]
    pub alert_recipients: Vec<String>,
    /// Whether the tenant gets a daily success report of its sync runs.
    #[serde(default)]
    pub daily_summary: bool,
    /// The notification URL configured in the tenant's Square webhook
    /// subscription: Square signs it with the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub square_notification_url: Option<String>,
    /// Per-tenant flag overrides (`ENABLE_POS_SYNC` → on/off), winning over
    /// the canary list and the deploy default.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub flag_overrides: std::collections::BTreeMap<String, bool>,
    /// How an on-demand sync runs for this tenant (`queued` unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_method: Option<String>,
    /// Supplier ids whose webhooks the tenant takes; every supplier when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_suppliers: Vec<String>,
    /// The POS the tenant runs, each pulled by the daily sync; Square alone
    /// when empty. Credentials: SSM `.../{tenant}/pos-{connector}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pos: Vec<synchub_connectors::PosConnection>,
}

impl TenantSettings {
    /// The POS the daily sync pulls for the tenant (Square when none is set).
    pub fn pos_sources(&self) -> Vec<synchub_connectors::PosConnection> {
        synchub_connectors::pos::sources(&self.pos)
    }
}

fn yes() -> bool {
    true
}

pub trait TenantDirectory: Send + Sync {
    fn settings(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<TenantSettings>, PortError>> + Send;
}

/// Which tenants the schedule syncs.
pub trait TenantRoster: Send + Sync {
    /// Every active tenant, by id.
    fn active(&self) -> impl Future<Output = Result<Vec<TenantSettings>, PortError>> + Send;
}

/// Where tenant credentials live (SSM SecureString parameters).
pub trait SecretStore: Send + Sync {
    /// The tenant's webhook signing secrets; `None` for an unknown tenant.
    fn webhook_secrets(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<Vec<WebhookSecret>>, PortError>> + Send;
    /// The tenant's signing keys for a provider's webhooks; `None` when unset.
    fn provider_keys(
        &self,
        tenant: &TenantId,
        provider: Provider,
    ) -> impl Future<Output = Result<Option<Vec<ProviderKey>>, PortError>> + Send;
}

/// The storefront cache-bust after an applied change.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheBust {
    pub tenant_id: String,
    pub kind: &'static str,
    pub id: String,
    pub version: i64,
    pub event_id: String,
    pub updated_at: String,
    pub correlation_id: String,
}

pub trait StorefrontPublisher: Send + Sync {
    /// Returns the number of attempts it took.
    fn publish(
        &self,
        url: &str,
        notice: &CacheBust,
    ) -> impl Future<Output = Result<u32, (PortError, u32)>> + Send;
}

/// Where tenant API tokens live (SSM SecureString, beside the webhook secrets).
pub trait TokenStore: Send + Sync {
    fn square_token(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
    fn hubspot_token(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
    /// A connector's credentials (`.../{tenant}/pos-{connector}`, a JSON
    /// object of the manifest's secrets); `None` when unset.
    fn pos_secrets(
        &self,
        tenant: &TenantId,
        connector: &str,
    ) -> impl Future<Output = Result<Option<ConnectorSecrets>, PortError>> + Send {
        let _ = (tenant, connector);
        async { Ok(None) }
    }
}

/// A connector's credentials by the manifest's secret names.
pub type ConnectorSecrets = std::collections::BTreeMap<String, String>;

/// One tenant's pull through a connector manifest.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorRequest<'a> {
    pub tenant: &'a TenantId,
    pub pos: &'a synchub_connectors::PosConnection,
    pub secrets: &'a ConnectorSecrets,
}

/// One page of a source's listing; `cursor` is where the next page starts
/// (opaque to the caller), `None` on the last page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourcePage {
    pub objects: Vec<serde_json::Value>,
    pub cursor: Option<String>,
}

/// The time window of an incremental pull (RFC 3339).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PullWindow {
    pub updated_after: Option<String>,
    pub updated_before: Option<String>,
}

/// A POS's listing APIs: Square's, and any connector manifest's.
pub trait PosSource: Send + Sync {
    fn page(
        &self,
        token: &str,
        data_type: DataType,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<SourcePage, PortError>> + Send;

    /// One page of a connector's listing (its records as the POS sent them).
    /// A source without the connector engine refuses.
    fn connector_page(
        &self,
        request: &ConnectorRequest<'_>,
        data_type: DataType,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<SourcePage, PortError>> + Send {
        let _ = (window, cursor);
        let why = format!(
            "this source pulls Square only, not the {} connector",
            request.pos.connector
        );
        async move {
            Err(PortError::new(
                "connectors",
                data_type.as_str(),
                crate::ErrorClass::ValidationError,
                why,
            ))
        }
    }
}

/// What happened when a run asked for its (tenant, data type) lock.
#[derive(Debug, Clone, PartialEq)]
pub enum LockResult {
    Acquired,
    /// Another run holds it until then.
    Held {
        run_id: String,
        until_millis: i64,
    },
    /// Today's run already succeeded (start another with `force`).
    DoneToday {
        run_id: String,
    },
}

/// The one-run-at-a-time lock per (tenant, data type).
pub trait RunLock: Send + Sync {
    fn lock(
        &self,
        run: &SyncRun,
        now: i64,
        ttl_millis: i64,
        force: bool,
    ) -> impl Future<Output = Result<LockResult, PortError>> + Send;
    /// Keeps the lock while the run makes progress.
    fn renew(
        &self,
        run: &SyncRun,
        now: i64,
        ttl_millis: i64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Releases the lock; a succeeded run marks its day done.
    fn unlock(&self, run: &SyncRun) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Sync run records and their checkpoints.
pub trait RunLog: Send + Sync {
    /// Saves the run (the checkpoint after each page).
    fn save(&self, run: &SyncRun) -> impl Future<Output = Result<(), PortError>> + Send;
    fn load(
        &self,
        tenant: &str,
        data_type: DataType,
        run_id: &str,
    ) -> impl Future<Output = Result<Option<SyncRun>, PortError>> + Send;
    /// Runs of a tenant, newest first.
    fn runs(&self, tenant: &str) -> impl Future<Output = Result<Vec<SyncRun>, PortError>> + Send;
    /// The newest run of one data type; a store whose keys sort by start
    /// answers it without reading the history.
    fn latest(
        &self,
        tenant: &str,
        data_type: DataType,
    ) -> impl Future<Output = Result<Option<SyncRun>, PortError>> + Send {
        async move {
            let runs = self.runs(tenant).await?;
            Ok(runs.into_iter().find(|r| r.data_type == data_type))
        }
    }

    /// The runs that started from `since_millis` to `until_millis`
    /// (inclusive), newest first; a store whose keys sort by start reads
    /// only those, whatever the history.
    fn started_between(
        &self,
        tenant: &str,
        since_millis: i64,
        until_millis: i64,
    ) -> impl Future<Output = Result<Vec<SyncRun>, PortError>> + Send {
        async move {
            let mut runs = self.runs(tenant).await?;
            runs.retain(|r| (since_millis..=until_millis).contains(&r.started_millis));
            Ok(runs)
        }
    }
}

/// The ids a run has seen, for reconciliation after a full pull, and the
/// drift it found.
pub trait SeenLog: Send + Sync {
    /// Saves the ids of one page and its drift, with the run's checkpoint.
    fn save_seen(
        &self,
        run: &SyncRun,
        page: u64,
        ids: &[String],
        drift: &[crate::domain::drift::DriftEntry],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn seen(
        &self,
        run: &SyncRun,
    ) -> impl Future<Output = Result<crate::domain::sync_run::SeenIds, PortError>> + Send;
    /// Saves more drift entries of a run (the reconciliation's `gone`)
    /// under `part`, numbered after the pages.
    fn save_drift(
        &self,
        run: &SyncRun,
        part: u64,
        drift: &[crate::domain::drift::DriftEntry],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Every drift entry of a run, in page order.
    fn drift(
        &self,
        run: &SyncRun,
    ) -> impl Future<Output = Result<Vec<crate::domain::drift::DriftEntry>, PortError>> + Send;
}

/// Sync runs, their checkpoints and the lock (one table in AWS).
pub trait RunStore: RunLock + RunLog + SeenLog {}

impl<T: RunLock + RunLog + SeenLog> RunStore for T {}

/// One page of live entities: (id, event id) pairs, and where the next page starts.
pub type LivePage = (Vec<(String, String)>, Option<String>);

/// What the tenant's store holds, for reconciliation and dry runs.
pub trait EntityIndex: Send + Sync {
    /// One page of the ids and event ids of the tenant's live (not deleted)
    /// entities of a kind that came from `source`, after `after` (the previous
    /// page's last id); the next `after`, or `None` at the end. (A full pull
    /// from one source says nothing of another source's entities.)
    fn live_page(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        source: &str,
        after: Option<String>,
    ) -> impl Future<Output = Result<LivePage, PortError>> + Send;
    /// What the tenant holds of these ids of a kind (any source, deleted
    /// ones too); an id not held is absent from the answer.
    fn held(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        ids: &[String],
    ) -> impl Future<
        Output = Result<
            std::collections::HashMap<String, crate::domain::drift::HeldState>,
            PortError,
        >,
    > + Send;
}

/// The customer fields synchub sends to targets, read from the master record.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerProfile {
    /// The master record's id (e.g. `shopify-706405506930370084`).
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

impl CustomerProfile {
    /// The customer fields of a master record's attributes.
    pub fn from_attributes(
        id: &str,
        attributes: &serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        let text = |k: &str| {
            attributes
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Self {
            id: id.to_owned(),
            email: text("email"),
            first_name: text("firstName"),
            last_name: text("lastName"),
            phone: text("phone"),
        }
    }
}

/// A customer master record with its per-target ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerRecord {
    pub profile: CustomerProfile,
    /// The event whose state the record holds.
    pub event_id: String,
    pub square_customer_id: Option<String>,
    /// The CRM's id of the contact (HubSpot's object id), for erasure.
    pub crm_contact_id: Option<String>,
    /// Target name → its last status.
    pub sync_status: std::collections::BTreeMap<String, crate::domain::TargetStatus>,
    pub correlation_id: String,
}

/// The customer targets (POS and CRM), each retried inside a small budget.
/// Each returns the attempts it took.
pub trait CustomerTargets: Send + Sync {
    /// Creates (or, with a POS id, updates) the customer in the POS; returns its POS id.
    fn pos_upsert(
        &self,
        tenant: &TenantId,
        customer: &CustomerProfile,
        pos_id: Option<&str>,
        idempotency_key: &str,
    ) -> impl Future<Output = Result<(String, u32), (PortError, u32)>> + Send;
    /// Upserts the contact in the CRM by email; returns its CRM id.
    fn crm_upsert(
        &self,
        tenant: &TenantId,
        customer: &CustomerProfile,
    ) -> impl Future<Output = Result<(String, u32), (PortError, u32)>> + Send;
    /// Deletes the customer from the POS (a privacy erasure).
    fn pos_erase(
        &self,
        tenant: &TenantId,
        pos_id: &str,
    ) -> impl Future<Output = Result<u32, (PortError, u32)>> + Send;
    /// Permanently deletes the contact from the CRM (a privacy erasure).
    fn crm_erase(
        &self,
        tenant: &TenantId,
        crm_id: &str,
    ) -> impl Future<Output = Result<u32, (PortError, u32)>> + Send;
}

/// The targets' own ids of a customer, kept on the master record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetIds<'a> {
    pub pos: Option<&'a str>,
    pub crm: Option<&'a str>,
}

/// The per-target sync ledger on customer master records.
pub trait CustomerLedger: Send + Sync {
    fn customer(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> impl Future<Output = Result<Option<CustomerRecord>, PortError>> + Send;
    /// Records target results for the event the record holds (a newer event's
    /// results are never overwritten by an older one's).
    fn record_sync(
        &self,
        tenant: &TenantId,
        id: &str,
        event_id: &str,
        statuses: &[(&'static str, crate::domain::TargetStatus)],
        ids: TargetIds<'_>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Live customers whose `target` status is skipped or failed (at or after `since`).
    fn needing_sync(
        &self,
        tenant: &TenantId,
        target: &str,
        since: Option<&str>,
    ) -> impl Future<Output = Result<Vec<CustomerRecord>, PortError>> + Send;
}
