//! In-memory fakes of the ports, for fast use-case tests.
//!
//! Each fake keeps the part of its adapter's behaviour the use cases rely on
//! (above all the conditional writes: the ordering rule, write-once rows,
//! the run lock) and records what it was asked, so a test can check both the
//! state left behind and the calls made. Failures are injected with
//! [`Faults`]. The engines-backed tests still cover the adapters themselves.
//!
//! Nothing here awaits: every call takes its lock, answers and lets go.

use super::{
    AlertClaim, AlertLedger, AuditLog, CacheBust, CustomerLedger, CustomerProfile, CustomerRecord,
    CustomerTargets, Email, EntityIndex, FailureLog, ItemStore, LockResult, Mailer, MessageQueue,
    OutgoingMessage, PortError, PosSource, PullWindow, RunLock, RunLog, SecretStore, SeenLog,
    SourcePage, StorefrontPublisher, SummaryLedger, TargetIds, TenantDirectory, TenantRoster,
    TenantSettings, TokenStore,
};
use crate::domain::alert::{AlertState, Failure};
use crate::domain::audit::{AuditRow, TargetState, TargetStatus};
use crate::domain::ordering::{StoredVersion, WriteResult};
use crate::domain::provider_webhook::{Provider, ProviderKey};
use crate::domain::square::DataType;
use crate::domain::sync_run::{RunStatus, SeenIds, SyncRun};
use crate::domain::webhook_signature::WebhookSecret;
use crate::domain::{ChangeBody, EntityChange, EntityKey, EntityKind, TenantId};
use crate::ErrorClass;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

/// A poisoned lock only means another test thread panicked: the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Failures to inject into a fake: after `skip` more successful calls, the
/// next `times` calls fail with `class`.
#[derive(Debug, Default)]
pub struct Faults(Mutex<Option<Plan>>);

#[derive(Debug, Clone, Copy)]
struct Plan {
    skip: u32,
    class: ErrorClass,
    times: u32,
}

impl Faults {
    /// The next `times` calls fail.
    pub fn fail(&self, class: ErrorClass, times: u32) {
        self.fail_after(0, class, times);
    }

    /// Every call fails until [`Faults::clear`].
    pub fn fail_always(&self, class: ErrorClass) {
        self.fail_after(0, class, u32::MAX);
    }

    /// `skip` calls succeed, then `times` calls fail.
    pub fn fail_after(&self, skip: u32, class: ErrorClass, times: u32) {
        *lock(&self.0) = Some(Plan { skip, class, times });
    }

    pub fn clear(&self) {
        *lock(&self.0) = None;
    }

    /// Counts one call: `Err` when it is one of the failing ones.
    pub fn check(&self, service: &'static str, operation: &'static str) -> Result<(), PortError> {
        let mut plan = lock(&self.0);
        let Some(p) = plan.as_mut() else {
            return Ok(());
        };
        if p.skip > 0 {
            p.skip -= 1;
            return Ok(());
        }
        if p.times == 0 {
            return Ok(());
        }
        if p.times != u32::MAX {
            p.times -= 1;
        }
        Err(PortError::new(
            service,
            operation,
            p.class,
            "injected failure",
        ))
    }
}

/// A refused DynamoDB condition as the SDK classifies it (HTTP 400).
fn condition_failed(operation: &'static str) -> PortError {
    PortError::new(
        "DynamoDB",
        operation,
        ErrorClass::ValidationError,
        "ConditionalCheckFailedException (HTTP 400): The conditional request failed",
    )
}

// ---------------------------------------------------------------------------
// Items: the ordering rule, the customer ledger, the index of live entities.

/// One entity as the items table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    /// The change whose state is stored.
    pub change: EntityChange,
    pub message_id: String,
    pub correlation_id: String,
    /// Applied writes so far (1 after the first).
    pub revision: i64,
    /// The customer ledger. A write sets only the change's attributes, so
    /// these survive newer changes, as they do on the table.
    pub square_customer_id: Option<String>,
    pub crm_contact_id: Option<String>,
    pub sync_status: BTreeMap<String, TargetStatus>,
}

impl StoredEntity {
    fn deleted(&self) -> bool {
        matches!(self.change.body, ChangeBody::Document { deleted: true, .. })
    }

    fn source(&self) -> Option<&str> {
        match &self.change.body {
            ChangeBody::Document { source, .. } => Some(source),
            ChangeBody::Supplier(_) => None,
        }
    }

    fn customer_record(&self) -> CustomerRecord {
        let profile = match &self.change.body {
            ChangeBody::Document { attributes, .. } => {
                CustomerProfile::from_attributes(&self.change.key.id, attributes)
            }
            ChangeBody::Supplier(_) => CustomerProfile {
                id: self.change.key.id.clone(),
                ..CustomerProfile::default()
            },
        };
        CustomerRecord {
            profile,
            event_id: self.change.version.event_id.to_string(),
            square_customer_id: self.square_customer_id.clone(),
            crm_contact_id: self.crm_contact_id.clone(),
            sync_status: self.sync_status.clone(),
            correlation_id: self.correlation_id.clone(),
        }
    }
}

