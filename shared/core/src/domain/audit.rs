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
        self.word().as_str()
    }

    pub fn word(&self) -> AuditOutcome {
        match self {
            Outcome::Applied => AuditOutcome::Applied,
            Outcome::Stale { .. } => AuditOutcome::Stale,
            Outcome::Duplicate => AuditOutcome::Duplicate,
            Outcome::Rejected { .. } => AuditOutcome::Rejected,
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

/// Where a change goes after it is stored; stored by its name
/// (`pos`, `crm`, `storefront`), the keys of the per-target ledgers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Pos,
    Crm,
    Storefront,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Pos => "pos",
            Target::Crm => "crm",
            Target::Storefront => "storefront",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Target::Pos, Target::Crm, Target::Storefront]
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A target's result, stored in the words the ledger uses: `success`,
/// `erased`, `skipped (why)`, `failed (CLASS)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum TargetState {
    Success,
    /// A privacy erasure went through.
    Erased,
    Skipped(String),
    Failed(ErrorClass),
}

impl fmt::Display for TargetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetState::Success => f.write_str("success"),
            TargetState::Erased => f.write_str("erased"),
            TargetState::Skipped(why) => write!(f, "skipped ({why})"),
            TargetState::Failed(class) => write!(f, "failed ({class})"),
        }
    }
}

impl PartialEq<&str> for TargetState {
    fn eq(&self, other: &&str) -> bool {
        TargetState::try_from((*other).to_owned()).is_ok_and(|s| s == *self)
    }
}

impl From<TargetState> for String {
    fn from(s: TargetState) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for TargetState {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let inner = |prefix: &str| {
            text.strip_prefix(prefix)
                .and_then(|t| t.strip_suffix(')'))
                .map(str::to_owned)
        };
        match text.as_str() {
            "success" => Ok(TargetState::Success),
            "erased" => Ok(TargetState::Erased),
            _ => {
                if let Some(why) = inner("skipped (") {
                    Ok(TargetState::Skipped(why))
                } else if let Some(class) = inner("failed (").and_then(|c| ErrorClass::parse(&c)) {
                    Ok(TargetState::Failed(class))
                } else {
                    Err(format!("unknown target status {text:?}"))
                }
            }
        }
    }
}

/// A target's result for one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetStatus {
    pub status: TargetState,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub at: String,
}

impl TargetStatus {
    pub fn success(attempts: u32, at: String) -> Self {
        Self::done(TargetState::Success, attempts, at)
    }

    pub fn done(status: TargetState, attempts: u32, at: String) -> Self {
        Self {
            status,
            attempts,
            last_error: None,
            at,
        }
    }

    pub fn skipped(why: &str, at: String) -> Self {
        Self::done(TargetState::Skipped(why.to_owned()), 0, at)
    }

    pub fn failed(class: ErrorClass, attempts: u32, error: String, at: String) -> Self {
        Self {
            status: TargetState::Failed(class),
            attempts,
            last_error: Some(error),
            at,
        }
    }

    pub fn is_success(&self) -> bool {
        self.status == TargetState::Success
    }

    /// The target did what was asked (an upsert or an erasure).
    pub fn is_done(&self) -> bool {
        matches!(self.status, TargetState::Success | TargetState::Erased)
    }

    /// A failure a later delivery attempt should try again: the one retry verdict.
    pub fn needs_retry(&self) -> bool {
        matches!(self.status, TargetState::Failed(class) if class.is_retryable())
    }
}

/// The word an audit row's outcome is stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    Applied,
    Stale,
    Duplicate,
    Rejected,
    /// An applied tombstone (an erasure, or absent from a full pull).
    Deleted,
    /// A provider topic synchub does not sync.
    Ignored,
    /// A privacy data request, recorded for the operator.
    #[serde(rename = "data request")]
    DataRequest,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 7] = [
        AuditOutcome::Applied,
        AuditOutcome::Stale,
        AuditOutcome::Duplicate,
        AuditOutcome::Rejected,
        AuditOutcome::Deleted,
        AuditOutcome::Ignored,
        AuditOutcome::DataRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Applied => "applied",
            AuditOutcome::Stale => "stale",
            AuditOutcome::Duplicate => "duplicate",
            AuditOutcome::Rejected => "rejected",
            AuditOutcome::Deleted => "deleted",
            AuditOutcome::Ignored => "ignored",
            AuditOutcome::DataRequest => "data request",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == word)
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for AuditOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
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
    pub outcome: AuditOutcome,
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
    /// The delivery's queued body (its normalized change), kept for the
    /// audit's lifetime so a replay can re-drive it. How it is stored (as
    /// is, or compressed to keep the row in one write unit) is the audit
    /// adapter's business.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// `{tenant}#{hour}` of an accepted delivery: the audit table's
    /// `byTenantHour` index, by which a replay finds a window's deliveries
    /// without scanning the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_hour: Option<String>,
    /// What else explains the row: completed on redelivery, sent again by a
    /// replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AuditRow {
    /// A delivery's row with its key, tenant and outcome; the rest (what the
    /// delivery carried, what it did at the targets) is filled in by the caller.
    pub fn new(
        pk: String,
        sk: String,
        tenant_id: String,
        outcome: AuditOutcome,
        recorded_at: String,
        expires_at: i64,
    ) -> Self {
        Self {
            pk,
            sk,
            tenant_id,
            entity: None,
            event_id: None,
            message_id: String::new(),
            correlation_id: String::new(),
            outcome,
            beaten_by: None,
            reason: None,
            source_updated_at: None,
            revision: None,
            targets: Default::default(),
            recorded_at,
            expires_at,
            change: None,
            tenant_hour: None,
            note: None,
        }
    }

    /// The `byTenantHour` key of a delivery recorded at `recorded_at`.
    pub fn tenant_hour_key(tenant: &str, recorded_at: &str) -> String {
        format!("{tenant}#{}", super::metrics::hour_of(recorded_at))
    }

    /// The sort key of a delivery's row: deterministic, so redelivery finds it.
    pub fn sort_key(event_id: Option<&str>, message_id: &str) -> String {
        format!("{}#{}", event_id.unwrap_or("-"), message_id)
    }

    /// The partition for deliveries that could not be tied to an entity.
    pub fn rejected_partition(tenant: Option<&str>) -> String {
        format!("{}#rejected", tenant.unwrap_or("unknown"))
    }

    pub fn set_outcome(&mut self, outcome: &Outcome) {
        self.outcome = outcome.word();
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

    fn row() -> AuditRow {
        AuditRow::new(
            "t1#catalog_item#SKU-1".into(),
            "evt-1#msg-1".into(),
            "t1".into(),
            AuditOutcome::Applied,
            "2026-12-02T09:15:00.000Z".into(),
            1,
        )
    }

    #[test]
    fn a_delivery_is_indexed_by_its_tenant_and_hour() {
        let r = row();
        assert_eq!(
            AuditRow::tenant_hour_key("t1", &r.recorded_at),
            "t1#2026-12-02T09"
        );
    }

    #[test]
    fn stored_words_read_back_as_the_same_states() {
        for text in [
            "success",
            "erased",
            "skipped (disabled)",
            "failed (NETWORK_ERROR)",
        ] {
            let state = TargetState::try_from(text.to_owned()).unwrap();
            assert_eq!(state.to_string(), text);
        }
        assert!(TargetState::try_from("failed (NOPE)".to_owned()).is_err());
        for o in AuditOutcome::ALL {
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{o}\""));
            assert_eq!(AuditOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Target::parse("crm"), Some(Target::Crm));
    }
}
