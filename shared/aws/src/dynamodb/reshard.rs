//! Moving an items table from one shard count to another (README, "Items
//! table layout"): every item written under the old layout is put where the
//! store's layout keeps it, then removed from its old key. The put never
//! overwrites (an item already at its new key is one an interrupted run
//! moved), so a run can be stopped anywhere and run again.

use super::{call_error, Item};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use synchub_core::domain::layout::ItemShards;
use synchub_core::ports::PortError;

use super::DynamoItemStore;

/// What a reshard found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReshardReport {
    /// Items read.
    pub scanned: u64,
    /// Items moved to their new key (or that would be, in a dry run).
    pub moved: u64,
    /// Items already where the new layout keeps them.
    pub in_place: u64,
    /// Items under a key of neither layout, left alone (their keys, up to 20).
    pub foreign: Vec<String>,
}

impl DynamoItemStore {
    /// Moves every item written with `from` shards per tenant to its key in
    /// this store's layout; with `dry_run`, counts what it would move.
    /// Run it while nothing writes the table (README): a write meanwhile
    /// could land under the layout its writer was deployed with.
    pub async fn reshard_from(
        &self,
        from: ItemShards,
        dry_run: bool,
    ) -> Result<ReshardReport, PortError> {
        let mut report = ReshardReport::default();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| call_error("Scan", e))?;
            for item in page.items.unwrap_or_default() {
                report.scanned += 1;
                self.move_one(item, from, dry_run, &mut report).await?;
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(report),
            }
        }
    }

    async fn move_one(
        &self,
        mut item: Item,
        from: ItemShards,
        dry_run: bool,
        report: &mut ReshardReport,
    ) -> Result<(), PortError> {
        let text = |name: &str, item: &Item| match item.get(name) {
            Some(AttributeValue::S(v)) => v.clone(),
            _ => String::new(),
        };
        let (pk, sk) = (text("pk", &item), text("sk", &item));
        let Some(tenant) = self.shards.tenant_of(&pk).or_else(|| from.tenant_of(&pk)) else {
            if report.foreign.len() < 20 {
                report.foreign.push(format!("{pk} / {sk}"));
            }
            return Ok(());
        };
        let target = self.shards.partition(&tenant, &sk);
        if target == pk {
            report.in_place += 1;
            return Ok(());
        }
        if from.tenant_of(&pk).is_none() {
            // Under the new layout's keys but on another shard: neither
            // layout put it there.
            if report.foreign.len() < 20 {
                report.foreign.push(format!("{pk} / {sk}"));
            }
            return Ok(());
        }
        report.moved += 1;
        if dry_run {
            return Ok(());
        }
        let old_key = super::key(&pk, sk);
        item.insert("pk".into(), super::s(target));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => {}
            // Moved by a run that stopped before its delete: finish it.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) => {}
            Err(e) => return Err(call_error("PutItem", e)),
        }
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(old_key))
            .send()
            .await
            .map_err(|e| call_error("DeleteItem", e))?;
        Ok(())
    }
}
