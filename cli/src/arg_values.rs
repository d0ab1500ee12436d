//! The CLI's value types: the names an operator types for entity kinds,
//! data types, error classes and targets, each turned into the domain's.

use clap::ValueEnum;

/// The seven kinds of entity, named as the audit table and `EntityKey` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    #[value(name = "catalog_item", alias = "catalog-item")]
    CatalogItem,
    Item,
    Category,
    Location,
    Order,
    Inventory,
    Customer,
}

impl From<Kind> for synchub_core::domain::EntityKind {
    fn from(kind: Kind) -> Self {
        use synchub_core::domain::EntityKind as K;
        match kind {
            Kind::CatalogItem => K::CatalogItem,
            Kind::Item => K::Item,
            Kind::Category => K::Category,
            Kind::Location => K::Location,
            Kind::Order => K::Order,
            Kind::Inventory => K::Inventory,
            Kind::Customer => K::Customer,
        }
    }
}

/// What a pull fetches (from Square or a connector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataType {
    Orders,
    Catalog,
    Categories,
    Locations,
    Inventory,
}

impl From<DataType> for synchub_core::domain::DataType {
    fn from(data_type: DataType) -> Self {
        use synchub_core::domain::DataType as D;
        match data_type {
            DataType::Orders => D::Orders,
            DataType::Catalog => D::Catalog,
            DataType::Categories => D::Categories,
            DataType::Locations => D::Locations,
            DataType::Inventory => D::Inventory,
        }
    }
}

/// The error classes, by their documented names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErrorClass {
    #[value(name = "AUTH_ERROR")]
    AuthError,
    #[value(name = "VALIDATION_ERROR")]
    ValidationError,
    #[value(name = "NETWORK_ERROR")]
    NetworkError,
    #[value(name = "DATABASE_ERROR")]
    DatabaseError,
    #[value(name = "TIMEOUT_ERROR")]
    TimeoutError,
    #[value(name = "UNKNOWN_ERROR")]
    UnknownError,
}

impl From<ErrorClass> for synchub_core::ErrorClass {
    fn from(class: ErrorClass) -> Self {
        use synchub_core::ErrorClass as E;
        match class {
            ErrorClass::AuthError => E::AuthError,
            ErrorClass::ValidationError => E::ValidationError,
            ErrorClass::NetworkError => E::NetworkError,
            ErrorClass::DatabaseError => E::DatabaseError,
            ErrorClass::TimeoutError => E::TimeoutError,
            ErrorClass::UnknownError => E::UnknownError,
        }
    }
}

/// The customer targets a backfill can send to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// The point of sale (Square).
    Pos,
    /// The CRM (HubSpot).
    Crm,
}

impl From<Target> for synchub_core::app::customers::Target {
    fn from(target: Target) -> Self {
        match target {
            Target::Pos => synchub_core::app::customers::POS,
            Target::Crm => synchub_core::app::customers::CRM,
        }
    }
}

impl Target {
    /// The target's name in the ledger and the use cases.
    pub fn as_str(self) -> &'static str {
        synchub_core::app::customers::Target::from(self).as_str()
    }
}
