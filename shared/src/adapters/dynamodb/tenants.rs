//! Tenant settings on the tenants table (partition = tenant id), cached
//! briefly in the warm function.

use super::{call_error, decode_error, get_decoded, s, Item, Read};
use crate::adapters::cache::TtlCache;
use crate::domain::TenantId;
use crate::ports::{PortError, TenantDirectory, TenantRoster, TenantSettings};
use crate::ErrorClass;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;

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
        let mut item: Item = serde_dynamo::to_item(settings).map_err(|e| {
            PortError::new(
                "DynamoDB",
                "PutItem",
                ErrorClass::UnknownError,
                e.to_string(),
            )
        })?;
        item.insert("pk".into(), s(&settings.tenant_id));
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
    /// A scan: the tenants table is small.
    async fn active(&self) -> Result<Vec<TenantSettings>, PortError> {
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
                if settings.active {
                    tenants.push(settings);
                }
            }
        }
        tenants.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        Ok(tenants)
    }
}
