//! Square objects normalized into [`PulledObject`]s, per data type of the
//! daily pull: each object deserializes into its typed shape, then converts.
//! Pure: the HTTP client lives in the adapters.

use super::change::PulledObject;
use super::ids::{check_entity_id, required, typed, EntityKind, SourceSku, ValidationError};
use super::time::{canonical_time, parse_rfc3339_millis};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use synchub_model::DataType;

/// A Square id (object, location, order, customer): a non-empty string that
/// keeps the entity-id rule, since it becomes (part of) one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SquareId(pub(crate) String);

impl<'de> Deserialize<'de> for SquareId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(id) = Text::deserialize(d)?;
        check_entity_id("id", &id).map_err(|e| D::Error::custom(e.rule))?;
        Ok(Self(id))
    }
}

pub(crate) const NON_EMPTY: &str = "is required (a non-empty string)";

/// A non-empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub(crate) String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if !s.is_empty() => Ok(Self(s)),
            _ => Err(D::Error::custom("must be a non-empty string")),
        }
    }
}

/// A decimal number spelled as a string, as Square sends quantities.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decimal(String);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if s.parse::<f64>().is_ok_and(f64::is_finite) => Ok(Self(s)),
            _ => Err(D::Error::custom("must be a decimal number as a string")),
        }
    }
}

/// Square's `Money`, kept as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Money {
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
}

/// Sets `name` when the payload carried a value.
pub(crate) fn put(attributes: &mut Map<String, Value>, name: &str, value: Option<impl Serialize>) {
    if let Some(v) = value.and_then(|v| serde_json::to_value(v).ok()) {
        attributes.insert(name.to_owned(), v);
    }
}

/// A `CatalogObject` of type `ITEM` or `CATEGORY`.
#[derive(Deserialize)]
struct CatalogObject {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<SquareId>,
    version: Option<i64>,
    updated_at: Option<Text>,
    is_deleted: Option<bool>,
    item_data: Option<ItemData>,
    category_data: Option<CategoryData>,
}

#[derive(Deserialize, Default)]
struct ItemData {
    name: Option<String>,
    description: Option<String>,
    category_id: Option<String>,
    categories: Option<Vec<CategoryRef>>,
    variations: Option<Vec<Variation>>,
}

#[derive(Deserialize)]
struct CategoryRef {
    id: Option<String>,
}

#[derive(Deserialize, Default)]
struct CategoryData {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Variation {
    id: Option<String>,
    item_variation_data: Option<VariationData>,
}

#[derive(Deserialize)]
struct VariationData {
    sku: Option<SourceSku>,
    price_money: Option<Money>,
}

/// A variation as synchub keeps it (absent values as null).
#[derive(Serialize)]
struct VariationOut {
    id: Option<String>,
    sku: Option<SourceSku>,
    price: Option<Money>,
}

impl ItemData {
    fn into_attributes(self) -> Map<String, Value> {
        let mut attributes = Map::new();
        put(&mut attributes, "name", self.name);
        put(&mut attributes, "description", self.description);
        let first_category = || self.categories?.into_iter().next()?.id;
        put(
            &mut attributes,
            "categoryId",
            self.category_id.or_else(first_category),
        );
        let variations: Vec<VariationOut> = self
            .variations
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let (sku, price) = v
                    .item_variation_data
                    .map_or((None, None), |d| (d.sku, d.price_money));
                VariationOut {
                    id: v.id,
                    sku,
                    price,
                }
            })
            .collect();
        put(&mut attributes, "variations", Some(variations));
        attributes
    }
}

impl CatalogObject {
    fn into_object(self, data_type: DataType) -> Result<PulledObject, ValidationError> {
        let SquareId(id) = required(self.id, "id", NON_EMPTY)?;
        let expected = if data_type == DataType::Catalog {
            "ITEM"
        } else {
            "CATEGORY"
        };
        if self.kind.as_deref() != Some(expected) {
            return Err(ValidationError::new("type", format!("must be {expected}")));
        }
        let version = required(self.version, "version", "is required (a number)")?;
        let Text(updated_at) = required(self.updated_at, "updated_at", NON_EMPTY)?;
        let mut attributes = if data_type == DataType::Catalog {
            self.item_data.unwrap_or_default().into_attributes()
        } else {
            let mut attributes = Map::new();
            put(
                &mut attributes,
                "name",
                self.category_data.unwrap_or_default().name,
            );
            attributes
        };
        attributes.insert("version".into(), Value::from(version));
        Ok(PulledObject {
            kind: data_type.kind(),
            event_id: format!("sq-{id}-v{version}"),
            id,
            updated_at,
            deleted: self.is_deleted.unwrap_or(false),
            attributes,
        })
    }
}

