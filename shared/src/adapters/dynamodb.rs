//! DynamoDB adapters: catalog state with the ordering rule as a conditional
//! write, the audit trail, and tenant settings.

use super::cache::TtlCache;
use crate::domain::audit::{AuditRow, TargetStatus};
use crate::domain::ordering::{StoredVersion, Version, WriteResult};
use crate::domain::time::now_rfc3339;
use crate::domain::{ChangeBody, EntityChange, EventId, TenantId};
use crate::ports::PortError;
use crate::ports::{
    AuditLog, CustomerLedger, CustomerRecord, ItemStore, TargetIds, TenantDirectory, TenantRoster,
    TenantSettings,
};
use crate::ErrorClass;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, PutRequest, ReturnValue, ReturnValuesOnConditionCheckFailure, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use backon::Retryable;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const DB: ErrorClass = ErrorClass::DatabaseError;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Catalog items: partition = tenant, sort key = `{kind}#{id}`.
#[derive(Clone)]
pub struct DynamoItemStore {
    client: Client,
    table: String,
}

impl DynamoItemStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// The ordering rule as one condition: nothing stored yet, or the stored
/// (sourceMillis, eventId) is strictly older than the incoming one.
pub const NEWER_THAN_STORED: &str =
    "attribute_not_exists(pk) OR #sourceMillis < :sourceMillis OR (#sourceMillis = :sourceMillis AND #eventId < :eventId)";

impl ItemStore for DynamoItemStore {
    async fn put_if_newer(
        &self,
        change: &EntityChange,
        message_id: &str,
        correlation_id: &str,
    ) -> Result<WriteResult, PortError> {
        let mut sets = vec![
            "#kind = :kind",
            "#sourceMillis = :sourceMillis",
            "#updatedAt = :updatedAt",
            "#eventId = :eventId",
            "#messageId = :messageId",
            "#correlationId = :correlationId",
            "#appliedAt = :appliedAt",
        ];
        let mut values = HashMap::from([
            (":kind".to_owned(), s(change.key.kind.as_str())),
            (":sourceMillis".to_owned(), n(change.version.source_millis)),
            (":updatedAt".to_owned(), s(&change.updated_at)),
            (":eventId".to_owned(), s(change.version.event_id.as_str())),
            (":messageId".to_owned(), s(message_id)),
            (":correlationId".to_owned(), s(correlation_id)),
            (":appliedAt".to_owned(), s(now_rfc3339())),
            (":one".to_owned(), n(1)),
        ]);
        match &change.body {
            ChangeBody::Supplier(e) => {
                sets.extend([
                    "#sku = :sku",
                    "#quantity = :quantity",
                    "#supplierId = :supplierId",
                ]);
                values.insert(":sku".into(), s(e.sku.as_str()));
                values.insert(":quantity".into(), n(e.quantity));
                values.insert(":supplierId".into(), s(e.supplier_id.as_str()));
                if let Some(price) = e.price {
                    sets.push("#price = :price");
                    values.insert(":price".into(), n(price));
                }
                if let Some(name) = &e.name {
                    sets.push("#name = :name");
                    values.insert(":name".into(), s(name));
                }
            }
            ChangeBody::Document {
                source,
                attributes,
                deleted,
            } => {
                sets.extend([
                    "#source = :source",
                    "#attributes = :attributes",
                    "#deleted = :deleted",
                ]);
                let map = serde_dynamo::to_attribute_value(attributes).map_err(|e| {
                    PortError::new(
                        "DynamoDB",
                        "UpdateItem",
                        ErrorClass::ValidationError,
                        format!("attributes do not encode: {e}"),
                    )
                })?;
                values.insert(":source".into(), s(source));
                values.insert(":attributes".into(), map);
                values.insert(":deleted".into(), AttributeValue::Bool(*deleted));
            }
        }
        let names: HashMap<String, String> = sets
            .iter()
            .map(|set| set.split(' ').next().unwrap_or_default())
            .chain(["#revision"])
            .map(|alias| (alias.to_owned(), alias.trim_start_matches('#').to_owned()))
            .collect();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(change.key.tenant.as_str()))
            .key("sk", s(change.key.item_sort_key()))
            .update_expression(format!("SET {} ADD #revision :one", sets.join(", ")))
            .condition_expression(NEWER_THAN_STORED)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let revision = out
                    .attributes()
                    .and_then(|a| a.get("revision"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                Ok(WriteResult::Applied { revision })
            }
            Err(err) => {
                if let Some(UpdateItemError::ConditionalCheckFailedException(ccf)) =
                    err.as_service_error()
                {
                    return stored_version(ccf.item()).map(WriteResult::NotNewer);
                }
                Err(super::classify::sdk_error(
                    "DynamoDB",
                    "UpdateItem",
                    DB,
                    err,
                ))
            }
        }
    }
}

