//! The per-(tenant, hour) counters, on the audit table beside the rows they
//! count (`pk = {tenant}#metrics`, `sk = {hour}`), expiring with them. One
//! `UpdateItem` of `ADD`s per tenant per batch, and a conditional one for the
//! longest queue wait only when the batch beat the stored one (which the
//! first returns).

use super::{n, s, Item, DB};
use aws_sdk_dynamodb::types::ReturnValue;
use aws_sdk_dynamodb::Client;
use std::time::Duration;
use synchub_core::domain::metrics::{Tally, TargetTally};
use synchub_core::ports::{MetricsLedger, PortError};

pub struct DynamoMetricsLedger {
    client: Client,
    table: String,
    ttl: Duration,
}

impl DynamoMetricsLedger {
    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            ttl,
        }
    }
}

fn metrics_pk(tenant: &str) -> String {
    format!("{tenant}#metrics")
}

const COUNTERS: [&str; 16] = [
    "received",
    "audited",
    "applied",
    "stale",
    "duplicate",
    "rejected",
    "publishOk",
    "publishFailed",
    "publishRecovered",
    "publishSkipped",
    "posSucceeded",
    "posSkipped",
    "posFailed",
    "crmSucceeded",
    "crmSkipped",
    "crmFailed",
];

fn counts(t: &Tally) -> [u64; 16] {
    [
        t.received,
        t.audited,
        t.applied,
        t.stale,
        t.duplicate,
        t.rejected,
        t.publish_ok,
        t.publish_failed,
        t.publish_recovered,
        t.publish_skipped,
        t.pos.succeeded,
        t.pos.skipped,
        t.pos.failed,
        t.crm.succeeded,
        t.crm.skipped,
        t.crm.failed,
    ]
}

/// A counter of the hour's item (an absent or unreadable one is 0).
fn number(item: &Item, key: &str) -> u64 {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The counters read back, in [`COUNTERS`]' order (an absent one is 0).
fn tally(c: [u64; 16], lag_max_ms: u64) -> Tally {
    let target = |i: usize| TargetTally {
        succeeded: c[i],
        skipped: c[i + 1],
        failed: c[i + 2],
    };
    Tally {
        received: c[0],
        audited: c[1],
        applied: c[2],
        stale: c[3],
        duplicate: c[4],
        rejected: c[5],
        publish_ok: c[6],
        publish_failed: c[7],
        publish_recovered: c[8],
        publish_skipped: c[9],
        pos: target(10),
        crm: target(13),
        lag_max_ms,
    }
}

impl MetricsLedger for DynamoMetricsLedger {
    async fn add(&self, tenant: &str, hour: &str, tally: &Tally) -> Result<(), PortError> {
        let expires = synchub_core::domain::time::expiry_after(self.ttl);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(metrics_pk(tenant)))
            .key("sk", s(hour))
            .expression_attribute_values(":exp", n(expires));
        let mut adds = Vec::new();
        for (i, (name, value)) in COUNTERS.iter().zip(counts(tally)).enumerate() {
            if value > 0 {
                adds.push(format!("#c{i} :c{i}"));
                update = update
                    .expression_attribute_names(format!("#c{i}"), *name)
                    .expression_attribute_values(format!(":c{i}"), n(value));
            }
        }
        let expression = if adds.is_empty() {
            "SET expiresAt = :exp".to_owned()
        } else {
            format!("ADD {} SET expiresAt = :exp", adds.join(", "))
        };
        // The hour's item as the ADDs left it: its longest wait so far, so a
        // batch that did not beat it needs no second write (most do not).
        let stored = update
            .update_expression(expression)
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| super::super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e))?;
        let stored_lag = stored
            .attributes()
            .map_or(0, |item| number(item, "lagMaxMs"));
        if tally.lag_max_ms > stored_lag {
            self.raise_lag(tenant, hour, tally.lag_max_ms).await?;
        }
        Ok(())
    }

    async fn hours(
        &self,
        tenant: &str,
        since: &str,
        until: &str,
    ) -> Result<Vec<(String, Tally)>, PortError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(metrics_pk(tenant)))
            .expression_attribute_values(":a", s(since))
            .expression_attribute_values(":b", s(until))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| super::super::classify::sdk_error("DynamoDB", "Query", DB, e))?;
            for item in page.items() {
                let hour = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                out.push((
                    hour,
                    tally(COUNTERS.map(|k| number(item, k)), number(item, "lagMaxMs")),
                ));
            }
        }
        Ok(out)
    }
}

impl DynamoMetricsLedger {
    /// Keeps the hour's longest queue wait; a smaller one changes nothing.
    async fn raise_lag(&self, tenant: &str, hour: &str, lag_ms: u64) -> Result<(), PortError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(metrics_pk(tenant)))
            .key("sk", s(hour))
            .update_expression("SET lagMaxMs = :lag")
            .condition_expression("attribute_not_exists(lagMaxMs) OR lagMaxMs < :lag")
            .expression_attribute_values(":lag", n(lag_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(super::super::classify::sdk_error(
                "DynamoDB",
                "UpdateItem",
                DB,
                e,
            )),
        }
    }
}
