//! Drift: how a complete full pull's view of the source differs from what
//! the tenant held when it ran. Per id, one of:
//!
//! - `missed`: the pull found an object the tenant did not hold at all, so
//!   no webhook (nor earlier pull) ever delivered it;
//! - `changed`: the tenant held it, but the pulled version differs from the
//!   stored one (the fields that differ are named: attributes, `deleted`),
//!   so the webhook of that change never arrived or arrived out of order;
//! - `gone`: the tenant held it live, the source no longer has it (the
//!   reconciliation's tombstone).
//!
//! Pure: the comparison of a pulled object with the stored state.

use crate::domain::PulledObject;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftKind {
    Missed,
    Changed,
    Gone,
}

impl DriftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::Missed => "missed",
            DriftKind::Changed => "changed",
            DriftKind::Gone => "gone",
        }
    }
}

/// One id's drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftEntry {
    pub id: String,
    pub kind: DriftKind,
    /// For `changed`: the fields that differ, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// What the tenant holds of an entity, as far as drift compares it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeldState {
    pub attributes: Map<String, Value>,
    pub deleted: bool,
}

/// The run's drift counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftCounts {
    pub missed: u64,
    pub changed: u64,
    pub gone: u64,
}

impl DriftCounts {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn add(&mut self, entries: &[DriftEntry]) {
        for e in entries {
            match e.kind {
                DriftKind::Missed => self.missed += 1,
                DriftKind::Changed => self.changed += 1,
                DriftKind::Gone => self.gone += 1,
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.missed + self.changed + self.gone
    }
}

/// The drift of one pulled object against what was held (`None`: nothing).
/// A tombstone of something never held, and an object held as pulled, are
/// no drift.
pub fn compare(pulled: &PulledObject, held: Option<&HeldState>) -> Option<DriftEntry> {
    let Some(held) = held else {
        return (!pulled.deleted).then(|| DriftEntry {
            id: pulled.id.clone(),
            kind: DriftKind::Missed,
            fields: Vec::new(),
        });
    };
    let mut fields = differing("", &pulled.attributes, &held.attributes);
    if pulled.deleted != held.deleted {
        fields.push("deleted".into());
    }
    fields.sort();
    fields.dedup();
    (!fields.is_empty()).then(|| DriftEntry {
        id: pulled.id.clone(),
        kind: DriftKind::Changed,
        fields,
    })
}

/// The attributes that differ; where both sides hold an object (the typed
/// `catalog`), the keys inside it that differ (`catalog.prices`).
fn differing(prefix: &str, a: &Map<String, Value>, b: &Map<String, Value>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .flat_map(|k| match (prefix, a.get(k), b.get(k)) {
            ("", Some(Value::Object(x)), Some(Value::Object(y))) => differing(k, x, y),
            ("", _, _) => vec![k.clone()],
            _ => vec![format!("{prefix}.{k}")],
        })
        .collect()
}

/// The `gone` entries of the ids a reconciliation tombstoned.
pub fn gone<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<DriftEntry> {
    ids.into_iter()
        .map(|id| DriftEntry {
            id: id.to_owned(),
            kind: DriftKind::Gone,
            fields: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EntityKind;
    use proptest::prelude::*;
    use serde_json::json;

    fn pulled(attributes: Value, deleted: bool) -> PulledObject {
        PulledObject {
            kind: EntityKind::Item,
            id: "var-1".into(),
            updated_at: "2026-11-30T12:00:00.000Z".into(),
            event_id: "flowhub-var-1-t1".into(),
            deleted,
            attributes: attributes.as_object().cloned().unwrap_or_default(),
        }
    }

    fn held(attributes: Value, deleted: bool) -> HeldState {
        HeldState {
            attributes: attributes.as_object().cloned().unwrap_or_default(),
            deleted,
        }
    }

    #[test]
    fn new_changed_and_equal_objects() {
        let p = pulled(json!({"name": "Blue Dream", "price": 3500}), false);
        assert_eq!(compare(&p, None).unwrap().kind, DriftKind::Missed);
        assert!(compare(&pulled(json!({}), true), None).is_none());
        let same = held(json!({"name": "Blue Dream", "price": 3500}), false);
        assert!(compare(&p, Some(&same)).is_none());
        let other = held(json!({"name": "Blue Dream", "price": 3000, "old": 1}), true);
        assert_eq!(
            compare(&p, Some(&other)).unwrap().fields,
            ["deleted", "old", "price"]
        );
    }

    proptest! {
        #[test]
        fn exactly_the_differing_fields_are_named(
            a in proptest::collection::btree_map("[a-e]", 0i64..3, 0..5),
            b in proptest::collection::btree_map("[a-e]", 0i64..3, 0..5),
        ) {
            let p = pulled(json!(a), false);
            let h = held(json!(b), false);
            let named = compare(&p, Some(&h)).map(|d| d.fields).unwrap_or_default();
            for k in "abcde".chars().map(String::from) {
                prop_assert_eq!(named.contains(&k), a.get(&k) != b.get(&k), "{}", k);
            }
        }
    }
}
