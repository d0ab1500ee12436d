//! The audit trail: one row per delivery, with its outcome and per-target status.

use super::journal::{journal_items, journaled, rows_at, RowKey};
use super::size::{item_size, WRITE_UNIT_BYTES};
use super::{call_error, decode_error, get_item, key, s, Item, Read, DB};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use backon::Retryable;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use synchub_core::domain::audit::{AuditRow, TargetStatus};
use synchub_core::ports::replay::DeliveryJournal;
use synchub_core::ports::{AuditHistory, AuditLog, PortError};
use synchub_core::ErrorClass;

/// The index of accepted deliveries by the hour they were recorded in:
/// partition `tenantHour` (`{tenant}#{hour}`), sort key `recordedAt`. Rows
/// are no longer written with its key (the deliveries journal lists them,
/// see `super::journal`); a replay still reads it for rows recorded
/// before, until the audit's TTL has removed them.
pub const AUDIT_BY_TENANT_HOUR: &str = "byTenantHour";
/// What the index keeps of a row besides its keys: what a replay reads.
pub const AUDIT_INDEX_PROJECTION: [&str; 10] = [
    "tenantId",
    "eventId",
    "messageId",
    "correlationId",
    "outcome",
    "sourceUpdatedAt",
    "targets",
    "change",
    "changeZ",
    "expiresAt",
];

/// The audit trail: partition = entity, sort key = `{eventId}#{messageId}`.
#[derive(Clone)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
}

impl DynamoAuditLog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn to_item(row: &AuditRow) -> Result<Item, PortError> {
    serde_dynamo::to_item(row).map_err(|e| {
        PortError::new(
            "DynamoDB",
            "PutItem",
            ErrorClass::UnknownError,
            format!("audit row does not encode: {e}"),
        )
    })
}

/// The attribute a kept change is stored in when it is deflated and
/// base64-encoded (a row that would otherwise take more than one write unit).
const PACKED_CHANGE: &str = "changeZ";

/// The row as written: without `tenantHour`, so no index copies it (the
/// deliveries journal lists it instead). A row costs a write unit per KB, so
/// a row that measures past one unit with its change as is keeps the change
/// compressed (`changeZ`) when that makes it smaller: one unit wherever the
/// compressed change fits.
fn encode(row: &AuditRow) -> Result<Item, PortError> {
    let mut item = to_item(row)?;
    item.remove("tenantHour");
    let Some(change) = row.change.as_deref() else {
        return Ok(item);
    };
    if item_size(&item) <= WRITE_UNIT_BYTES {
        return Ok(item);
    }
    let Some(compressed) = pack(change) else {
        return Ok(item);
    };
    let mut packed = item.clone();
    packed.remove("change");
    packed.insert(PACKED_CHANGE.to_owned(), s(compressed));
    Ok(if item_size(&packed) < item_size(&item) {
        packed
    } else {
        item
    })
}

/// A stored row as the domain reads it: a packed change unpacked. A change
/// that does not unpack is a decode error naming it.
pub fn decode_row(mut item: Item, operation: &'static str) -> Result<AuditRow, PortError> {
    let packed = item
        .remove(PACKED_CHANGE)
        .and_then(|v| v.as_s().ok().cloned());
    let mut row: AuditRow =
        serde_dynamo::from_item(item).map_err(|e| decode_error(operation, e))?;
    if let (None, Some(packed)) = (&row.change, packed) {
        row.change = Some(unpack(&packed).map_err(|e| PortError::decode("kept change", e))?);
    }
    Ok(row)
}

