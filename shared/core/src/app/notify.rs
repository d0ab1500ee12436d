//! Failure notifications: every failure is recorded and counted once per
//! (tenant, error class); the first after a quiet window is emailed at once,
//! the rest are carried by a digest when the window ends. Nothing is dropped:
//! an email that could not be sent leaves its failures pending.
//!
//! ## Where failures come from, and why this way
//!
//! - **The sync DLQ** is an event source of the notifier, so a dead letter is
//!   reported within seconds. Consuming the DLQ removes the message from it,
//!   so the notifier keeps each dead letter, body and all, as a failure record
//!   in the notifications table (`synchub replay` sends them back).
//! - **Failed or stuck sync runs** arrive as `runFailed` notices on a
//!   notifications queue that the run owner writes to, rather than through
//!   DynamoDB Streams on the runs table: a queue gives the same
//!   retry-then-DLQ guarantees as every other path, carries exactly the facts
//!   an email needs (no diffing of stream images to tell "failed" from
//!   "updated"), and lets the notifier schedule its own digests on it:
//! - **Digests**: when failures are pending inside a window, the notifier puts
//!   a `flush` notice on that queue, delayed until the window ends (SQS delays
//!   by at most 15 minutes; a longer window re-arms). No polling schedule.

use crate::app::QueuedEvent;
use crate::domain::alert::{
    flush_delay_seconds, AlertState, Failure, Notice, RunSummary, Work, UNKNOWN_TENANT,
};
use crate::domain::TenantId;
use crate::messages::NoticeMessage;
use crate::ports::PortError;
use crate::ports::{
    AlertClaim, AlertStore, Email, Mailer, MessageQueue, OutgoingMessage, TenantDirectory,
    TenantSettings,
};
use crate::ports::{AlertLedger as _, FailureLog as _, SummaryLedger as _};
use crate::Classified;
use crate::ErrorClass;
use std::collections::HashMap;

/// Why a notifier record could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error("unreadable notice: {0}")]
    UnreadableNotice(String),
    #[error("invalid notice: {0}")]
    Invalid(#[from] crate::domain::ValidationError),
    #[error("the email could not be rendered")]
    Render(#[source] minijinja::Error),
}

impl crate::Classified for NotifyError {
    fn class(&self) -> ErrorClass {
        match self {
            NotifyError::Port(e) => e.class(),
            NotifyError::UnreadableNotice(_) | NotifyError::Invalid(_) => {
                ErrorClass::ValidationError
            }
            NotifyError::Render(_) => ErrorClass::UnknownError,
        }
    }
}

pub mod email;

/// How long a claimed email may take before another invocation may send it.
const LEASE_MILLIS: i64 = 60_000;
/// Sample failures shown in an email.
const SAMPLES: i32 = 5;

/// Deployment-wide alert settings (template parameters).
#[derive(Debug, Clone)]
pub struct AlertPolicy {
    pub window_millis: i64,
    /// Used when the tenant lists no recipients (and for unknown tenants).
    pub default_recipient: String,
}

crate::port_kinds! {
    /// The kinds of port the failure notifier runs on, as one bound.
    pub trait NotifyDeps {
        Store: AlertStore,
        Mail: Mailer,
        Tenants: TenantDirectory,
        Notices: MessageQueue,
    }
}

pub struct NotifyPorts<'a, Deps: NotifyDeps> {
    pub store: &'a Deps::Store,
    pub mailer: &'a Deps::Mail,
    pub tenants: &'a Deps::Tenants,
    /// The notifications queue, for delayed `flush` notices.
    pub notices: &'a Deps::Notices,
    pub policy: &'a AlertPolicy,
}

/// One record handed to the notifier.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A record of the sync DLQ.
    DeadLetter {
        message_id: String,
        body: String,
        attributes: HashMap<String, String>,
        sent_millis: i64,
    },
    /// A record of the notifications queue.
    Notice { message_id: String, body: String },
}

impl Incoming {
    pub fn message_id(&self) -> &str {
        match self {
            Incoming::DeadLetter { message_id, .. } | Incoming::Notice { message_id, .. } => {
                message_id
            }
        }
    }
}

pub use crate::app::apply::BatchReport;

/// What a batch of notices came to: each handled one in words.
pub type NoticeReport = BatchReport<String>;

