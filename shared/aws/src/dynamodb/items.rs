//! Catalog state on the items table, with the ordering rule as one
//! conditional write, and the index of live entities a source still has.

use super::{call_error, key, n, s, Item};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use synchub_core::domain::drift::HeldState;
use synchub_core::domain::layout::ItemShards;
use synchub_core::domain::ordering::{StoredVersion, Version, WriteResult};
use synchub_core::domain::supplier::SupplierEvent;
use synchub_core::domain::time::now_rfc3339;
use synchub_core::domain::{ChangeBody, EntityChange, EntityKey, EntityKind, EventId, TenantId};
use synchub_core::ports::replay::StoredVersions;
use synchub_core::ports::{EntityIndex, ItemStore, PortError};
use synchub_core::ErrorClass;

/// Catalog items: partition = the tenant's shard ([`ItemShards`]: the
/// tenant itself with one shard), sort key = `{kind}#{id}`.
#[derive(Clone)]
pub struct DynamoItemStore {
    pub(super) client: Client,
    pub(super) table: String,
    pub(super) shards: ItemShards,
}

impl DynamoItemStore {
    /// A store on a table with one shard per tenant (the unsharded layout).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            shards: ItemShards::ONE,
        }
    }

    /// The same store on a table written with `shards` per tenant.
    pub fn with_shards(self, shards: ItemShards) -> Self {
        Self { shards, ..self }
    }

    /// The key of an entity of `tenant` sorted under `sort_key`.
    fn entity_key(&self, tenant: &TenantId, sort_key: String) -> Item {
        key(&self.shards.partition(tenant, &sort_key), sort_key)
    }
}

/// The ordering rule as one condition: nothing stored yet, or the stored
/// (sourceMillis, eventId) is strictly older than the incoming one.
pub const NEWER_THAN_STORED: &str =
    "attribute_not_exists(pk) OR #sourceMillis < :sourceMillis OR (#sourceMillis = :sourceMillis AND #eventId < :eventId)";

/// Who wrote the entity before the current writer, newest first, shifted
/// one place down by every write: a delivery that crashed between its write
/// and its audit row finds its own write here when it is redelivered, even
/// after newer writes (as many as are kept here) followed it.
const EARLIER_WRITERS: [&str; 4] = [
    "#earlierWriter4 = if_not_exists(#earlierWriter3, :none)",
    "#earlierWriter3 = if_not_exists(#earlierWriter2, :none)",
    "#earlierWriter2 = if_not_exists(#earlierWriter1, :none)",
    "#earlierWriter1 = if_not_exists(#messageId, :none)",
];

/// The `SET` clauses of an item write and the values they name.
struct Update {
    sets: Vec<&'static str>,
    values: Item,
}

impl Update {
    fn set(&mut self, clause: &'static str, value: AttributeValue) {
        let name = clause.rsplit(' ').next().unwrap_or_default();
        self.sets.push(clause);
        self.values.insert(name.to_owned(), value);
    }

    /// Every `#alias` the clauses use, named after the attribute it stands for.
    fn names(&self) -> HashMap<String, String> {
        self.sets
            .iter()
            .map(|set| set.split(' ').next().unwrap_or_default())
            .chain(["#revision"])
            .map(|alias| (alias.to_owned(), alias.trim_start_matches('#').to_owned()))
            .collect()
    }
}