/// Deflates and base64-encodes a change; `None` if it could not be (the
/// row then keeps it as is: never an empty change in its place).
fn pack(change: &str) -> Option<String> {
    use base64::Engine;
    use flate2::{write::DeflateEncoder, Compression};
    use std::io::Write;
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(change.as_bytes()).ok()?;
    let bytes = encoder.finish().ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A packed change as it was kept.
fn unpack(packed: &str) -> Result<String, std::io::Error> {
    use base64::Engine;
    use std::io::Read;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(packed)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(bytes.as_slice()).read_to_string(&mut text)?;
    Ok(text)
}

/// A batch-write request that puts one row.
fn put_request(row: &AuditRow) -> Result<WriteRequest, PortError> {
    put_item_request(encode(row)?)
}

/// A batch-write request that puts `item`.
fn put_item_request(item: Item) -> Result<WriteRequest, PortError> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| {
            PortError::new(
                "DynamoDB",
                "BatchWriteItem",
                ErrorClass::UnknownError,
                e.to_string(),
            )
        })?;
    Ok(WriteRequest::builder().put_request(put).build())
}

impl AuditLog for DynamoAuditLog {
    async fn record_new(&self, rows: &[AuditRow]) -> Vec<Result<(), PortError>> {
        let mut results: Vec<Result<(), PortError>> = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(25) {
            results.extend(self.write_chunk(chunk).await);
        }
        results
    }

    async fn record_once(&self, row: &AuditRow) -> Result<bool, PortError> {
        // Journaled first: a row is never in place without its entry (an
        // entry for a row already there is read once).
        for item in journal_items([row]) {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(|e| call_error("PutItem", e))?;
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode(row)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(call_error("PutItem", err)),
        }
    }

    async fn find(&self, pk: &str, sk: &str) -> Result<Option<AuditRow>, PortError> {
        let item = get_item(&self.client, &self.table, key(pk, sk), Read::Consistent).await?;
        item.map(|item| decode_row(item, "GetItem")).transpose()
    }

    async fn set_target(
        &self,
        pk: &str,
        sk: &str,
        target: &str,
        status: &TargetStatus,
    ) -> Result<(), PortError> {
        let Some(mut row) = self.find(pk, sk).await? else {
            return Err(PortError::new(
                "DynamoDB",
                "UpdateItem",
                ErrorClass::UnknownError,
                format!("audit row {pk}/{sk} is missing"),
            ));
        };
        row.targets.insert(target.to_owned(), status.clone());
        let targets: BTreeMap<String, TargetStatus> = row.targets;
        let value = serde_dynamo::to_attribute_value(targets).map_err(|e| {
            PortError::new(
                "DynamoDB",
                "UpdateItem",
                ErrorClass::UnknownError,
                e.to_string(),
            )
        })?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("SET targets = :t")
            .expression_attribute_values(":t", value)
            .send()
            .await
            .map_err(|e| call_error("UpdateItem", e))?;
        Ok(())
    }
}

