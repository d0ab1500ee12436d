//! Square objects normalized into [`PulledObject`]s, per data type of the
//! daily pull. Pure: the HTTP client lives in the adapters.

use super::change::PulledObject;
use super::ids::{EntityKind, ValidationError};
use super::time::{canonical_time, parse_rfc3339_millis};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// What the daily sync pulls, one run per (tenant, data type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Orders,
    Catalog,
    Categories,
    Locations,
    Inventory,
}

impl DataType {
    pub const ALL: [DataType; 5] = [
        DataType::Orders,
        DataType::Catalog,
        DataType::Categories,
        DataType::Locations,
        DataType::Inventory,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Orders => "orders",
            DataType::Catalog => "catalog",
            DataType::Categories => "categories",
            DataType::Locations => "locations",
            DataType::Inventory => "inventory",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// Full pulls return every object, so what they miss was deleted.
    pub fn is_full(self) -> bool {
        matches!(
            self,
            DataType::Catalog | DataType::Categories | DataType::Locations
        )
    }

    pub fn kind(self) -> EntityKind {
        match self {
            DataType::Orders => EntityKind::Order,
            DataType::Catalog => EntityKind::Item,
            DataType::Categories => EntityKind::Category,
            DataType::Locations => EntityKind::Location,
            DataType::Inventory => EntityKind::Inventory,
        }
    }
}

impl std::fmt::Display for DataType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, ValidationError> {
    v.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ValidationError::new(field, "is required (a non-empty string)"))
}

fn keep(attributes: &mut Map<String, Value>, name: &str, value: Option<&Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        attributes.insert(name.to_owned(), v.clone());
    }
}

/// Normalizes one Square object of `data_type`. Locations carry no change
/// time, so they are stamped with the pull's time (`pulled_at_millis`): a
/// later pull wins.
pub fn normalize(
    data_type: DataType,
    object: &Value,
    pulled_at_millis: i64,
) -> Result<PulledObject, ValidationError> {
    let id = text(object, "id").map(str::to_owned);
    let mut attributes = Map::new();
    let (id, updated_at, event_id, deleted) = match data_type {
        DataType::Catalog | DataType::Categories => {
            let id = id?;
            let expected = if data_type == DataType::Catalog {
                "ITEM"
            } else {
                "CATEGORY"
            };
            if object.get("type").and_then(Value::as_str) != Some(expected) {
                return Err(ValidationError::new("type", format!("must be {expected}")));
            }
            let version = object
                .get("version")
                .and_then(Value::as_i64)
                .ok_or_else(|| ValidationError::new("version", "is required (a number)"))?;
            let updated_at = text(object, "updated_at")?.to_owned();
            let data = if data_type == DataType::Catalog {
                &object["item_data"]
            } else {
                &object["category_data"]
            };
            keep(&mut attributes, "name", data.get("name"));
            if data_type == DataType::Catalog {
                keep(&mut attributes, "description", data.get("description"));
                keep(
                    &mut attributes,
                    "categoryId",
                    data.get("category_id")
                        .or_else(|| data.pointer("/categories/0/id")),
                );
                let variations: Vec<Value> = data["variations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| json!({"id": v["id"], "sku": v.pointer("/item_variation_data/sku"), "price": v.pointer("/item_variation_data/price_money")}))
                    .collect();
                attributes.insert("variations".into(), Value::Array(variations));
            }
            attributes.insert("version".into(), Value::from(version));
            let event_id = format!("sq-{id}-v{version}");
            (
                id,
                updated_at,
                event_id,
                object
                    .get("is_deleted")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            )
        }
        DataType::Locations => {
            let id = id?;
            for (name, field) in [
                ("name", "name"),
                ("status", "status"),
                ("timezone", "timezone"),
                ("currency", "currency"),
            ] {
                keep(&mut attributes, name, object.get(field));
            }
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(pulled_at_millis) * 1_000_000,
            )
            .map_err(|_| ValidationError::new("pulledAt", "is out of range"))?;
            (
                id.clone(),
                canonical_time(at),
                format!("sq-{id}-p{pulled_at_millis}"),
                false,
            )
        }
        DataType::Orders => {
            let id = id?;
            let updated_at = text(object, "updated_at")?.to_owned();
            for (name, field) in [
                ("locationId", "location_id"),
                ("state", "state"),
                ("totalMoney", "total_money"),
                ("createdAt", "created_at"),
            ] {
                keep(&mut attributes, name, object.get(field));
            }
            let event_id = match object.get("version").and_then(Value::as_i64) {
                Some(v) => format!("sq-{id}-v{v}"),
                None => format!(
                    "sq-{id}-t{}",
                    parse_rfc3339_millis(&updated_at)
                        .map_err(|r| ValidationError::new("updated_at", r))?
                        .1
                ),
            };
            (id, updated_at, event_id, false)
        }
        DataType::Inventory => {
            let object_id = text(object, "catalog_object_id")?;
            let location = text(object, "location_id")?;
            let calculated_at = text(object, "calculated_at")?.to_owned();
            let quantity = text(object, "quantity")?;
            if quantity.parse::<f64>().map_or(true, |q| !q.is_finite()) {
                return Err(ValidationError::new(
                    "quantity",
                    "must be a decimal number as a string",
                ));
            }
            attributes.insert("catalogObjectId".into(), Value::from(object_id));
            attributes.insert("locationId".into(), Value::from(location));
            attributes.insert("quantity".into(), Value::from(quantity));
            keep(&mut attributes, "state", object.get("state"));
            let millis = parse_rfc3339_millis(&calculated_at)
                .map_err(|r| ValidationError::new("calculated_at", r))?
                .1;
            (
                format!("{object_id}@{location}"),
                calculated_at,
                format!("sq-{object_id}-{location}-{millis}"),
                false,
            )
        }
    };
    Ok(PulledObject {
        kind: data_type.kind(),
        id,
        updated_at,
        event_id,
        deleted,
        attributes,
    })
}

