//! What the daily sync pulls: one run per (tenant, data type).

use crate::ids::EntityKind;
use serde::{Deserialize, Serialize};

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