impl DynamoAuditLog {
    /// The rows' journal items (one per tenant hour), then one
    /// BatchWriteItem for up to 25 rows; unprocessed items are retried with
    /// backoff. Rows whose journal could not be written are not written.
    async fn write_chunk(&self, rows: &[AuditRow]) -> Vec<Result<(), PortError>> {
        let journal = journal_items(rows)
            .into_iter()
            .map(put_item_request)
            .collect::<Result<Vec<_>, _>>()
            .map(|requests| requests.into_iter().enumerate().collect::<Vec<_>>());
        let journaled = match journal {
            Ok(requests) if requests.is_empty() => Ok(()),
            Ok(requests) => self.write_with_retries(&Mutex::new(requests)).await,
            Err(e) => Err(e),
        };
        if let Err(err) = journaled {
            return rows
                .iter()
                .map(|_| {
                    Err(PortError::new(
                        "DynamoDB",
                        "BatchWriteItem",
                        err.class(),
                        format!("deliveries journal: {}", err.message()),
                    ))
                })
                .collect();
        }
        let mut pending: Vec<(usize, WriteRequest)> = Vec::new();
        let mut results: Vec<Result<(), PortError>> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            match put_request(row) {
                Ok(request) => {
                    pending.push((i, request));
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        if pending.is_empty() {
            return results;
        }
        let pending = Mutex::new(pending);
        if let Err(err) = self.write_with_retries(&pending).await {
            for (i, _) in pending.into_inner().unwrap_or_else(|e| e.into_inner()) {
                results[i] = Err(PortError::new(
                    "DynamoDB",
                    "BatchWriteItem",
                    err.class(),
                    err.message(),
                ));
            }
        }
        results
    }

    /// Writes the pending requests, keeping in `pending` only those still
    /// unprocessed. Unprocessed rows are a retryable failure of the attempt,
    /// so backon retries exactly them with backoff and jitter.
    async fn write_with_retries(
        &self,
        pending: &Mutex<Vec<(usize, WriteRequest)>>,
    ) -> Result<(), PortError> {
        let pending_requests = || -> Vec<WriteRequest> {
            let p = pending.lock().unwrap_or_else(|e| e.into_inner());
            p.iter().map(|(_, r)| r.clone()).collect()
        };
        let attempt = || async {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending_requests())
                .send()
                .await
                .map_err(|e| call_error("BatchWriteItem", e))?;
            let unprocessed = out
                .unprocessed_items()
                .and_then(|u| u.get(&self.table))
                .cloned()
                .unwrap_or_default();
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            p.retain(|(_, r)| unprocessed.contains(r));
            if p.is_empty() {
                Ok(())
            } else {
                Err(PortError::new(
                    "DynamoDB",
                    "BatchWriteItem",
                    DB,
                    "rows still unprocessed after retries",
                ))
            }
        };
        attempt
            .retry(crate::http_retry::backoff(4, Duration::from_millis(800)))
            .sleep(tokio::time::sleep)
            .when(PortError::is_retryable)
            .await
    }
}

impl AuditHistory for DynamoAuditLog {
    /// Every row of one entity, oldest source time first (what `trace` shows).
    async fn entity_history(&self, pk: &str) -> Result<Vec<AuditRow>, PortError> {
        let mut rows = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("Query", e))?;
            for item in page.items() {
                rows.push(decode_row(item.clone(), "Query")?);
            }
        }
        rows.sort_by(|a: &AuditRow, b| {
            (&a.source_updated_at, &a.recorded_at).cmp(&(&b.source_updated_at, &b.recorded_at))
        });
        Ok(rows)
    }
}

impl DeliveryJournal for DynamoAuditLog {
    /// The rows the deliveries journal lists for the hour, read by key,
    /// and those the `byTenantHour` index still holds from before the
    /// journal; each row once, only those recorded within the window.
    async fn recorded(
        &self,
        tenant_hour: &str,
        since: &str,
        until: &str,
    ) -> Result<Vec<AuditRow>, PortError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(AUDIT_BY_TENANT_HOUR)
            .key_condition_expression("tenantHour = :th AND recordedAt BETWEEN :since AND :until")
            .expression_attribute_values(":th", s(tenant_hour))
            .expression_attribute_values(":since", s(since))
            .expression_attribute_values(":until", s(until))
            .into_paginator()
            .send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("Query", e))?;
            items.extend(page.items().iter().cloned());
        }
        let mut keys = journaled(&self.client, &self.table, tenant_hour).await?;
        for item in &items {
            if let (Some(pk), Some(sk)) = (text(item, "pk"), text(item, "sk")) {
                keys.remove(&(pk, sk));
            }
        }
        let keys: Vec<RowKey> = keys.into_iter().collect();
        items.extend(rows_at(&self.client, &self.table, &keys).await?);
        let mut rows = Vec::with_capacity(items.len());
        for item in items {
            let mut row = decode_row(item, "Query")?;
            if row.recorded_at.as_str() < since || row.recorded_at.as_str() > until {
                continue;
            }
            row.tenant_hour = Some(tenant_hour.to_owned());
            rows.push(row);
        }
        Ok(rows)
    }
}

