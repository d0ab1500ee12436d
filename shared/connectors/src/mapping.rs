//! A vendor's record as synchub's normalized change: the records found at
//! the stream's selector, each mapped by the manifest into a `PulledObject`
//! (id, change time, version, tombstone, the attributes kept). A record
//! that cannot be mapped is refused with the manifest's path that failed.

use super::manifest::{Mapping, TimeFormat};
use serde_json::{Map, Value};
use synchub_model::ids::{check_entity_id, EntityKind, ValidationError};
use synchub_model::time::{canonical_time, parse_rfc3339_millis};
use synchub_model::PulledObject;

/// The value at a dotted path (`data.items`, `prices.0.amount`).
pub fn value_at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() || path == "." {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// The records at a selector: a dotted path where `*` flattens a list
/// (`menu_groups.*.menu_items`). A path that ends on a list yields its
/// items; on an object, that one record; on nothing, none.
pub fn records<'a>(body: &'a Value, selector: &str) -> Vec<&'a Value> {
    let mut current = vec![body];
    let segments = selector.split('.').filter(|s| !s.is_empty() && *s != ".");
    for seg in segments {
        current = current
            .into_iter()
            .flat_map(|v| -> Vec<&Value> {
                match (seg, v) {
                    ("*", Value::Array(items)) => items.iter().collect(),
                    (_, Value::Object(m)) => m.get(seg).into_iter().collect(),
                    _ => Vec::new(),
                }
            })
            .collect();
    }
    current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        })
        .collect()
}

fn text_at(record: &Value, path: &str) -> Option<String> {
    match value_at(record, path)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A change time in `format` as (canonical RFC 3339, epoch millis).
pub fn parse_time(value: &Value, format: TimeFormat) -> Result<(String, i64), String> {
    let from_millis = |ms: i64| -> Result<(String, i64), String> {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(|_| "is out of range".to_owned())?;
        Ok((canonical_time(t), ms))
    };
    let number = || -> Result<i64, String> {
        match value {
            Value::Number(n) => n.as_i64().ok_or_else(|| "must be a whole number".into()),
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| "must be a whole number".into()),
            _ => Err("must be a number".into()),
        }
    };
    match format {
        TimeFormat::EpochMillis => from_millis(number()?),
        TimeFormat::EpochSeconds => from_millis(number()?.saturating_mul(1000)),
        TimeFormat::Rfc3339 | TimeFormat::UtcNaive => {
            let text = value.as_str().ok_or("must be a timestamp string")?;
            let parsed = parse_rfc3339_millis(text).or_else(|rule| {
                if format == TimeFormat::UtcNaive {
                    parse_rfc3339_millis(&format!("{text}Z"))
                } else {
                    Err(rule)
                }
            });
            let (t, ms) = parsed.map_err(str::to_owned)?;
            Ok((canonical_time(t), ms))
        }
    }
}

/// The event-id form of an id: the characters an event id allows, and a
/// short hash of the id when any had to be replaced (so two ids never share
/// one).
pub fn event_part(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':') => c,
            _ => '_',
        })
        .take(72)
        .collect();
    if clean == id {
        return clean;
    }
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(id);
    format!("{clean}_{:08x}", hash as u32)
}

/// The record's id: the texts at the mapping's id paths, joined by `@`.
fn record_id(mapping: &Mapping, record: &Value) -> Result<String, ValidationError> {
    let mut parts = Vec::new();
    for path in mapping.id.paths() {
        parts.push(text_at(record, path).ok_or_else(|| {
            ValidationError::new(
                path,
                "is required (a non-empty string or number) to form the id",
            )
        })?);
    }
    let id = parts.join("@");
    check_entity_id(&mapping.id.paths().join("@"), &id)?;
    Ok(id)
}

/// The change time as (canonical RFC 3339, epoch millis, whether it is the
/// pull's time rather than the record's).
fn change_time(
    mapping: &Mapping,
    record: &Value,
    pulled_at_millis: i64,
) -> Result<(String, i64, bool), ValidationError> {
    if mapping.updated_at == "pulled" {
        let v = Value::from(pulled_at_millis);
        let (t, ms) = parse_time(&v, TimeFormat::EpochMillis)
            .map_err(|r| ValidationError::new("pulledAt", r))?;
        return Ok((t, ms, true));
    }
    let v = value_at(record, &mapping.updated_at)
        .filter(|v| !v.is_null())
        .ok_or_else(|| {
            ValidationError::new(&mapping.updated_at, "is required (the change time)")
        })?;
    let (t, ms) = parse_time(v, mapping.updated_at_format)
        .map_err(|r| ValidationError::new(&mapping.updated_at, r))?;
    Ok((t, ms, false))
}

/// The record's version, when the mapping names one and the record has it.
fn record_version(mapping: &Mapping, record: &Value) -> Result<Option<String>, ValidationError> {
    let Some(path) = &mapping.version else {
        return Ok(None);
    };
    match value_at(record, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(_) => Err(ValidationError::new(
            path,
            "must be a whole number (the version)",
        )),
    }
}

/// What makes the event id unique per change: the version, else the pull's
/// or the record's change time.
fn event_suffix(version: Option<String>, pulled: bool, millis: i64) -> String {
    match (version, pulled) {
        (Some(v), _) => format!("v{v}"),
        (None, true) => format!("p{millis}"),
        (None, false) => format!("t{millis}"),
    }
}

