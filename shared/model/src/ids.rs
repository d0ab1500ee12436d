//! Validated identifiers. Each constructor names the field and the rule it broke,
//! so a bad value is reported precisely at the edge and never travels further.
//! Typed payloads name the JSON path of a value that does not fit, and one rule
//! here refuses ids made of `.`/`..` path segments, whatever the id.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A value that broke a rule: which field, and which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {rule}")]
pub struct ValidationError {
    pub field: String,
    pub rule: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The same error with its field named inside `parent`, so a rule broken
    /// in a nested object names the whole path (`customer` + `id` is
    /// `customer.id`).
    pub fn within(self, parent: &str) -> Self {
        Self {
            field: format!("{parent}.{}", self.field),
            rule: self.rule,
        }
    }
}

/// A typed payload that did not deserialize names the JSON path of the value
/// that failed (`customer.email`, `variants[0].id`); the document itself is
/// `body`.
impl From<serde_path_to_error::Error<serde_json::Error>> for ValidationError {
    fn from(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        ValidationError::new(field, json_rule(e.inner()))
    }
}

/// serde_json's message without the position it appends to errors in text:
/// the field already says where.
fn json_rule(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&position) {
        Some(rule) if e.line() > 0 => rule.to_owned(),
        _ => text,
    }
}

/// The rule an id made of path segments breaks.
pub const DOT_SEGMENT_RULE: &str = "must not contain '.' or '..' path segments";

/// Whether `value`, read as a path (split at `/` or `\`, percent-decoding
/// the dot and the separators as a URL would), has a `.` or `..` segment. Ids
/// travel into URLs, storefront notices and CLI output: such an id could
/// walk out of the place it is put in.
pub fn has_dot_segment(value: &str) -> bool {
    let decoded = value
        .to_ascii_lowercase()
        .replace("%2e", ".")
        .replace("%2f", "/")
        .replace("%5c", "\\");
    decoded.split(['/', '\\']).any(|s| s == "." || s == "..")
}

/// Refuses an id with a `.` or `..` path segment, naming `field`.
pub fn check_no_dot_segments(field: &str, value: &str) -> Result<(), ValidationError> {
    if has_dot_segment(value) {
        return Err(ValidationError::new(field, DOT_SEGMENT_RULE));
    }
    Ok(())
}

/// Deserializes a typed payload from JSON; a value that does not fit names
/// its JSON path.
pub fn typed<'de, T: Deserialize<'de>>(
    value: &'de serde_json::Value,
) -> Result<T, ValidationError> {
    Ok(serde_path_to_error::deserialize(value)?)
}

/// A field a payload must carry: absent (or null) is refused with `rule`.
pub fn required<T>(value: Option<T>, field: &str, rule: &str) -> Result<T, ValidationError> {
    value.ok_or_else(|| ValidationError::new(field, rule))
}

/// A SKU as a provider spells it: any text (storefronts allow spaces and
/// more), but never made of path segments, since it is published onward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SourceSku(String);

impl<'de> Deserialize<'de> for SourceSku {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if has_dot_segment(&text) {
            return Err(serde::de::Error::custom(DOT_SEGMENT_RULE));
        }
        Ok(Self(text))
    }
}

/// Longest entity id accepted from a source.
pub const MAX_ENTITY_ID: usize = 192;

/// The rule every entity id (a source's own id, whatever its source) keeps:
/// it sits in sort keys after `#`, in audit partitions, URLs and CLI output.
pub fn check_entity_id(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty()
        || value.len() > MAX_ENTITY_ID
        || value.chars().any(|c| c == '#' || c.is_control())
    {
        return Err(ValidationError::new(
            field,
            format!("must be 1 to {MAX_ENTITY_ID} characters without '#' or control characters"),
        ));
    }
    check_no_dot_segments(field, value)
}

/// Checks a string against a length range and an allowed character set.
fn checked(
    field: &str,
    value: &str,
    max: usize,
    allowed: fn(char) -> bool,
    what: &str,
) -> Result<String, ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(ValidationError::new(
            field,
            format!("must contain only {what} (found {bad:?})"),
        ));
    }
    check_no_dot_segments(field, value)?;
    Ok(value.to_owned())
}

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')
}

macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal, $allowed:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const FIELD: &'static str = $field;

            pub fn parse(value: &str) -> Result<Self, ValidationError> {
                checked($field, value, $max, $allowed, $what).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

validated_string!(
    /// A tenant (merchant) id: the unit of isolation.
    TenantId, "tenantId", 64, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
    "letters, digits, '-' and '_'"
);
validated_string!(
    /// The source's event id: with `updatedAt` it orders events, and it keys the audit.
    EventId, "eventId", 128, id_char, "letters, digits, '-', '_', '.' and ':'"
);
validated_string!(
    /// A stock-keeping unit.
    Sku, "sku", 64, |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'),
    "letters, digits, '-', '_', '.' and '/'"
);
validated_string!(
    /// The supplier that sent an event.
    SupplierId, "supplierId", 64, id_char, "letters, digits, '-', '_', '.' and ':'"
);

/// What kind of entity a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A supplier's catalog item, keyed by SKU.
    CatalogItem,
    /// Pulled from the POS (Square): catalog items, categories, locations,
    /// orders and inventory counts, keyed by the POS's ids.
    Item,
    Category,
    Location,
    Order,
    Inventory,
    /// A customer master record (from a storefront registration or the POS).
    Customer,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::CatalogItem => "catalog_item",
            EntityKind::Item => "item",
            EntityKind::Category => "category",
            EntityKind::Location => "location",
            EntityKind::Order => "order",
            EntityKind::Inventory => "inventory",
            EntityKind::Customer => "customer",
        }
    }

    pub const ALL: [EntityKind; 7] = [
        EntityKind::CatalogItem,
        EntityKind::Item,
        EntityKind::Category,
        EntityKind::Location,
        EntityKind::Order,
        EntityKind::Inventory,
        EntityKind::Customer,
    ];

    /// The kind a stored or typed name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Identifies one entity: per-entity order is kept on this key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityKey {
    pub tenant: TenantId,
    pub kind: EntityKind,
    pub id: String,
}

impl EntityKey {
    /// The entity an audit partition (`{tenant}#{kind}#{id}`) is about.
    pub fn from_audit_partition(pk: &str) -> Option<Self> {
        let (tenant, rest) = pk.split_once('#')?;
        let (kind, id) = rest.split_once('#')?;
        Some(Self {
            tenant: TenantId::parse(tenant).ok()?,
            kind: EntityKind::parse(kind)?,
            id: id.to_owned(),
        })
    }

    /// The entity's sort key inside its tenant's partition.
    pub fn item_sort_key(&self) -> String {
        format!("{}#{}", self.kind.as_str(), self.id)
    }