/// A string attribute of an item.
fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_core::domain::audit::AuditOutcome;

    fn row(entity: &str, targets: usize, body: &str) -> AuditRow {
        let mut row = AuditRow::new(
            format!("acme#catalog_item#{entity}"),
            format!("evt-{entity}#0b7d1f4e-53a1-4a0e-9f5e-8f2c6a1d9e21"),
            "acme".into(),
            AuditOutcome::Applied,
            "2026-12-02T09:15:00.000Z".into(),
            1_800_000_000,
        );
        row.correlation_id = "sync-acme-1796213452302-466d9e54".into();
        row.tenant_hour = Some("acme#2026-12-02T09".into());
        for name in ["storefront", "pos", "crm"].into_iter().take(targets) {
            let status = TargetStatus::failed(
                ErrorClass::NetworkError,
                4,
                "503 Service Unavailable".into(),
                "2026-12-02T09:15:01.000Z".into(),
            );
            row.targets.insert(name.into(), status);
        }
        row.change = Some(body.to_owned());
        row
    }

    proptest::proptest! {
        /// Whatever the row carries, the change reads back from what is
        /// written, and a row is left past one write unit only when even
        /// its compressed change does not fit.
        #[test]
        fn a_row_is_written_in_one_unit_wherever_its_compressed_change_fits(
            entity in "[A-Z0-9-]{1,80}", targets in 0usize..=3,
            words in proptest::collection::vec("[a-z]{1,9}", 0..160),
        ) {
            let body = serde_json::json!({"payload": {"sku": entity, "description": words.join(" ")}}).to_string();
            let r = row(&entity, targets, &body);
            let item = encode(&r).unwrap();
            let back = decode_row(item.clone(), "Query").unwrap();
            proptest::prop_assert_eq!(back.change.as_deref(), Some(body.as_str()));
            let mut packed = to_item(&r).unwrap();
            packed.remove("change");
            packed.insert(PACKED_CHANGE.to_owned(), s(pack(&body).unwrap()));
            if item_size(&packed) <= WRITE_UNIT_BYTES {
                proptest::prop_assert!(item_size(&item) <= WRITE_UNIT_BYTES, "{} B", item_size(&item));
            }
        }

        /// Whatever its text, a packed change unpacks to exactly it.
        #[test]
        fn a_packed_change_unpacks_exactly(body in "\\PC{0,3000}") {
            proptest::prop_assert_eq!(unpack(&pack(&body).unwrap()).unwrap(), body);
        }
    }

    #[test]
    fn a_change_that_fits_as_is_stays_readable_as_is() {
        let r = row("SKU-1", 1, r#"{"payload":{"sku":"SKU-1","quantity":3}}"#);
        let item = encode(&r).unwrap();
        assert!(item.contains_key("change") && !item.contains_key(PACKED_CHANGE));
        // Three failed targets and a 600-byte change measure past 1 KB as
        // is: the adapter compresses it.
        let body =
            serde_json::json!({"payload": {"description": "organic ".repeat(70)}}).to_string();
        let crowded = row(&"X".repeat(80), 3, &body);
        assert!(item_size(&to_item(&crowded).unwrap()) > WRITE_UNIT_BYTES);
        let item = encode(&crowded).unwrap();
        assert!(
            item.contains_key(PACKED_CHANGE) && !item.contains_key("change"),
            "{item:?}"
        );
        assert!(item_size(&item) <= WRITE_UNIT_BYTES);
        assert_eq!(decode_row(item, "GetItem").unwrap().change, Some(body));
    }

    #[test]
    fn a_packed_change_that_does_not_unpack_is_a_decode_error_naming_it() {
        let mut item = encode(&row("SKU-1", 0, "{}")).unwrap();
        item.remove("change");
        item.insert(PACKED_CHANGE.to_owned(), s("not base64!"));
        let e = decode_row(item, "Query").unwrap_err();
        assert!(e.to_string().contains("kept change"), "{e}");
    }
}
