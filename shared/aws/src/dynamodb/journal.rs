//! The deliveries journal: which audit rows were recorded in a tenant's
//! hour, so a replay finds a window's deliveries without a copy of every
//! row in an index. Each write of rows adds one journal item per tenant
//! hour it touches (`pk = #deliveries#{tenant}#{hour}`, a key no tenant's
//! can be), listing the rows' keys deflated: a batch of 25 rows costs one
//! or two write units instead of the 25 its rows' `byTenantHour` copies
//! cost. The journal item is written before its rows, so every row has one
//! (an entry whose row never landed is skipped on reading).

use super::{call_error, s, Item};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use synchub_core::domain::audit::AuditRow;
use synchub_core::ports::PortError;
use synchub_core::ErrorClass;

/// The journal partition of a tenant hour (`{tenant}#{hour}`).
pub(super) fn journal_partition(tenant_hour: &str) -> String {
    format!("#deliveries#{tenant_hour}")
}

/// An audit row's key.
pub(super) type RowKey = (String, String);

/// The journal items for `rows`: one per tenant hour among those that carry
/// one, its sort key the hour's earliest `recordedAt` and a digest of the
/// keys (the same rows give the same item, so a retried write is one item).
pub fn journal_items<'a>(rows: impl IntoIterator<Item = &'a AuditRow>) -> Vec<Item> {
    let mut by_hour: BTreeMap<&str, Vec<&AuditRow>> = BTreeMap::new();
    for row in rows {
        if let Some(hour) = row.tenant_hour.as_deref() {
            by_hour.entry(hour).or_default().push(row);
        }
    }
    by_hour
        .into_iter()
        .map(|(hour, rows)| {
            let listed: String = rows
                .iter()
                .map(|r| format!("{}\t{}\n", r.pk, r.sk))
                .collect();
            let earliest = rows.iter().map(|r| r.recorded_at.as_str()).min();
            let expires = rows.iter().map(|r| r.expires_at).max().unwrap_or(0);
            let digest = listed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            HashMap::from([
                ("pk".to_owned(), s(journal_partition(hour))),
                (
                    "sk".to_owned(),
                    s(format!("{}#{digest:016x}", earliest.unwrap_or_default())),
                ),
                (
                    "rows".to_owned(),
                    AttributeValue::B(Blob::new(deflate(&listed))),
                ),
                (
                    "expiresAt".to_owned(),
                    AttributeValue::N(expires.to_string()),
                ),
            ])
        })
        .collect()
}

fn deflate(text: &str) -> Vec<u8> {
    use flate2::{write::DeflateEncoder, Compression};
    use std::io::Write;
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().unwrap_or_default()
}

/// The row keys a journal item lists.
pub fn listed_keys(item: &Item) -> Result<Vec<RowKey>, PortError> {
    use std::io::Read;
    let bad = |why: String| {
        PortError::new(
            "DynamoDB",
            "Query",
            ErrorClass::UnknownError,
            format!("deliveries journal item does not decode: {why}"),
        )
    };
    let blob = item
        .get("rows")
        .and_then(|v| v.as_b().ok())
        .ok_or_else(|| bad("no rows".into()))?;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(blob.as_ref())
        .read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    text.lines()
        .map(|line| {
            line.split_once('\t')
                .map(|(pk, sk)| (pk.to_owned(), sk.to_owned()))
                .ok_or_else(|| bad(format!("line {line:?}")))
        })
        .collect()
}

/// Every row key the journal lists for `tenant_hour`.
pub(super) async fn journaled(
    client: &Client,
    table: &str,
    tenant_hour: &str,
) -> Result<BTreeSet<RowKey>, PortError> {
    let mut keys = BTreeSet::new();
    let mut pages = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(journal_partition(tenant_hour)))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("Query", e))?;
        for item in page.items() {
            keys.extend(listed_keys(item)?);
        }
    }
    Ok(keys)
}

/// BatchGetItem reads at most this many keys per call.
/// The rows stored under `keys` (missing ones are left out), 100 a call,
/// unprocessed keys asked again a few times.
pub(super) async fn rows_at(
    client: &Client,
    table: &str,
    keys: &[RowKey],
) -> Result<Vec<Item>, PortError> {
    let keys = keys
        .iter()
        .map(|(pk, sk)| super::key(pk, sk.clone()))
        .collect();
    super::batch_get(client, table, keys, |request| request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamodb::size::{write_units, WRITE_UNIT_BYTES};
    use synchub_core::domain::audit::AuditOutcome;

    fn row(tenant: &str, i: usize, at: &str) -> AuditRow {
        let mut row = AuditRow::new(
            format!("{tenant}#catalog_item#SKU-{i:06}"),
            format!(
                "evt-{i:06}#{:08x}-53a1-4a0e-9f5e-8f2c6a1d9e21",
                i * 7919 + 13
            ),
            tenant.into(),
            AuditOutcome::Applied,
            at.into(),
            1_800_000_000 + i as i64,
        );
        row.tenant_hour = Some(AuditRow::tenant_hour_key(tenant, at));
        row
    }

    #[test]
    fn a_batch_is_journaled_once_per_hour_and_its_keys_read_back() {
        let mut rows: Vec<AuditRow> = (0..20)
            .map(|i| row("acme", i, "2026-12-02T09:59:59.120Z"))
            .collect();
        rows.extend((20..25).map(|i| row("acme", i, "2026-12-02T10:00:00.020Z")));
        let mut untracked = row("acme", 99, "2026-12-02T10:00:00.020Z");
        untracked.tenant_hour = None;
        rows.push(untracked);
        let items = journal_items(&rows);
        assert_eq!(items.len(), 2);
        let mut listed: Vec<RowKey> = items.iter().flat_map(|i| listed_keys(i).unwrap()).collect();
        listed.sort();
        let mut expected: Vec<RowKey> = rows[..25]
            .iter()
            .map(|r| (r.pk.clone(), r.sk.clone()))
            .collect();
        expected.sort();
        assert_eq!(listed, expected);
        assert_eq!(
            items[0]["pk"].as_s().unwrap(),
            "#deliveries#acme#2026-12-02T09"
        );
        assert!(items[0]["sk"]
            .as_s()
            .unwrap()
            .starts_with("2026-12-02T09:59:59.120Z#"));
        assert_eq!(items[1]["expiresAt"].as_n().unwrap(), "1800000024");
        // The same rows make the same item, so a retry writes no second one.
        assert_eq!(journal_items(&rows), items);
    }

    #[test]
    fn a_full_batch_of_keys_costs_two_write_units_at_most() {
        let rows: Vec<AuditRow> = (0..25)
            .map(|i| row("a-rather-long-tenant-name", i, "2026-12-02T09:15:00.000Z"))
            .collect();
        let items = journal_items(&rows);
        assert_eq!(items.len(), 1);
        assert!(
            write_units(&items[0]) <= 2,
            "{} units for 25 rows",
            write_units(&items[0])
        );
        let plain: usize = rows.iter().map(|r| r.pk.len() + r.sk.len() + 2).sum();
        assert!(
            plain > WRITE_UNIT_BYTES,
            "the listing is compressed: {plain} B as text"
        );
    }
}