    /// The audit partition: every delivery about this entity.
    pub fn audit_partition(&self) -> String {
        format!("{}#{}#{}", self.tenant, self.kind.as_str(), self.id)
    }
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.tenant, self.kind.as_str(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_constructor_names_its_field_and_rule() {
        assert_eq!(
            Sku::parse("").unwrap_err(),
            ValidationError::new("sku", "must not be empty")
        );
        assert_eq!(
            Sku::parse("AB C").unwrap_err().to_string(),
            "sku: must contain only letters, digits, '-', '_', '.' and '/' (found ' ')"
        );
        assert_eq!(
            EventId::parse(&"e".repeat(129)).unwrap_err().rule,
            "must be at most 128 characters"
        );
        assert_eq!(TenantId::parse("acme#1").unwrap_err().field, "tenantId");
        assert!(SupplierId::parse("sup-1").is_ok());
    }

    #[test]
    fn ids_made_of_path_segments_are_refused_naming_the_field() {
        for (id, field) in [
            ("../x", "sku"),
            ("..", "sku"),
            ("a/../b", "sku"),
            ("./a", "sku"),
            ("a/.", "sku"),
        ] {
            assert_eq!(
                Sku::parse(id),
                Err(ValidationError::new(field, DOT_SEGMENT_RULE)),
                "{id}"
            );
        }
        assert_eq!(EventId::parse("..").unwrap_err().field, "eventId");
        assert_eq!(SupplierId::parse(".").unwrap_err().field, "supplierId");
        assert_eq!(
            check_entity_id("data.object.customer.id", "..\\x").unwrap_err(),
            ValidationError::new("data.object.customer.id", DOT_SEGMENT_RULE)
        );
        // Dots that are not a whole segment are ordinary characters.
        for id in ["a..b", "...", ".hidden", "v1.2/x.y", "SKU-1."] {
            assert!(Sku::parse(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn a_nested_rule_names_the_whole_path() {
        let e = ValidationError::new("id", "is required").within("customer");
        assert_eq!(e.field, "customer.id");
        let typed = serde_path_to_error::deserialize::<
            _,
            std::collections::BTreeMap<String, Vec<u8>>,
        >(&serde_json::json!({"variants": [1, "x"]}))
        .unwrap_err();
        assert_eq!(ValidationError::from(typed).field, "variants[1]");
    }

    #[test]
    fn deserializing_applies_the_same_rules() {
        let err = serde_json::from_str::<Sku>("\"bad sku\"").unwrap_err();
        assert!(err.to_string().contains("sku: must contain only"), "{err}");
        assert_eq!(
            serde_json::from_str::<Sku>("\"SKU-1\"").unwrap().as_str(),
            "SKU-1"
        );
    }

    proptest! {
        #[test]
        fn sku_parse_accepts_exactly_the_documented_alphabet(s in "\\PC{0,80}") {
            let valid = !s.is_empty()
                && s.chars().count() <= 64
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
                && s.split('/').all(|segment| segment != "." && segment != "..");
            prop_assert_eq!(Sku::parse(&s).is_ok(), valid);
        }

        /// A `.` or `..` segment anywhere in an id (SKU, entity id, event or
        /// supplier id) is refused with the field named; the same segments
        /// without it pass.
        #[test]
        fn an_id_with_a_dot_segment_is_refused_wherever_it_sits(
            segments in prop::collection::vec("[A-Za-z0-9_-]{1,6}|\\.{3}|[a-z]\\.[a-z]|\\.[a-z]{1,3}", 0..5),
            at in any::<prop::sample::Index>(),
            dots in prop::sample::select(vec![".", ".."]),
            separator in prop::sample::select(vec!["/", "\\", "%2F", "%5c"]),
        ) {
            let clean = segments.join("/");
            if !clean.is_empty() {
                prop_assert!(Sku::parse(&clean).is_ok(), "{}", clean);
                prop_assert!(check_entity_id("id", &clean).is_ok(), "{}", clean);
            }
            let mut bad = segments.clone();
            bad.insert(at.index(segments.len() + 1), dots.to_owned());
            let bad = bad.join(separator);
            prop_assert_eq!(check_entity_id("id", &bad), Err(ValidationError::new("id", DOT_SEGMENT_RULE)));
            if separator == "/" {
                prop_assert_eq!(Sku::parse(&bad), Err(ValidationError::new("sku", DOT_SEGMENT_RULE)));
            }
        }

        /// The percent-encoded dot counts as a dot, as a URL would read it.
        #[test]
        fn an_encoded_dot_segment_is_a_dot_segment(prefix in "[a-z0-9]{0,4}", dots in prop::sample::select(vec!["%2e", "%2E%2e", ".%2e", "%2e."])) {
            let id = if prefix.is_empty() { dots.to_owned() } else { format!("{prefix}/{dots}") };
            prop_assert!(has_dot_segment(&id), "{}", id);
        }

        #[test]
        fn valid_ids_round_trip_unchanged(s in "[A-Za-z0-9._:-]{1,128}") {
            // `.` and `..` alone are path segments, refused by their own rule.
            prop_assume!(s != "." && s != "..");
            let id = EventId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
        }
    }
}