/// The items table: [`ItemStore`], [`CustomerLedger`] and [`EntityIndex`]
/// over one map, as the DynamoDB adapter serves all three from one table.
#[derive(Debug, Default)]
pub struct FakeItemStore {
    entities: Mutex<BTreeMap<EntityKey, StoredEntity>>,
    puts: Mutex<u64>,
    /// Rows per [`EntityIndex::live_page`] page; 0 for one page.
    page_size: usize,
    /// Fails `put_if_newer`.
    pub faults: Faults,
}

impl FakeItemStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index that answers `page_size` rows at a time.
    pub fn with_page_size(page_size: usize) -> Self {
        Self {
            page_size,
            ..Self::default()
        }
    }

    pub fn get(&self, key: &EntityKey) -> Option<StoredEntity> {
        lock(&self.entities).get(key).cloned()
    }

    pub fn entities(&self) -> Vec<StoredEntity> {
        lock(&self.entities).values().cloned().collect()
    }

    /// Conditional writes attempted (applied or refused).
    pub fn put_count(&self) -> u64 {
        *lock(&self.puts)
    }
}

impl ItemStore for FakeItemStore {
    async fn put_if_newer(
        &self,
        change: &EntityChange,
        message_id: &str,
        correlation_id: &str,
    ) -> Result<WriteResult, PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        *lock(&self.puts) += 1;
        let mut entities = lock(&self.entities);
        // The condition of the real write: nothing stored, or the stored
        // (sourceMillis, eventId) strictly older.
        if let Some(stored) = entities.get_mut(&change.key) {
            if stored.change.version >= change.version {
                return Ok(WriteResult::NotNewer(StoredVersion {
                    version: stored.change.version.clone(),
                    message_id: stored.message_id.clone(),
                }));
            }
            stored.change = change.clone();
            stored.message_id = message_id.to_owned();
            stored.correlation_id = correlation_id.to_owned();
            stored.revision += 1;
            return Ok(WriteResult::Applied {
                revision: stored.revision,
            });
        }
        entities.insert(
            change.key.clone(),
            StoredEntity {
                change: change.clone(),
                message_id: message_id.to_owned(),
                correlation_id: correlation_id.to_owned(),
                revision: 1,
                square_customer_id: None,
                crm_contact_id: None,
                sync_status: BTreeMap::new(),
            },
        );
        Ok(WriteResult::Applied { revision: 1 })
    }
}

fn customer_key(tenant: &TenantId, id: &str) -> EntityKey {
    EntityKey {
        tenant: tenant.clone(),
        kind: EntityKind::Customer,
        id: id.to_owned(),
    }
}

