//! The audit trail: one row per delivery, with its outcome and per-target status.

use super::{call_error, decode_error, get_decoded, key, s, Item, Read, DB};
use crate::domain::audit::{AuditRow, TargetStatus};
use crate::ports::replay::DeliveryJournal;
use crate::ports::{AuditHistory, AuditLog, PortError};
use crate::ErrorClass;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use backon::Retryable;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// The index of accepted deliveries by the hour they were recorded in:
/// partition `tenantHour` (`{tenant}#{hour}`), sort key `recordedAt`.
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

fn encode(row: &AuditRow) -> Result<Item, PortError> {
    serde_dynamo::to_item(row).map_err(|e| {
        PortError::new(
            "DynamoDB",
            "PutItem",
            ErrorClass::UnknownError,
            format!("audit row does not encode: {e}"),
        )
    })
}

/// A batch-write request that puts one row.
fn put_request(row: &AuditRow) -> Result<WriteRequest, PortError> {
    let put = PutRequest::builder()
        .set_item(Some(encode(row)?))
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
        get_decoded(&self.client, &self.table, key(pk, sk), Read::Consistent).await
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
    /// One BatchWriteItem for up to 25 rows; unprocessed rows are retried with backoff.
    async fn write_chunk(&self, rows: &[AuditRow]) -> Vec<Result<(), PortError>> {
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
            .retry(crate::adapters::http_retry::backoff(
                4,
                Duration::from_millis(800),
            ))
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
                rows.push(
                    serde_dynamo::from_item(item.clone()).map_err(|e| decode_error("Query", e))?,
                );
            }
        }
        rows.sort_by(|a: &AuditRow, b| {
            (&a.source_updated_at, &a.recorded_at).cmp(&(&b.source_updated_at, &b.recorded_at))
        });
        Ok(rows)
    }
}

impl DeliveryJournal for DynamoAuditLog {
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
        let mut rows = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("Query", e))?;
            for item in page.items() {
                let mut row: AuditRow =
                    serde_dynamo::from_item(item.clone()).map_err(|e| decode_error("Query", e))?;
                row.tenant_hour = Some(tenant_hour.to_owned());
                rows.push(row);
            }
        }
        Ok(rows)
    }
}