impl crate::ports::EntityIndex for DynamoItemStore {
    async fn live_page(
        &self,
        tenant: &TenantId,
        kind: crate::domain::EntityKind,
        source: &str,
        after: Option<String>,
    ) -> Result<(Vec<(String, String)>, Option<String>), PortError> {
        let prefix = format!("{}#", kind.as_str());
        let start = after.map(|id| {
            HashMap::from([
                ("pk".to_owned(), s(tenant.as_str())),
                ("sk".to_owned(), s(format!("{prefix}{id}"))),
            ])
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression(
                "(attribute_not_exists(#deleted) OR #deleted = :no) AND #source = :source",
            )
            .projection_expression("sk, eventId")
            .expression_attribute_names("#deleted", "deleted")
            .expression_attribute_names("#source", "source")
            .expression_attribute_values(":pk", s(tenant.as_str()))
            .expression_attribute_values(":prefix", s(&prefix))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":source", s(source))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?;
        let text = |item: &HashMap<String, AttributeValue>, k: &str| {
            item.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let rows = out
            .items()
            .iter()
            .map(|i| {
                (
                    text(i, "sk").trim_start_matches(&prefix).to_owned(),
                    text(i, "eventId"),
                )
            })
            .collect();
        let next = out
            .last_evaluated_key()
            .map(|k| text(k, "sk").trim_start_matches(&prefix).to_owned());
        Ok((rows, next))
    }
}

/// Reads the stored version from the item returned by a refused write.
fn stored_version(
    item: Option<&HashMap<String, AttributeValue>>,
) -> Result<StoredVersion, PortError> {
    let bad = || {
        PortError::new(
            "DynamoDB",
            "UpdateItem",
            ErrorClass::UnknownError,
            "refused write returned no readable stored version",
        )
    };
    let item = item.ok_or_else(bad)?;
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let source_millis = item
        .get("sourceMillis")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)?;
    let event_id = text("eventId")
        .and_then(|e| EventId::parse(&e).ok())
        .ok_or_else(bad)?;
    Ok(StoredVersion {
        version: Version {
            source_millis,
            event_id,
        },
        message_id: text("messageId").unwrap_or_default(),
    })
}

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

    /// Every row of one entity, oldest source time first (what `trace` shows).
    pub async fn entity_history(&self, pk: &str) -> Result<Vec<AuditRow>, PortError> {
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
            let page = page.map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?;
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

pub(crate) fn decode_error(operation: &'static str, e: serde_dynamo::Error) -> PortError {
    PortError::new(
        "DynamoDB",
        operation,
        ErrorClass::UnknownError,
        format!("stored item does not decode: {e}"),
    )
}

fn encode(row: &AuditRow) -> Result<HashMap<String, AttributeValue>, PortError> {
    serde_dynamo::to_item(row).map_err(|e| {
        PortError::new(
            "DynamoDB",
            "PutItem",
            ErrorClass::UnknownError,
            format!("audit row does not encode: {e}"),
        )
    })
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
            Err(err) => Err(super::classify::sdk_error("DynamoDB", "PutItem", DB, err)),
        }
    }

    async fn find(&self, pk: &str, sk: &str) -> Result<Option<AuditRow>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "GetItem", DB, e))?;
        out.item
            .map(|item| serde_dynamo::from_item(item).map_err(|e| decode_error("GetItem", e)))
            .transpose()
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
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("SET targets = :t")
            .expression_attribute_values(":t", value)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e))?;
        Ok(())
    }
}

