//! Failure alerts: what a failure is, where it comes from (a dead-lettered
//! sync message or a failed sync run), and the rate-limit rule: at most one
//! email per (tenant, error class) per window, the rest carried by the next
//! digest with its count. No I/O here.

use crate::ErrorClass;
use serde::{Deserialize, Serialize};

/// Tenant label for a dead letter whose tenant cannot be read.
pub const UNKNOWN_TENANT: &str = "unknown";

/// One failure to report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub tenant_id: String,
    /// `webhook:supplier`, `sync:orders`, ...
    pub source: String,
    pub error_class: ErrorClass,
    pub reason: String,
    /// The event id (dead letters) or run id (sync runs) support looks up.
    pub subject_id: String,
    pub correlation_id: String,
    /// The entity it concerns, when known (a SKU), for the trace command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// When it failed, Unix millis; deterministic for one failure, so a
    /// redelivered notice is recognised.
    pub at_millis: i64,
    /// The dedupe key: the SQS message id of the dead letter, or the run id.
    pub key: String,
    /// The dead-lettered message as it was, kept so it can be replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_body: Option<String>,
}

/// Messages on the notifications queue. Other functions (the daily sync)
/// write `runFailed`; the notifier writes `flush` to itself, delayed until a
/// window ends, so a digest goes out even if no further failure arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Notice {
    RunFailed {
        tenant_id: String,
        data_type: String,
        run_id: String,
        correlation_id: String,
        error_class: ErrorClass,
        message: String,
        /// RFC 3339.
        failed_at: String,
    },
    Flush {
        tenant_id: String,
        error_class: ErrorClass,
        /// Unix millis at which the window ends.
        due_millis: i64,
    },
    /// The daily success report of a tenant that asked for one.
    DailySummary {
        tenant_id: String,
        /// The UTC day reported, `YYYY-MM-DD`.
        day: String,
        runs: Vec<RunSummary>,
    },
}

/// One run in the daily summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub run_id: String,
    pub data_type: String,
    pub status: String,
    pub fetched: u64,
    pub enqueued: u64,
    pub rejected: u64,
    pub started_at: String,
    pub duration_seconds: i64,
}

/// What a notifications-queue message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    Record(Failure),
    Flush {
        tenant_id: String,
        error_class: ErrorClass,
        due_millis: i64,
    },
    Summary {
        tenant_id: String,
        day: String,
        runs: Vec<RunSummary>,
    },
}

impl Notice {
    /// Reads a notifications-queue message; the error names what was wrong.
    pub fn parse(body: &str) -> Result<Work, String> {
        let notice: Notice =
            serde_json::from_str(body).map_err(|e| format!("not a notice: {e}"))?;
        Ok(match notice {
            Notice::RunFailed {
                tenant_id,
                data_type,
                run_id,
                correlation_id,
                error_class,
                message,
                failed_at,
            } => {
                let (_, at_millis) = crate::domain::time::parse_rfc3339_millis(&failed_at)
                    .map_err(|rule| format!("failedAt {failed_at:?} {rule}"))?;
                Work::Record(Failure {
                    tenant_id,
                    source: format!("sync:{data_type}"),
                    error_class,
                    reason: message,
                    subject_id: run_id.clone(),
                    correlation_id,
                    entity: None,
                    at_millis,
                    key: run_id,
                    dead_letter_body: None,
                })
            }
            Notice::Flush {
                tenant_id,
                error_class,
                due_millis,
            } => Work::Flush {
                tenant_id,
                error_class,
                due_millis,
            },
            Notice::DailySummary {
                tenant_id,
                day,
                runs,
            } => Work::Summary {
                tenant_id,
                day,
                runs,
            },
        })
    }
}

/// The notification item per (tenant, error class).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertState {
    pub tenant_id: String,
    pub error_class: String,
    /// Failures ever recorded.
    #[serde(default)]
    pub total: u64,
    /// Failures not yet reported by an email.
    #[serde(default)]
    pub pending: u64,
    #[serde(default)]
    pub first_seen_millis: i64,
    #[serde(default)]
    pub last_seen_millis: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_email_millis: Option<i64>,
    #[serde(default)]
    pub emails: u64,
    /// The sample ids and correlation ids of the last email.
    #[serde(default)]
    pub sample_ids: Vec<String>,
    #[serde(default)]
    pub correlation_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until_millis: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_at_millis: Option<i64>,
    /// Why the last email could not be delivered, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_error: Option<String>,
}

