//! The sync-runs table (DynamoDB, `pk` + `sk`):
//!
//! - `run#{tenant}#{dataType}` / `{runId}`: the run and its checkpoint.
//! - `lock#{tenant}#{dataType}` / `lock`: who runs now (`runId`, `lockUntil`)
//!   and the last day that succeeded (`doneDay`, `doneRunId`); a connector's
//!   runs lock `lock#{tenant}#{dataType}#{connector}`.
//! - `seen#{runId}` / `{page}`: the ids a full pull saw on each page, written
//!   with the page's checkpoint in one request, read back to reconcile.
//! - `drift#{runId}` / `{part}`: a full pull's drift entries (a page's, in
//!   the same request; then the reconciliation's), kept as long as the run.

use super::dynamodb::{decode_error, n, s};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, PutRequest, ReturnValuesOnConditionCheckFailure, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;
use synchub_core::domain::drift::DriftEntry;
use synchub_core::domain::sync_run::{RunStatus, SeenIds, SyncRun};
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::ports::PortError;
use synchub_core::ports::{LockResult, RunLock, RunLog, SeenLog};
use synchub_core::ErrorClass;

const DB: ErrorClass = ErrorClass::DatabaseError;
/// Seen-id pages are only needed until the run reconciles.
const SEEN_TTL_SECONDS: i64 = 7 * 86_400;

pub struct DynamoRunStore {
    client: Client,
    table: String,
    ttl: Duration,
}

fn run_pk(tenant: &str, data_type: DataType) -> String {
    format!("run#{tenant}#{data_type}")
}

/// Square's lock is `lock#{tenant}#{dataType}`; a connector's adds its
/// name, so a tenant's POS each pull a data type on their own.
fn lock_key(run: &SyncRun) -> HashMap<String, AttributeValue> {
    let pk = match &run.pos {
        None => format!("lock#{}#{}", run.tenant_id, run.data_type),
        Some(pos) => format!("lock#{}#{}#{}", run.tenant_id, run.data_type, pos.connector),
    };
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s("lock"))])
}

fn internal(operation: &'static str, e: impl ToString) -> PortError {
    PortError::new(
        "DynamoDB",
        operation,
        ErrorClass::UnknownError,
        e.to_string(),
    )
}

fn day(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

impl DynamoRunStore {
    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            ttl,
        }
    }

    fn run_item(&self, run: &SyncRun) -> Result<HashMap<String, AttributeValue>, PortError> {
        let mut item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(run).map_err(|e| internal("PutItem", e))?;
        item.insert("pk".into(), s(run_pk(&run.tenant_id, run.data_type)));
        item.insert("sk".into(), s(&run.run_id));
        item.insert(
            "expiresAt".into(),
            n(now_millis() / 1000 + self.ttl.as_secs() as i64),
        );
        Ok(item)
    }

    /// A part of a run's drift: `drift#{runId}` / `{part}`, its entries as
    /// compact JSON, kept as long as the run.
    fn drift_item(
        &self,
        run: &SyncRun,
        part: u64,
        drift: &[DriftEntry],
    ) -> Result<HashMap<String, AttributeValue>, PortError> {
        let entries = serde_json::to_string(drift).map_err(|e| internal("PutItem", e))?;
        Ok(HashMap::from([
            ("pk".to_owned(), s(format!("drift#{}", run.run_id))),
            ("sk".to_owned(), s(format!("{part:08}"))),
            ("entries".to_owned(), s(entries)),
            (
                "expiresAt".to_owned(),
                n(now_millis() / 1000 + self.ttl.as_secs() as i64),
            ),
        ]))
    }

    async fn query_all(
        &self,
        pk: String,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, PortError> {
        let mut items = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            items.extend(
                page.map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?
                    .items
                    .unwrap_or_default(),
            );
        }
        Ok(items)
    }

    /// The partition's items with a sort key from `from` to `to`.
    async fn query_range(
        &self,
        pk: String,
        from: &str,
        to: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, PortError> {
        let mut items = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            items.extend(
                page.map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?
                    .items
                    .unwrap_or_default(),
            );
        }
        Ok(items)
    }
}

