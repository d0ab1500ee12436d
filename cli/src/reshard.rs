//! `synchub reshard --from N --to M [--dry-run]`: moves the items table from
//! one shard count (`ItemShards`) to another, for a stack changing its
//! layout (docs/deploy.md, "Items table layout"). Safe to stop and run again.

use synchub_aws::dynamodb::{DynamoItemStore, ReshardReport};
use synchub_core::domain::layout::ItemShards;
use synchub_lambda::config::Config;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Reads a shard count as the template bounds it, naming the flag when wrong.
pub fn parse_shards(value: &str) -> Result<u16, String> {
    let n: u16 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a shard count (1 to {})", ItemShards::MAX))?;
    ItemShards::new(n)
        .map(ItemShards::count)
        .map_err(|e| e.to_string())
}

/// Moves (or counts, with `dry_run`) the items written with `from` shards.
pub async fn run(from: u16, to: u16, dry_run: bool) -> Result<ReshardReport, Error> {
    let config = Config::from_env(&[])?;
    let aws = synchub_lambda::aws_config().await;
    let store = DynamoItemStore::new(aws_sdk_dynamodb::Client::new(&aws), &config.items_table)
        .with_shards(ItemShards::new(to)?);
    Ok(store.reshard_from(ItemShards::new(from)?, dry_run).await?)
}

/// What was read, moved and left, and what to do next.
pub fn render(report: &ReshardReport, from: u16, to: u16, dry_run: bool) -> String {
    let verb = if dry_run { "would move" } else { "moved" };
    let mut out = format!(
        "items read {}; {verb} {} from {from} to {to} shard(s); {} already in place\n",
        report.scanned, report.moved, report.in_place
    );
    if !report.foreign.is_empty() {
        out += "left alone (a key of neither layout):\n";
        for key in &report.foreign {
            out += &format!("  {key}\n");
        }
    }
    if !dry_run {
        out += &format!(
            "next: deploy with ItemShards={to}, then enable the event source mappings again\n"
        );
    }
    out
}