impl CustomerLedger for FakeItemStore {
    async fn customer(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<CustomerRecord>, PortError> {
        Ok(lock(&self.entities)
            .get(&customer_key(tenant, id))
            .map(StoredEntity::customer_record))
    }

    async fn record_sync(
        &self,
        tenant: &TenantId,
        id: &str,
        event_id: &str,
        statuses: &[(&'static str, TargetStatus)],
        ids: TargetIds<'_>,
    ) -> Result<(), PortError> {
        let mut entities = lock(&self.entities);
        // Only for the event the record holds; otherwise a no-op, as the
        // adapter treats its refused condition.
        let Some(stored) = entities
            .get_mut(&customer_key(tenant, id))
            .filter(|s| s.change.version.event_id.as_str() == event_id)
        else {
            return Ok(());
        };
        for (target, status) in statuses {
            stored
                .sync_status
                .insert((*target).to_owned(), status.clone());
        }
        if let Some(pos) = ids.pos {
            stored.square_customer_id = Some(pos.to_owned());
        }
        if let Some(crm) = ids.crm {
            stored.crm_contact_id = Some(crm.to_owned());
        }
        Ok(())
    }

    async fn needing_sync(
        &self,
        tenant: &TenantId,
        target: &str,
        since: Option<&str>,
    ) -> Result<Vec<CustomerRecord>, PortError> {
        Ok(lock(&self.entities)
            .values()
            .filter(|s| &s.change.key.tenant == tenant && s.change.key.kind == EntityKind::Customer)
            .filter(|s| !s.deleted())
            .filter(|s| {
                s.sync_status.get(target).is_some_and(|st| {
                    matches!(st.status, TargetState::Skipped(_) | TargetState::Failed(_))
                        && since.is_none_or(|since| st.at.as_str() >= since)
                })
            })
            .map(StoredEntity::customer_record)
            .collect())
    }
}

impl EntityIndex for FakeItemStore {
    async fn live_page(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        source: &str,
        after: Option<String>,
    ) -> Result<crate::ports::LivePage, PortError> {
        let entities = lock(&self.entities);
        let mut live = entities
            .values()
            .filter(|s| &s.change.key.tenant == tenant && s.change.key.kind == kind)
            .filter(|s| {
                after
                    .as_deref()
                    .is_none_or(|a| s.change.key.id.as_str() > a)
            })
            .filter(|s| !s.deleted() && s.source() == Some(source))
            .map(|s| {
                (
                    s.change.key.id.clone(),
                    s.change.version.event_id.to_string(),
                )
            });
        let size = if self.page_size == 0 {
            usize::MAX
        } else {
            self.page_size
        };
        let rows: Vec<(String, String)> = live.by_ref().take(size).collect();
        let next = match live.next() {
            Some(_) => rows.last().map(|(id, _)| id.clone()),
            None => None,
        };
        Ok((rows, next))
    }
}

// ---------------------------------------------------------------------------
// The audit trail.

/// Audit rows keyed by (pk, sk). `record_new` overwrites, as the adapter's
/// batch write does; `record_once` writes only a row that is not there.
#[derive(Debug, Default)]
pub struct FakeAuditLog {
    rows: Mutex<BTreeMap<(String, String), AuditRow>>,
    /// Fails writes: each row of `record_new`, each `record_once` and `set_target`.
    pub faults: Faults,
    /// Fails `find`.
    pub read_faults: Faults,
}

impl FakeAuditLog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn rows(&self) -> Vec<AuditRow> {
        lock(&self.rows).values().cloned().collect()
    }

    /// The rows of one partition (an entity, or `{tenant}#rejected`).
    pub fn partition(&self, pk: &str) -> Vec<AuditRow> {
        lock(&self.rows)
            .values()
            .filter(|r| r.pk == pk)
            .cloned()
            .collect()
    }

    pub fn row(&self, pk: &str, sk: &str) -> Option<AuditRow> {
        lock(&self.rows)
            .get(&(pk.to_owned(), sk.to_owned()))
            .cloned()
    }
}

impl AuditLog for FakeAuditLog {
    async fn record_new(&self, rows: &[AuditRow]) -> Vec<Result<(), PortError>> {
        rows.iter()
            .map(|row| {
                self.faults.check("DynamoDB", "BatchWriteItem")?;
                lock(&self.rows).insert((row.pk.clone(), row.sk.clone()), row.clone());
                Ok(())
            })
            .collect()
    }

    async fn record_once(&self, row: &AuditRow) -> Result<bool, PortError> {
        self.faults.check("DynamoDB", "PutItem")?;
        let mut rows = lock(&self.rows);
        let key = (row.pk.clone(), row.sk.clone());
        if rows.contains_key(&key) {
            return Ok(false);
        }
        rows.insert(key, row.clone());
        Ok(true)
    }

    async fn find(&self, pk: &str, sk: &str) -> Result<Option<AuditRow>, PortError> {
        self.read_faults.check("DynamoDB", "GetItem")?;
        Ok(self.row(pk, sk))
    }

    async fn set_target(
        &self,
        pk: &str,
        sk: &str,
        target: &str,
        status: &TargetStatus,
    ) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        let mut rows = lock(&self.rows);
        let Some(row) = rows.get_mut(&(pk.to_owned(), sk.to_owned())) else {
            return Err(PortError::new(
                "DynamoDB",
                "UpdateItem",
                ErrorClass::UnknownError,
                format!("audit row {pk}/{sk} is missing"),
            ));
        };
        row.targets.insert(target.to_owned(), status.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Queues.

/// A queue that keeps what was sent to it. Each message (alone or in a
/// batch) counts as one call for [`Faults`].
#[derive(Debug, Default)]
pub struct FakeQueue {
    sent: Mutex<Vec<OutgoingMessage>>,
    pub faults: Faults,
}

/// SQS's limits on one request.
const MAX_BATCH: usize = 10;
const MAX_DELAY_SECONDS: i32 = 900;

impl FakeQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<OutgoingMessage> {
        lock(&self.sent).clone()
    }

    /// The bodies sent, parsed as JSON.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        lock(&self.sent)
            .iter()
            .map(|m| serde_json::from_str(&m.body).expect("queued bodies are JSON"))
            .collect()
    }

    fn accept(
        &self,
        message: &OutgoingMessage,
        operation: &'static str,
    ) -> Result<usize, PortError> {
        self.faults.check("SQS", operation)?;
        if !(0..=MAX_DELAY_SECONDS).contains(&message.delay_seconds) {
            return Err(PortError::new(
                "SQS",
                operation,
                ErrorClass::ValidationError,
                "InvalidParameterValue: DelaySeconds must be 0 to 900",
            ));
        }
        let mut sent = lock(&self.sent);
        sent.push(message.clone());
        Ok(sent.len())
    }
}

impl MessageQueue for FakeQueue {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, PortError> {
        self.accept(message, "SendMessage")
            .map(|n| format!("fake-msg-{n}"))
    }

    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Vec<Result<(), PortError>> {
        if messages.len() > MAX_BATCH {
            return messages
                .iter()
                .map(|_| {
                    Err(PortError::new(
                        "SQS",
                        "SendMessageBatch",
                        ErrorClass::ValidationError,
                        "TooManyEntriesInBatchRequest",
                    ))
                })
                .collect();
        }
        messages
            .iter()
            .map(|m| self.accept(m, "SendMessageBatch").map(|_| ()))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Tenants and their credentials.

/// Settings for an active tenant with nothing configured.
pub fn tenant_settings(tenant: &str) -> TenantSettings {
    TenantSettings {
        tenant_id: tenant.to_owned(),
        name: String::new(),
        active: true,
        storefront_url: None,
        targets_disabled: Vec::new(),
        alert_recipients: Vec::new(),
        daily_summary: false,
        square_notification_url: None,
    }
}

/// The tenants table: [`TenantDirectory`] and [`TenantRoster`].
#[derive(Debug, Default)]
pub struct FakeTenants {
    settings: Mutex<BTreeMap<String, TenantSettings>>,
    pub faults: Faults,
}

impl FakeTenants {
    pub fn new(tenants: impl IntoIterator<Item = TenantSettings>) -> Self {
        let me = Self::default();
        for t in tenants {
            me.put(t);
        }
        me
    }

    pub fn put(&self, settings: TenantSettings) {
        lock(&self.settings).insert(settings.tenant_id.clone(), settings);
    }
}

impl TenantDirectory for FakeTenants {
    async fn settings(&self, tenant: &TenantId) -> Result<Option<TenantSettings>, PortError> {
        self.faults.check("DynamoDB", "GetItem")?;
        Ok(lock(&self.settings).get(tenant.as_str()).cloned())
    }
}

impl TenantRoster for FakeTenants {
    async fn active(&self) -> Result<Vec<TenantSettings>, PortError> {
        self.faults.check("DynamoDB", "Scan")?;
        // Sorted by id, as the adapter answers.
        Ok(lock(&self.settings)
            .values()
            .filter(|s| s.active)
            .cloned()
            .collect())
    }
}

/// The tenant parameter store: each value is stored as text and parsed on
/// read, as SSM's are, so a malformed one reads as `Misconfigured`.
/// Serves [`SecretStore`] and [`TokenStore`].
#[derive(Debug, Default)]
pub struct FakeSecrets {
    parameters: Mutex<HashMap<(String, &'static str), String>>,
    pub faults: Faults,
}

pub const WEBHOOK_SECRET: &str = "webhook-secret";
pub const SQUARE_TOKEN: &str = "square-token";
pub const HUBSPOT_TOKEN: &str = "hubspot-token";

impl FakeSecrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a tenant parameter: [`WEBHOOK_SECRET`], [`SQUARE_TOKEN`],
    /// [`HUBSPOT_TOKEN`] or a provider's `key_parameter()`.
    pub fn put(&self, tenant: &str, parameter: &'static str, value: &str) {
        lock(&self.parameters).insert((tenant.to_owned(), parameter), value.to_owned());
    }

    fn read(
        &self,
        tenant: &TenantId,
        parameter: &'static str,
    ) -> Result<Option<String>, PortError> {
        self.faults.check("SSM", "GetParameter")?;
        Ok(lock(&self.parameters)
            .get(&(tenant.to_string(), parameter))
            .cloned())
    }
}

fn misconfigured(tenant: &TenantId, parameter: &str, why: &str) -> PortError {
    PortError::Misconfigured {
        what: format!("parameter {tenant}/{parameter}"),
        detail: why.to_owned(),
    }
}

impl SecretStore for FakeSecrets {
    async fn webhook_secrets(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Vec<WebhookSecret>>, PortError> {
        let Some(value) = self.read(tenant, WEBHOOK_SECRET)? else {
            return Ok(None);
        };
        WebhookSecret::parse_list(&value)
            .map(Some)
            .map_err(|why| misconfigured(tenant, WEBHOOK_SECRET, why))
    }

    async fn provider_keys(
        &self,
        tenant: &TenantId,
        provider: Provider,
    ) -> Result<Option<Vec<ProviderKey>>, PortError> {
        let parameter = provider.key_parameter();
        let Some(value) = self.read(tenant, parameter)? else {
            return Ok(None);
        };
        ProviderKey::parse_list(&value)
            .map(Some)
            .map_err(|why| misconfigured(tenant, parameter, why))
    }
}

impl TokenStore for FakeSecrets {
    async fn square_token(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
        self.read(tenant, SQUARE_TOKEN)
    }

    async fn hubspot_token(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
        self.read(tenant, HUBSPOT_TOKEN)
    }
}

// ---------------------------------------------------------------------------
// Targets.

/// A storefront that keeps every notice it accepted. One call is one attempt.
#[derive(Debug, Default)]
pub struct FakeStorefront {
    published: Mutex<Vec<(String, CacheBust)>>,
    attempts: Mutex<u64>,
    pub faults: Faults,
}

impl FakeStorefront {
    pub fn new() -> Self {
        Self::default()
    }

    /// (url, notice) of every accepted publish.
    pub fn published(&self) -> Vec<(String, CacheBust)> {
        lock(&self.published).clone()
    }

    /// Calls made, failed ones included.
    pub fn attempts(&self) -> u64 {
        *lock(&self.attempts)
    }
}

impl StorefrontPublisher for FakeStorefront {
    async fn publish(&self, url: &str, notice: &CacheBust) -> Result<u32, (PortError, u32)> {
        *lock(&self.attempts) += 1;
        self.faults
            .check("storefront", "publish")
            .map_err(|e| (e, 1))?;
        lock(&self.published).push((url.to_owned(), notice.clone()));
        Ok(1)
    }
}

/// A call made to the customer targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetCall {
    PosUpsert {
        tenant: String,
        customer: String,
        pos_id: Option<String>,
        idempotency_key: String,
    },
    CrmUpsert {
        tenant: String,
        customer: String,
    },
    PosErase {
        tenant: String,
        pos_id: String,
    },
    CrmErase {
        tenant: String,
        crm_id: String,
    },
}

/// The POS and the CRM. The POS answers one id per idempotency key (a
/// retried create creates nothing new), the CRM one id per email.
#[derive(Debug, Default)]
pub struct FakeCustomerTargets {
    calls: Mutex<Vec<TargetCall>>,
    pos_ids: Mutex<HashMap<String, String>>,
    crm_ids: Mutex<HashMap<String, String>>,
    pub pos_faults: Faults,
    pub crm_faults: Faults,
}

impl FakeCustomerTargets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn calls(&self) -> Vec<TargetCall> {
        lock(&self.calls).clone()
    }

    fn call(&self, call: TargetCall) {
        lock(&self.calls).push(call);
    }
}

/// A new id for `key` in `ids`, or the one it already has.
fn id_for(ids: &Mutex<HashMap<String, String>>, key: &str, prefix: &str) -> String {
    let mut ids = lock(ids);
    let n = ids.len() + 1;
    ids.entry(key.to_owned())
        .or_insert_with(|| format!("{prefix}-{n}"))
        .clone()
}

impl CustomerTargets for FakeCustomerTargets {
    async fn pos_upsert(
        &self,
        tenant: &TenantId,
        customer: &CustomerProfile,
        pos_id: Option<&str>,
        idempotency_key: &str,
    ) -> Result<(String, u32), (PortError, u32)> {
        self.call(TargetCall::PosUpsert {
            tenant: tenant.to_string(),
            customer: customer.id.clone(),
            pos_id: pos_id.map(str::to_owned),
            idempotency_key: idempotency_key.to_owned(),
        });
        self.pos_faults
            .check("Square", "UpsertCustomer")
            .map_err(|e| (e, 1))?;
        let id = match pos_id {
            Some(id) => id.to_owned(),
            None => id_for(&self.pos_ids, idempotency_key, "sq-customer"),
        };
        Ok((id, 1))
    }

    async fn crm_upsert(
        &self,
        tenant: &TenantId,
        customer: &CustomerProfile,
    ) -> Result<(String, u32), (PortError, u32)> {
        self.call(TargetCall::CrmUpsert {
            tenant: tenant.to_string(),
            customer: customer.id.clone(),
        });
        self.crm_faults
            .check("HubSpot", "UpsertContact")
            .map_err(|e| (e, 1))?;
        let email = customer.email.clone().unwrap_or_default();
        Ok((id_for(&self.crm_ids, &email, "crm-contact"), 1))
    }

    async fn pos_erase(&self, tenant: &TenantId, pos_id: &str) -> Result<u32, (PortError, u32)> {
        self.call(TargetCall::PosErase {
            tenant: tenant.to_string(),
            pos_id: pos_id.to_owned(),
        });
        self.pos_faults
            .check("Square", "DeleteCustomer")
            .map_err(|e| (e, 1))?;
        Ok(1)
    }

    async fn crm_erase(&self, tenant: &TenantId, crm_id: &str) -> Result<u32, (PortError, u32)> {
        self.call(TargetCall::CrmErase {
            tenant: tenant.to_string(),
            crm_id: crm_id.to_owned(),
        });
        self.crm_faults
            .check("HubSpot", "GdprDelete")
            .map_err(|e| (e, 1))?;
        Ok(1)
    }
}

// ---------------------------------------------------------------------------
// The POS listing.

/// One `page` call the source answered or refused.
#[derive(Debug, Clone, PartialEq)]
pub struct PageCall {
    pub data_type: DataType,
    pub cursor: Option<String>,
    pub window: PullWindow,
}

/// A POS that serves the pages it was given, per data type; page `i + 1`'s
/// cursor is `page-{i+1}`. With a token set, any other token is refused
/// (AUTH_ERROR, as a 401 is).
#[derive(Debug, Default)]
pub struct FakePosSource {
    pages: Mutex<HashMap<DataType, Vec<Vec<serde_json::Value>>>>,
    token: Option<String>,
    calls: Mutex<Vec<PageCall>>,
    pub faults: Faults,
}

impl FakePosSource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses any token but this one.
    pub fn with_token(token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..Self::default()
        }
    }

    pub fn serve(&self, data_type: DataType, pages: Vec<Vec<serde_json::Value>>) {
        lock(&self.pages).insert(data_type, pages);
    }

    pub fn calls(&self) -> Vec<PageCall> {
        lock(&self.calls).clone()
    }
}

impl PosSource for FakePosSource {
    async fn page(
        &self,
        token: &str,
        data_type: DataType,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> Result<SourcePage, PortError> {
        lock(&self.calls).push(PageCall {
            data_type,
            cursor: cursor.map(str::to_owned),
            window: window.clone(),
        });
        self.faults.check("Square", "List")?;
        if self.token.as_deref().is_some_and(|t| t != token) {
            return Err(PortError::new(
                "Square",
                "List",
                ErrorClass::AuthError,
                "HTTP 401: UNAUTHORIZED",
            ));
        }
        let index = match cursor {
            None => 0,
            Some(c) => c
                .strip_prefix("page-")
                .and_then(|i| i.parse::<usize>().ok())
                .ok_or_else(|| {
                    PortError::new(
                        "Square",
                        "List",
                        ErrorClass::ValidationError,
                        format!("HTTP 400: invalid cursor {c:?}"),
                    )
                })?,
        };
        let pages = lock(&self.pages);
        let served = pages.get(&data_type).map(Vec::as_slice).unwrap_or_default();
        let objects = served.get(index).cloned().unwrap_or_default();
        let cursor = (index + 1 < served.len()).then(|| format!("page-{}", index + 1));
        Ok(SourcePage { objects, cursor })
    }
}

// ---------------------------------------------------------------------------
// Sync runs.

/// The lock item of one (tenant, data type).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockItem {
    pub run_id: Option<String>,
    pub lock_until: Option<i64>,
    pub done_day: Option<String>,
    pub done_run_id: Option<String>,
}

/// The sync-runs table: [`RunLock`], [`RunLog`], [`SeenLog`], with the
/// lock's conditions as the adapter writes them.
#[derive(Debug, Default)]
pub struct FakeRunStore {
    locks: Mutex<BTreeMap<(String, DataType), LockItem>>,
    runs: Mutex<BTreeMap<(String, DataType, String), SyncRun>>,
    seen: Mutex<BTreeMap<String, BTreeMap<u64, Vec<String>>>>,
    /// Fails every call.
    pub faults: Faults,
}

/// The UTC day of an RFC 3339 time.
fn day(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

impl FakeRunStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn lock_item(&self, tenant: &str, data_type: DataType) -> Option<LockItem> {
        lock(&self.locks)
            .get(&(tenant.to_owned(), data_type))
            .cloned()
    }

    pub fn all_runs(&self) -> Vec<SyncRun> {
        lock(&self.runs).values().cloned().collect()
    }

    fn check(&self, operation: &'static str) -> Result<(), PortError> {
        self.faults.check("DynamoDB", operation)
    }
}

impl RunLock for FakeRunStore {
    async fn lock(
        &self,
        run: &SyncRun,
        now: i64,
        ttl_millis: i64,
        force: bool,
    ) -> Result<LockResult, PortError> {
        self.check("UpdateItem")?;
        let mut locks = lock(&self.locks);
        let item = locks
            .entry((run.tenant_id.clone(), run.data_type))
            .or_default();
        let free = item.lock_until.is_none_or(|until| until < now)
            || item.run_id.as_deref() == Some(run.run_id.as_str());
        let not_done = force || item.done_day.as_deref() != Some(day(&run.started_at));
        if free && not_done {
            item.run_id = Some(run.run_id.clone());
            item.lock_until = Some(now + ttl_millis);
            return Ok(LockResult::Acquired);
        }
        let until = item.lock_until.unwrap_or(0);
        Ok(if until >= now {
            LockResult::Held {
                run_id: item.run_id.clone().unwrap_or_default(),
                until_millis: until,
            }
        } else {
            LockResult::DoneToday {
                run_id: item.done_run_id.clone().unwrap_or_default(),
            }
        })
    }