/// Handles one batch at time `now` (Unix millis; injectable for tests).
/// Never fails as a whole: a record whose work failed is handed back to SQS.
pub async fn notify_batch<Deps: NotifyDeps>(
    ports: &NotifyPorts<'_, Deps>,
    records: &[Incoming],
    now: i64,
) -> NoticeReport {
    let mut report = NoticeReport::default();
    for record in records {
        let id = record.message_id().to_owned();
        match handle(ports, record, now).await {
            Ok(outcome) => {
                tracing::info!(message_id = %id, outcome = %outcome, "notification handled");
                report.outcomes.push((id, outcome));
            }
            Err(e) => {
                tracing::warn!(message_id = %id, error.class = %crate::Classified::class(&e), error = %e, "notification will be retried");
                report.retry.push(id);
            }
        }
    }
    report
}

async fn handle<Deps: NotifyDeps>(
    ports: &NotifyPorts<'_, Deps>,
    record: &Incoming,
    now: i64,
) -> Result<String, NotifyError> {
    match work_of(record)? {
        Work::Record(failure) => record_failure(ports, &failure, now).await,
        Work::Flush {
            tenant_id,
            error_class,
            due_millis,
        } if due_millis > now => {
            // The window is longer than SQS can delay: wait again.
            schedule_flush(ports, &tenant_id, error_class, due_millis, now).await?;
            Ok("flush re-armed".into())
        }
        Work::Flush {
            tenant_id,
            error_class,
            ..
        } => try_email(ports, &tenant_id, error_class, now).await,
        Work::Summary {
            tenant_id,
            day,
            runs,
        } => send_summary(ports, &tenant_id, &day, &runs).await,
    }
}

/// What a record asks for. A notice that cannot be read is retried into the
/// notifications DLQ (alarmed), never dropped.
fn work_of(record: &Incoming) -> Result<Work, NotifyError> {
    match record {
        Incoming::DeadLetter {
            message_id,
            body,
            attributes,
            sent_millis,
        } => Ok(Work::Record(dead_letter_failure(
            message_id,
            body,
            attributes,
            *sent_millis,
        ))),
        Incoming::Notice { body, .. } => Notice::parse(body).map_err(NotifyError::UnreadableNotice),
    }
}

/// Keeps and counts a failure (once, however often it is delivered), then
/// emails about it if one is due.
async fn record_failure<Deps: NotifyDeps>(
    ports: &NotifyPorts<'_, Deps>,
    failure: &Failure,
    now: i64,
) -> Result<String, NotifyError> {
    let new = ports.store.record(failure).await?;
    if new {
        ::metrics::counter!("FailuresRecorded").increment(1);
    }
    tracing::info!(
        tenant_id = %failure.tenant_id, error.class = %failure.error_class, correlation_id = %failure.correlation_id,
        subject_id = %failure.subject_id, source = %failure.source, new, "failure recorded"
    );
    let sent = try_email(ports, &failure.tenant_id, failure.error_class, now).await?;
    Ok(if new {
        format!("recorded; {sent}")
    } else {
        format!("already recorded; {sent}")
    })
}

/// Sends the email for (tenant, class) if one is due, or makes sure a digest
/// will follow when the window ends.
async fn try_email<Deps: NotifyDeps>(
    ports: &NotifyPorts<'_, Deps>,
    tenant: &str,
    class: ErrorClass,
    now: i64,
) -> Result<String, NotifyError> {
    let window = ports.policy.window_millis;
    let state = match ports
        .store
        .claim(tenant, class, now, window, LEASE_MILLIS)
        .await?
    {
        AlertClaim::Nothing => return Ok("nothing pending".into()),
        AlertClaim::NotDue(state) => return await_digest(ports, &state, class, now).await,
        AlertClaim::Claimed(state) => state,
    };
    match send(ports, &state, now).await {
        Ok(label) => Ok(label),
        Err(e) if !e.class().is_retryable() => {
            tracing::error!(tenant_id = %tenant, error.class = %class, error = %e, "alert email rejected permanently; failures stay pending");
            ports
                .store
                .release(tenant, class, Some(&e.to_string()), now)
                .await?;
            let due = now + window;
            if ports.store.arm_flush(tenant, class, due).await? {
                schedule_flush(ports, tenant, class, due, now).await?;
            }
            Ok(format!("email rejected: {e}"))
        }
        Err(e) => {
            ports.store.release(tenant, class, None, now).await?;
            Err(e)
        }
    }
}

