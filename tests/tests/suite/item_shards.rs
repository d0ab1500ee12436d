//! One tenant's items spread over several partition keys (`ITEM_SHARDS`):
//! the real worker writes through the ordering rule onto `{tenant}#{shard}`,
//! and every reader of the items table finds them again: the stored
//! versions a replay compares with, the reconciliation walk over the
//! tenant's live Square entities (resuming mid-walk from its cursor), and
//! a single item's read. The rest of the suite runs on any shard count with
//! `ITEM_SHARDS=8 scripts/with-engines.sh cargo nextest run -p synchub-tests`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use synchub_aws::dynamodb::DynamoItemStore;
use synchub_core::domain::change::{ChangeBody, EntityChange};
use synchub_core::domain::layout::ItemShards;
use synchub_core::domain::ordering::Version;
use synchub_core::domain::{EntityKey, EntityKind, EventId, TenantId};
use synchub_core::ports::replay::StoredVersions;
use synchub_core::ports::{EntityIndex, ItemStore};
use synchub_lambda::sqs::handle_sync_batch;
use synchub_tests::*;

const SHARDS: u16 = 8;

async fn sharded_stack() -> TestStack {
    let mut stack = TestStack::new().await;
    stack.config.item_shards = ItemShards::new(SHARDS).unwrap();
    stack
}

fn sku(i: usize) -> String {
    format!("SKU-{i:04}")
}

/// Applies one event per SKU (version `v`) through the real worker.
async fn deliver(stack: &TestStack, tenant: &str, skus: &[String], v: i64, minute: u32) {
    let worker = stack.worker();
    let updated_at = format!("2026-06-01T10:{minute:02}:00Z");
    let bodies: Vec<(String, String)> = skus
        .iter()
        .map(|s| {
            (
                format!("m-{s}-{v}"),
                queued(
                    tenant,
                    &supplier_event(&format!("e-{s}-{v}"), s, v, &updated_at),
                ),
            )
        })
        .collect();
    for chunk in bodies.chunks(10) {
        let records: Vec<(&str, &str, u32)> = chunk
            .iter()
            .map(|(m, b)| (m.as_str(), b.as_str(), 1))
            .collect();
        let answer = handle_sync_batch(&worker, sqs_event(&records)).await;
        assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    }
}

#[tokio::test]
async fn a_tenants_items_spread_over_its_shards_and_read_back_by_key() {
    let stack = sharded_stack().await;
    let tenant = stack.tenant(None).await;
    let skus: Vec<String> = (0..120).map(sku).collect();
    deliver(&stack, &tenant.id, &skus, 5, 1).await;
    // An older event of a few SKUs arrives late: stale, as on one key.
    deliver(&stack, &tenant.id, &skus[..10], 2, 0).await;

    let scan = stack
        .dynamo()
        .scan()
        .table_name(&stack.config.items_table)
        .send()
        .await
        .unwrap();
    let mut per_partition: BTreeMap<String, usize> = BTreeMap::new();
    for item in scan.items() {
        *per_partition
            .entry(item["pk"].as_s().unwrap().clone())
            .or_default() += 1;
    }
    let expected: BTreeSet<String> = (0..SHARDS).map(|s| format!("{}#{s}", tenant.id)).collect();
    assert_eq!(
        per_partition.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every item on one of the tenant's {SHARDS} keys, every key used"
    );
    assert!(per_partition.values().all(|n| *n < 40), "{per_partition:?}");

    for s in &skus {
        let item = stack.item(&tenant.id, s).await.expect("stored");
        assert_eq!(item["quantity"], 5, "{s}: the newer event holds");
        assert_eq!(
            item["pk"],
            stack.item_partition(&tenant.id, "catalog_item", s).as_str()
        );
    }
    let store = DynamoItemStore::new(stack.dynamo(), &stack.config.items_table)
        .with_shards(stack.config.item_shards);
    let keys: Vec<EntityKey> = skus
        .iter()
        .map(|s| EntityKey {
            tenant: TenantId::parse(&tenant.id).unwrap(),
            kind: EntityKind::CatalogItem,
            id: s.clone(),
        })
        .collect();
    let stored = store.stored(&keys).await.unwrap();
    assert_eq!(stored.len(), skus.len());
    assert!(stored
        .iter()
        .all(|(k, v)| v.version.event_id.as_str() == format!("e-{}-5", k.id)));
    // Read with the wrong shard count, the same keys are not found: a
    // table keeps the count it was written with.
    let unsharded = DynamoItemStore::new(stack.dynamo(), &stack.config.items_table);
    assert!(unsharded.stored(&keys).await.unwrap().is_empty());
}

