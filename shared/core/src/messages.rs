//! The messages functions send each other through SQS, one shared
//! `Serialize + Deserialize` type each, with a `schema` version, so a sender
//! and a receiver cannot drift apart:
//!
//! - [`QueuedEvent`]: the sync queue's message (webhook-ingest and daily-sync
//!   to sync-worker);
//! - [`RunsWork`]: the runs queue's message (webhook-ingest and daily-sync to
//!   daily-sync): plan runs, erase a shop, or work on a run;
//! - [`NoticeMessage`]: the notifications queue's message (a
//!   `domain::alert::Notice`: a failed run, a digest flush, a daily summary).
//!
//! Messages written before a field existed still read: new fields default.

use crate::domain::sync_run::Trigger;
use crate::domain::DataType;
use serde::{Deserialize, Serialize};

/// The version every message type is written with today.
pub const SCHEMA: u32 = 1;

fn schema() -> u32 {
    SCHEMA
}

/// The sync queue's message: one accepted source event, as received.
///
/// The raw payload travels unchanged, so the worker validates exactly what the
/// source sent and a replay from the DLQ needs nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueuedEvent {
    /// Message format version.
    pub schema: u32,
    pub tenant_id: String,
    /// Where it came from, which says how the worker reads `payload`.
    pub source: EventSource,
    pub event_id: String,
    pub correlation_id: String,
    pub received_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
    /// The provider's topic (`customers/create`, `customer.updated`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub payload: serde_json::Value,
    /// Set when a replay re-drives the event (`POST .../replay`, `synchub replay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplayMark>,
}

/// What a replay asks of the worker besides applying the event again (which
/// the ordering rule makes safe: a replay can never roll an item back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayMark {
    /// The delivery (audit sort key) or dead letter (its message id) replayed.
    pub of: String,
    /// Why it is replayed, in the replay report's words (`publishFailed`, ...).
    pub reason: String,
    /// The replay's own correlation id, to find everything it did.
    pub correlation_id: String,
    /// Send the stored change to its targets again even though it is
    /// already stored (a failed storefront publish, a failed target call).
    #[serde(default)]
    pub republish: bool,
}

pub const QUEUED_EVENT_SCHEMA: u32 = SCHEMA;

/// The wire name of supplier webhooks' events.
pub const SUPPLIER: &str = "supplier";
/// The wire name of objects pulled from (or pushed by) Square.
pub const SQUARE: &str = "square";
/// The wire name of Shopify webhooks' events.
pub const SHOPIFY: &str = "shopify";

/// Where a queued event came from. On the wire it is the source's name
/// (`"supplier"`, `"shopify"`, `"square"`, or a connector's, `"flowhub"`),
/// as every deployed version writes and reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventSource {
    /// A supplier's inventory webhook: `payload` is its body, as received.
    Supplier,
    /// A Shopify webhook, normalized: `payload` is a pulled object.
    Shopify,
    /// Square, by webhook or pull: `payload` is a pulled object.
    Square,
    /// Another name: a connector's pull (`payload` is a pulled object) when
    /// the name is a shipped connector's; the worker refuses any other.
    Other(String),
}

impl EventSource {
    /// The source a name stands for.
    pub fn named(name: &str) -> Self {
        match name {
            SUPPLIER => Self::Supplier,
            SHOPIFY => Self::Shopify,
            SQUARE => Self::Square,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Its wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Supplier => SUPPLIER,
            Self::Shopify => SHOPIFY,
            Self::Square => SQUARE,
            Self::Other(name) => name,
        }
    }
}

impl std::fmt::Display for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::named(&name))
    }
}

/// Work on one run: start it or continue it from its checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunMessage {
    #[serde(default = "schema")]
    pub schema: u32,
    pub tenant_id: String,
    pub data_type: DataType,
    pub run_id: String,
}

impl RunMessage {
    pub fn new(tenant_id: &str, data_type: DataType, run_id: &str) -> Self {
        Self {
            schema: SCHEMA,
            tenant_id: tenant_id.to_owned(),
            data_type,
            run_id: run_id.to_owned(),
        }
    }
}

/// Start runs: the schedule sends `{"trigger": "schedule"}`; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanRequest {
    #[serde(default = "schema")]
    pub schema: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_types: Option<Vec<DataType>>,
    #[serde(default)]
    pub force: bool,
}

/// Erase every Shopify customer of a tenant (Shopify's `shop/redact`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EraseShop {
    #[serde(default = "schema")]
    pub schema: u32,
    pub tenant_id: String,
    pub event_id: String,
    pub correlation_id: String,
}

/// The notifications queue's message: a notice with the version it was
/// written with, flat beside its fields (`{"schema": 1, "type": "runFailed", …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeMessage {
    #[serde(default = "schema")]
    pub schema: u32,
    #[serde(flatten)]
    pub notice: crate::domain::alert::Notice,
}