/// The attributes the mapping keeps, and the typed catalog fields at `catalog`.
fn kept_attributes(
    mapping: &Mapping,
    record: &Value,
) -> Result<Map<String, Value>, ValidationError> {
    let mut attributes = Map::new();
    for (name, path) in &mapping.attributes {
        if let Some(v) = value_at(record, path).filter(|v| !v.is_null()) {
            attributes.insert(name.clone(), v.clone());
        }
    }
    if let Some(paths) = &mapping.catalog {
        let typed = super::catalog::catalog_fields(paths, record)?;
        attributes.insert(
            "catalog".into(),
            serde_json::to_value(typed).expect("typed fields serialize"),
        );
    }
    Ok(attributes)
}

/// Maps one record. `source` prefixes event ids (the connector's name);
/// `pulled_at_millis` stamps records whose mapping says `updated_at: pulled`.
pub fn normalize(
    source: &str,
    kind: EntityKind,
    mapping: &Mapping,
    record: &Value,
    pulled_at_millis: i64,
) -> Result<PulledObject, ValidationError> {
    if !record.is_object() {
        return Err(ValidationError::new("record", "must be a JSON object"));
    }
    let id = record_id(mapping, record)?;
    let (updated_at, millis, pulled) = change_time(mapping, record, pulled_at_millis)?;
    let suffix = event_suffix(record_version(mapping, record)?, pulled, millis);
    let deleted = mapping
        .deleted
        .as_ref()
        .is_some_and(|d| value_at(record, &d.path) == Some(&d.equals));
    let attributes = kept_attributes(mapping, record)?;
    Ok(PulledObject {
        kind,
        event_id: format!("{source}-{}-{suffix}", event_part(&id)),
        id,
        updated_at,
        deleted,
        attributes,
    })
}

/// The tombstone of an entity a complete full pull from `source` no longer returned.
pub fn absent(
    source: &str,
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
        event_id: format!("{source}-{}-absent-{run_started_millis}", event_part(id)),
        deleted: true,
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{DeletedWhen, IdPaths};
    use proptest::prelude::*;
    use serde_json::json;
    use synchub_model::ids::EventId;

    fn mapping() -> Mapping {
        Mapping {
            id: IdPaths::Joined(vec!["variantId".into(), "locationId".into()]),
            updated_at: "productUpdatedAt".into(),
            updated_at_format: TimeFormat::Rfc3339,
            version: None,
            deleted: Some(DeletedWhen {
                path: "active".into(),
                equals: json!(false),
            }),
            attributes: [
                ("name".to_owned(), "productName".to_owned()),
                ("qty".to_owned(), "quantity".to_owned()),
            ]
            .into(),
            catalog: None,
        }
    }

    #[test]
    fn a_record_maps_to_a_change_with_its_time_and_attributes() {
        let r = json!({"variantId": "v 1", "locationId": 7, "productUpdatedAt": "2026-06-01T12:00:00+02:00", "productName": "Gummies", "quantity": 4, "active": false});
        let o = normalize("flowhub", EntityKind::Inventory, &mapping(), &r, 0).unwrap();
        assert_eq!(
            (o.id.as_str(), o.updated_at.as_str()),
            ("v 1@7", "2026-06-01T10:00:00.000Z")
        );
        assert!(o.deleted);
        assert_eq!(
            Value::Object(o.attributes),
            json!({"name": "Gummies", "qty": 4})
        );
        assert!(
            o.event_id.starts_with("flowhub-v_1_7_") && o.event_id.ends_with("-t1780308000000"),
            "{}",
            o.event_id
        );
    }

    #[test]
    fn a_record_missing_what_the_mapping_needs_names_the_path() {
        let e = normalize(
            "x",
            EntityKind::Item,
            &mapping(),
            &json!({"variantId": "a"}),
            0,
        )
        .unwrap_err();
        assert_eq!(e.field, "locationId");
        let e = normalize(
            "x",
            EntityKind::Item,
            &mapping(),
            &json!({"variantId": "a", "locationId": "b", "productUpdatedAt": 5}),
            0,
        )
        .unwrap_err();
        assert_eq!(e.field, "productUpdatedAt");
        let e = normalize(
            "x",
            EntityKind::Item,
            &mapping(),
            &json!({"variantId": "../a", "locationId": "b"}),
            0,
        )
        .unwrap_err();
        assert_eq!(e.field, "variantId@locationId");
    }

    #[test]
    fn times_read_in_every_format() {
        let ms = 1_780_308_000_000_i64;
        assert_eq!(
            parse_time(&json!(ms), TimeFormat::EpochMillis).unwrap().1,
            ms
        );
        assert_eq!(
            parse_time(&json!("1780308000"), TimeFormat::EpochSeconds)
                .unwrap()
                .1,
            ms
        );
        assert_eq!(
            parse_time(&json!("2026-06-01T10:00:00"), TimeFormat::UtcNaive)
                .unwrap()
                .1,
            ms
        );
        assert!(parse_time(&json!("2026-06-01T10:00:00"), TimeFormat::Rfc3339).is_err());
    }

    #[test]
    fn selectors_flatten_nested_lists() {
        let body = json!({"feed": {"groups": [{"items": [{"id": 1}, {"id": 2}]}, {"items": [{"id": 3}]}]}});
        assert_eq!(records(&body, "feed.groups.*.items").len(), 3);
        assert_eq!(records(&json!([{"id": 1}]), "").len(), 1);
        assert!(records(&json!({"data": null}), "data").is_empty());
    }

    proptest! {
        #[test]
        fn event_parts_are_valid_event_ids_and_keep_ids_apart(a in "\\PC{1,120}", b in "\\PC{1,120}") {
            let (pa, pb) = (event_part(&a), event_part(&b));
            prop_assert!(EventId::parse(&format!("src-{pa}-t1")).is_ok(), "{}", pa);
            if a != b {
                prop_assert_ne!(pa, pb);
            }
        }
    }
}
