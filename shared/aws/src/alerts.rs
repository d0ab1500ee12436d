//! The notifications table (DynamoDB, `pk` + `sk`):
//!
//! - `alert#{tenant}` / `{ERROR_CLASS}`: the notification item per (tenant,
//!   error class): counts, first/last seen, last email, the samples and
//!   correlation ids it reported, the send lease and the armed flush.
//! - `failure#{tenant}#{ERROR_CLASS}` / `{at millis, 13 digits}#{key}`: one
//!   row per failure (with the dead-lettered body, for replay), so the newest
//!   samples are one Query and a redelivered failure finds its row.

use super::dynamodb::{decode_error, n, s};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;
use synchub_core::domain::alert::{AlertState, Failure};
use synchub_core::ports::replay::DeadLetters;
use synchub_core::ports::PortError;
use synchub_core::ports::{AlertClaim, AlertLedger, FailureLog, SummaryLedger};
use synchub_core::ErrorClass;

const DB: ErrorClass = ErrorClass::DatabaseError;

pub struct DynamoAlertStore {
    client: Client,
    table: String,
    failure_ttl: Duration,
}

fn alert_key(tenant: &str, class: ErrorClass) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(format!("alert#{tenant}"))),
        ("sk".to_owned(), s(class.as_str())),
    ])
}

fn failures_pk(tenant: &str, class: ErrorClass) -> String {
    format!("failure#{tenant}#{}", class.as_str())
}

fn failure_sk(at_millis: i64, key: &str) -> String {
    format!("{:013}#{key}", at_millis.max(0))
}

fn internal(operation: &'static str, e: impl ToString) -> PortError {
    PortError::new(
        "DynamoDB",
        operation,
        ErrorClass::UnknownError,
        e.to_string(),
    )
}

fn decode_state(item: HashMap<String, AttributeValue>) -> Result<AlertState, PortError> {
    serde_dynamo::from_item(item).map_err(|e| decode_error("UpdateItem", e))
}

impl DynamoAlertStore {
    pub fn new(client: Client, table: impl Into<String>, failure_ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            failure_ttl,
        }
    }

    async fn update(
        &self,
        tenant: &str,
        class: ErrorClass,
        expression: &str,
        condition: Option<&str>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<bool, PortError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(alert_key(tenant, class)))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e)),
        }
    }

    /// Every kept failure of a tenant (all classes), oldest first: what
    /// `synchub replay` sends back.
    pub async fn failures(
        &self,
        tenant: &str,
        class: ErrorClass,
    ) -> Result<Vec<Failure>, PortError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(failures_pk(tenant, class)))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?;
            for item in page.items() {
                out.push(
                    serde_dynamo::from_item(item.clone()).map_err(|e| decode_error("Query", e))?,
                );
            }
        }
        Ok(out)
    }

    fn failure_key(failure: &Failure) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                "pk".to_owned(),
                s(failures_pk(&failure.tenant_id, failure.error_class)),
            ),
            (
                "sk".to_owned(),
                s(failure_sk(failure.at_millis, &failure.key)),
            ),
        ])
    }

    /// Whether `synchub replay` already sent this failure back.
    /// The notification item, if any (for the CLI and tests).
    pub async fn state(
        &self,
        tenant: &str,
        class: ErrorClass,
    ) -> Result<Option<AlertState>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(alert_key(tenant, class)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "GetItem", DB, e))?;
        out.item.map(decode_state).transpose()
    }
}