    async fn renew(&self, run: &SyncRun, now: i64, ttl_millis: i64) -> Result<(), PortError> {
        self.check("UpdateItem")?;
        let mut locks = lock(&self.locks);
        match locks.get_mut(&(run.tenant_id.clone(), run.data_type)) {
            Some(item) if item.run_id.as_deref() == Some(run.run_id.as_str()) => {
                item.lock_until = Some(now + ttl_millis);
                Ok(())
            }
            _ => Err(condition_failed("UpdateItem")),
        }
    }

    async fn unlock(&self, run: &SyncRun) -> Result<(), PortError> {
        self.check("UpdateItem")?;
        let mut locks = lock(&self.locks);
        // Someone else's lock (ours expired) is not ours to release.
        let Some(item) = locks
            .get_mut(&(run.tenant_id.clone(), run.data_type))
            .filter(|i| i.run_id.as_deref() == Some(run.run_id.as_str()))
        else {
            return Ok(());
        };
        item.lock_until = None;
        if matches!(run.status, RunStatus::Succeeded | RunStatus::Partial) {
            item.done_day = Some(day(&run.started_at).to_owned());
            item.done_run_id = Some(run.run_id.clone());
        }
        Ok(())
    }
}

impl RunLog for FakeRunStore {
    async fn save(&self, run: &SyncRun) -> Result<(), PortError> {
        self.check("PutItem")?;
        lock(&self.runs).insert(
            (run.tenant_id.clone(), run.data_type, run.run_id.clone()),
            run.clone(),
        );
        Ok(())
    }