impl AlertState {
    /// When the current window ends (an email may go out from then on).
    pub fn window_end(&self, window_millis: i64) -> i64 {
        self.last_email_millis
            .map_or(i64::MIN, |t| t.saturating_add(window_millis))
    }

    /// Whether an email may go out now: something to report, the window since
    /// the last email is over, and no other invocation is sending.
    pub fn email_due(&self, now_millis: i64, window_millis: i64) -> bool {
        self.pending > 0
            && now_millis >= self.window_end(window_millis)
            && self.lease_until_millis.is_none_or(|l| l < now_millis)
    }

    /// Whether an email would be a digest (an earlier one went out).
    pub fn is_digest(&self) -> bool {
        self.last_email_millis.is_some()
    }
}

/// SQS delays a message by at most 15 minutes; a longer window re-arms.
pub const MAX_DELAY_SECONDS: i64 = 900;

/// The delay for a flush due at `due_millis`, within what SQS allows.
pub fn flush_delay_seconds(due_millis: i64, now_millis: i64) -> i32 {
    let seconds = (due_millis - now_millis + 999).div_euclid(1000);
    seconds.clamp(0, MAX_DELAY_SECONDS) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(pending: u64, last: Option<i64>, lease: Option<i64>) -> AlertState {
        AlertState {
            pending,
            last_email_millis: last,
            lease_until_millis: lease,
            ..Default::default()
        }
    }

    #[test]
    fn first_failure_after_a_quiet_window_is_due_at_once() {
        assert!(state(1, None, None).email_due(0, 900_000));
        assert!(state(1, Some(0), None).email_due(900_000, 900_000));
        assert!(!state(1, Some(0), None).email_due(899_999, 900_000));
        assert!(
            !state(0, None, None).email_due(0, 900_000),
            "nothing to report"
        );
        assert!(
            !state(1, None, Some(10)).email_due(5, 900_000),
            "another invocation is sending"
        );
        assert!(
            state(1, None, Some(10)).email_due(11, 900_000),
            "an expired lease does not block"
        );
    }

    proptest! {
        /// However failures and emails interleave, two emails for one
        /// (tenant, class) are never closer than the window.
        #[test]
        fn emails_are_never_closer_than_the_window(gaps in proptest::collection::vec(0i64..2_000_000, 1..60)) {
            let window = 900_000;
            let mut s = AlertState::default();
            let mut now = 0;
            let mut sent = Vec::new();
            for gap in gaps {
                now += gap;
                s.pending += 1;
                if s.email_due(now, window) {
                    sent.push(now);
                    s.pending = 0;
                    s.last_email_millis = Some(now);
                }
            }
            for pair in sent.windows(2) {
                prop_assert!(pair[1] - pair[0] >= window);
            }
        }
    }

    #[test]
    fn flush_delay_is_clamped_to_what_sqs_allows() {
        assert_eq!(flush_delay_seconds(10_000, 0), 10);
        assert_eq!(flush_delay_seconds(10_001, 0), 11, "never early");
        assert_eq!(flush_delay_seconds(-5, 0), 0);
        assert_eq!(flush_delay_seconds(3_600_000, 0), 900);
    }

    #[test]
    fn run_failed_notices_parse_and_bad_ones_name_the_problem() {
        let body = r#"{"type":"runFailed","tenantId":"t1","dataType":"orders","runId":"r1","correlationId":"sync-t1-1-ab","errorClass":"AUTH_ERROR","message":"401 from Square","failedAt":"2026-06-01T10:00:00Z"}"#;
        let Ok(Work::Record(f)) = Notice::parse(body) else {
            panic!("should parse")
        };
        assert_eq!(
            (f.source.as_str(), f.error_class, f.key.as_str()),
            ("sync:orders", ErrorClass::AuthError, "r1")
        );
        assert_eq!(f.at_millis, 1_780_308_000_000);
        let err = Notice::parse(r#"{"type":"runFailed","tenantId":"t1"}"#).unwrap_err();
        assert!(err.contains("missing field"), "{err}");
        let err = Notice::parse(&body.replace("2026-06-01T10:00:00Z", "yesterday")).unwrap_err();
        assert!(err.contains("failedAt"), "{err}");
    }
}