/// What an applied change writes: its version, where it came from, its body.
fn update_of(
    change: &EntityChange,
    message_id: &str,
    correlation_id: &str,
) -> Result<Update, PortError> {
    let mut update = Update {
        sets: Vec::new(),
        values: HashMap::from([(":one".to_owned(), n(1))]),
    };
    update.set("#kind = :kind", s(change.key.kind.as_str()));
    update.set(
        "#sourceMillis = :sourceMillis",
        n(change.version.source_millis),
    );
    update.set("#updatedAt = :updatedAt", s(&change.updated_at));
    update.set("#eventId = :eventId", s(change.version.event_id.as_str()));
    update.set("#messageId = :messageId", s(message_id));
    update.set("#correlationId = :correlationId", s(correlation_id));
    update.set("#appliedAt = :appliedAt", s(now_rfc3339()));
    // Shift the last writers down (each operand reads the item as it was).
    update.sets.extend(EARLIER_WRITERS);
    update.values.insert(":none".to_owned(), s(""));
    match &change.body {
        ChangeBody::Supplier(e) => set_supplier(&mut update, e),
        ChangeBody::Document {
            source,
            attributes,
            deleted,
        } => {
            let map = serde_dynamo::to_attribute_value(attributes).map_err(|e| {
                PortError::new(
                    "DynamoDB",
                    "UpdateItem",
                    ErrorClass::ValidationError,
                    format!("attributes do not encode: {e}"),
                )
            })?;
            update.set("#source = :source", s(source));
            update.set("#attributes = :attributes", map);
            update.set("#deleted = :deleted", AttributeValue::Bool(*deleted));
        }
    }
    Ok(update)
}

fn set_supplier(update: &mut Update, e: &SupplierEvent) {
    update.set("#sku = :sku", s(e.sku.as_str()));
    update.set("#quantity = :quantity", n(e.quantity));
    update.set("#supplierId = :supplierId", s(e.supplier_id.as_str()));
    if let Some(price) = e.price {
        update.set("#price = :price", n(price));
    }
    if let Some(name) = &e.name {
        update.set("#name = :name", s(name));
    }
}

impl ItemStore for DynamoItemStore {
    async fn put_if_newer(
        &self,
        change: &EntityChange,
        message_id: &str,
        correlation_id: &str,
    ) -> Result<WriteResult, PortError> {
        let update = update_of(change, message_id, correlation_id)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(
                self.entity_key(&change.key.tenant, change.key.item_sort_key()),
            ))
            .update_expression(format!("SET {} ADD #revision :one", update.sets.join(", ")))
            .condition_expression(NEWER_THAN_STORED)
            .set_expression_attribute_names(Some(update.names()))
            .set_expression_attribute_values(Some(update.values))
            // What the write replaced: whose write it was (a crashed delivery
            // to complete) and the revision this one follows.
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let previous = out.attributes().filter(|a| a.contains_key("eventId"));
                let previous = previous.map(|a| stored_version(Some(a))).transpose()?;
                Ok(WriteResult::Applied {
                    revision: previous.as_ref().map_or(0, |p| p.revision) + 1,
                    previous,
                })
            }
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(ccf)) => {
                    stored_version(ccf.item()).map(WriteResult::NotNewer)
                }
                _ => Err(call_error("UpdateItem", err)),
            },
        }
    }
}

/// Reads the stored version from the item returned by a refused write.
fn stored_version(item: Option<&Item>) -> Result<StoredVersion, PortError> {
    let bad = || {
        PortError::new(
            "DynamoDB",
            "UpdateItem",
            ErrorClass::UnknownError,
            "refused write returned no readable stored version",
        )
    };
    let item = item.ok_or_else(bad)?;
    let source_millis = item
        .get("sourceMillis")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)?;
    let event_id = text(item, "eventId")
        .and_then(|e| EventId::parse(&e).ok())
        .ok_or_else(bad)?;
    Ok(StoredVersion {
        version: Version {
            source_millis,
            event_id,
        },
        message_id: text(item, "messageId").unwrap_or_default(),
        revision: item
            .get("revision")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        earlier_writers: (1..=EARLIER_WRITERS.len())
            .map_while(|n| text(item, &format!("earlierWriter{n}")))
            .take_while(|m| !m.is_empty())
            .collect(),
    })
}

/// A string attribute of an item.
fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

