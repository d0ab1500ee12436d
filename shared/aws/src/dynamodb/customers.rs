//! The per-target sync ledger on customer master records, which live on the
//! items table (sort key `customer#{id}`).

use super::items::DynamoItemStore;
use super::{call_error, decode_error, get_decoded, key, s, Item, Read};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use synchub_core::domain::audit::TargetStatus;
use synchub_core::domain::TenantId;
use synchub_core::ports::{CustomerLedger, CustomerProfile, CustomerRecord, PortError, TargetIds};

/// A customer master record as stored (the fields the ledger reads).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredCustomer {
    sk: String,
    event_id: String,
    #[serde(default)]
    correlation_id: String,
    #[serde(default)]
    attributes: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    square_customer_id: Option<String>,
    #[serde(default)]
    crm_contact_id: Option<String>,
    #[serde(default)]
    pos_sync: Option<TargetStatus>,
    #[serde(default)]
    crm_sync: Option<TargetStatus>,
}

impl StoredCustomer {
    fn into_record(self) -> CustomerRecord {
        let id = self
            .sk
            .strip_prefix("customer#")
            .unwrap_or(&self.sk)
            .to_owned();
        let sync_status = [("pos", self.pos_sync), ("crm", self.crm_sync)]
            .into_iter()
            .filter_map(|(t, s)| Some((t.to_owned(), s?)))
            .collect();
        CustomerRecord {
            profile: CustomerProfile::from_attributes(&id, &self.attributes),
            event_id: self.event_id,
            square_customer_id: self.square_customer_id,
            crm_contact_id: self.crm_contact_id,
            sync_status,
            correlation_id: self.correlation_id,
        }
    }
}

impl DynamoItemStore {
    /// A customer master record's key, on its tenant's shard.
    fn customer_key(&self, tenant: &TenantId, id: &str) -> Item {
        let sk = format!("customer#{id}");
        key(&self.shards.partition(tenant, &sk), sk)
    }
}

/// The ledger attribute of a target: `posSync`, `crmSync`.
fn ledger_attribute(target: &str) -> String {
    format!("{target}Sync")
}

/// The `SET` clauses of a ledger write with the names and values they use,
/// conditioned on `#eventId = :eventId`.
struct LedgerUpdate {
    sets: Vec<String>,
    names: HashMap<String, String>,
    values: Item,
}

impl LedgerUpdate {
    fn new(
        event_id: &str,
        statuses: &[(&'static str, TargetStatus)],
        ids: TargetIds<'_>,
    ) -> Result<Self, PortError> {
        let mut update = Self {
            sets: Vec::new(),
            names: HashMap::from([("#eventId".to_owned(), "eventId".to_owned())]),
            values: HashMap::from([(":eventId".to_owned(), s(event_id))]),
        };
        for (i, (target, status)) in statuses.iter().enumerate() {
            let value = serde_dynamo::to_attribute_value(status)
                .map_err(|e| decode_error("UpdateItem", e))?;
            update.set(&format!("t{i}"), ledger_attribute(target), value);
        }
        for (alias, attribute, id) in [
            ("posId", "squareCustomerId", ids.pos),
            ("crmId", "crmContactId", ids.crm),
        ] {
            if let Some(id) = id {
                update.set(alias, attribute.into(), s(id));
            }
        }
        Ok(update)
    }

    fn set(&mut self, alias: &str, attribute: String, value: AttributeValue) {
        self.sets.push(format!("#{alias} = :{alias}"));
        self.names.insert(format!("#{alias}"), attribute);
        self.values.insert(format!(":{alias}"), value);
    }
}

impl CustomerLedger for DynamoItemStore {
    async fn customer(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<CustomerRecord>, PortError> {
        let key = self.customer_key(tenant, id);
        let stored: Option<StoredCustomer> =
            get_decoded(&self.client, &self.table, key, Read::Consistent).await?;
        Ok(stored.map(StoredCustomer::into_record))
    }

    async fn record_sync(
        &self,
        tenant: &TenantId,
        id: &str,
        event_id: &str,
        statuses: &[(&'static str, TargetStatus)],
        ids: TargetIds<'_>,
    ) -> Result<(), PortError> {
        let update = LedgerUpdate::new(event_id, statuses, ids)?;
        if update.sets.is_empty() {
            return Ok(());
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.customer_key(tenant, id)))
            .update_expression(format!("SET {}", update.sets.join(", ")))
            // Only for the event the record holds: an older event's results never
            // overwrite a newer one's.
            .condition_expression("#eventId = :eventId")
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                tracing::info!(tenant = %tenant, customer = id, event_id, "a newer event holds the record; its own results stand");
                Ok(())
            }
            Err(e) => Err(call_error("UpdateItem", e)),
        }
    }

    async fn needing_sync(
        &self,
        tenant: &TenantId,
        target: &str,
        since: Option<&str>,
    ) -> Result<Vec<CustomerRecord>, PortError> {
        let mut found = Vec::new();
        // Each of the tenant's shards in turn.
        for partition in self.shards.partitions(tenant) {
            let mut start: Option<Item> = None;
            loop {
                let out = self
                    .needing_sync_page(&partition, target, since, start.take())
                    .await?;
                for item in out.items.unwrap_or_default() {
                    let stored: StoredCustomer =
                        serde_dynamo::from_item(item).map_err(|e| decode_error("Query", e))?;
                    found.push(stored.into_record());
                }
                match out.last_evaluated_key {
                    Some(key) if !key.is_empty() => start = Some(key),
                    _ => break,
                }
            }
        }
        Ok(found)
    }
}

impl DynamoItemStore {
    /// One page of a tenant's live customers on one of its partitions
    /// whose ledger for `target` says skipped or failed (at or after
    /// `since`, when given).
    async fn needing_sync_page(
        &self,
        partition: &str,
        target: &str,
        since: Option<&str>,
        start: Option<Item>,
    ) -> Result<QueryOutput, PortError> {
        let mut filter = "(attribute_not_exists(#deleted) OR #deleted = :no) AND (begins_with(#ledger.#status, :skipped) OR begins_with(#ledger.#status, :failed))".to_owned();
        if since.is_some() {
            filter.push_str(" AND #ledger.#at >= :since");
        }
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression(filter)
            .expression_attribute_names("#deleted", "deleted")
            .expression_attribute_names("#ledger", ledger_attribute(target))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":prefix", s("customer#"))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":skipped", s("skipped"))
            .expression_attribute_values(":failed", s("failed"))
            .set_exclusive_start_key(start)
            .consistent_read(true);
        if let Some(since) = since {
            query = query
                .expression_attribute_names("#at", "at")
                .expression_attribute_values(":since", s(since));
        }
        query.send().await.map_err(|e| call_error("Query", e))
    }
}