/// A Square item as the daily pull normalizes it.
fn square_item(tenant: &TenantId, id: &str, deleted: bool) -> EntityChange {
    EntityChange {
        key: EntityKey {
            tenant: tenant.clone(),
            kind: EntityKind::Item,
            id: id.to_owned(),
        },
        version: Version {
            source_millis: 1_780_000_000_000,
            event_id: EventId::parse(&format!("sq-{id}")).unwrap(),
        },
        updated_at: "2026-06-01T10:00:00.000Z".into(),
        body: ChangeBody::Document {
            source: "square".into(),
            attributes: serde_json::json!({"name": id}).as_object().unwrap().clone(),
            deleted,
        },
    }
}

#[tokio::test]
async fn the_live_walk_covers_every_shard_once_and_resumes_from_any_cursor() {
    let stack = sharded_stack().await;
    let tenant = TenantId::parse(&stack.tenant(None).await.id).unwrap();
    let store = DynamoItemStore::new(stack.dynamo(), &stack.config.items_table)
        .with_shards(stack.config.item_shards);
    let ids: Vec<String> = (0..60).map(|i| format!("SQ{i:03}")).collect();
    for (i, id) in ids.iter().enumerate() {
        // Every seventh is a tombstone: not live, so never walked.
        let change = square_item(&tenant, id, i % 7 == 3);
        store.put_if_newer(&change, "m", "sync-t").await.unwrap();
    }
    let live: Vec<&String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 7 != 3)
        .map(|(_, id)| id)
        .collect();

    let walk = |after: Option<String>| {
        let store = store.clone();
        let tenant = tenant.clone();
        async move {
            let (mut seen, mut after) = (Vec::new(), after);
            loop {
                let (rows, next) = store
                    .live_page(&tenant, EntityKind::Item, "square", after)
                    .await
                    .unwrap();
                seen.extend(rows);
                match next {
                    Some(n) => after = Some(n),
                    None => return seen,
                }
            }
        }
    };
    let all = walk(None).await;
    let unique: HashMap<String, String> = all.iter().cloned().collect();
    assert_eq!(all.len(), live.len(), "each live id once");
    assert!(live.iter().all(|id| unique[*id] == format!("sq-{id}")));

    // Resuming after any id reads what follows it on its shard, then the
    // later shards: never an id twice, never one skipped.
    let shards = stack.config.item_shards;
    let place = |id: &str| (shards.shard_of(&format!("item#{id}")), format!("item#{id}"));
    for cursor in [&ids[0], &ids[17], &ids[42], &ids[59]] {
        let rest: Vec<String> = walk(Some(cursor.clone()))
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut expected: Vec<String> = live
            .iter()
            .filter(|id| place(id) > place(cursor))
            .map(|id| (*id).clone())
            .collect();
        let mut got = rest.clone();
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "after {cursor}");
    }
}

#[test]
fn the_template_leaves_existing_tables_on_one_shard_and_bounds_the_count_as_config_does() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let p = &t["Parameters"]["ItemShards"];
    // A stack updated to this template keeps the layout its items have.
    assert_eq!(p["Default"], 1);
    assert_eq!(p["MinValue"], 1);
    assert_eq!(p["MaxValue"], u64::from(ItemShards::MAX));
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        format!("{:?}", globals["ITEM_SHARDS"]),
        format!(
            "{:?}",
            serde_yaml::from_str::<serde_yaml::Value>("!Ref ItemShards").unwrap()
        )
    );
}

