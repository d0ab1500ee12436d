//! Supplier inventory events: parsed at the edge into a validated
//! `SupplierEvent`, with an error naming the field and the rule; and
//! the parse of any webhook body, which names the field of a value JSON
//! cannot hold.

use super::ids::{EventId, Sku, SupplierId, ValidationError};
use super::time::{canonical_time, parse_rfc3339_millis};
use serde_json::{Map, Value};

pub const MAX_QUANTITY: u64 = 1_000_000_000;
pub const MAX_PRICE: f64 = 1_000_000_000.0;
pub const MAX_NAME_CHARS: usize = 256;
pub use super::time::MAX_FUTURE_SKEW_MILLIS;

/// A supplier's statement of a SKU's stock (and optionally price and name).
#[derive(Debug, Clone, PartialEq)]
pub struct SupplierEvent {
    pub event_id: EventId,
    pub supplier_id: SupplierId,
    pub sku: Sku,
    pub quantity: u64,
    pub price: Option<f64>,
    pub name: Option<String>,
    /// Source time in unix millis, and its canonical UTC RFC 3339 form.
    pub updated_millis: i64,
    pub updated_at: String,
}

impl SupplierEvent {
    /// Parses a webhook body. `now_millis` bounds how far in the future `updatedAt` may be.
    pub fn parse(body: &Value, now_millis: i64) -> Result<Self, ValidationError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ValidationError::new("body", "must be a JSON object"))?;
        let updated_at = required_str(obj, "updatedAt")?;
        let (updated, updated_millis) = parse_rfc3339_millis(updated_at)
            .map_err(|rule| ValidationError::new("updatedAt", rule))?;
        if updated_millis > now_millis.saturating_add(MAX_FUTURE_SKEW_MILLIS) {
            return Err(ValidationError::new(
                "updatedAt",
                "must not be more than 1 hour in the future",
            ));
        }
        if updated.year() < 2000 {
            return Err(ValidationError::new(
                "updatedAt",
                "must not be before the year 2000",
            ));
        }
        Ok(Self {
            event_id: EventId::parse(required_str(obj, "eventId")?)?,
            supplier_id: SupplierId::parse(required_str(obj, "supplierId")?)?,
            sku: Sku::parse(required_str(obj, "sku")?)?,
            quantity: quantity(obj)?,
            price: price(obj)?,
            name: name(obj)?,
            updated_millis,
            updated_at: canonical_time(updated),
        })
    }
}

/// A body's JSON, or the field whose value JSON could not hold.
pub type ParsedBody = Result<Value, ValidationError>;

/// Parses a webhook body (a supplier's or a provider's). The outer error
/// means the bytes are not JSON at all. The inner one means they are, but a
/// value cannot be held (a number out of range such as `1e400`, a lone
/// surrogate): it names the field the value sits in, as every other bad
/// value is named.
pub fn parse_body(bytes: &[u8]) -> Result<ParsedBody, serde_json::Error> {
    let whole = match serde_json::from_slice(bytes) {
        Ok(value) => return Ok(Ok(value)),
        Err(e) => e,
    };
    // Checked again without building values: if the syntax holds, a value is
    // what failed, and tracking the path names its field.
    if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
        return Err(whole);
    }
    let mut json = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, Value>(&mut json) {
        Err(e) => Ok(Err(e.into())),
        Ok(_) => Err(whole),
    }
}

fn required_str<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, ValidationError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(ValidationError::new(field, "is required")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ValidationError::new(field, "must be a string")),
    }
}

fn quantity(obj: &Map<String, Value>) -> Result<u64, ValidationError> {
    let rule = format!("must be a whole number from 0 to {MAX_QUANTITY}");
    match obj.get("quantity") {
        None | Some(Value::Null) => Err(ValidationError::new("quantity", "is required")),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(q) if q <= MAX_QUANTITY => Ok(q),
            _ => Err(ValidationError::new("quantity", rule)),
        },
        Some(_) => Err(ValidationError::new("quantity", rule)),
    }
}

fn price(obj: &Map<String, Value>) -> Result<Option<f64>, ValidationError> {
    let rule = format!("must be a number from 0 to {MAX_PRICE}");
    match obj.get("price") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(p) if p.is_finite() && (0.0..=MAX_PRICE).contains(&p) => Ok(Some(p)),
            _ => Err(ValidationError::new("price", rule)),
        },
        Some(_) => Err(ValidationError::new("price", rule)),
    }
}

