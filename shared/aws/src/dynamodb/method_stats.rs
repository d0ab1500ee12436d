//! `ensure`'s per-(method, hour) counters, on the audit table beside the
//! worker's (`pk = #ensure#{method}`, `sk = {hour}`: a key no tenant's can
//! be, since a tenant id never starts with `#`), expiring with them. One
//! `UpdateItem` of `ADD`s per call.

use super::{n, s, DB};
use aws_sdk_dynamodb::Client;
use std::time::Duration;
use synchub_core::domain::ensure::{bucket, EnsureSample, MethodTally, SyncMethod, BUCKETS};
use synchub_core::ports::method_stats::MethodStats;
use synchub_core::ports::PortError;

pub struct DynamoMethodStats {
    client: Client,
    table: String,
    ttl: Duration,
}

impl DynamoMethodStats {
    /// On `table` (the audit table), each hour expiring `ttl` after its last call.
    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            ttl,
        }
    }
}

fn stats_pk(method: SyncMethod) -> String {
    format!("#ensure#{method}")
}

/// The attribute counting calls in duration bucket `i`.
fn bucket_name(i: usize) -> String {
    format!("b{i:02}")
}

impl MethodStats for DynamoMethodStats {
    async fn record(
        &self,
        method: SyncMethod,
        hour: &str,
        sample: &EnsureSample,
    ) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(stats_pk(method)))
            .key("sk", s(hour))
            .update_expression(
                "ADD calls :one, succeeded :ok, fallbacks :fb, durationMsTotal :ms, #b :one SET expiresAt = :exp",
            )
            .expression_attribute_names("#b", bucket_name(bucket(sample.duration_ms)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ok", n(u64::from(sample.succeeded)))
            .expression_attribute_values(":fb", n(u64::from(sample.fallback_used)))
            .expression_attribute_values(":ms", n(sample.duration_ms))
            .expression_attribute_values(":exp", n(synchub_core::domain::time::expiry_after(self.ttl)))
            .send()
            .await
            .map_err(|e| super::super::classify::sdk_error("DynamoDB", "UpdateItem", DB, e))?;
        Ok(())
    }

    async fn hours(
        &self,
        method: SyncMethod,
        first: &str,
        last: &str,
    ) -> Result<Vec<(String, MethodTally)>, PortError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(stats_pk(method)))
            .expression_attribute_values(":a", s(first))
            .expression_attribute_values(":b", s(last))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| super::super::classify::sdk_error("DynamoDB", "Query", DB, e))?;
            for item in page.items() {
                let number = |k: &str| {
                    item.get(k)
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                let hour = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let mut buckets = [0; BUCKETS];
                for (i, b) in buckets.iter_mut().enumerate() {
                    *b = number(&bucket_name(i));
                }
                let tally = MethodTally {
                    calls: number("calls"),
                    succeeded: number("succeeded"),
                    fallbacks: number("fallbacks"),
                    duration_ms_total: number("durationMsTotal"),
                    buckets,
                };
                out.push((hour, tally));
            }
        }
        Ok(out)
    }
}