/// Every (pk, sk) on the items table.
async fn keys_on_table(stack: &TestStack) -> BTreeSet<(String, String)> {
    let scan = stack
        .dynamo()
        .scan()
        .table_name(&stack.config.items_table)
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    scan.items()
        .iter()
        .map(|i| {
            (
                i["pk"].as_s().unwrap().clone(),
                i["sk"].as_s().unwrap().clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_table_written_unsharded_moves_to_shards_and_back_and_a_stopped_move_finishes() {
    // Written by the worker with one shard, as a stack before sharding.
    let mut stack = TestStack::new().await;
    stack.config.item_shards = ItemShards::ONE;
    let tenant = stack.tenant(None).await;
    let skus: Vec<String> = (0..40).map(sku).collect();
    deliver(&stack, &tenant.id, &skus, 3, 1).await;
    let before: Vec<serde_json::Value> = {
        let mut v = Vec::new();
        for s in &skus {
            v.push(stack.item(&tenant.id, s).await.expect("stored"));
        }
        v
    };
    let eight = ItemShards::new(SHARDS).unwrap();
    let store = DynamoItemStore::new(stack.dynamo(), &stack.config.items_table).with_shards(eight);

    // A move stopped after its put and before its delete: the item is at both keys.
    let first = &skus[0];
    let old = stack
        .dynamo()
        .get_item()
        .table_name(&stack.config.items_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(tenant.id.clone()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("catalog_item#{first}")),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let mut copy = old.clone();
    let new_pk = eight.partition(
        &TenantId::parse(&tenant.id).unwrap(),
        &format!("catalog_item#{first}"),
    );
    copy.insert(
        "pk".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(new_pk.clone()),
    );
    stack
        .dynamo()
        .put_item()
        .table_name(&stack.config.items_table)
        .set_item(Some(copy))
        .send()
        .await
        .unwrap();

    let dry = store.reshard_from(ItemShards::ONE, true).await.unwrap();
    assert_eq!(
        (dry.scanned, dry.moved, dry.in_place),
        (41, 40, 1),
        "{dry:?}"
    );
    assert_eq!(
        keys_on_table(&stack).await.len(),
        41,
        "a dry run changes nothing"
    );

    let report = store.reshard_from(ItemShards::ONE, false).await.unwrap();
    assert_eq!((report.moved, report.in_place), (40, 1), "{report:?}");
    assert!(report.foreign.is_empty());
    let keys = keys_on_table(&stack).await;
    assert_eq!(keys.len(), 40, "each item once: {keys:?}");
    assert!(keys
        .iter()
        .all(|(pk, sk)| *pk == eight.partition(&TenantId::parse(&tenant.id).unwrap(), sk)));

    // The sharded stack reads every item as it was, and applies the ordering rule there.
    stack.config.item_shards = eight;
    for (s, was) in skus.iter().zip(&before) {
        let now = stack.item(&tenant.id, s).await.expect("moved");
        for field in ["quantity", "eventId", "revision"] {
            assert_eq!(now[field], was[field], "{s}: {field}");
        }
    }
    deliver(&stack, &tenant.id, &skus[..5], 2, 0).await;
    assert_eq!(
        stack.item(&tenant.id, &skus[0]).await.unwrap()["quantity"],
        3,
        "older is stale"
    );

    // Run again: nothing moves. And back to one shard.
    let again = store.reshard_from(ItemShards::ONE, false).await.unwrap();
    assert_eq!((again.moved, again.in_place), (0, 40));
    let one = DynamoItemStore::new(stack.dynamo(), &stack.config.items_table);
    let back = one.reshard_from(eight, false).await.unwrap();
    assert_eq!((back.moved, back.in_place), (40, 0));
    assert!(keys_on_table(&stack)
        .await
        .iter()
        .all(|(pk, _)| *pk == tenant.id));
}
