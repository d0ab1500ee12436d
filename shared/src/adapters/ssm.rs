//! Tenant credentials in SSM Parameter Store (SecureString), read once and
//! cached briefly in the warm function. Values are never logged.

use super::cache::TtlCache;
use crate::domain::provider_webhook::{Provider, ProviderKey};
use crate::domain::webhook_signature::WebhookSecret;
use crate::domain::TenantId;
use crate::ports::PortError;
use crate::ports::SecretStore;
use crate::ErrorClass;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::Client;
use std::time::Duration;

pub struct SsmSecretStore {
    client: Client,
    path: String,
    cache: TtlCache<TenantId, Option<Vec<WebhookSecret>>>,
    provider_keys: TtlCache<(TenantId, Provider), Option<Vec<ProviderKey>>>,
    tokens: TtlCache<(TenantId, &'static str), Option<String>>,
}

impl SsmSecretStore {
    pub fn new(client: Client, path: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            path: path.into(),
            cache: TtlCache::new(ttl),
            provider_keys: TtlCache::new(ttl),
            tokens: TtlCache::new(ttl),
        }
    }

    /// A SecureString's value; `None` when it does not exist.
    async fn read(&self, name: &str) -> Result<Option<String>, PortError> {
        match self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.parameter.and_then(|p| p.value).unwrap_or_default(),
            )),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(GetParameterError::ParameterNotFound(_))
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(super::classify::sdk_error(
                "SSM",
                "GetParameter",
                ErrorClass::NetworkError,
                err,
            )),
        }
    }

    /// The parameter that holds a tenant's webhook signing secret(s).
    pub fn webhook_secret_name(path: &str, tenant: &TenantId) -> String {
        format!("{path}/{tenant}/webhook-secret")
    }

    async fn fetch(&self, tenant: &TenantId) -> Result<Option<Vec<WebhookSecret>>, PortError> {
        let name = Self::webhook_secret_name(&self.path, tenant);
        let Some(value) = self.read(&name).await? else {
            return Ok(None);
        };
        WebhookSecret::parse_list(&value)
            .map(Some)
            .map_err(|why| PortError::Misconfigured {
                what: format!("SSM parameter {name}"),
                detail: format!("not a valid signing secret: {why}"),
            })
    }
}

impl SecretStore for SsmSecretStore {
    async fn webhook_secrets(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Vec<WebhookSecret>>, PortError> {
        self.cache.get_or_fetch(tenant, self.fetch(tenant)).await
    }

    async fn provider_keys(
        &self,
        tenant: &TenantId,
        provider: Provider,
    ) -> Result<Option<Vec<ProviderKey>>, PortError> {
        let name = format!("{}/{tenant}/{}", self.path, provider.key_parameter());
        let fetch = async {
            let Some(value) = self.read(&name).await? else {
                return Ok(None);
            };
            ProviderKey::parse_list(&value)
                .map(Some)
                .map_err(|why| PortError::Misconfigured {
                    what: format!("SSM parameter {name}"),
                    detail: format!("not a valid signing key: {why}"),
                })
        };
        self.provider_keys
            .get_or_fetch(&(tenant.clone(), provider), fetch)
            .await
    }
}

impl SsmSecretStore {
    /// A tenant's API token, e.g. `square-token`, `hubspot-token`.
    async fn token(
        &self,
        tenant: &TenantId,
        parameter: &'static str,
    ) -> Result<Option<String>, PortError> {
        let name = format!("{}/{tenant}/{parameter}", self.path);
        self.tokens
            .get_or_fetch(&(tenant.clone(), parameter), self.read(&name))
            .await
    }
}

impl crate::ports::TokenStore for SsmSecretStore {
    async fn square_token(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
        self.token(tenant, "square-token").await
    }

    async fn hubspot_token(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
        self.token(tenant, "hubspot-token").await
    }
}
