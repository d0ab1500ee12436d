//! Square webhooks (`{merchant_id, type, event_id, created_at, data: {type,
//! id, object}}`): each topic synchub takes has its `data.object`'s shape,
//! and converts into the changes it carries. Objects keep Square's own ids
//! (the daily pull's too), so pushed and pulled versions meet.

use super::{ignored, Email, Inbound, InboundEvent, Person};
use crate::domain::change::PulledObject;
use crate::domain::ids::{required, typed, EntityKind, ValidationError};
use crate::domain::square::{put, InventoryCount, SquareId, Text, NON_EMPTY};
use crate::domain::time::parse_rfc3339_millis;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// What every notification says about itself.
#[derive(Deserialize)]
struct Envelope {
    event_id: Option<Text>,
    #[serde(rename = "type")]
    topic: Option<Text>,
}

/// A notification's `data.object`, of the shape its topic carries.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de> + Default"))]
struct Notification<T> {
    #[serde(default, deserialize_with = "null_as_default")]
    data: Data<T>,
}

#[derive(Deserialize, Default)]
#[serde(bound(deserialize = "T: Deserialize<'de> + Default"))]
struct Data<T> {
    #[serde(default, deserialize_with = "null_as_default")]
    object: T,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn object<T: for<'de> Deserialize<'de> + Default>(payload: &Value) -> Result<T, ValidationError> {
    Ok(typed::<Notification<T>>(payload)?.data.object)
}

/// Objects without a version take the notification's id.
fn event_id_of(id: &str, version: Option<i64>, event_id: &str) -> String {
    version.map_or_else(|| event_id.to_owned(), |v| format!("sq-{id}-v{v}"))
}

/// A change time Square stamped; kept as sent once it reads as one.
fn change_time(text: Option<String>, field: &str) -> Result<String, ValidationError> {
    let text = required(text, field, "is required")?;
    parse_rfc3339_millis(&text).map_err(|rule| ValidationError::new(field, rule))?;
    Ok(text)
}

/// `customer.created`, `customer.updated`.
#[derive(Deserialize, Default)]
struct CustomerObject {
    customer: Option<Customer>,
}

#[derive(Deserialize)]
struct Customer {
    id: Option<SquareId>,
    updated_at: Option<String>,
    email_address: Option<Email>,
    given_name: Option<String>,
    family_name: Option<String>,
    phone_number: Option<String>,
    version: Option<i64>,
}

impl Customer {
    /// Field names in the error are the customer's own (`id`).
    fn into_object(self, event_id: &str) -> Result<PulledObject, ValidationError> {
        let SquareId(id) = required(self.id, "id", "is required")?;
        let updated_at = change_time(self.updated_at, "updated_at")?;
        let mut attributes = Person {
            email: self.email_address,
            first_name: self.given_name,
            last_name: self.family_name,
            phone: self.phone_number,
        }
        .into_attributes();
        attributes.insert("squareCustomerId".into(), Value::from(id.as_str()));
        Ok(PulledObject {
            kind: EntityKind::Customer,
            event_id: event_id_of(&id, self.version, event_id),
            id,
            updated_at,
            deleted: false,
            attributes,
        })
    }
}

/// `order.created` (`order_created`), `order.updated` (`order_updated`).
#[derive(Deserialize, Default)]
struct OrderObject {
    order_created: Option<OrderNotice>,
    order_updated: Option<OrderNotice>,
}

#[derive(Deserialize)]
struct OrderNotice {
    order_id: Option<SquareId>,
    updated_at: Option<String>,
    created_at: Option<String>,
    location_id: Option<String>,
    state: Option<String>,
    version: Option<i64>,
}

impl OrderNotice {
    /// Field names in the error are the notice's own (`order_id`).
    fn into_object(self, event_id: &str) -> Result<PulledObject, ValidationError> {
        let SquareId(id) = required(self.order_id, "order_id", "is required")?;
        // `order.created` carries no `updated_at`: its creation is its change.
        let updated_at = change_time(self.updated_at.or(self.created_at.clone()), "updated_at")?;
        let mut attributes = serde_json::Map::new();
        put(&mut attributes, "locationId", self.location_id);
        put(&mut attributes, "state", self.state);
        put(&mut attributes, "createdAt", self.created_at);
        Ok(PulledObject {
            kind: EntityKind::Order,
            event_id: event_id_of(&id, self.version, event_id),
            id,
            updated_at,
            deleted: false,
            attributes,
        })
    }
}

/// `inventory.count.updated`: one change per count.
#[derive(Deserialize, Default)]
struct InventoryObject {
    inventory_counts: Option<Vec<InventoryCount>>,
}

impl InventoryObject {
    fn into_objects(self) -> Result<Vec<PulledObject>, ValidationError> {
        let path = "data.object.inventory_counts";
        let counts = required(self.inventory_counts, path, "is required (an array)")?;
        counts
            .into_iter()
            .enumerate()
            .map(|(i, count)| {
                count
                    .into_object()
                    .map_err(|e| e.within(&format!("{path}[{i}]")))
            })
            .collect()
    }
}

/// The one object a topic carries, converted; its errors named by their
/// whole path.
fn one<T>(
    object: Option<T>,
    path: &str,
    convert: impl FnOnce(T) -> Result<PulledObject, ValidationError>,
) -> Result<Inbound, ValidationError> {
    let object = required(object, path, "is required")?;
    Ok(Inbound::Objects(vec![
        convert(object).map_err(|e| e.within(path))?
    ]))
}

/// Normalizes a verified Square webhook. Every topic carries its own change
/// time, so `now_millis` is not needed.
pub fn square_event(payload: &Value, _now_millis: i64) -> Result<InboundEvent, ValidationError> {
    if !payload.is_object() {
        return Err(ValidationError::new("body", "must be a JSON object"));
    }
    let envelope: Envelope = typed(payload)?;
    let Text(event_id) = required(envelope.event_id, "event_id", NON_EMPTY)?;
    let Text(topic) = required(envelope.topic, "type", NON_EMPTY)?;
    let inbound = match topic.as_str() {
        "customer.created" | "customer.updated" => one(
            object::<CustomerObject>(payload)?.customer,
            "data.object.customer",
            |customer| customer.into_object(&event_id),
        )?,
        "order.created" => one(
            object::<OrderObject>(payload)?.order_created,
            "data.object.order_created",
            |order| order.into_object(&event_id),
        )?,
        "order.updated" => one(
            object::<OrderObject>(payload)?.order_updated,
            "data.object.order_updated",
            |order| order.into_object(&event_id),
        )?,
        "inventory.count.updated" => {
            Inbound::Objects(object::<InventoryObject>(payload)?.into_objects()?)
        }
        "catalog.version.updated" => Inbound::CatalogPull,
        other => ignored(other),
    };
    Ok(InboundEvent {
        event_id,
        topic,
        inbound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_780_000_000_000;

    #[test]
    fn square_customer_and_inventory_events() {
        // Shaped like Square's customer.created example.
        let created = json!({"merchant_id": "6SSW7HV8K2ST5", "type": "customer.created", "event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
            "created_at": "2020-05-05T15:41:13.528Z", "data": {"type": "customer", "id": "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK",
            "object": {"customer": {"id": "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK", "created_at": "2020-05-05T15:41:13.520Z", "updated_at": "2020-05-05T15:41:13Z",
            "given_name": "Amelia", "family_name": "Earhart", "email_address": "Amelia.Earhart@example.com", "version": 0}}}});
        let e = square_event(&created, NOW).unwrap();
        let Inbound::Objects(o) = e.inbound else {
            panic!()
        };
        assert_eq!(
            (o[0].id.as_str(), o[0].event_id.as_str()),
            (
                "A0AP25A6ZH2Z6HZ9H6X6Y3V6RK",
                "sq-A0AP25A6ZH2Z6HZ9H6X6Y3V6RK-v0"
            )
        );
        assert_eq!(e.event_id, "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc");

        let counts = json!({"type": "inventory.count.updated", "event_id": "e2", "data": {"object": {"inventory_counts": [
            {"catalog_object_id": "VAR1", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK", "location_id": "L1", "quantity": "3", "calculated_at": "2026-06-01T10:00:00Z"},
            {"catalog_object_id": "VAR2", "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK", "location_id": "L1", "quantity": "5", "calculated_at": "2026-06-01T10:00:00Z"}]}}});
        let Inbound::Objects(o) = square_event(&counts, NOW).unwrap().inbound else {
            panic!()
        };
        assert_eq!(
            o.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
            ["VAR1@L1", "VAR2@L1"]
        );

        assert_eq!(
            square_event(
                &json!({"type": "catalog.version.updated", "event_id": "e3", "data": {}}),
                NOW
            )
            .unwrap()
            .inbound,
            Inbound::CatalogPull
        );
        assert!(matches!(
            square_event(&json!({"type": "payment.created", "event_id": "e4"}), NOW)
                .unwrap()
                .inbound,
            Inbound::Record {
                outcome: "ignored",
                ..
            }
        ));
        assert_eq!(
            square_event(
                &json!({"type": "order.updated", "event_id": "e5", "data": {"object": {}}}),
                NOW
            )
            .unwrap_err()
            .field,
            "data.object.order_updated"
        );
        assert_eq!(
            square_event(&json!({"type": "customer.created"}), NOW)
                .unwrap_err()
                .field,
            "event_id"
        );
    }

    fn objects(e: InboundEvent) -> Vec<PulledObject> {
        match e.inbound {
            Inbound::Objects(o) => o,
            other => panic!("expected objects, got {other:?}"),
        }
    }

    #[test]
    fn square_orders_from_the_documented_notifications() {
        // Square's order.created example: no updated_at, its creation is its change.
        let created = json!({"merchant_id": "5S9MXCS9Y99KK", "type": "order.created", "event_id": "116038d3-2948-439f-8679-fc86dbf80f69",
            "created_at": "2020-04-16T23:14:26.129Z", "data": {"type": "order", "id": "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", "object": {"order_created": {
            "created_at": "2020-04-16T23:14:26.129Z", "location_id": "FPYCBCHYMXFK1", "order_id": "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", "state": "OPEN", "version": 1}}}});
        let o = objects(square_event(&created, NOW).unwrap());
        assert_eq!(
            (
                o[0].kind,
                o[0].id.as_str(),
                o[0].event_id.as_str(),
                o[0].updated_at.as_str()
            ),
            (
                EntityKind::Order,
                "eA3vssLHKJrv9H0IdJCM3gNqfdcZY",
                "sq-eA3vssLHKJrv9H0IdJCM3gNqfdcZY-v1",
                "2020-04-16T23:14:26.129Z"
            )
        );
        assert_eq!(o[0].attributes["locationId"], "FPYCBCHYMXFK1");

        let updated = json!({"merchant_id": "5S9MXCS9Y99KK", "type": "order.updated", "event_id": "4b8e5c91-9f17-4cf1-900a-4a0629f81add",
            "created_at": "2020-04-16T23:14:26.359Z", "data": {"type": "order", "id": "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", "object": {"order_updated": {
            "created_at": "2020-04-16T23:14:26.129Z", "location_id": "FPYCBCHYMXFK1", "order_id": "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", "state": "OPEN",
            "updated_at": "2020-04-16T23:14:26.359Z", "version": 2}}}});
        let o = objects(square_event(&updated, NOW).unwrap());
        assert_eq!(
            (o[0].event_id.as_str(), o[0].updated_at.as_str()),
            (
                "sq-eA3vssLHKJrv9H0IdJCM3gNqfdcZY-v2",
                "2020-04-16T23:14:26.359Z"
            )
        );
    }

    #[allow(clippy::too_many_lines, reason = "a table of bad inputs, one per line")]
    #[test]
    fn a_square_value_of_the_wrong_shape_is_named_by_its_json_path() {
        let customer = |c: Value| json!({"type": "customer.updated", "event_id": "e1", "data": {"object": {"customer": c}}});
        for (payload, field) in [
            (
                customer(
                    json!({"id": "C1", "updated_at": "2026-06-01T10:00:00Z", "email_address": "nobody"}),
                ),
                "data.object.customer.email_address",
            ),
            (
                customer(json!({"id": "C1", "updated_at": "2026-06-01T10:00:00Z", "version": 1.5})),
                "data.object.customer.version",
            ),
            (
                customer(json!({"id": "../C1", "updated_at": "2026-06-01T10:00:00Z"})),
                "data.object.customer.id",
            ),
            (
                customer(json!({"id": "C1"})),
                "data.object.customer.updated_at",
            ),
            (
                customer(json!({"id": "C1", "updated_at": "soon"})),
                "data.object.customer.updated_at",
            ),
            (customer(json!("C1")), "data.object.customer"),
            (
                json!({"type": "customer.created", "event_id": "e1"}),
                "data.object.customer",
            ),
            (
                json!({"type": "order.created", "event_id": "e1", "data": {"object": {"order_created": {"order_id": "O1"}}}}),
                "data.object.order_created.updated_at",
            ),
            (
                json!({"type": "order.created", "event_id": "e1", "data": {"object": {"order_created": {"order_id": 7}}}}),
                "data.object.order_created.order_id",
            ),
            (
                json!({"type": "inventory.count.updated", "event_id": "e1", "data": {"object": {}}}),
                "data.object.inventory_counts",
            ),
            (
                json!({"type": "inventory.count.updated", "event_id": "e1", "data": {"object": {"inventory_counts": [
                {"catalog_object_id": "V1", "location_id": "L1", "quantity": "1", "calculated_at": "2026-06-01T10:00:00Z"},
                {"catalog_object_id": "V2", "location_id": "L1", "quantity": "many", "calculated_at": "2026-06-01T10:00:00Z"}]}}}),
                "data.object.inventory_counts[1].quantity",
            ),
            (
                json!({"type": "inventory.count.updated", "event_id": "e1", "data": {"object": {"inventory_counts": [
                {"catalog_object_id": "V1", "location_id": "L1", "quantity": "1"}]}}}),
                "data.object.inventory_counts[0].calculated_at",
            ),
            (json!({"type": 5, "event_id": "e1"}), "type"),
            (
                json!({"type": "customer.created", "event_id": ""}),
                "event_id",
            ),
            (json!(["customer.created"]), "body"),
        ] {
            assert_eq!(
                square_event(&payload, NOW).unwrap_err().field,
                field,
                "{payload}"
            );
        }
    }
}