    async fn load(
        &self,
        tenant: &str,
        data_type: DataType,
        run_id: &str,
    ) -> Result<Option<SyncRun>, PortError> {
        self.check("GetItem")?;
        Ok(lock(&self.runs)
            .get(&(tenant.to_owned(), data_type, run_id.to_owned()))
            .cloned())
    }

    async fn runs(&self, tenant: &str) -> Result<Vec<SyncRun>, PortError> {
        self.check("Query")?;
        let mut runs: Vec<SyncRun> = lock(&self.runs)
            .values()
            .filter(|r| r.tenant_id == tenant)
            .cloned()
            .collect();
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_millis));
        Ok(runs)
    }
}

impl SeenLog for FakeRunStore {
    /// The checkpoint and the page's ids together, as the adapter writes them.
    async fn save_seen(&self, run: &SyncRun, page: u64, ids: &[String]) -> Result<(), PortError> {
        self.check("BatchWriteItem")?;
        lock(&self.runs).insert(
            (run.tenant_id.clone(), run.data_type, run.run_id.clone()),
            run.clone(),
        );
        lock(&self.seen)
            .entry(run.run_id.clone())
            .or_default()
            .insert(page, ids.to_vec());
        Ok(())
    }

    async fn seen(&self, run: &SyncRun) -> Result<SeenIds, PortError> {
        self.check("Query")?;
        let mut ids = SeenIds::default();
        if let Some(pages) = lock(&self.seen).get(&run.run_id) {
            for id in pages.values().flatten() {
                ids.insert(id);
            }
        }
        ids.seal();
        Ok(ids)
    }
}