/// Not yet: makes sure a digest is scheduled for the window's end.
async fn await_digest<Deps: NotifyDeps>(
    ports: &NotifyPorts<'_, Deps>,
    state: &AlertState,
    class: ErrorClass,
    now: i64,
) -> Result<String, NotifyError> {
    let tenant = state.tenant_id.as_str();
    let due = state
        .window_end(ports.policy.window_millis)
        .max(state.lease_until_millis.map_or(0, |l| l + 1));
    // Usually a flush is already armed for this window: no write then.
    let armed = state.flush_at_millis.is_none_or(|at| at < due)
        && ports.store.arm_flush(tenant, class, due).await?;
    if armed {
        if let Err(e) = schedule_flush(ports, tenant, class, due, now).await {
            // Un-arm so the retry schedules it again; if even that
            // fails, the next failure past `due` is emailed at once.
            let _ = ports.store.disarm_flush(tenant, class, due).await;
            return Err(e.into());
        }
    }
    Ok(format!(
        "{} pending for the digest due at {due}",
        state.pending
    ))
}

async fn send<Deps: NotifyDeps>(
    ports: &NotifyPorts<'_, Deps>,
    state: &AlertState,
    now: i64,
) -> Result<String, NotifyError> {
    let class = ErrorClass::parse(&state.error_class).unwrap_or(ErrorClass::UnknownError);
    let settings = match TenantId::parse(&state.tenant_id) {
        Ok(tenant) if state.tenant_id != UNKNOWN_TENANT => ports.tenants.settings(&tenant).await?,
        _ => None,
    };
    let since = state.last_email_millis.unwrap_or(0);
    let samples = ports
        .store
        .recent(&state.tenant_id, class, since, SAMPLES)
        .await?;
    let email = alert_email(ports.policy, settings.as_ref(), state, &samples)?;
    let message_id = ports.mailer.send(&email).await?;
    ::metrics::counter!("EmailsSent").increment(1);
    let mut reported = state.clone();
    reported.sample_ids = samples.iter().map(|f| f.subject_id.clone()).collect();
    reported.correlation_ids = samples.iter().map(|f| f.correlation_id.clone()).collect();
    ports.store.sent(&reported, state.pending, now).await?;
    tracing::info!(
        tenant_id = %state.tenant_id, error.class = %class, count = state.pending, digest = state.is_digest(),
        correlation_ids = ?reported.correlation_ids, ses_message_id = %message_id, "alert email sent"
    );
    Ok(format!(
        "{} emailed ({} failures)",
        if state.is_digest() { "digest" } else { "alert" },
        state.pending
    ))
}