impl DynamoAlertStore {
    /// The failure's own row, written only once per failure key.
    fn failure_put(&self, failure: &Failure) -> Result<Put, PortError> {
        let mut row: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(failure).map_err(|e| internal("TransactWriteItems", e))?;
        row.insert(
            "pk".into(),
            s(failures_pk(&failure.tenant_id, failure.error_class)),
        );
        row.insert("sk".into(), s(failure_sk(failure.at_millis, &failure.key)));
        row.insert(
            "expiresAt".into(),
            n(synchub_core::domain::time::now_millis() / 1000 + self.failure_ttl.as_secs() as i64),
        );
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(row))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| internal("TransactWriteItems", e))
    }

    /// The (tenant, class) counters, in the same transaction as the row.
    fn count_update(&self, failure: &Failure) -> Result<Update, PortError> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(alert_key(&failure.tenant_id, failure.error_class)))
            .update_expression(
                "ADD #total :one, #pending :one \
                 SET tenantId = :tenant, errorClass = :class, firstSeenMillis = if_not_exists(firstSeenMillis, :at), lastSeenMillis = :at",
            )
            .expression_attribute_names("#total", "total")
            .expression_attribute_names("#pending", "pending")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":tenant", s(&failure.tenant_id))
            .expression_attribute_values(":class", s(failure.error_class.as_str()))
            .expression_attribute_values(":at", n(failure.at_millis))
            .build()
            .map_err(|e| internal("TransactWriteItems", e))
    }
}

/// The code of the first cancellation reason of a cancelled transaction.
fn first_reason<R>(
    e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> Option<&str> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(tc)) => {
            tc.cancellation_reasons().first().and_then(|r| r.code())
        }
        _ => None,
    }
}

impl FailureLog for DynamoAlertStore {
    async fn record(&self, failure: &Failure) -> Result<bool, PortError> {
        let put = self.failure_put(failure)?;
        let count = self.count_update(failure)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // The failure's own row exists: a redelivery, counted already.
            Err(e) if first_reason(&e) == Some("ConditionalCheckFailed") => Ok(false),
            Err(e) => Err(super::classify::sdk_error(
                "DynamoDB",
                "TransactWriteItems",
                DB,
                e,
            )),
        }
    }

    async fn recent(
        &self,
        tenant: &str,
        class: ErrorClass,
        since: i64,
        limit: i32,
    ) -> Result<Vec<Failure>, PortError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk >= :since")
            .expression_attribute_values(":pk", s(failures_pk(tenant, class)))
            .expression_attribute_values(":since", s(failure_sk(since, "")))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?;
        out.items()
            .iter()
            .map(|item| serde_dynamo::from_item(item.clone()).map_err(|e| decode_error("Query", e)))
            .collect()
    }
}

impl AlertLedger for DynamoAlertStore {
    async fn claim(
        &self,
        tenant: &str,
        class: ErrorClass,
        now: i64,
        window: i64,
        lease: i64,
    ) -> Result<AlertClaim, PortError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(alert_key(tenant, class)))
            .update_expression("SET leaseUntilMillis = :lease")
            // The domain's rule, `AlertState::email_due`, as the store's
            // condition, so two notifiers can never both claim the email.
            .condition_expression(
                "pending > :zero AND (attribute_not_exists(lastEmailMillis) OR lastEmailMillis <= :windowStart) \
                 AND (attribute_not_exists(leaseUntilMillis) OR leaseUntilMillis < :now)",
            )
            .expression_attribute_values(":lease", n(now + lease))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":windowStart", n(now - window))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(AlertClaim::Claimed(decode_state(
                out.attributes.unwrap_or_default(),
            )?)),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(ccf)) => {
                    match ccf.item.clone() {
                        Some(item) => {
                            let state = decode_state(item)?;
                            Ok(if state.pending > 0 {
                                AlertClaim::NotDue(state)
                            } else {
                                AlertClaim::Nothing
                            })
                        }
                        None => Ok(AlertClaim::Nothing),
                    }
                }
                _ => Err(super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e)),
            },
        }
    }

    async fn sent(&self, state: &AlertState, reported: u64, now: i64) -> Result<(), PortError> {
        let class = ErrorClass::parse(&state.error_class).unwrap_or(ErrorClass::UnknownError);
        let list = |ids: &[String]| AttributeValue::L(ids.iter().map(s).collect());
        let values = HashMap::from([
            (":now".to_owned(), n(now)),
            (":minus".to_owned(), n(-(reported as i64))),
            (":one".to_owned(), n(1)),
            (":samples".to_owned(), list(&state.sample_ids)),
            (":correlations".to_owned(), list(&state.correlation_ids)),
        ]);
        self.update(
            &state.tenant_id,
            class,
            "SET lastEmailMillis = :now, sampleIds = :samples, correlationIds = :correlations \
             ADD pending :minus, emails :one REMOVE leaseUntilMillis, deliveryError",
            None,
            values,
        )
        .await
        .map(|_| ())
    }

    async fn release(
        &self,
        tenant: &str,
        class: ErrorClass,
        rejected: Option<&str>,
        now: i64,
    ) -> Result<(), PortError> {
        match rejected {
            None => {
                self.update(
                    tenant,
                    class,
                    "REMOVE leaseUntilMillis",
                    None,
                    HashMap::new(),
                )
                .await
            }
            Some(reason) => {
                let values =
                    HashMap::from([(":why".to_owned(), s(reason)), (":now".to_owned(), n(now))]);
                self.update(
                    tenant,
                    class,
                    "SET deliveryError = :why, lastEmailMillis = :now REMOVE leaseUntilMillis",
                    None,
                    values,
                )
                .await
            }
        }
        .map(|_| ())
    }

    async fn arm_flush(
        &self,
        tenant: &str,
        class: ErrorClass,
        due: i64,
    ) -> Result<bool, PortError> {
        let values = HashMap::from([(":due".to_owned(), n(due))]);
        self.update(
            tenant,
            class,
            "SET flushAtMillis = :due",
            Some("attribute_not_exists(flushAtMillis) OR flushAtMillis < :due"),
            values,
        )
        .await
    }

    async fn disarm_flush(
        &self,
        tenant: &str,
        class: ErrorClass,
        due: i64,
    ) -> Result<(), PortError> {
        let values = HashMap::from([(":due".to_owned(), n(due))]);
        self.update(
            tenant,
            class,
            "REMOVE flushAtMillis",
            Some("flushAtMillis = :due"),
            values,
        )
        .await
        .map(|_| ())
    }
}