impl RunLock for DynamoRunStore {
    async fn lock(
        &self,
        run: &SyncRun,
        now: i64,
        ttl_millis: i64,
        force: bool,
    ) -> Result<LockResult, PortError> {
        let mut condition =
            "(attribute_not_exists(lockUntil) OR lockUntil < :now OR runId = :run)".to_owned();
        let mut values = HashMap::from([
            (":now".to_owned(), n(now)),
            (":run".to_owned(), s(&run.run_id)),
            (":until".to_owned(), n(now + ttl_millis)),
        ]);
        if !force {
            condition.push_str(" AND (attribute_not_exists(doneDay) OR doneDay <> :today)");
            values.insert(":today".into(), s(day(&run.started_at)));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(run)))
            .update_expression("SET runId = :run, lockUntil = :until")
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(LockResult::Acquired),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(ccf)) => {
                    let old = ccf.item.clone().unwrap_or_default();
                    let text = |k: &str| {
                        old.get(k)
                            .and_then(|v| v.as_s().ok())
                            .cloned()
                            .unwrap_or_default()
                    };
                    let until = old
                        .get("lockUntil")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    Ok(if until >= now {
                        LockResult::Held {
                            run_id: text("runId"),
                            until_millis: until,
                        }
                    } else {
                        LockResult::DoneToday {
                            run_id: text("doneRunId"),
                        }
                    })
                }
                _ => Err(super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e)),
            },
        }
    }

    async fn renew(&self, run: &SyncRun, now: i64, ttl_millis: i64) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(run)))
            .update_expression("SET lockUntil = :until")
            .condition_expression("runId = :run")
            .expression_attribute_values(":until", n(now + ttl_millis))
            .expression_attribute_values(":run", s(&run.run_id))
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e))?;
        Ok(())
    }

    async fn unlock(&self, run: &SyncRun) -> Result<(), PortError> {
        let succeeded = matches!(run.status, RunStatus::Succeeded | RunStatus::Partial);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(run)))
            .condition_expression("runId = :run")
            .expression_attribute_values(":run", s(&run.run_id));
        request = if succeeded {
            request
                .update_expression("SET doneDay = :day, doneRunId = :run REMOVE lockUntil")
                .expression_attribute_values(":day", s(day(&run.started_at)))
        } else {
            request.update_expression("REMOVE lockUntil")
        };
        match request.send().await {
            Ok(_) => Ok(()),
            // Someone else holds it now (ours expired): nothing to release.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e)),
        }
    }
}

impl RunLog for DynamoRunStore {
    async fn save(&self, run: &SyncRun) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.run_item(run)?))
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "PutItem", DB, e))?;
        Ok(())
    }

    async fn load(
        &self,
        tenant: &str,
        data_type: DataType,
        run_id: &str,
    ) -> Result<Option<SyncRun>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(run_pk(tenant, data_type)))
            .key("sk", s(run_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "GetItem", DB, e))?;
        out.item
            .map(|i| serde_dynamo::from_item(i).map_err(|e| decode_error("GetItem", e)))
            .transpose()
    }

    async fn runs(&self, tenant: &str) -> Result<Vec<SyncRun>, PortError> {
        let mut runs: Vec<SyncRun> = Vec::new();
        for data_type in DataType::ALL {
            for item in self.query_all(run_pk(tenant, data_type)).await? {
                runs.push(serde_dynamo::from_item(item).map_err(|e| decode_error("Query", e))?);
            }
        }
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_millis));
        Ok(runs)
    }

    /// One item: run ids (`sync-{tenant}-{13-digit millis}-…`) sort by start.
    async fn latest(
        &self,
        tenant: &str,
        data_type: DataType,
    ) -> Result<Option<SyncRun>, PortError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(run_pk(tenant, data_type)))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|item| serde_dynamo::from_item(item).map_err(|e| decode_error("Query", e)))
            .transpose()
    }

    /// A key range per data type (run ids sort by start, as for `latest`),
    /// read concurrently: what a window costs follows the window, not the
    /// history.
    async fn started_between(
        &self,
        tenant: &str,
        since_millis: i64,
        until_millis: i64,
    ) -> Result<Vec<SyncRun>, PortError> {
        let from = format!("sync-{tenant}-{since_millis:013}");
        // `~` sorts after the hex suffix of any id started at `until_millis`.
        let to = format!("sync-{tenant}-{until_millis:013}-~");
        let reads = DataType::ALL.map(|d| self.query_range(run_pk(tenant, d), &from, &to));
        let mut runs: Vec<SyncRun> = Vec::new();
        for items in futures::future::try_join_all(reads).await? {
            for item in items {
                runs.push(serde_dynamo::from_item(item).map_err(|e| decode_error("Query", e))?);
            }
        }
        runs.retain(|r| (since_millis..=until_millis).contains(&r.started_millis));
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_millis));
        Ok(runs)
    }
}