fn name(obj: &Map<String, Value>) -> Result<Option<String>, ValidationError> {
    match obj.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            if trimmed.is_empty() {
                Err(ValidationError::new("name", "must not be blank"))
            } else if trimmed.chars().count() > MAX_NAME_CHARS {
                Err(ValidationError::new(
                    "name",
                    format!("must be at most {MAX_NAME_CHARS} characters"),
                ))
            } else if trimmed.chars().any(char::is_control) {
                Err(ValidationError::new(
                    "name",
                    "must not contain control characters",
                ))
            } else {
                Ok(Some(trimmed.to_owned()))
            }
        }
        Some(_) => Err(ValidationError::new("name", "must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TenantId;
    use proptest::prelude::*;
    use serde_json::json;
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    const NOW: i64 = 1_780_000_000_000; // 2026-05-28

    fn valid() -> Value {
        json!({"eventId": "evt-1", "supplierId": "sup-1", "sku": "SKU-1", "quantity": 12,
               "updatedAt": "2026-05-01T10:00:00+02:00", "price": 9.5, "name": " Blue mug "})
    }

    fn error_for(mutate: impl FnOnce(&mut Map<String, Value>)) -> ValidationError {
        let mut v = valid();
        mutate(v.as_object_mut().unwrap());
        SupplierEvent::parse(&v, NOW).unwrap_err()
    }

    #[test]
    fn a_valid_event_is_normalized() {
        let e = SupplierEvent::parse(&valid(), NOW).unwrap();
        assert_eq!(e.updated_at, "2026-05-01T08:00:00.000Z");
        assert_eq!(e.updated_millis, 1_777_622_400_000);
        assert_eq!(e.name.as_deref(), Some("Blue mug"));
        assert_eq!((e.quantity, e.price), (12, Some(9.5)));
        let change = e.into_change(TenantId::parse("acme").unwrap());
        assert_eq!(change.key.item_sort_key(), "catalog_item#SKU-1");
    }

    #[allow(clippy::too_many_lines, reason = "a table of bad inputs, one per line")]
    #[test]
    fn each_bad_field_is_named_with_its_rule() {
        type Mutation = Box<dyn FnOnce(&mut Map<String, Value>)>;
        let cases: Vec<(Mutation, &str, &str)> = vec![
            (
                Box::new(|o| {
                    o.remove("eventId");
                }),
                "eventId",
                "is required",
            ),
            (
                Box::new(|o| {
                    o.insert("sku".into(), json!(7));
                }),
                "sku",
                "must be a string",
            ),
            (
                Box::new(|o| {
                    o.insert("quantity".into(), json!(-1));
                }),
                "quantity",
                "must be a whole number from 0 to 1000000000",
            ),
            (
                Box::new(|o| {
                    o.insert("quantity".into(), json!(1.5));
                }),
                "quantity",
                "must be a whole number from 0 to 1000000000",
            ),
            (
                Box::new(|o| {
                    o.insert("quantity".into(), json!("12"));
                }),
                "quantity",
                "must be a whole number from 0 to 1000000000",
            ),
            (
                Box::new(|o| {
                    o.insert("updatedAt".into(), json!("yesterday"));
                }),
                "updatedAt",
                "must be an RFC 3339 timestamp with a UTC offset, e.g. 2026-06-01T10:00:00Z",
            ),
            (
                Box::new(|o| {
                    o.insert("updatedAt".into(), json!("2026-06-01T10:00:00"));
                }),
                "updatedAt",
                "must be an RFC 3339 timestamp with a UTC offset, e.g. 2026-06-01T10:00:00Z",
            ),
            (
                Box::new(|o| {
                    o.insert("updatedAt".into(), json!("2030-01-01T00:00:00Z"));
                }),
                "updatedAt",
                "must not be more than 1 hour in the future",
            ),
            (
                Box::new(|o| {
                    o.insert("price".into(), json!(-0.01));
                }),
                "price",
                "must be a number from 0 to 1000000000",
            ),
            (
                Box::new(|o| {
                    o.insert("name".into(), json!("  "));
                }),
                "name",
                "must not be blank",
            ),
            (
                Box::new(|o| {
                    o.insert("sku".into(), json!("../SKU-1"));
                }),
                "sku",
                "must not contain '.' or '..' path segments",
            ),
            (
                Box::new(|o| {
                    o.insert("supplierId".into(), json!(".."));
                }),
                "supplierId",
                "must not contain '.' or '..' path segments",
            ),
            (
                Box::new(|o| {
                    o.insert("supplierId".into(), json!("sup 1"));
                }),
                "supplierId",
                "must contain only letters, digits, '-', '_', '.' and ':' (found ' ')",
            ),
        ];
        for (mutate, field, rule) in cases {
            assert_eq!(error_for(mutate), ValidationError::new(field, rule));
        }
        assert_eq!(
            SupplierEvent::parse(&json!([1]), NOW).unwrap_err().field,
            "body"
        );
    }

    #[test]
    fn a_number_that_does_not_fit_is_named_by_its_field() {
        let body = br#"{"eventId": "evt-1", "supplierId": "sup-1", "sku": "SKU-1", "quantity": 1e400, "updatedAt": "2026-05-01T10:00:00Z"}"#;
        assert_eq!(
            parse_body(body).unwrap(),
            Err(ValidationError::new("quantity", "number out of range"))
        );
        for (body, field) in [
            (&br#"{"id": 1e400}"#[..], "id"),
            (br#"{"customer": {"id": -1e999}}"#, "customer.id"),
            (
                br#"{"variants": [{"id": 1}, {"price": 1e309}]}"#,
                "variants[1].price",
            ),
            (
                br#"{"data": {"object": {"customer": {"version": 2e400}}}}"#,
                "data.object.customer.version",
            ),
            (br#"{"sku": "\ud800"}"#, "sku"),
            (br#"1e400"#, "body"),
        ] {
            let err = parse_body(body).unwrap().unwrap_err();
            assert_eq!(err.field, field, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn a_body_that_is_not_json_stays_a_syntax_error() {
        for body in [&b"{\"eventId\": "[..], b"[1,]", b"{} x", b""] {
            assert!(
                parse_body(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            parse_body(br#"{"quantity": 1e300}"#).unwrap().unwrap()["quantity"],
            1e300
        );
    }

    proptest! {
        /// Wherever an out-of-range number sits, the error names its path.
        #[test]
        fn an_out_of_range_number_is_named_at_any_depth(keys in prop::collection::vec("[a-z_]{1,8}", 1..5), sign in prop::sample::select(vec!["", "-"])) {
            let mut text = format!("{sign}1e400");
            for key in keys.iter().rev() {
                text = format!("{{\"{key}\": {text}}}");
            }
            let err = parse_body(text.as_bytes()).unwrap().unwrap_err();
            prop_assert_eq!(err.field, keys.join("."));
        }

        /// Any JSON that serde_json holds parses as serde_json parses it.
        #[test]
        fn any_json_parses_as_serde_json_does(v in arb_json()) {
            let text = v.to_string();
            let expected: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(parse_body(text.as_bytes()).unwrap(), Ok(expected));
        }

        #[test]
        fn parse_never_panics_on_any_json(v in arb_json()) {
            let _ = SupplierEvent::parse(&v, NOW);
        }

        #[test]
        fn quantity_is_accepted_exactly_in_range(q in any::<i64>()) {
            let mut v = valid();
            v["quantity"] = json!(q);
            let ok = SupplierEvent::parse(&v, NOW).is_ok();
            prop_assert_eq!(ok, (0..=MAX_QUANTITY as i64).contains(&q));
        }

        #[test]
        fn any_offset_normalizes_to_the_same_instant(h in -12i32..=12, m in prop::sample::select(vec![0, 30, 45])) {
            let offset = time::UtcOffset::from_hms(h as i8, if h < 0 { -m } else { m }, 0).unwrap();
            let instant = OffsetDateTime::from_unix_timestamp(1_777_622_400).unwrap();
            let mut v = valid();
            v["updatedAt"] = json!(instant.to_offset(offset).format(&Rfc3339).unwrap());
            let e = SupplierEvent::parse(&v, NOW).unwrap();
            prop_assert_eq!(e.updated_millis, 1_777_622_400_000);
            prop_assert_eq!(e.updated_at, "2026-05-01T08:00:00.000Z");
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)),
            "\\PC{0,20}".prop_map(Value::from),
        ];
        let field = prop::sample::select(vec![
            "eventId",
            "supplierId",
            "sku",
            "quantity",
            "updatedAt",
            "price",
            "name",
            "x",
        ]);
        leaf.prop_recursive(2, 16, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(field.clone().prop_map(String::from), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