impl SummaryLedger for DynamoAlertStore {
    async fn claim_summary(&self, tenant: &str, day: &str) -> Result<bool, PortError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("summary#{tenant}")))
            .item("sk", s(day))
            .item("sentAt", s(synchub_core::domain::time::now_rfc3339()))
            .item(
                "expiresAt",
                n(synchub_core::domain::time::now_millis() / 1000
                    + self.failure_ttl.as_secs() as i64),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(super::classify::sdk_error("DynamoDB", "PutItem", DB, e)),
        }
    }

    async fn release_summary(&self, tenant: &str, day: &str) -> Result<(), PortError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("summary#{tenant}")))
            .key("sk", s(day))
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "DeleteItem", DB, e))?;
        Ok(())
    }
}

impl DeadLetters for DynamoAlertStore {
    async fn dead_letters(
        &self,
        tenant: &str,
        since: i64,
        until: i64,
    ) -> Result<Vec<Failure>, PortError> {
        let mut out = Vec::new();
        for class in ErrorClass::ALL {
            let mut pages = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :since AND :until")
                .filter_expression("attribute_exists(deadLetterBody)")
                .expression_attribute_values(":pk", s(failures_pk(tenant, class)))
                .expression_attribute_values(":since", s(failure_sk(since, "")))
                // `~` sorts after every key character: the whole last millisecond.
                .expression_attribute_values(":until", s(failure_sk(until, "~")))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| super::classify::sdk_error("DynamoDB", "Query", DB, e))?;
                for item in page.items() {
                    out.push(
                        serde_dynamo::from_item(item.clone())
                            .map_err(|e| decode_error("Query", e))?,
                    );
                }
            }
        }
        out.sort_by_key(|f: &Failure| f.at_millis);
        Ok(out)
    }

    async fn is_replayed(&self, failure: &Failure) -> Result<bool, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::failure_key(failure)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "GetItem", DB, e))?;
        Ok(out.item.is_some_and(|i| i.contains_key("replayedAt")))
    }

    async fn mark_replayed(&self, failure: &Failure) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::failure_key(failure)))
            .update_expression("SET replayedAt = :now")
            .expression_attribute_values(":now", s(synchub_core::domain::time::now_rfc3339()))
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e))?;
        Ok(())
    }
}