impl DynamoAuditLog {
    /// One BatchWriteItem for up to 25 rows; unprocessed rows are retried with backoff.
    async fn write_chunk(&self, rows: &[AuditRow]) -> Vec<Result<(), PortError>> {
        let mut pending: Vec<(usize, WriteRequest)> = Vec::new();
        let mut results: Vec<Result<(), PortError>> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            match encode(row).and_then(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| {
                        PortError::new(
                            "DynamoDB",
                            "BatchWriteItem",
                            ErrorClass::UnknownError,
                            e.to_string(),
                        )
                    })
            }) {
                Ok(put) => {
                    pending.push((i, WriteRequest::builder().put_request(put).build()));
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        if pending.is_empty() {
            return results;
        }
        // Unprocessed rows are a retryable failure of the attempt, so backon
        // retries exactly them with backoff and jitter.
        let pending = std::sync::Mutex::new(pending);
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
                .map_err(|e| super::classify::sdk_error("DynamoDB", "BatchWriteItem", DB, e))?;
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
        if let Err(err) = attempt
            .retry(super::http_retry::backoff(4, Duration::from_millis(800)))
            .sleep(tokio::time::sleep)
            .when(PortError::is_retryable)
            .await
        {
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
}

/// Tenant settings, cached briefly in the warm function.
pub struct DynamoTenantDirectory {
    client: Client,
    table: String,
    cache: TtlCache<TenantId, Option<TenantSettings>>,
}

impl DynamoTenantDirectory {
    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            cache: TtlCache::new(ttl),
        }
    }

    /// Creates or replaces a tenant's settings (used by seeding and the CLI).
    pub async fn put(&self, settings: &TenantSettings) -> Result<(), PortError> {
        let mut item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(settings).map_err(|e| {
                PortError::new(
                    "DynamoDB",
                    "PutItem",
                    ErrorClass::UnknownError,
                    e.to_string(),
                )
            })?;
        item.insert("pk".into(), s(&settings.tenant_id));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "PutItem", DB, e))?;
        Ok(())
    }

    async fn fetch(&self, tenant: &TenantId) -> Result<Option<TenantSettings>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(tenant.as_str()))
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "GetItem", DB, e))?;
        out.item
            .map(|item| serde_dynamo::from_item(item).map_err(|e| decode_error("GetItem", e)))
            .transpose()
    }
}

impl TenantDirectory for DynamoTenantDirectory {
    async fn settings(&self, tenant: &TenantId) -> Result<Option<TenantSettings>, PortError> {
        self.cache.get_or_fetch(tenant, self.fetch(tenant)).await
    }
}

impl TenantRoster for DynamoTenantDirectory {
    /// A scan: the tenants table is small.
    async fn active(&self) -> Result<Vec<TenantSettings>, PortError> {
        let mut tenants = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for item in page
                .map_err(|e| super::classify::sdk_error("DynamoDB", "Scan", DB, e))?
                .items()
            {
                let settings: TenantSettings =
                    serde_dynamo::from_item(item.clone()).map_err(|e| decode_error("Scan", e))?;
                if settings.active {
                    tenants.push(settings);
                }
            }
        }
        tenants.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        Ok(tenants)
    }
}

/// A customer master record as stored (the fields the ledger reads).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredCustomer {
    sk: String,
    event_id: String,
    #[serde(default)]
    correlation_id: String,
    #[serde(default)]
    attributes: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    square_customer_id: Option<String>,
    #[serde(default)]
    crm_contact_id: Option<String>,
    #[serde(default)]
    pos_sync: Option<TargetStatus>,
    #[serde(default)]
    crm_sync: Option<TargetStatus>,
}

