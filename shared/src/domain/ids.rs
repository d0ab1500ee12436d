//! Validated identifiers. Each constructor names the field and the rule it broke,
//! so a bad value is reported precisely at the edge and never travels further.

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
}

/// Identifies one entity: per-entity order is kept on this key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityKey {
    pub tenant: TenantId,
    pub kind: EntityKind,
    pub id: String,
}

impl EntityKey {
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
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
            prop_assert_eq!(Sku::parse(&s).is_ok(), valid);
        }

        #[test]
        fn valid_ids_round_trip_unchanged(s in "[A-Za-z0-9._:-]{1,128}") {
            let id = EventId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
        }
    }
}
