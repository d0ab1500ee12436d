//! Tenants and their credentials.

use super::{lock, Faults, HUBSPOT_TOKEN, SQUARE_TOKEN, WEBHOOK_SECRET};
use crate::domain::provider_webhook::{Provider, ProviderKey};
use crate::domain::webhook_signature::WebhookSecret;
use crate::domain::TenantId;
use crate::ports::{
    PortError, SecretStore, TenantDirectory, TenantRoster, TenantSettings, TokenStore,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// The tenants table: [`TenantDirectory`] and [`TenantRoster`].
#[derive(Debug, Default)]
pub struct FakeTenants {
    settings: Mutex<BTreeMap<String, TenantSettings>>,
    pub faults: Faults,
}

impl FakeTenants {
    pub fn new(tenants: impl IntoIterator<Item = TenantSettings>) -> Self {
        let me = Self::default();
        for t in tenants {
            me.put(t);
        }
        me
    }

    pub fn put(&self, settings: TenantSettings) {
        lock(&self.settings).insert(settings.tenant_id.clone(), settings);
    }
}

impl TenantDirectory for FakeTenants {
    async fn settings(&self, tenant: &TenantId) -> Result<Option<TenantSettings>, PortError> {
        self.faults.check("DynamoDB", "GetItem")?;
        Ok(lock(&self.settings).get(tenant.as_str()).cloned())
    }
}

impl TenantRoster for FakeTenants {
    async fn active(&self) -> Result<Vec<TenantSettings>, PortError> {
        self.faults.check("DynamoDB", "Scan")?;
        // Sorted by id, as the adapter answers.
        Ok(lock(&self.settings)
            .values()
            .filter(|s| s.active)
            .cloned()
            .collect())
    }
}

/// The tenant parameter store: each value is stored as text and parsed on
/// read, as SSM's are, so a malformed one reads as `Misconfigured`.
/// Serves [`SecretStore`] and [`TokenStore`].
#[derive(Debug, Default)]
pub struct FakeSecrets {
    parameters: Mutex<HashMap<(String, &'static str), String>>,
    pub faults: Faults,
}

impl FakeSecrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a tenant parameter: [`WEBHOOK_SECRET`], [`SQUARE_TOKEN`],
    /// [`HUBSPOT_TOKEN`] or a provider's `key_parameter()`.
    pub fn put(&self, tenant: &str, parameter: &'static str, value: &str) {
        lock(&self.parameters).insert((tenant.to_owned(), parameter), value.to_owned());
    }

    fn read(
        &self,
        tenant: &TenantId,
        parameter: &'static str,
    ) -> Result<Option<String>, PortError> {
        self.faults.check("SSM", "GetParameter")?;
        Ok(lock(&self.parameters)
            .get(&(tenant.to_string(), parameter))
            .cloned())
    }
}

fn misconfigured(tenant: &TenantId, parameter: &str, why: &str) -> PortError {
    PortError::Misconfigured {
        what: format!("parameter {tenant}/{parameter}"),
        detail: why.to_owned(),
    }
}

impl SecretStore for FakeSecrets {
    async fn webhook_secrets(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Vec<WebhookSecret>>, PortError> {
        let Some(value) = self.read(tenant, WEBHOOK_SECRET)? else {
            return Ok(None);
        };
        WebhookSecret::parse_list(&value)
            .map(Some)
            .map_err(|why| misconfigured(tenant, WEBHOOK_SECRET, why))
    }

    async fn provider_keys(
        &self,
        tenant: &TenantId,
        provider: Provider,
    ) -> Result<Option<Vec<ProviderKey>>, PortError> {
        let parameter = provider.key_parameter();
        let Some(value) = self.read(tenant, parameter)? else {
            return Ok(None);
        };
        ProviderKey::parse_list(&value)
            .map(Some)
            .map_err(|why| misconfigured(tenant, parameter, why))
    }
}

impl TokenStore for FakeSecrets {
    async fn square_token(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
        self.read(tenant, SQUARE_TOKEN)
    }

    async fn hubspot_token(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
        self.read(tenant, HUBSPOT_TOKEN)
    }
}