impl SeenLog for DynamoRunStore {
    async fn save_seen(
        &self,
        run: &SyncRun,
        page: u64,
        ids: &[String],
        drift: &[DriftEntry],
    ) -> Result<(), PortError> {
        let seen = HashMap::from([
            ("pk".to_owned(), s(format!("seen#{}", run.run_id))),
            ("sk".to_owned(), s(format!("{page:08}"))),
            (
                "ids".to_owned(),
                AttributeValue::L(ids.iter().map(s).collect()),
            ),
            (
                "expiresAt".to_owned(),
                n(now_millis() / 1000 + SEEN_TTL_SECONDS),
            ),
        ]);
        let mut items = vec![self.run_item(run)?, seen];
        if !drift.is_empty() {
            items.push(self.drift_item(run, page, drift)?);
        }
        let mut writes = Vec::new();
        for item in items {
            writes.push(
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item))
                            .build()
                            .map_err(|e| internal("BatchWriteItem", e))?,
                    )
                    .build(),
            );
        }
        // The checkpoint, the page's ids and its drift in one request.
        let mut pending = HashMap::from([(self.table.clone(), writes)]);
        for attempt in 0..5 {
            let out = self
                .client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(|e| super::classify::sdk_error("DynamoDB", "BatchWriteItem", DB, e))?;
            pending = out.unprocessed_items.unwrap_or_default();
            if pending.values().all(Vec::is_empty) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        Err(PortError::new(
            "DynamoDB",
            "BatchWriteItem",
            DB,
            "checkpoint left unprocessed after retries",
        ))
    }

    async fn save_drift(
        &self,
        run: &SyncRun,
        part: u64,
        drift: &[DriftEntry],
    ) -> Result<(), PortError> {
        if drift.is_empty() {
            return Ok(());
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.drift_item(run, part, drift)?))
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "PutItem", DB, e))?;
        Ok(())
    }

    async fn drift(&self, run: &SyncRun) -> Result<Vec<DriftEntry>, PortError> {
        let mut entries = Vec::new();
        for item in self.query_all(format!("drift#{}", run.run_id)).await? {
            let text = item
                .get("entries")
                .and_then(|v| v.as_s().ok())
                .map_or("[]", String::as_str);
            let part: Vec<DriftEntry> =
                serde_json::from_str(text).map_err(|e| internal("Query", e))?;
            entries.extend(part);
        }
        Ok(entries)
    }

    async fn seen(&self, run: &SyncRun) -> Result<SeenIds, PortError> {
        // Page by page, so only one response is held at a time.
        let mut ids = SeenIds::default();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("seen#{}", run.run_id)))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for item in page
                .map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?
                .items()
            {
                for id in item
                    .get("ids")
                    .and_then(|v| v.as_l().ok())
                    .into_iter()
                    .flatten()
                {
                    if let Ok(id) = id.as_s() {
                        ids.insert(id);
                    }
                }
            }
        }
        ids.seal();
        Ok(ids)
    }
}
