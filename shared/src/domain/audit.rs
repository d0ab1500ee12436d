//! One audit row per delivery received, with its outcome and per-target results,
//! so support can answer "what changed, and why did this event win?".

use super::ids::EventId;
use crate::ErrorClass;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a delivery did to the stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// A newer event already holds the entity.
    Stale {
        beaten_by: EventId,
    },
    /// This exact version is already the stored state.
    Duplicate,
    /// The message could not be parsed or validated; `reason` names the field and rule.
    Rejected {
        reason: String,
    },
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Stale { .. } => "stale",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected { .. } => "rejected",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Stale { beaten_by } => write!(f, "stale (beaten by {beaten_by})"),
            Outcome::Rejected { reason } => write!(f, "rejected ({reason})"),
            other => f.write_str(other.label()),
        }
    }
}

/// A target's result for one delivery, in the words the ledger uses:
/// `success`, `skipped (disabled)`, `skipped (not configured)`, `failed (CLASS)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetStatus {
    pub status: String,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub at: String,
}

impl TargetStatus {
    pub fn success(attempts: u32, at: String) -> Self {
        Self {
            status: "success".into(),
            attempts,
            last_error: None,
            at,
        }
    }

    pub fn skipped(why: &str, at: String) -> Self {
        Self {
            status: format!("skipped ({why})"),
            attempts: 0,
            last_error: None,
            at,
        }
    }

    pub fn failed(class: ErrorClass, attempts: u32, error: String, at: String) -> Self {
        Self {
            status: format!("failed ({class})"),
            attempts,
            last_error: Some(error),
            at,
        }
    }

    /// A failure a later delivery attempt should try again.
    pub fn needs_retry(&self) -> bool {
        [
            "NETWORK_ERROR",
            "DATABASE_ERROR",
            "TIMEOUT_ERROR",
            "UNKNOWN_ERROR",
        ]
        .iter()
        .any(|class| self.status == format!("failed ({class})"))
    }
}

/// One row per delivery. Keyed by (entity, event id, message id) so an SQS
/// redelivery of the same message lands on the same row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    pub pk: String,
    pub sk: String,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub message_id: String,
    pub correlation_id: String,
    /// `applied`, `stale`, `duplicate` or `rejected`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beaten_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub targets: std::collections::BTreeMap<String, TargetStatus>,
    pub recorded_at: String,
    /// Epoch seconds; DynamoDB's TTL removes the row after it.
    pub expires_at: i64,
}

impl AuditRow {
    /// The sort key of a delivery's row: deterministic, so redelivery finds it.
    pub fn sort_key(event_id: Option<&str>, message_id: &str) -> String {
        format!("{}#{}", event_id.unwrap_or("-"), message_id)
    }

    /// The partition for deliveries that could not be tied to an entity.
    pub fn rejected_partition(tenant: Option<&str>) -> String {
        format!("{}#rejected", tenant.unwrap_or("unknown"))
    }

    pub fn set_outcome(&mut self, outcome: &Outcome) {
        self.outcome = outcome.label().to_owned();
        self.beaten_by = match outcome {
            Outcome::Stale { beaten_by } => Some(beaten_by.to_string()),
            _ => None,
        };
        self.reason = match outcome {
            Outcome::Rejected { reason } => Some(reason.clone()),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_as_the_ledger_words() {
        let stale = Outcome::Stale {
            beaten_by: EventId::parse("evt-9").unwrap(),
        };
        assert_eq!(stale.to_string(), "stale (beaten by evt-9)");
        assert_eq!(
            Outcome::Rejected {
                reason: "sku: must not be empty".into()
            }
            .to_string(),
            "rejected (sku: must not be empty)"
        );
        assert_eq!(Outcome::Duplicate.to_string(), "duplicate");
    }

    #[test]
    fn only_retryable_target_failures_are_retried() {
        let at = String::new();
        assert!(
            TargetStatus::failed(ErrorClass::NetworkError, 3, "503".into(), at.clone())
                .needs_retry()
        );
        assert!(
            !TargetStatus::failed(ErrorClass::AuthError, 1, "401".into(), at.clone()).needs_retry()
        );
        assert!(!TargetStatus::skipped("not configured", at.clone()).needs_retry());
        assert!(!TargetStatus::success(1, at).needs_retry());
    }
}
