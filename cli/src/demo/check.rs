//! The demo's check: every SKU holds the newest event accepted for it, and
//! `synchub trace` on one SKU that saw a stale event says why.

use super::Error;
use crate::ops::Operations;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use synchub_core::domain::audit::AuditOutcome;
use synchub_core::domain::{EntityKind, TenantId};
use synchub_lambda::config::Config;
use synchub_ops::trace::entity_key;

/// Whether every SKU holds its newest accepted event; prints the verdict.
pub(super) async fn newest_held(
    aws: &SdkConfig,
    config: &Config,
    tenant: &TenantId,
    newest: &HashMap<&str, &str>,
) -> Result<bool, Error> {
    let mut wrong = Vec::new();
    for (sku, expected) in newest {
        let stored = stored_event_id(aws, config, tenant, sku).await?;
        if stored.as_deref() != Some(*expected) {
            wrong.push(format!("{sku}: stored {stored:?}, newest {expected}"));
        }
    }
    if wrong.is_empty() {
        println!(
            "check       ✔ every SKU holds its newest event ({}/{})",
            newest.len(),
            newest.len()
        );
    } else {
        println!(
            "check       ✘ {} SKUs do not hold their newest event:\n  {}",
            wrong.len(),
            wrong.join("\n  ")
        );
    }
    Ok(wrong.is_empty())
}

/// The event id the store holds for a SKU (a consistent read).
async fn stored_event_id(
    aws: &SdkConfig,
    config: &Config,
    tenant: &TenantId,
    sku: &str,
) -> Result<Option<String>, Error> {
    let out = aws_sdk_dynamodb::Client::new(aws)
        .get_item()
        .table_name(&config.items_table)
        .key(
            "pk",
            AttributeValue::S(
                config
                    .item_shards
                    .partition(tenant, &format!("catalog_item#{sku}")),
            ),
        )
        .key("sk", AttributeValue::S(format!("catalog_item#{sku}")))
        .consistent_read(true)
        .send()
        .await?;
    Ok(out
        .item
        .and_then(|i| i.get("eventId").and_then(|v| v.as_s().ok()).cloned()))
}

/// Prints the trace of the first SKU (in order) that saw a stale event.
pub(super) async fn explain_a_stale_sku(
    ops: &Operations,
    tenant: &TenantId,
    newest: &HashMap<&str, &str>,
) -> Result<(), Error> {
    let mut skus: Vec<&str> = newest.keys().copied().collect();
    skus.sort_unstable();
    for sku in skus {
        let key = entity_key(tenant.clone(), EntityKind::CatalogItem, sku)?;
        let trace = ops.trace(&key).await?;
        if trace
            .deliveries
            .iter()
            .any(|d| d.outcome == AuditOutcome::Stale)
        {
            println!(
                "\n$ synchub trace --tenant {tenant} --sku {sku}\n{}",
                crate::trace::render(&trace)
            );
            break;
        }
    }
    Ok(())
}