// ---------------------------------------------------------------------------
// The notifier's table and the mailer.

/// The notifications table: [`FailureLog`], [`AlertLedger`],
/// [`SummaryLedger`], with the adapter's conditions.
#[derive(Debug, Default)]
pub struct FakeAlertStore {
    failures: Mutex<BTreeMap<(String, &'static str, String), Failure>>,
    alerts: Mutex<BTreeMap<(String, &'static str), AlertState>>,
    summaries: Mutex<BTreeSet<(String, String)>>,
    /// Fails every call.
    pub faults: Faults,
}

/// A failure's sort key: its time, then its key, so a range on time works.
fn failure_sk(at_millis: i64, key: &str) -> String {
    format!("{:013}#{key}", at_millis.max(0))
}

impl FakeAlertStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn state(&self, tenant: &str, class: ErrorClass) -> Option<AlertState> {
        lock(&self.alerts)
            .get(&(tenant.to_owned(), class.as_str()))
            .cloned()
    }

    pub fn failures(&self) -> Vec<Failure> {
        lock(&self.failures).values().cloned().collect()
    }

    /// The (tenant, day) summaries claimed.
    pub fn summaries(&self) -> Vec<(String, String)> {
        lock(&self.summaries).iter().cloned().collect()
    }

    /// Runs `f` on the alert item, creating it as an update would.
    fn update<R>(
        &self,
        tenant: &str,
        class: ErrorClass,
        f: impl FnOnce(&mut AlertState) -> R,
    ) -> R {
        let mut alerts = lock(&self.alerts);
        let state = alerts
            .entry((tenant.to_owned(), class.as_str()))
            .or_insert_with(|| AlertState {
                tenant_id: tenant.to_owned(),
                error_class: class.as_str().to_owned(),
                ..AlertState::default()
            });
        f(state)
    }
}

impl FailureLog for FakeAlertStore {
    async fn record(&self, failure: &Failure) -> Result<bool, PortError> {
        self.faults.check("DynamoDB", "TransactWriteItems")?;
        let key = (
            failure.tenant_id.clone(),
            failure.error_class.as_str(),
            failure_sk(failure.at_millis, &failure.key),
        );
        {
            let mut failures = lock(&self.failures);
            if failures.contains_key(&key) {
                return Ok(false);
            }
            failures.insert(key, failure.clone());
        }
        self.update(&failure.tenant_id, failure.error_class, |s| {
            if s.total == 0 {
                s.first_seen_millis = failure.at_millis;
            }
            s.total += 1;
            s.pending += 1;
            s.last_seen_millis = failure.at_millis;
        });
        Ok(true)
    }

