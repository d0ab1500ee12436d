//! The daily pull end to end: a local Square-shaped server (cursor pages,
//! 429 with Retry-After, 500s, 401, malformed objects), the real runs store,
//! sync queue and worker on the local engines.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::time::Duration;
use synchub_cli::sync::RunLine;
use synchub_core::domain::TenantId;
use synchub_lambda::DailySync;
use synchub_tests::square_server::{self, SquareData, SquareServer};
use synchub_tests::*;

mod faults;
mod pulls;
mod runs;

const TOKEN: &str = "EAAA-test-token";

struct Setup {
    stack: TestStack,
    tenant: TestTenant,
    square: SquareServer,
    sync: DailySync,
}

async fn setup(data: SquareData, page_size: usize) -> Setup {
    let mut stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let square = SquareServer::start(data, page_size).await;
    stack.config.square_base_url = square.url.clone();
    synchub_cli::local::put_tenant_parameter(
        &stack.aws,
        &stack.config,
        &tenant.id,
        "square-token",
        TOKEN,
    )
    .await
    .unwrap();
    let mut sync = DailySync::new(&stack.aws, &stack.config);
    // The fixtures are dated mid-2026: widen the incremental windows to reach them.
    sync.policy.orders_lookback = Duration::from_secs(3 * 365 * 86_400);
    sync.policy.inventory_lookback = Duration::from_secs(3 * 365 * 86_400);
    Setup {
        stack,
        tenant,
        square,
        sync,
    }
}

fn data(items: usize) -> SquareData {
    let mut d = SquareData::empty();
    d.items = square_server::items(items);
    d
}

impl Setup {
    fn tenant_id(&self) -> TenantId {
        TenantId::parse(&self.tenant.id).unwrap()
    }

    /// Every message on the sync queue, received and deleted (no worker).
    async fn take_queue(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let sqs = self.stack.sqs();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(&self.stack.config.sync_queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(&self.stack.config.sync_queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Stored entities of a kind: (id, deleted).
    async fn stored(&self, kind: &str) -> Vec<(String, bool)> {
        let mut items = Vec::new();
        for partition in self.stack.item_partitions(&self.tenant.id) {
            let out = self
                .stack
                .dynamo()
                .query()
                .table_name(&self.stack.config.items_table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :k)")
                .expression_attribute_values(":pk", AttributeValue::S(partition))
                .expression_attribute_values(":k", AttributeValue::S(format!("{kind}#")))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            items.extend(out.items.unwrap_or_default());
        }
        let mut v: Vec<(String, bool)> = items
            .iter()
            .map(|i| {
                (
                    i["sk"]
                        .as_s()
                        .unwrap()
                        .trim_start_matches(&format!("{kind}#"))
                        .to_owned(),
                    i.get("deleted")
                        .and_then(|d| d.as_bool().ok())
                        .copied()
                        .unwrap_or(false),
                )
            })
            .collect();
        v.sort();
        v
    }
}

fn ran(lines: &[RunLine]) -> Vec<synchub_core::domain::sync_run::SyncRun> {
    lines
        .iter()
        .filter_map(|l| {
            if let RunLine::Ran(r) = l {
                Some(r.clone())
            } else {
                None
            }
        })
        .collect()
}

async fn notices(s: &Setup) -> Vec<Value> {
    let got = s
        .stack
        .sqs()
        .receive_message()
        .queue_url(&s.stack.config.notify_queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    got.messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}
