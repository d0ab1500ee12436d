//! DynamoDB adapters: catalog state with the ordering rule as a conditional
//! write ([`items`]), the audit trail ([`audit`]), tenant settings
//! ([`tenants`]) and the customer ledger on the items table ([`customers`]).
//! Reading one item goes through [`get_decoded`].

mod audit;
mod customers;
mod items;
mod journal;
mod method_stats;
mod metrics;
mod reshard;
pub mod size;
mod tenants;

pub use audit::{DynamoAuditLog, AUDIT_BY_TENANT_HOUR, AUDIT_INDEX_PROJECTION};
pub use items::{DynamoItemStore, NEWER_THAN_STORED};
pub use journal::{journal_items, listed_keys};
pub use method_stats::DynamoMethodStats;
pub use metrics::DynamoMetricsLedger;
pub use reshard::ReshardReport;
pub use tenants::DynamoTenantDirectory;

use crate::ports::PortError;
use crate::ErrorClass;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

/// The class of DynamoDB's busy answers (throttling, server-side trouble).
const DB: ErrorClass = ErrorClass::DatabaseError;

/// An item's primary key (or any item) as DynamoDB attributes.
type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn decode_error(operation: &'static str, e: serde_dynamo::Error) -> PortError {
    PortError::new(
        "DynamoDB",
        operation,
        ErrorClass::UnknownError,
        format!("stored item does not decode: {e}"),
    )
}

/// A failed DynamoDB call, classified once.
fn call_error<E>(
    operation: &'static str,
    err: aws_sdk_dynamodb::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> PortError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    super::classify::sdk_error("DynamoDB", operation, DB, err)
}

/// The key of an item in a table keyed by `pk` and `sk`.
fn key(pk: &str, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Whether a single-item read must see every write acknowledged before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Consistent,
    Eventual,
}

/// Reads one item and decodes it; `None` when there is no such item.
async fn get_decoded<T: serde::de::DeserializeOwned>(
    client: &Client,
    table: &str,
    key: Item,
    read: Read,
) -> Result<Option<T>, PortError> {
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(read == Read::Consistent)
        .send()
        .await
        .map_err(|e| call_error("GetItem", e))?;
    out.item
        .map(|item| serde_dynamo::from_item(item).map_err(|e| decode_error("GetItem", e)))
        .transpose()
}
