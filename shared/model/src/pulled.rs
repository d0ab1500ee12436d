//! One object pulled from a source, normalized: what a POS mapping produces
//! and the sync queue carries.

use crate::ids::EntityKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One object pulled from a source, normalized: the sync queue's payload for
/// `source: "square"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PulledObject {
    pub kind: EntityKind,
    pub id: String,
    /// The source's own change time (RFC 3339).
    pub updated_at: String,
    /// Unique per version of the object, e.g. `sq-ITEM1-v1042`.
    pub event_id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    #[serde(default)]
    pub attributes: Map<String, Value>,
}
