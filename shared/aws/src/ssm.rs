//! Tenant credentials in SSM Parameter Store (SecureString), read once and
//! cached briefly in the warm function, and written by onboarding
//! ([`CredentialVault`]). Values are never logged.
//!
//! The webhook secret parameter holds one or more `whsec_…` secrets separated
//! by spaces; during a rotation the outgoing ones carry their end,
//! `whsec_…;expires=<unix millis>`, and stop verifying at that moment (the
//! cache keeps the expiry, so it is honoured to the millisecond).

use super::cache::TtlCache;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};
use aws_sdk_ssm::Client;
use std::time::Duration;
use synchub_core::domain::provider_webhook::{Provider, ProviderKey};
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_core::domain::TenantId;
use synchub_core::ports::tenant_admin::{CredentialVault, SigningSecret, StoredParameter};
use synchub_core::ports::PortError;
use synchub_core::ports::SecretStore;
use synchub_core::ErrorClass;

/// A verifying key and, while it is being rotated out, when it stops verifying.
type ExpiringSecrets = Vec<(WebhookSecret, Option<i64>)>;

pub struct SsmSecretStore {
    client: Client,
    path: String,
    cache: TtlCache<TenantId, Option<ExpiringSecrets>>,
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

    /// A tenant parameter's full name.
    pub fn parameter_name(path: &str, tenant: &TenantId, parameter: &str) -> String {
        format!("{path}/{tenant}/{parameter}")
    }

