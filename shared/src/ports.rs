//! Small capability traits the use cases depend on. Adapters implement them
//! against AWS and HTTP; the use cases never see an SDK type.

use crate::adapters::AdapterError;
use crate::domain::alert::{AlertState, Failure};
use crate::domain::audit::{AuditRow, TargetStatus};
use crate::domain::ordering::WriteResult;
use crate::domain::webhook_signature::WebhookSecret;
use crate::domain::{CatalogItemChange, TenantId};
use crate::ErrorClass;
use std::future::Future;

/// Per-entity state with the ordering rule enforced by a conditional write.
pub trait ItemStore: Send + Sync {
    /// Writes the change only if it is newer than what is stored.
    fn put_if_newer(
        &self,
        change: &CatalogItemChange,
        message_id: &str,
        correlation_id: &str,
    ) -> impl Future<Output = Result<WriteResult, AdapterError>> + Send;
}

/// The per-delivery audit trail.
pub trait AuditLog: Send + Sync {
    /// Records rows that cannot exist yet (first deliveries), batched.
    fn record_new(&self, rows: &[AuditRow]) -> impl Future<Output = Vec<Result<(), AdapterError>>> + Send;
    /// Records a row unless one is already there; `Ok(false)` when it was.
    fn record_once(&self, row: &AuditRow) -> impl Future<Output = Result<bool, AdapterError>> + Send;
    fn find(&self, pk: &str, sk: &str) -> impl Future<Output = Result<Option<AuditRow>, AdapterError>> + Send;
    fn set_target(&self, pk: &str, sk: &str, target: &str, status: &TargetStatus) -> impl Future<Output = Result<(), AdapterError>> + Send;
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

/// The sync queue (and its dead-letter queue).
pub trait MessageQueue: Send + Sync {
    fn send(&self, message: &OutgoingMessage) -> impl Future<Output = Result<String, AdapterError>> + Send;
    /// Sends up to ten messages in one request; one result per message, in order.
    fn send_batch(&self, messages: &[OutgoingMessage]) -> impl Future<Output = Vec<Result<(), AdapterError>>> + Send;
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
}

fn yes() -> bool {
    true
}

pub trait TenantDirectory: Send + Sync {
    fn settings(&self, tenant: &TenantId) -> impl Future<Output = Result<Option<TenantSettings>, AdapterError>> + Send;
}

/// Where tenant credentials live (SSM SecureString parameters).
pub trait SecretStore: Send + Sync {
    /// The tenant's webhook signing secrets; `None` for an unknown tenant.
    fn webhook_secrets(&self, tenant: &TenantId) -> impl Future<Output = Result<Option<Vec<WebhookSecret>>, AdapterError>> + Send;
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
    fn publish(&self, url: &str, notice: &CacheBust) -> impl Future<Output = Result<u32, (AdapterError, u32)>> + Send;
}

/// The answer to "may I send the alert email for (tenant, class) now?".
#[derive(Debug, Clone, PartialEq)]
pub enum AlertClaim {
    /// Yes: the lease is ours until it expires; here is what to report.
    Claimed(AlertState),
    /// Not yet: failures are pending but the window (or another sender's
    /// lease) is still running.
    NotDue(AlertState),
    /// Nothing pending.
    Nothing,
}

/// Failure records and the per-(tenant, error class) notification items.
pub trait AlertStore: Send + Sync {
    /// Records a failure and counts it, once per `failure.key`; `Ok(false)`
    /// when it was already recorded (a redelivery).
    fn record(&self, failure: &Failure) -> impl Future<Output = Result<bool, AdapterError>> + Send;
    fn claim(&self, tenant: &str, class: ErrorClass, now: i64, window: i64, lease: i64) -> impl Future<Output = Result<AlertClaim, AdapterError>> + Send;
    /// The newest failures of this kind at or after `since`, at most `limit`.
    fn recent(&self, tenant: &str, class: ErrorClass, since: i64, limit: i32) -> impl Future<Output = Result<Vec<Failure>, AdapterError>> + Send;
    /// The email went out: `reported` failures are no longer pending.
    fn sent(&self, state: &AlertState, reported: u64, now: i64) -> impl Future<Output = Result<(), AdapterError>> + Send;
    /// The email did not go out; with `rejected`, it never will to these
    /// recipients: the reason is kept and the window restarts.
    fn release(&self, tenant: &str, class: ErrorClass, rejected: Option<&str>, now: i64) -> impl Future<Output = Result<(), AdapterError>> + Send;
    /// Marks a flush as scheduled for `due`; `Ok(false)` if one at or after
    /// `due` already is.
    fn arm_flush(&self, tenant: &str, class: ErrorClass, due: i64) -> impl Future<Output = Result<bool, AdapterError>> + Send;
    fn disarm_flush(&self, tenant: &str, class: ErrorClass, due: i64) -> impl Future<Output = Result<(), AdapterError>> + Send;
}

/// An email with both parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub trait Mailer: Send + Sync {
    /// Returns the provider's message id. A `VALIDATION_ERROR` or
    /// `AUTH_ERROR` means the email will never be accepted as it is.
    fn send(&self, email: &Email) -> impl Future<Output = Result<String, AdapterError>> + Send;
}