/// A `Location`: it carries no change time.
#[derive(Deserialize)]
struct Location {
    id: Option<SquareId>,
    name: Option<String>,
    status: Option<String>,
    timezone: Option<String>,
    currency: Option<String>,
}

impl Location {
    fn into_object(self, pulled_at_millis: i64) -> Result<PulledObject, ValidationError> {
        let SquareId(id) = required(self.id, "id", NON_EMPTY)?;
        let mut attributes = Map::new();
        put(&mut attributes, "name", self.name);
        put(&mut attributes, "status", self.status);
        put(&mut attributes, "timezone", self.timezone);
        put(&mut attributes, "currency", self.currency);
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(pulled_at_millis) * 1_000_000,
        )
        .map_err(|_| ValidationError::new("pulledAt", "is out of range"))?;
        Ok(PulledObject {
            kind: EntityKind::Location,
            event_id: format!("sq-{id}-p{pulled_at_millis}"),
            id,
            updated_at: canonical_time(at),
            deleted: false,
            attributes,
        })
    }
}

/// An `Order` as the pull lists it.
#[derive(Deserialize)]
struct Order {
    id: Option<SquareId>,
    updated_at: Option<Text>,
    location_id: Option<String>,
    state: Option<String>,
    total_money: Option<Money>,
    created_at: Option<String>,
    version: Option<i64>,
}

impl Order {
    fn into_object(self) -> Result<PulledObject, ValidationError> {
        let SquareId(id) = required(self.id, "id", NON_EMPTY)?;
        let Text(updated_at) = required(self.updated_at, "updated_at", NON_EMPTY)?;
        let mut attributes = Map::new();
        put(&mut attributes, "locationId", self.location_id);
        put(&mut attributes, "state", self.state);
        put(&mut attributes, "totalMoney", self.total_money);
        put(&mut attributes, "createdAt", self.created_at);
        let event_id = match self.version {
            Some(v) => format!("sq-{id}-v{v}"),
            None => format!(
                "sq-{id}-t{}",
                parse_rfc3339_millis(&updated_at)
                    .map_err(|r| ValidationError::new("updated_at", r))?
                    .1
            ),
        };
        Ok(PulledObject {
            kind: EntityKind::Order,
            id,
            updated_at,
            event_id,
            deleted: false,
            attributes,
        })
    }
}

/// An `InventoryCount`: the pull's and the `inventory.count.updated`
/// webhook's.
#[derive(Deserialize)]
pub(crate) struct InventoryCount {
    catalog_object_id: Option<SquareId>,
    location_id: Option<SquareId>,
    calculated_at: Option<Text>,
    quantity: Option<Decimal>,
    state: Option<String>,
}

impl InventoryCount {
    /// Field names in the error are the count's own (`quantity`).
    pub(crate) fn into_object(self) -> Result<PulledObject, ValidationError> {
        let SquareId(object_id) = required(self.catalog_object_id, "catalog_object_id", NON_EMPTY)?;
        let SquareId(location) = required(self.location_id, "location_id", NON_EMPTY)?;
        let Text(calculated_at) = required(self.calculated_at, "calculated_at", NON_EMPTY)?;
        let Decimal(quantity) = required(self.quantity, "quantity", NON_EMPTY)?;
        let millis = parse_rfc3339_millis(&calculated_at)
            .map_err(|r| ValidationError::new("calculated_at", r))?
            .1;
        let mut attributes = Map::new();
        attributes.insert("catalogObjectId".into(), Value::from(object_id.as_str()));
        attributes.insert("locationId".into(), Value::from(location.as_str()));
        attributes.insert("quantity".into(), Value::from(quantity));
        put(&mut attributes, "state", self.state);
        Ok(PulledObject {
            kind: EntityKind::Inventory,
            event_id: format!("sq-{object_id}-{location}-{millis}"),
            id: format!("{object_id}@{location}"),
            updated_at: calculated_at,
            deleted: false,
            attributes,
        })
    }
}

