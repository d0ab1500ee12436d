//! What the failure notifier keeps and sends: failure records counted once
//! per (tenant, error class), the alert and summary ledgers, the mailer.

use super::PortError;
use crate::domain::alert::{AlertState, Failure};
use crate::ErrorClass;
use std::future::Future;

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

/// Failure records, each counted once per (tenant, error class).
pub trait FailureLog: Send + Sync {
    /// Records a failure and counts it, once per `failure.key`; `Ok(false)`
    /// when it was already recorded (a redelivery).
    fn record(&self, failure: &Failure) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// The newest failures of this kind at or after `since`, at most `limit`.
    fn recent(
        &self,
        tenant: &str,
        class: ErrorClass,
        since: i64,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<Failure>, PortError>> + Send;
}

/// The per-(tenant, error class) notification items: who may email now, and the digests.
pub trait AlertLedger: Send + Sync {
    fn claim(
        &self,
        tenant: &str,
        class: ErrorClass,
        now: i64,
        window: i64,
        lease: i64,
    ) -> impl Future<Output = Result<AlertClaim, PortError>> + Send;
    /// The email went out: `reported` failures are no longer pending.
    fn sent(
        &self,
        state: &AlertState,
        reported: u64,
        now: i64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The email did not go out; with `rejected`, it never will to these
    /// recipients: the reason is kept and the window restarts.
    fn release(
        &self,
        tenant: &str,
        class: ErrorClass,
        rejected: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Marks a flush as scheduled for `due`; `Ok(false)` if one at or after
    /// `due` already is.
    fn arm_flush(
        &self,
        tenant: &str,
        class: ErrorClass,
        due: i64,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    fn disarm_flush(
        &self,
        tenant: &str,
        class: ErrorClass,
        due: i64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The one daily summary email per (tenant, day).
pub trait SummaryLedger: Send + Sync {
    /// Claims the one summary email of (tenant, day); `Ok(false)` if it went out already.
    fn claim_summary(
        &self,
        tenant: &str,
        day: &str,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Gives the claim back (the email could not be sent; SQS retries it).
    fn release_summary(
        &self,
        tenant: &str,
        day: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Everything the notifier keeps (one table in AWS).
pub trait AlertStore: FailureLog + AlertLedger + SummaryLedger {}

impl<T: FailureLog + AlertLedger + SummaryLedger> AlertStore for T {}

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
    fn send(&self, email: &Email) -> impl Future<Output = Result<String, PortError>> + Send;
}