    /// The stored signing secrets, expired ones included.
    async fn fetch_signing(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Vec<SigningSecret>>, PortError> {
        let name = Self::webhook_secret_name(&self.path, tenant);
        let Some(value) = self.read(&name).await? else {
            return Ok(None);
        };
        decode_signing_secrets(&value)
            .map(Some)
            .map_err(|why| PortError::Misconfigured {
                what: format!("SSM parameter {name}"),
                detail: format!("not a valid signing secret: {why}"),
            })
    }

    async fn fetch(&self, tenant: &TenantId) -> Result<Option<ExpiringSecrets>, PortError> {
        let Some(stored) = self.fetch_signing(tenant).await? else {
            return Ok(None);
        };
        let keys = stored
            .into_iter()
            .map(|s| WebhookSecret::parse(&s.value).map(|key| (key, s.expires_millis)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| PortError::Misconfigured {
                what: format!(
                    "SSM parameter {}",
                    Self::webhook_secret_name(&self.path, tenant)
                ),
                detail: format!("not a valid signing secret: {why}"),
            })?;
        Ok(Some(keys))
    }

    /// The tenant's signing secrets that still verify at `now_millis`
    /// (`None` for an unknown tenant).
    pub async fn webhook_secrets_at(
        &self,
        tenant: &TenantId,
        now_millis: i64,
    ) -> Result<Option<Vec<WebhookSecret>>, PortError> {
        let stored = self.cache.get_or_fetch(tenant, self.fetch(tenant)).await?;
        Ok(stored.map(|keys| {
            keys.into_iter()
                .filter(|(_, expires)| expires.is_none_or(|end| now_millis < end))
                .map(|(key, _)| key)
                .collect()
        }))
    }
}

/// Marks a secret being rotated out: `whsec_…;expires=<unix millis>`.
const EXPIRES: &str = ";expires=";

/// The parameter's value for a list of signing secrets.
pub fn encode_signing_secrets(secrets: &[SigningSecret]) -> String {
    secrets
        .iter()
        .map(|s| match s.expires_millis {
            Some(end) => format!("{}{EXPIRES}{end}", s.value),
            None => s.value.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The signing secrets a parameter holds: `whsec_…` entries separated by
/// white space or commas (as they were before rotation had expiries), each
/// perhaps with its `;expires=<unix millis>`.
pub fn decode_signing_secrets(value: &str) -> Result<Vec<SigningSecret>, &'static str> {
    let secrets = value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (secret, expires_millis) = match entry.split_once(EXPIRES) {
                Some((secret, end)) => {
                    let end = end
                        .parse::<i64>()
                        .ok()
                        .filter(|end| *end >= 0)
                        .ok_or("a secret's expiry must be unix milliseconds")?;
                    (secret, Some(end))
                }
                None => (entry, None),
            };
            WebhookSecret::parse(secret)?;
            Ok(SigningSecret {
                value: secret.to_owned(),
                expires_millis,
            })
        })
        .collect::<Result<Vec<_>, &'static str>>()?;
    if secrets.is_empty() {
        return Err("no secret configured");
    }
    Ok(secrets)
}

impl SecretStore for SsmSecretStore {
    async fn webhook_secrets(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Vec<WebhookSecret>>, PortError> {
        self.webhook_secrets_at(tenant, synchub_core::domain::time::now_millis())
            .await
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

impl synchub_core::ports::TokenStore for SsmSecretStore {
    async fn square_token(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
        self.token(tenant, "square-token").await
    }

    async fn hubspot_token(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
        self.token(tenant, "hubspot-token").await
    }

    /// Read at each run's invocation (not cached): a rotated key is used
    /// by the next page's invocation.
    async fn pos_secrets(
        &self,
        tenant: &TenantId,
        connector: &str,
    ) -> Result<Option<synchub_core::ports::ConnectorSecrets>, PortError> {
        let parameter = synchub_connectors::pos::secret_parameter(connector);
        let name = Self::parameter_name(&self.path, tenant, &parameter);
        let Some(text) = self.read(&name).await? else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|_| {
            PortError::new(
                "SSM",
                "GetParameter",
                ErrorClass::AuthError,
                format!("SSM parameter {name} is not a JSON object of strings (the connector's secrets)"),
            )
        })
    }
}

impl CredentialVault for SsmSecretStore {
    async fn put_secure(
        &self,
        tenant: &TenantId,
        parameter: &str,
        value: &str,
        create_only: bool,
    ) -> Result<bool, PortError> {
        let sent = self
            .client
            .put_parameter()
            .name(Self::parameter_name(&self.path, tenant, parameter))
            .value(value)
            .r#type(ParameterType::SecureString)
            .overwrite(!create_only)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(PutParameterError::ParameterAlreadyExists(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(super::classify::sdk_error(
                "SSM",
                "PutParameter",
                ErrorClass::NetworkError,
                err,
            )),
        }
    }

    /// `DescribeParameters` under the tenant's path: names, types and
    /// versions, never a value.
    async fn parameters(&self, tenant: &TenantId) -> Result<Vec<StoredParameter>, PortError> {
        let prefix = format!("{}/{tenant}/", self.path);
        let filter = ParameterStringFilter::builder()
            .key("Path")
            .option("OneLevel")
            .values(prefix.trim_end_matches('/'))
            .build()
            .map_err(|e| PortError::encode("parameter filter", e))?;
        let mut pages = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                super::classify::sdk_error("SSM", "DescribeParameters", ErrorClass::NetworkError, e)
            })?;
            for p in page.parameters() {
                let Some(name) = p.name().and_then(|n| n.strip_prefix(&prefix)) else {
                    continue;
                };
                found.push(StoredParameter {
                    name: name.to_owned(),
                    kind: p
                        .r#type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    version: p.version(),
                    last_modified: p
                        .last_modified_date()
                        .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
                });
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    async fn signing_secrets(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Vec<SigningSecret>>, PortError> {
        self.fetch_signing(tenant).await
    }

    async fn save_signing_secrets(
        &self,
        tenant: &TenantId,
        secrets: &[SigningSecret],
    ) -> Result<(), PortError> {
        let value = encode_signing_secrets(secrets);
        self.put_secure(tenant, WEBHOOK_SECRET, &value, false)
            .await
            .map(|_| ())
    }
}

/// The parameter holding a tenant's webhook signing secret(s).
pub const WEBHOOK_SECRET: &str = "webhook-secret";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const B: &str = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn a_value_written_before_expiries_existed_still_reads() {
        let secrets = decode_signing_secrets(&format!(" {A}, {B}\n")).unwrap();
        assert_eq!(secrets.len(), 2);
        assert!(secrets.iter().all(|s| s.expires_millis.is_none()));
        assert_eq!(secrets[0].value, A);
    }

    #[test]
    fn bad_entries_are_refused_with_the_rule() {
        assert_eq!(
            decode_signing_secrets(&format!("{A};expires=soon")),
            Err("a secret's expiry must be unix milliseconds")
        );
        assert_eq!(
            decode_signing_secrets(&format!("{A};expires=-5")),
            Err("a secret's expiry must be unix milliseconds")
        );
        assert_eq!(
            decode_signing_secrets("whsec_***"),
            Err("secret is not valid base64 after whsec_")
        );
        assert_eq!(decode_signing_secrets(" "), Err("no secret configured"));
    }

    proptest! {
        #[test]
        fn encoding_round_trips(ends in prop::collection::vec(prop::option::of(0i64..i64::MAX), 1..5)) {
            let secrets: Vec<SigningSecret> = ends
                .iter()
                .enumerate()
                .map(|(i, end)| SigningSecret {
                    value: if i % 2 == 0 { A.to_owned() } else { B.to_owned() },
                    expires_millis: *end,
                })
                .collect();
            prop_assert_eq!(decode_signing_secrets(&encode_signing_secrets(&secrets)).unwrap(), secrets);
        }
    }
}
