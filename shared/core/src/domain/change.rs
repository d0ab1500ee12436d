//! A validated change to one entity, whatever its source: what the worker
//! applies with the ordering rule. Supplier webhooks carry catalog items;
//! pulls from the POS carry items, categories, locations, orders and
//! inventory counts as documents.

use super::ids::{check_entity_id, EntityKey, EntityKind, EventId, TenantId, ValidationError};
use super::ordering::Version;
use super::supplier::SupplierEvent;
use super::time::{canonical_time, parse_rfc3339_millis, MAX_FUTURE_SKEW_MILLIS};
use serde_json::{Map, Value};

/// A change ready for the conditional write.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityChange {
    pub key: EntityKey,
    pub version: Version,
    /// The source time, canonical RFC 3339.
    pub updated_at: String,
    pub body: ChangeBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChangeBody {
    Supplier(SupplierEvent),
    /// A source object normalized to named attributes; `deleted` marks a
    /// tombstone (deleted at the source, or absent from a complete full pull).
    Document {
        source: String,
        attributes: Map<String, Value>,
        deleted: bool,
    },
}

impl EntityChange {
    /// Why this change deletes its entity, if it does.
    pub fn tombstone_reason(&self) -> Option<String> {
        match &self.body {
            ChangeBody::Document {
                deleted: true,
                attributes,
                ..
            } => Some(
                attributes
                    .get("deletedReason")
                    .and_then(Value::as_str)
                    .unwrap_or("deleted at the source")
                    .to_owned(),
            ),
            _ => None,
        }
    }
}

impl SupplierEvent {
    /// The supplier's item change, keyed by its SKU.
    pub fn into_change(self, tenant: TenantId) -> EntityChange {
        EntityChange {
            key: EntityKey {
                tenant,
                kind: EntityKind::CatalogItem,
                id: self.sku.to_string(),
            },
            version: Version {
                source_millis: self.updated_millis,
                event_id: self.event_id.clone(),
            },
            updated_at: self.updated_at.clone(),
            body: ChangeBody::Supplier(self),
        }
    }
}

pub use super::ids::MAX_ENTITY_ID;

pub use synchub_model::PulledObject;

/// A pulled object validated into a change.
pub trait IntoChange {
    /// Validates the object into a change; the error names the field and rule.
    fn into_change(
        self,
        tenant: TenantId,
        source: &str,
        now_millis: i64,
    ) -> Result<EntityChange, ValidationError>;
}

impl IntoChange for PulledObject {
    fn into_change(
        self,
        tenant: TenantId,
        source: &str,
        now_millis: i64,
    ) -> Result<EntityChange, ValidationError> {
        check_entity_id("id", &self.id)?;
        let (t, millis) = parse_rfc3339_millis(&self.updated_at)
            .map_err(|rule| ValidationError::new("updatedAt", rule))?;
        if millis > now_millis.saturating_add(MAX_FUTURE_SKEW_MILLIS) {
            return Err(ValidationError::new(
                "updatedAt",
                "must not be more than 1 hour in the future",
            ));
        }
        let event_id = EventId::parse(&self.event_id)?;
        Ok(EntityChange {
            key: EntityKey {
                tenant,
                kind: self.kind,
                id: self.id,
            },
            version: Version {
                source_millis: millis,
                event_id,
            },
            updated_at: canonical_time(t),
            body: ChangeBody::Document {
                source: source.to_owned(),
                attributes: self.attributes,
                deleted: self.deleted,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EntityKind;
    use serde_json::{Map, Value};

    fn object() -> PulledObject {
        PulledObject {
            kind: EntityKind::Item,
            id: "ITEM000001".into(),
            updated_at: "2026-06-01T10:00:01+02:00".into(),
            event_id: "sq-ITEM000001-v1001".into(),
            deleted: false,
            attributes: Map::from_iter([("name".to_owned(), Value::from("Item 1"))]),
        }
    }

    #[test]
    fn a_pulled_object_becomes_a_document_change_at_its_source_time() {
        let c = object()
            .into_change(TenantId::parse("t1").unwrap(), "square", i64::MAX / 2)
            .unwrap();
        assert_eq!(c.updated_at, "2026-06-01T08:00:01.000Z");
        assert_eq!(c.key.item_sort_key(), "item#ITEM000001");
        assert!(
            matches!(c.body, ChangeBody::Document { ref source, deleted: false, .. } if source == "square")
        );
    }

    #[test]
    fn bad_objects_name_the_field() {
        let t = || TenantId::parse("t1").unwrap();
        let mut o = object();
        o.id = "a#b".into();
        assert_eq!(o.into_change(t(), "square", 0).unwrap_err().field, "id");
        let mut o = object();
        o.id = "ITEM1/../ITEM2".into();
        assert_eq!(
            o.into_change(t(), "square", 0).unwrap_err(),
            ValidationError::new("id", super::super::ids::DOT_SEGMENT_RULE)
        );
        let mut o = object();
        o.updated_at = "yesterday".into();
        assert_eq!(
            o.into_change(t(), "square", 0).unwrap_err().field,
            "updatedAt"
        );
        let mut o = object();
        o.event_id = "".into();
        assert_eq!(
            o.into_change(t(), "square", i64::MAX / 2)
                .unwrap_err()
                .field,
            "eventId"
        );
    }
}