/// The tombstone of an entity a complete full pull no longer returned.
pub fn absent(
    kind: EntityKind,
    id: &str,
    run_started_millis: i64,
    run_started_at: &str,
) -> PulledObject {
    let mut attributes = Map::new();
    attributes.insert("deletedReason".into(), Value::from("absent from full sync"));
    PulledObject {
        kind,
        id: id.to_owned(),
        updated_at: run_started_at.to_owned(),
        event_id: format!("sq-{id}-absent-{run_started_millis}"),
        deleted: true,
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_item_keeps_name_variations_and_version() {
        let item = json!({"type": "ITEM", "id": "ITEM1", "version": 1042, "updated_at": "2026-06-01T10:00:00.000Z", "is_deleted": false,
            "item_data": {"name": "Mug", "variations": [{"id": "VAR1", "item_variation_data": {"sku": "MUG-1", "price_money": {"amount": 500, "currency": "USD"}}}]}});
        let o = normalize(DataType::Catalog, &item, 0).unwrap();
        assert_eq!(
            (o.kind, o.id.as_str(), o.event_id.as_str(), o.deleted),
            (EntityKind::Item, "ITEM1", "sq-ITEM1-v1042", false)
        );
        assert_eq!(o.attributes["name"], "Mug");
        assert_eq!(o.attributes["variations"][0]["sku"], "MUG-1");
    }

    #[test]
    fn an_inventory_count_is_keyed_by_object_and_location() {
        let count = json!({"catalog_object_id": "VAR1", "location_id": "LOC1", "state": "IN_STOCK", "quantity": "7", "calculated_at": "2026-06-01T10:00:00.000Z"});
        let o = normalize(DataType::Inventory, &count, 0).unwrap();
        assert_eq!(o.id, "VAR1@LOC1");
        assert_eq!(o.attributes["quantity"], "7");
        let bad = json!({"catalog_object_id": "VAR1", "location_id": "LOC1", "quantity": "seven", "calculated_at": "2026-06-01T10:00:00.000Z"});
        assert_eq!(
            normalize(DataType::Inventory, &bad, 0).unwrap_err().field,
            "quantity"
        );
    }

    #[test]
    fn malformed_objects_name_the_field() {
        assert_eq!(
            normalize(
                DataType::Catalog,
                &json!({"type": "ITEM", "id": "X", "updated_at": "2026-06-01T10:00:00Z"}),
                0
            )
            .unwrap_err()
            .field,
            "version"
        );
        assert_eq!(
            normalize(DataType::Orders, &json!({"id": "O1"}), 0)
                .unwrap_err()
                .field,
            "updated_at"
        );
        assert_eq!(
            normalize(
                DataType::Categories,
                &json!({"type": "ITEM", "id": "C", "version": 1, "updated_at": "x"}),
                0
            )
            .unwrap_err()
            .field,
            "type"
        );
        assert_eq!(
            normalize(DataType::Locations, &json!({"name": "no id"}), 0)
                .unwrap_err()
                .field,
            "id"
        );
    }

    #[test]
    fn data_types_round_trip_their_names() {
        for d in DataType::ALL {
            assert_eq!(DataType::parse(d.as_str()), Some(d));
        }
        assert!(DataType::Catalog.is_full() && !DataType::Orders.is_full());
    }
}