    async fn recent(
        &self,
        tenant: &str,
        class: ErrorClass,
        since: i64,
        limit: i32,
    ) -> Result<Vec<Failure>, PortError> {
        self.faults.check("DynamoDB", "Query")?;
        let from = failure_sk(since, "");
        Ok(lock(&self.failures)
            .iter()
            .rev()
            .filter(|((t, c, sk), _)| t == tenant && *c == class.as_str() && *sk >= from)
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|(_, f)| f.clone())
            .collect())
    }
}

impl AlertLedger for FakeAlertStore {
    async fn claim(
        &self,
        tenant: &str,
        class: ErrorClass,
        now: i64,
        window: i64,
        lease: i64,
    ) -> Result<AlertClaim, PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        let mut alerts = lock(&self.alerts);
        let Some(state) = alerts.get_mut(&(tenant.to_owned(), class.as_str())) else {
            return Ok(AlertClaim::Nothing);
        };
        let due = state.pending > 0
            && state.last_email_millis.is_none_or(|t| t <= now - window)
            && state.lease_until_millis.is_none_or(|l| l < now);
        Ok(if due {
            state.lease_until_millis = Some(now + lease);
            AlertClaim::Claimed(state.clone())
        } else if state.pending > 0 {
            AlertClaim::NotDue(state.clone())
        } else {
            AlertClaim::Nothing
        })
    }

    async fn sent(&self, state: &AlertState, reported: u64, now: i64) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        let class = ErrorClass::parse(&state.error_class).unwrap_or(ErrorClass::UnknownError);
        self.update(&state.tenant_id, class, |s| {
            s.last_email_millis = Some(now);
            s.sample_ids = state.sample_ids.clone();
            s.correlation_ids = state.correlation_ids.clone();
            // The table would keep a negative count; no use case reports more than is pending.
            s.pending = s.pending.saturating_sub(reported);
            s.emails += 1;
            s.lease_until_millis = None;
            s.delivery_error = None;
        });
        Ok(())
    }

    async fn release(
        &self,
        tenant: &str,
        class: ErrorClass,
        rejected: Option<&str>,
        now: i64,
    ) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        self.update(tenant, class, |s| {
            s.lease_until_millis = None;
            if let Some(why) = rejected {
                s.delivery_error = Some(why.to_owned());
                s.last_email_millis = Some(now);
            }
        });
        Ok(())
    }

    async fn arm_flush(
        &self,
        tenant: &str,
        class: ErrorClass,
        due: i64,
    ) -> Result<bool, PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        Ok(self.update(tenant, class, |s| {
            if s.flush_at_millis.is_none_or(|at| at < due) {
                s.flush_at_millis = Some(due);
                true
            } else {
                false
            }
        }))
    }

    async fn disarm_flush(
        &self,
        tenant: &str,
        class: ErrorClass,
        due: i64,
    ) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        let mut alerts = lock(&self.alerts);
        if let Some(s) = alerts.get_mut(&(tenant.to_owned(), class.as_str())) {
            if s.flush_at_millis == Some(due) {
                s.flush_at_millis = None;
            }
        }
        Ok(())
    }
}

impl SummaryLedger for FakeAlertStore {
    async fn claim_summary(&self, tenant: &str, day: &str) -> Result<bool, PortError> {
        self.faults.check("DynamoDB", "PutItem")?;
        Ok(lock(&self.summaries).insert((tenant.to_owned(), day.to_owned())))
    }

    async fn release_summary(&self, tenant: &str, day: &str) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "DeleteItem")?;
        lock(&self.summaries).remove(&(tenant.to_owned(), day.to_owned()));
        Ok(())
    }
}

/// A mailer that keeps every email it accepted.
#[derive(Debug, Default)]
pub struct FakeMailer {
    sent: Mutex<Vec<Email>>,
    pub faults: Faults,
}

impl FakeMailer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<Email> {
        lock(&self.sent).clone()
    }
}

impl Mailer for FakeMailer {
    async fn send(&self, email: &Email) -> Result<String, PortError> {
        self.faults.check("SES", "SendEmail")?;
        let mut sent = lock(&self.sent);
        sent.push(email.clone());
        Ok(format!("fake-ses-{}", sent.len()))
    }
}