/// Normalizes one Square object of `data_type`: deserialized into the
/// object's shape (a value of the wrong type is named by its JSON path), then
/// checked. Locations carry no change time, so they are stamped with the
/// pull's time (`pulled_at_millis`): a later pull wins.
pub fn normalize(
    data_type: DataType,
    object: &Value,
    pulled_at_millis: i64,
) -> Result<PulledObject, ValidationError> {
    if !object.is_object() {
        return Err(ValidationError::new("object", "must be a JSON object"));
    }
    match data_type {
        DataType::Catalog | DataType::Categories => {
            typed::<CatalogObject>(object)?.into_object(data_type)
        }
        DataType::Locations => typed::<Location>(object)?.into_object(pulled_at_millis),
        DataType::Orders => typed::<Order>(object)?.into_object(),
        DataType::Inventory => typed::<InventoryCount>(object)?.into_object(),
    }
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
    use serde_json::json;

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
    fn a_value_of_the_wrong_type_is_named_by_its_path() {
        let item = |data: Value| json!({"type": "ITEM", "id": "ITEM1", "version": 1, "updated_at": "2026-06-01T10:00:00Z", "item_data": data});
        for (object, field) in [
            (
                item(
                    json!({"variations": [{"id": "V1", "item_variation_data": {"price_money": {"amount": "5"}}}]}),
                ),
                "item_data.variations[0].item_variation_data.price_money.amount",
            ),
            (
                item(
                    json!({"variations": [{"id": "V1", "item_variation_data": {"sku": "../MUG"}}]}),
                ),
                "item_data.variations[0].item_variation_data.sku",
            ),
            (item(json!({"name": 7})), "item_data.name"),
            (
                json!({"type": "ITEM", "id": "ITEM1", "version": 1.5}),
                "version",
            ),
            (
                json!({"type": "ITEM", "id": "../ITEM1", "version": 1}),
                "id",
            ),
            (json!({"type": "ITEM", "id": "", "version": 1}), "id"),
        ] {
            assert_eq!(
                normalize(DataType::Catalog, &object, 0).unwrap_err().field,
                field,
                "{object}"
            );
        }
        assert_eq!(
            normalize(
                DataType::Orders,
                &json!({"id": "O1", "updated_at": "2026-06-01T10:00:00Z", "version": "2"}),
                0
            )
            .unwrap_err()
            .field,
            "version"
        );
        assert_eq!(
            normalize(DataType::Inventory, &json!({"catalog_object_id": "..", "location_id": "L1", "quantity": "1", "calculated_at": "2026-06-01T10:00:00Z"}), 0)
                .unwrap_err(),
            ValidationError::new("catalog_object_id", super::super::ids::DOT_SEGMENT_RULE)
        );
        assert_eq!(
            normalize(DataType::Locations, &json!(["LOC1"]), 0)
                .unwrap_err()
                .field,
            "object"
        );
    }

    #[test]
    fn the_pulled_shapes_normalize_as_before() {
        let order = json!({"id": "ORD1", "location_id": "LOC1", "version": 2, "state": "OPEN", "created_at": "2026-06-01T09:00:00Z",
            "updated_at": "2026-06-01T10:00:00Z", "total_money": {"amount": 1000, "currency": "USD"}});
        let o = normalize(DataType::Orders, &order, 0).unwrap();
        assert_eq!((o.id.as_str(), o.event_id.as_str()), ("ORD1", "sq-ORD1-v2"));
        assert_eq!(
            o.attributes["totalMoney"],
            json!({"amount": 1000, "currency": "USD"})
        );
        let mut unversioned = order.clone();
        unversioned.as_object_mut().unwrap().remove("version");
        assert_eq!(
            normalize(DataType::Orders, &unversioned, 0)
                .unwrap()
                .event_id,
            "sq-ORD1-t1780308000000"
        );
        let location = json!({"id": "LOC1", "name": "Store", "status": "ACTIVE", "timezone": "America/New_York", "currency": "USD"});
        let l = normalize(DataType::Locations, &location, 1_780_308_000_000).unwrap();
        assert_eq!(
            (l.updated_at.as_str(), l.event_id.as_str()),
            ("2026-06-01T10:00:00.000Z", "sq-LOC1-p1780308000000")
        );
        assert_eq!(l.attributes["timezone"], "America/New_York");
        let category = json!({"type": "CATEGORY", "id": "CAT1", "version": 5, "is_deleted": true, "updated_at": "2026-06-01T10:00:00Z", "category_data": {"name": "Mugs"}});
        let c = normalize(DataType::Categories, &category, 0).unwrap();
        assert!(c.deleted);
        assert_eq!(
            Value::Object(c.attributes),
            json!({"name": "Mugs", "version": 5})
        );
        let item = json!({"type": "ITEM", "id": "ITEM1", "version": 3, "updated_at": "2026-06-01T10:00:00Z",
            "item_data": {"name": "Mug", "categories": [{"id": "CAT1"}], "variations": [{"id": "VAR1"}]}});
        let i = normalize(DataType::Catalog, &item, 0).unwrap();
        assert_eq!(i.attributes["categoryId"], "CAT1");
        assert_eq!(
            i.attributes["variations"],
            json!([{"id": "VAR1", "sku": null, "price": null}])
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