/// The alert (or digest) to the tenant's recipients, else the deployment's.
fn alert_email(
    policy: &AlertPolicy,
    settings: Option<&TenantSettings>,
    state: &AlertState,
    samples: &[Failure],
) -> Result<Email, NotifyError> {
    let mut to = settings
        .map(|s| s.alert_recipients.clone())
        .unwrap_or_default();
    if to.is_empty() {
        to.push(policy.default_recipient.clone());
    }
    let tenant_name = settings
        .map(|s| s.name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(&state.tenant_id);
    let (subject, text, html) =
        email::render(state, tenant_name, samples, policy.window_millis / 60_000)
            .map_err(NotifyError::Render)?;
    Ok(Email {
        to,
        subject,
        text,
        html,
    })
}

/// The daily success report: one email per (tenant, day), however often the
/// notice is delivered.
async fn send_summary<Deps: NotifyDeps>(
    ports: &NotifyPorts<'_, Deps>,
    tenant: &str,
    day: &str,
    runs: &[RunSummary],
) -> Result<String, NotifyError> {
    let tenant_id = TenantId::parse(tenant)?;
    let Some(settings) = ports.tenants.settings(&tenant_id).await? else {
        return Ok("summary for an unknown tenant dropped".into());
    };
    if !settings.daily_summary {
        return Ok("tenant has no daily summary".into());
    }
    if !ports.store.claim_summary(tenant, day).await? {
        return Ok("summary already sent".into());
    }
    let mut to = settings.alert_recipients.clone();
    if to.is_empty() {
        to.push(ports.policy.default_recipient.clone());
    }
    let name = if settings.name.is_empty() {
        tenant
    } else {
        settings.name.as_str()
    };
    let rendered = email::render_summary(tenant, name, day, runs).map_err(NotifyError::Render);
    let sent = match rendered {
        Ok((subject, text, html)) => ports
            .mailer
            .send(&Email {
                to,
                subject,
                text,
                html,
            })
            .await
            .map_err(NotifyError::from),
        Err(e) => Err(e),
    };
    match sent {
        Ok(_) => {
            ::metrics::counter!("EmailsSent").increment(1);
            Ok(format!("daily summary of {} runs emailed", runs.len()))
        }
        Err(e) => {
            ports.store.release_summary(tenant, day).await?;
            Err(e)
        }
    }
}

async fn schedule_flush<Deps: NotifyDeps>(
    ports: &NotifyPorts<'_, Deps>,
    tenant: &str,
    class: ErrorClass,
    due: i64,
    now: i64,
) -> Result<(), PortError> {
    let notice = Notice::Flush {
        tenant_id: tenant.to_owned(),
        error_class: class,
        due_millis: due,
    };
    let message = OutgoingMessage::json(tenant, &NoticeMessage::new(notice))?
        .delayed(flush_delay_seconds(due, now));
    ports.notices.send(&message).await.map(|_| ())
}

/// Reads a record of the sync DLQ. Whatever it holds, it becomes a failure:
/// records the worker rejected carry `errorClass`, `rejectReason`,
/// `tenantId` and `correlationId` attributes; records SQS moved after
/// `maxReceiveCount` carry only their body.
pub fn dead_letter_failure(
    message_id: &str,
    body: &str,
    attributes: &HashMap<String, String>,
    sent_millis: i64,
) -> Failure {
    let queued: Option<QueuedEvent> = serde_json::from_str(body).ok();
    let attr = |k: &str| attributes.get(k).filter(|v| !v.is_empty()).cloned();
    let tenant_id = attr("tenantId")
        .or_else(|| queued.as_ref().map(|q| q.tenant_id.clone()))
        .unwrap_or_else(|| UNKNOWN_TENANT.to_owned());
    let error_class = attr("errorClass")
        .and_then(|c| ErrorClass::parse(&c))
        .unwrap_or(ErrorClass::UnknownError);
    let reason = attr("rejectReason").unwrap_or_else(|| {
        "retries exhausted: redelivered up to maxReceiveCount without success".to_owned()
    });
    Failure {
        source: format!(
            "webhook:{}",
            queued.as_ref().map_or("unknown", |q| q.source.as_str())
        ),
        subject_id: queued
            .as_ref()
            .map_or_else(|| message_id.to_owned(), |q| q.event_id.clone()),
        correlation_id: attr("correlationId")
            .or_else(|| queued.as_ref().map(|q| q.correlation_id.clone()))
            .unwrap_or_else(|| format!("sqs-{message_id}")),
        entity: queued
            .as_ref()
            .and_then(|q| q.payload.get("sku"))
            .and_then(|s| s.as_str())
            .map(str::to_owned),
        at_millis: sent_millis,
        key: attr("sourceMessageId").unwrap_or_else(|| message_id.to_owned()),
        dead_letter_body: Some(body.to_owned()),
        tenant_id,
        error_class,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_dead_letter_keeps_its_class_reason_and_ids() {
        let body = r#"{"schema":1,"tenantId":"t1","source":"supplier","eventId":"e1","correlationId":"c1","receivedAt":"2026-06-01T10:00:00.000Z","payload":{"sku":"SKU-1"}}"#;
        let attrs = HashMap::from([
            ("errorClass".to_owned(), "VALIDATION_ERROR".to_owned()),
            (
                "rejectReason".to_owned(),
                "quantity: must be >= 0".to_owned(),
            ),
            ("sourceMessageId".to_owned(), "m-orig".to_owned()),
        ]);
        let f = dead_letter_failure("m-dlq", body, &attrs, 42);
        assert_eq!(f.tenant_id, "t1");
        assert_eq!(f.error_class, ErrorClass::ValidationError);
        assert_eq!(f.reason, "quantity: must be >= 0");
        assert_eq!(
            (
                f.subject_id.as_str(),
                f.correlation_id.as_str(),
                f.key.as_str()
            ),
            ("e1", "c1", "m-orig")
        );
        assert_eq!(f.entity.as_deref(), Some("SKU-1"));
        assert_eq!(f.source, "webhook:supplier");
    }

    #[test]
    fn a_junk_dead_letter_is_still_a_failure_of_an_unknown_tenant() {
        let f = dead_letter_failure("m9", "not json", &HashMap::new(), 7);
        assert_eq!(
            (f.tenant_id.as_str(), f.error_class, f.key.as_str()),
            (UNKNOWN_TENANT, ErrorClass::UnknownError, "m9")
        );
        assert!(f.reason.contains("maxReceiveCount"));
        assert_eq!(f.dead_letter_body.as_deref(), Some("not json"));
    }
}
