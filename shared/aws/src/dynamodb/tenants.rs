//! Tenant settings on the tenants table (partition = tenant id), cached
//! briefly in the warm function for the functions' reads. Onboarding's writes
//! ([`TenantAdmin`]) are conditional: a create never overwrites a tenant, and
//! an update carries the `revision` it read, so two operators' changes never
//! silently undo each other.

use super::{call_error, decode_error, get_decoded, n, s, Item, Read};
use crate::cache::TtlCache;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;
use synchub_core::domain::TenantId;
use synchub_core::ports::tenant_admin::{StoredSettings, TenantAdmin};
use synchub_core::ports::{PortError, TenantDirectory, TenantRoster, TenantSettings};
use synchub_core::ErrorClass;

/// Tenant settings, cached briefly in the warm function.
pub struct DynamoTenantDirectory {
    client: Client,
    table: String,
    cache: TtlCache<TenantId, Option<TenantSettings>>,
}

impl DynamoTenantDirectory {
    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            cache: TtlCache::new(ttl),
        }
    }

    /// Creates or replaces a tenant's settings (used by seeding and the CLI).
    pub async fn put(&self, settings: &TenantSettings) -> Result<(), PortError> {
        let item = settings_item(settings)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| call_error("PutItem", e))?;
        Ok(())
    }

    async fn fetch(&self, tenant: &TenantId) -> Result<Option<TenantSettings>, PortError> {
        let key = HashMap::from([("pk".to_owned(), s(tenant.as_str()))]);
        get_decoded(&self.client, &self.table, key, Read::Eventual).await
    }
}

impl TenantDirectory for DynamoTenantDirectory {
    async fn settings(&self, tenant: &TenantId) -> Result<Option<TenantSettings>, PortError> {
        self.cache.get_or_fetch(tenant, self.fetch(tenant)).await
    }
}

impl TenantRoster for DynamoTenantDirectory {
    async fn active(&self) -> Result<Vec<TenantSettings>, PortError> {
        let mut tenants = self.scan().await?;
        tenants.retain(|t| t.active);
        Ok(tenants)
    }
}

/// The item of a tenant's settings: its attributes and the key.
fn settings_item(settings: &TenantSettings) -> Result<Item, PortError> {
    let mut item: Item = serde_dynamo::to_item(settings).map_err(|e| {
        PortError::new(
            "DynamoDB",
            "PutItem",
            ErrorClass::UnknownError,
            e.to_string(),
        )
    })?;
    item.insert("pk".into(), s(&settings.tenant_id));
    Ok(item)
}

/// The attribute an update's condition compares.
const REVISION: &str = "revision";

impl DynamoTenantDirectory {
    /// A conditional put; `Ok(false)` when the condition did not hold.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Option<HashMap<String, AttributeValue>>,
    ) -> Result<bool, PortError> {
        let names = names
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(values)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(call_error("PutItem", e)),
        }
    }

    /// A scan: the tenants table is small.
    async fn scan(&self) -> Result<Vec<TenantSettings>, PortError> {
        let mut tenants = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for item in page.map_err(|e| call_error("Scan", e))?.items() {
                let settings: TenantSettings =
                    serde_dynamo::from_item(item.clone()).map_err(|e| decode_error("Scan", e))?;
                tenants.push(settings);
            }
        }
        tenants.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        Ok(tenants)
    }
}

impl TenantAdmin for DynamoTenantDirectory {
    async fn create(&self, settings: &TenantSettings) -> Result<bool, PortError> {
        let mut item = settings_item(settings)?;
        item.insert(REVISION.into(), n(1));
        self.put_if(item, "attribute_not_exists(#pk)", &[("#pk", "pk")], None)
            .await
    }

    async fn load(&self, tenant: &TenantId) -> Result<Option<StoredSettings>, PortError> {
        let key = HashMap::from([("pk".to_owned(), s(tenant.as_str()))]);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| call_error("GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let revision = item
            .get(REVISION)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let settings = serde_dynamo::from_item(item).map_err(|e| decode_error("GetItem", e))?;
        Ok(Some(StoredSettings { settings, revision }))
    }

    async fn replace(&self, settings: &TenantSettings, revision: u64) -> Result<bool, PortError> {
        let mut item = settings_item(settings)?;
        item.insert(REVISION.into(), n(revision + 1));
        let names = [("#pk", "pk"), ("#rev", REVISION)];
        let written = if revision == 0 {
            // Written without a revision (seeded): still there, still without one.
            let condition = "attribute_exists(#pk) AND attribute_not_exists(#rev)";
            self.put_if(item, condition, &names, None).await
        } else {
            let values = HashMap::from([(":rev".to_owned(), n(revision))]);
            let condition = "attribute_exists(#pk) AND #rev = :rev";
            self.put_if(item, condition, &names, Some(values)).await
        };
        // This instance's next read sees what it just wrote (others within the cache's TTL).
        if let Ok(tenant) = TenantId::parse(&settings.tenant_id) {
            self.cache.invalidate(&tenant).await;
        }
        written
    }

    async fn all(&self) -> Result<Vec<TenantSettings>, PortError> {
        self.scan().await
    }
}