impl NoticeMessage {
    pub fn new(notice: crate::domain::alert::Notice) -> Self {
        Self {
            schema: SCHEMA,
            notice,
        }
    }
}

/// The runs queue's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunsWork {
    /// Start runs now (Square's `catalog.version.updated`).
    Plan(PlanRequest),
    EraseShop(EraseShop),
    /// Work on a run; written bare (`{"tenantId", "dataType", "runId"}`).
    #[serde(untagged)]
    Run(RunMessage),
}

impl RunsWork {
    /// Reads a runs-queue body; the error names what was wrong with it.
    pub fn parse(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(v: &T) {
        let text = serde_json::to_string(v).unwrap();
        assert_eq!(&serde_json::from_str::<T>(&text).unwrap(), v, "{text}");
    }

    #[test]
    fn every_message_survives_a_round_trip() {
        round_trip(&QueuedEvent {
            schema: SCHEMA,
            tenant_id: "t".into(),
            source: EventSource::Square,
            event_id: "e".into(),
            correlation_id: "c".into(),
            received_at: "2026-01-01T00:00:00.000Z".into(),
            webhook_id: Some("w".into()),
            topic: None,
            payload: json!({"a": 1}),
            replay: Some(ReplayMark {
                of: "evt-1#msg-1".into(),
                reason: "publishFailed".into(),
                correlation_id: "sync-t-1-abc".into(),
                republish: true,
            }),
        });
        round_trip(&RunsWork::Run(RunMessage::new("t", DataType::Catalog, "r")));
        round_trip(&RunsWork::Plan(PlanRequest {
            schema: SCHEMA,
            trigger: Some(Trigger::Webhook),
            tenant_id: Some("t".into()),
            data_types: Some(vec![DataType::Catalog]),
            force: true,
        }));
        round_trip(&RunsWork::EraseShop(EraseShop {
            schema: SCHEMA,
            tenant_id: "t".into(),
            event_id: "e".into(),
            correlation_id: "c".into(),
        }));
    }

    #[test]
    fn messages_written_before_the_version_field_still_read() {
        let run = RunsWork::parse(r#"{"tenantId":"demo-shop","dataType":"catalog","runId":"r1"}"#);
        assert_eq!(
            run.unwrap(),
            RunsWork::Run(RunMessage::new("demo-shop", DataType::Catalog, "r1"))
        );
        let plan = RunsWork::parse(
            r#"{"plan":{"trigger":"webhook","tenantId":"demo-shop","dataTypes":["catalog"],"force":true}}"#,
        )
        .unwrap();
        assert!(matches!(plan, RunsWork::Plan(p) if p.force && p.schema == SCHEMA));
        let erase =
            RunsWork::parse(r#"{"eraseShop":{"tenantId":"t","eventId":"e","correlationId":"c"}}"#)
                .unwrap();
        assert!(matches!(erase, RunsWork::EraseShop(e) if e.tenant_id == "t"));
    }

    #[test]
    fn a_notice_carries_its_version_and_older_ones_still_read() {
        use crate::domain::alert::Notice;
        let message = NoticeMessage::new(Notice::DailySummary {
            tenant_id: "t".into(),
            day: "2026-12-01".into(),
            runs: vec![],
        });
        let text = serde_json::to_string(&message).unwrap();
        assert!(
            text.contains(r#""schema":1"#) && text.contains(r#""type":"dailySummary""#),
            "{text}"
        );
        round_trip(&message);
        let old: NoticeMessage =
            serde_json::from_str(r#"{"type":"dailySummary","tenantId":"t","day":"d","runs":[]}"#)
                .unwrap();
        assert_eq!(old.schema, SCHEMA);
    }

    #[test]
    fn a_source_is_its_name_on_the_wire_whatever_the_name() {
        for (name, source) in [
            ("supplier", EventSource::Supplier),
            ("shopify", EventSource::Shopify),
            ("square", EventSource::Square),
            ("flowhub", EventSource::Other("flowhub".into())),
        ] {
            let text = serde_json::to_string(&source).unwrap();
            assert_eq!(text, format!("{name:?}"));
            assert_eq!(serde_json::from_str::<EventSource>(&text).unwrap(), source);
        }
    }

    #[test]
    fn a_queued_event_written_by_the_deployed_version_still_reads() {
        let text = r#"{"schema":1,"tenantId":"t","source":"supplier","eventId":"e","correlationId":"c","receivedAt":"2026-01-01T00:00:00.000Z","payload":{"sku":"S"}}"#;
        let queued: QueuedEvent = serde_json::from_str(text).unwrap();
        assert_eq!(queued.source, EventSource::Supplier);
        let again: serde_json::Value = serde_json::to_value(&queued).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }

    #[test]
    fn junk_is_refused() {
        assert!(RunsWork::parse(r#"{"tenantId":"t"}"#).is_err());
        assert!(RunsWork::parse("[]").is_err());
    }
}
