//! Measurements for the cost model's inputs, on the local engines: what
//! DynamoDB charges to write a table's rows, and how much a function logs.

use super::{Error, WriteUnits};
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, GlobalSecondaryIndex, GlobalSecondaryIndexDescription,
    ProjectionType, ReturnConsumedCapacity, TableDescription,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::path::Path;

/// A row's size as DynamoDB counts it (the audit adapter's own measure).
pub use synchub_aws::dynamodb::size::item_size as item_bytes;

/// Puts every row of `table` into a scratch copy (same key schema and
/// indexes, on demand) and adds up the write units DynamoDB reports for the
/// table and each index. The copy is deleted after.
pub async fn write_units(client: &Client, table: &str) -> Result<WriteUnits, Error> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await?
        .table
        .ok_or("DescribeTable answered no table")?;
    let scratch = format!("{table}-units-{:08x}", rand::random::<u32>());
    let indexes: Vec<GlobalSecondaryIndex> = described
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            GlobalSecondaryIndex::builder()
                .index_name(g.index_name().unwrap_or_default())
                .set_key_schema(g.key_schema.clone())
                .set_projection(g.projection.clone())
                .build()
        })
        .collect::<Result<_, _>>()?;
    client
        .create_table()
        .table_name(&scratch)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(described.attribute_definitions.clone())
        .set_key_schema(described.key_schema.clone())
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await?;
    let projections: Vec<(String, Projected)> = described
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap_or_default().to_owned(),
                Projected::of(&described, g),
            )
        })
        .collect();
    let measured = copy_rows(client, table, &scratch, &projections).await;
    client.delete_table().table_name(&scratch).send().await?;
    measured
}

/// The attributes an index copy of a row keeps: the table's and the
/// index's keys, and the projected ones (all of them for `ALL`).
struct Projected {
    index_keys: Vec<String>,
    names: Option<Vec<String>>,
}

impl Projected {
    fn of(table: &TableDescription, index: &GlobalSecondaryIndexDescription) -> Self {
        let index_keys: Vec<String> = index
            .key_schema()
            .iter()
            .map(|k| k.attribute_name().to_owned())
            .collect();
        let projection = index.projection();
        if projection.and_then(|p| p.projection_type()) == Some(&ProjectionType::All) {
            return Projected {
                index_keys,
                names: None,
            };
        }
        let mut names: Vec<String> = table
            .key_schema()
            .iter()
            .map(|k| k.attribute_name().to_owned())
            .chain(index_keys.iter().cloned())
            .collect();
        names.extend(
            projection
                .map(|p| p.non_key_attributes().to_vec())
                .unwrap_or_default(),
        );
        Projected {
            index_keys,
            names: Some(names),
        }
    }

    /// The copy's size, or None when the row is not in the (sparse) index.
    fn size(&self, item: &HashMap<String, AttributeValue>) -> Option<usize> {
        if !self.index_keys.iter().all(|k| item.contains_key(k)) {
            return None;
        }
        let kept: HashMap<String, AttributeValue> = match &self.names {
            None => item.clone(),
            Some(names) => item
                .iter()
                .filter(|(k, _)| names.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        Some(item_bytes(&kept))
    }
}

async fn copy_rows(
    client: &Client,
    table: &str,
    scratch: &str,
    projections: &[(String, Projected)],
) -> Result<WriteUnits, Error> {
    let mut units = WriteUnits::default();
    let mut pages = client.scan().table_name(table).into_paginator().send();
    while let Some(page) = pages.next().await {
        for item in page?.items() {
            let journal = item
                .get("pk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| pk.starts_with("#deliveries#"));
            if journal {
                let consumed = client
                    .put_item()
                    .table_name(scratch)
                    .set_item(Some(item.clone()))
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await?;
                units.journal_items += 1;
                units.journal_units += consumed
                    .consumed_capacity
                    .and_then(|c| c.capacity_units)
                    .unwrap_or(0.0);
                units.journal_listed += synchub_aws::dynamodb::listed_keys(item)?.len();
                continue;
            }
            units.rows += 1;
            units.bytes.push(item_bytes(item));
            for (index, projected) in projections {
                if let Some(size) = projected.size(item) {
                    units
                        .index_bytes
                        .entry(index.clone())
                        .or_default()
                        .push(size);
                }
            }
            let consumed = client
                .put_item()
                .table_name(scratch)
                .set_item(Some(item.clone()))
                .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
                .send()
                .await?
                .consumed_capacity
                .ok_or("PutItem answered no consumed capacity")?;
            units.table_units += consumed
                .table()
                .and_then(|t| t.capacity_units())
                .unwrap_or(0.0);
            for (index, capacity) in consumed.global_secondary_indexes().into_iter().flatten() {
                let n = capacity.capacity_units().unwrap_or(0.0);
                *units.index_units.entry(index.clone()).or_default() += n;
                if n > 0.0 {
                    *units.index_rows.entry(index.clone()).or_default() += 1;
                }
            }
        }
    }
    Ok(units)
}

/// A log file's lines and bytes (the message bytes CloudWatch Logs
/// ingests, without the newline), by the `message` field's first words
/// ("EMF" for a metrics line).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogVolume {
    pub lines: usize,
    pub bytes: usize,
    pub by_message: std::collections::BTreeMap<String, (usize, usize)>,
}

pub fn log_volume(path: &Path) -> std::io::Result<LogVolume> {
    let text = std::fs::read_to_string(path)?;
    let mut volume = LogVolume::default();
    for line in text.lines().filter(|l| !l.is_empty()) {
        volume.lines += 1;
        volume.bytes += line.len();
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let kind = if parsed.get("_aws").is_some() {
            "EMF".to_owned()
        } else {
            parsed["message"]
                .as_str()
                .or(parsed["fields"]["message"].as_str())
                .unwrap_or("(not JSON)")
                .to_owned()
        };
        let entry = volume.by_message.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += line.len();
    }
    Ok(volume)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_volume_counts_lines_bytes_and_kinds() {
        let dir = std::env::temp_dir().join(format!("cost-log-{}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.jsonl");
        let lines = [
            r#"{"level":"INFO","message":"webhook accepted"}"#,
            r#"{"_aws":{"Timestamp":1},"WebhooksAccepted":1}"#,
            r#"{"level":"INFO","message":"webhook accepted"}"#,
        ];
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let v = log_volume(&path).unwrap();
        assert_eq!(v.lines, 3);
        assert_eq!(v.bytes, lines.iter().map(|l| l.len()).sum::<usize>());
        assert_eq!(v.by_message["webhook accepted"].0, 2);
        assert_eq!(v.by_message["EMF"], (1, lines[1].len()));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
