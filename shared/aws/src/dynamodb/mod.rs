//! DynamoDB adapters: catalog state with the ordering rule as a conditional
//! write (`items`), the audit trail (`audit`), tenant settings
//! (`tenants`) and the customer ledger on the items table (`customers`).
//! Reading one item goes through `get_decoded`.

mod audit;
mod customers;
mod items;
mod journal;
mod method_stats;
mod metrics;
mod reshard;
pub mod size;
mod tenants;

pub use audit::{decode_row, DynamoAuditLog, AUDIT_BY_TENANT_HOUR, AUDIT_INDEX_PROJECTION};
pub use items::{DynamoItemStore, NEWER_THAN_STORED};
pub use journal::{journal_items, listed_keys};
pub use method_stats::DynamoMethodStats;
pub use metrics::DynamoMetricsLedger;
pub use reshard::ReshardReport;
pub use tenants::DynamoTenantDirectory;

use aws_sdk_dynamodb::types::builders::KeysAndAttributesBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use synchub_core::ports::PortError;
use synchub_core::ErrorClass;

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

/// Keys a BatchGetItem takes at most.
const BATCH_GET: usize = 100;

/// Every item stored under `keys` (missing ones are left out; no key twice),
/// 100 keys a BatchGetItem; keys DynamoDB leaves unprocessed (throttling)
/// are asked again after a pause, five attempts in all. `shape` sets the
/// projection and read consistency of each request.
async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    shape: impl Fn(KeysAndAttributesBuilder) -> KeysAndAttributesBuilder,
) -> Result<Vec<Item>, PortError> {
    let mut found = Vec::new();
    for chunk in keys.chunks(BATCH_GET) {
        let mut pending = chunk.to_vec();
        for attempt in 0..5 {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            let request =
                shape(KeysAndAttributes::builder().set_keys(Some(std::mem::take(&mut pending))))
                    .build()
                    .map_err(|e| {
                        PortError::new(
                            "DynamoDB",
                            "BatchGetItem",
                            ErrorClass::UnknownError,
                            e.to_string(),
                        )
                    })?;
            let out = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| call_error("BatchGetItem", e))?;
            found.extend(
                out.responses()
                    .and_then(|r| r.get(table))
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(table)) {
                pending = left.keys().to_vec();
            }
        }
        if !pending.is_empty() {
            return Err(PortError::new(
                "DynamoDB",
                "BatchGetItem",
                DB,
                format!("{} keys still unprocessed after 5 attempts", pending.len()),
            ));
        }
    }
    Ok(found)
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
    get_item(client, table, key, read)
        .await?
        .map(|item| serde_dynamo::from_item(item).map_err(|e| decode_error("GetItem", e)))
        .transpose()
}

/// Reads one item as stored; `None` when there is no such item.
async fn get_item(
    client: &Client,
    table: &str,
    key: Item,
    read: Read,
) -> Result<Option<Item>, PortError> {
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(read == Read::Consistent)
        .send()
        .await
        .map_err(|e| call_error("GetItem", e))?;
    Ok(out.item)
}