impl StoredCustomer {
    fn into_record(self) -> CustomerRecord {
        let id = self
            .sk
            .strip_prefix("customer#")
            .unwrap_or(&self.sk)
            .to_owned();
        let sync_status = [("pos", self.pos_sync), ("crm", self.crm_sync)]
            .into_iter()
            .filter_map(|(t, s)| Some((t.to_owned(), s?)))
            .collect();
        CustomerRecord {
            profile: crate::app::customers::profile(&id, &self.attributes),
            event_id: self.event_id,
            square_customer_id: self.square_customer_id,
            crm_contact_id: self.crm_contact_id,
            sync_status,
            correlation_id: self.correlation_id,
        }
    }
}

fn customer_key(tenant: &TenantId, id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(tenant.as_str())),
        ("sk".to_owned(), s(format!("customer#{id}"))),
    ])
}

/// The ledger attribute of a target: `posSync`, `crmSync`.
fn ledger_attribute(target: &str) -> String {
    format!("{target}Sync")
}

impl CustomerLedger for DynamoItemStore {
    async fn customer(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<CustomerRecord>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(customer_key(tenant, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "GetItem", DB, e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let stored: StoredCustomer =
            serde_dynamo::from_item(item).map_err(|e| decode_error("GetItem", e))?;
        Ok(Some(stored.into_record()))
    }

    async fn record_sync(
        &self,
        tenant: &TenantId,
        id: &str,
        event_id: &str,
        statuses: &[(&'static str, TargetStatus)],
        ids: TargetIds<'_>,
    ) -> Result<(), PortError> {
        let mut sets = Vec::new();
        let mut names = HashMap::from([("#eventId".to_owned(), "eventId".to_owned())]);
        let mut values = HashMap::from([(":eventId".to_owned(), s(event_id))]);
        for (i, (target, status)) in statuses.iter().enumerate() {
            sets.push(format!("#t{i} = :t{i}"));
            names.insert(format!("#t{i}"), ledger_attribute(target));
            let value = serde_dynamo::to_attribute_value(status)
                .map_err(|e| decode_error("UpdateItem", e))?;
            values.insert(format!(":t{i}"), value);
        }
        for (alias, attribute, id) in [
            ("posId", "squareCustomerId", ids.pos),
            ("crmId", "crmContactId", ids.crm),
        ] {
            if let Some(id) = id {
                sets.push(format!("#{alias} = :{alias}"));
                names.insert(format!("#{alias}"), attribute.into());
                values.insert(format!(":{alias}"), s(id));
            }
        }
        if sets.is_empty() {
            return Ok(());
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(customer_key(tenant, id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            // Only for the event the record holds: an older event's results never
            // overwrite a newer one's.
            .condition_expression("#eventId = :eventId")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                tracing::info!(tenant = %tenant, customer = id, event_id, "a newer event holds the record; its own results stand");
                Ok(())
            }
            Err(e) => Err(super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e)),
        }
    }

    async fn needing_sync(
        &self,
        tenant: &TenantId,
        target: &str,
        since: Option<&str>,
    ) -> Result<Vec<CustomerRecord>, PortError> {
        let mut filter = "(attribute_not_exists(#deleted) OR #deleted = :no) AND (begins_with(#ledger.#status, :skipped) OR begins_with(#ledger.#status, :failed))".to_owned();
        if since.is_some() {
            filter.push_str(" AND #ledger.#at >= :since");
        }
        let mut found = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .filter_expression(&filter)
                .expression_attribute_names("#deleted", "deleted")
                .expression_attribute_names("#ledger", ledger_attribute(target))
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":pk", s(tenant.as_str()))
                .expression_attribute_values(":prefix", s("customer#"))
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .expression_attribute_values(":skipped", s("skipped"))
                .expression_attribute_values(":failed", s("failed"))
                .set_exclusive_start_key(start.take())
                .consistent_read(true);
            if let Some(since) = since {
                query = query
                    .expression_attribute_names("#at", "at")
                    .expression_attribute_values(":since", s(since));
            }
            let out = query
                .send()
                .await
                .map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?;
            for item in out.items.unwrap_or_default() {
                let stored: StoredCustomer =
                    serde_dynamo::from_item(item).map_err(|e| decode_error("Query", e))?;
                found.push(stored.into_record());
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }
}
