//! What onboarding and the dashboard change about a tenant: its settings item
//! (created once, never overwritten by a create; then updated under a
//! revision check) and its credentials (SSM SecureStrings, whose values are
//! written and rotated here but never listed). The functions keep reading
//! through `TenantDirectory` and `SecretStore`.

use super::{PortError, TenantSettings};
use crate::domain::TenantId;
use std::future::Future;

/// A tenant's settings as stored, with the revision an update must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    pub settings: TenantSettings,
    /// Bumped by every update; 0 for an item written without one (seeded).
    pub revision: u64,
}

/// The tenants table, as onboarding writes it.
pub trait TenantAdmin: Send + Sync {
    /// Writes a new tenant's settings; `Ok(false)`, and nothing written,
    /// when the tenant exists already.
    fn create(
        &self,
        settings: &TenantSettings,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// The tenant's settings as last written (a strongly consistent read).
    fn load(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<StoredSettings>, PortError>> + Send;
    /// Replaces the settings if they are still at `revision`; `Ok(false)`
    /// when another write came first (or the tenant is gone).
    fn replace(
        &self,
        settings: &TenantSettings,
        revision: u64,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Every tenant, active or not, by id.
    fn all(&self) -> impl Future<Output = Result<Vec<TenantSettings>, PortError>> + Send;
}

/// A stored credential as the parameter store describes it: never its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredParameter {
    /// The name under the tenant's path (`webhook-secret`, `square-token`).
    pub name: String,
    /// `SecureString` (anything else is worth an operator's look).
    #[serde(rename = "type")]
    pub kind: String,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// One webhook signing secret (`whsec_…`) and when ingest stops taking it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    pub value: String,
    /// Unix millis after which the secret no longer verifies; `None` for
    /// the current secret.
    pub expires_millis: Option<i64>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningSecret")
            .field("value", &"<redacted>")
            .field("expires_millis", &self.expires_millis)
            .finish()
    }
}

/// The tenant's credentials (SecureString parameters under its path).
pub trait CredentialVault: Send + Sync {
    /// Stores `value` as a SecureString named `parameter` under the tenant's
    /// path. With `create_only`, an existing parameter is left as it is and
    /// `Ok(false)` answered.
    fn put_secure(
        &self,
        tenant: &TenantId,
        parameter: &str,
        value: &str,
        create_only: bool,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// The tenant's parameters, by name (never their values).
    fn parameters(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<StoredParameter>, PortError>> + Send;
    /// The webhook signing secrets with their expiries, expired ones
    /// included; `None` when the tenant has none.
    fn signing_secrets(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<Vec<SigningSecret>>, PortError>> + Send;
    /// Replaces the webhook signing secrets.
    fn save_signing_secrets(
        &self,
        tenant: &TenantId,
        secrets: &[SigningSecret],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