impl EntityIndex for DynamoItemStore {
    /// BatchGetItem, 100 keys a call, of the attributes drift compares.
    async fn held(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        ids: &[String],
    ) -> Result<HashMap<String, HeldState>, PortError> {
        let prefix = format!("{}#", kind.as_str());
        let mut unique: Vec<&String> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        let keys = unique
            .iter()
            .map(|id| self.entity_key(tenant, format!("{prefix}{id}")))
            .collect();
        let items = super::batch_get(&self.client, &self.table, keys, |request| {
            request
                .projection_expression("sk, #attributes, #deleted")
                .expression_attribute_names("#attributes", "attributes")
                .expression_attribute_names("#deleted", "deleted")
        })
        .await?;
        let mut found = HashMap::new();
        for item in &items {
            let Some(id) =
                text(item, "sk").and_then(|sk| sk.strip_prefix(&prefix).map(str::to_owned))
            else {
                continue;
            };
            let attributes = match item.get("attributes") {
                Some(a) => serde_dynamo::from_attribute_value(a.clone())
                    .map_err(|e| super::decode_error("BatchGetItem", e))?,
                None => Default::default(),
            };
            let deleted = item
                .get("deleted")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false);
            found.insert(
                id,
                HeldState {
                    attributes,
                    deleted,
                },
            );
        }
        Ok(found)
    }

    /// One page of the walk over the tenant's shards in order: a cursor is
    /// the last id read, whose shard its key names, so the walk resumes
    /// there; a shard read to its end goes on to the next in the same call.
    async fn live_page(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        source: &str,
        after: Option<String>,
    ) -> Result<synchub_core::ports::LivePage, PortError> {
        let prefix = format!("{}#", kind.as_str());
        let first = after
            .as_ref()
            .map_or(0, |id| self.shards.shard_of(&format!("{prefix}{id}")));
        let mut after = after;
        let id = |item: &Item| {
            text(item, "sk")
                .unwrap_or_default()
                .trim_start_matches(&prefix)
                .to_owned()
        };
        let mut rows: Vec<(String, String)> = Vec::new();
        for shard in first..self.shards.count() {
            let partition = self.shards.partition_of_shard(tenant, shard);
            let start = after
                .take()
                .map(|id| key(&partition, format!("{prefix}{id}")));
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .filter_expression(
                    "(attribute_not_exists(#deleted) OR #deleted = :no) AND #source = :source",
                )
                .projection_expression("sk, eventId")
                .expression_attribute_names("#deleted", "deleted")
                .expression_attribute_names("#source", "source")
                .expression_attribute_values(":pk", s(&partition))
                .expression_attribute_values(":prefix", s(&prefix))
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .expression_attribute_values(":source", s(source))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| call_error("Query", e))?;
            rows.extend(
                out.items()
                    .iter()
                    .map(|i| (id(i), text(i, "eventId").unwrap_or_default())),
            );
            if let Some(last) = out.last_evaluated_key() {
                return Ok((rows, Some(id(last))));
            }
        }
        Ok((rows, None))
    }
}

/// BatchGetItem reads at most this many keys per call.
impl StoredVersions for DynamoItemStore {
    async fn stored(
        &self,
        keys: &[EntityKey],
    ) -> Result<HashMap<EntityKey, StoredVersion>, PortError> {
        let by_key: HashMap<(String, String), &EntityKey> = keys
            .iter()
            .map(|k| {
                let sk = k.item_sort_key();
                ((self.shards.partition(&k.tenant, &sk), sk), k)
            })
            .collect();
        let keys = keys
            .iter()
            .map(|k| self.entity_key(&k.tenant, k.item_sort_key()))
            .collect();
        let items = super::batch_get(&self.client, &self.table, keys, |request| {
            request
                .projection_expression("pk, sk, sourceMillis, eventId, messageId, #revision")
                .expression_attribute_names("#revision", "revision")
                .consistent_read(true)
        })
        .await?;
        let mut found = HashMap::new();
        for item in &items {
            let (Some(pk), Some(sk)) = (text(item, "pk"), text(item, "sk")) else {
                continue;
            };
            if let Some(entity) = by_key.get(&(pk, sk)) {
                found.insert((*entity).clone(), stored_version(Some(item))?);
            }
        }
        Ok(found)
    }
}
