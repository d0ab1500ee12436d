//! Onboarding and steering a tenant, once for every door (`synchub tenant`,
//! the sync API's target switch): add (settings item, webhook signing
//! secret, provider credentials, the webhook URLs to hand out), show, set,
//! list, rotate the signing secret. No answer carries a stored secret's
//! value: the one secret ever returned is the one just generated, once.

pub mod change;
pub mod rotation;
pub mod targets;

pub use change::SettingsChange;
pub use targets::{switch_target, TargetSwitched};

use serde::Serialize;
use synchub_core::domain::provider_webhook::Provider;
use synchub_core::domain::time::{canonical_time, now_millis};
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_core::domain::{TenantId, ValidationError};
use synchub_core::ports::tenant_admin::{
    CredentialVault, SigningSecret, StoredParameter, TenantAdmin,
};
use synchub_core::ports::{PortError, TenantSettings};
use synchub_core::{Classified, ErrorClass};

/// The parameter (under the tenant's path) holding its webhook signing secret(s).
pub const WEBHOOK_SECRET: &str = "webhook-secret";
/// Where the daily pull's and the POS target's Square access token lives.
pub const SQUARE_TOKEN: &str = "square-token";
/// Where the CRM target's HubSpot token lives.
pub const HUBSPOT_TOKEN: &str = "hubspot-token";

/// How many times an update re-reads and retries when another write came first.
const UPDATE_ATTEMPTS: usize = 3;

/// Why a tenant could not be added, shown or changed.
#[derive(Debug, thiserror::Error)]
pub enum TenantAdminError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("tenant {0} is not known")]
    UnknownTenant(String),
    #[error("tenant {0} already exists; nothing was changed (`synchub tenant set` changes it)")]
    AlreadyExists(String),
    #[error("tenant {tenant} has no settings but already has parameters ({names}); nothing was changed: delete them from SSM first")]
    ParametersExist { tenant: String, names: String },
    #[error(
        "tenant {0}'s settings kept changing during this update; nothing was changed, try again"
    )]
    Conflict(String),
    #[error(
        "tenant {tenant} was added but its {parameter} was not stored; run `synchub tenant {then}`"
    )]
    Unfinished {
        tenant: String,
        parameter: &'static str,
        then: &'static str,
        #[source]
        source: PortError,
    },
}

impl Classified for TenantAdminError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Port(e) | Self::Unfinished { source: e, .. } => e.class(),
            Self::Invalid(_)
            | Self::UnknownTenant(_)
            | Self::AlreadyExists(_)
            | Self::ParametersExist { .. } => ErrorClass::ValidationError,
            Self::Conflict(_) => ErrorClass::DatabaseError,
        }
    }
}

/// The tenants table and the parameter store, as onboarding writes them.
pub struct TenantPorts<'a, A, V> {
    pub admin: &'a A,
    pub vault: &'a V,
}

/// Provider credentials, each stored as a SecureString under the tenant's
/// path where the functions read it. Never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub square_token: Option<String>,
    pub hubspot_token: Option<String>,
    pub shopify_secret: Option<String>,
    pub square_signature_key: Option<String>,
    /// (connector, its secrets as a JSON object): SSM `pos-{connector}`.
    pub pos_secrets: Vec<(String, String)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut given: Vec<&str> = self.given().map(|(name, _, _)| name).collect();
        given.extend(self.pos_secrets.iter().map(|(c, _)| c.as_str()));
        write!(f, "Credentials(given: {given:?})")
    }
}

impl Credentials {
    /// (parameter, field, value) of each credential given.
    fn given(&self) -> impl Iterator<Item = (&'static str, &'static str, &str)> {
        [
            (SQUARE_TOKEN, "squareToken", &self.square_token),
            (HUBSPOT_TOKEN, "hubspotToken", &self.hubspot_token),
            (
                Provider::Shopify.key_parameter(),
                "shopifySecret",
                &self.shopify_secret,
            ),
            (
                Provider::Square.key_parameter(),
                "squareSignatureKey",
                &self.square_signature_key,
            ),
        ]
        .into_iter()
        .filter_map(|(parameter, field, value)| value.as_deref().map(|v| (parameter, field, v)))
    }

    pub fn is_empty(&self) -> bool {
        self.given().next().is_none() && self.pos_secrets.is_empty()
    }

    /// (parameter, value) of each connector's credentials given.
    fn pos_parameters(&self) -> impl Iterator<Item = (String, &str)> {
        self.pos_secrets
            .iter()
            .map(|(c, v)| (synchub_connectors::pos::secret_parameter(c), v.as_str()))
    }

    /// Each value is one token: the key parameters hold space-separated
    /// lists, so a space would split it; SSM keeps at most 4 KB.
    fn check(&self) -> Result<(), ValidationError> {
        for (_, field, value) in self.given() {
            if value.is_empty()
                || value.len() > 4096
                || value.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(ValidationError::new(
                    field,
                    "must be 1 to 4096 characters without spaces",
                ));
            }
        }
        for (connector, value) in &self.pos_secrets {
            synchub_connectors::pos::check_secrets(connector, value)?;
        }
        Ok(())
    }
}

/// The URLs each sender posts to for the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookUrls {
    pub supplier: String,
    pub shopify: String,
    pub square: String,
}

/// The webhook URLs under the deployed HTTP API's base URL (the stack's
/// `WebhookBaseUrl` output; its `ApiBaseUrl`, ending in `/api`, is taken too).
pub fn webhook_urls(api_url: &str, tenant: &TenantId) -> Result<WebhookUrls, ValidationError> {
    let base = change::checked_url("apiUrl", api_url)?;
    if base.contains('?') {
        return Err(ValidationError::new("apiUrl", "must not carry a query"));
    }
    let base = base.trim_end_matches('/');
    let base = base.strip_suffix("/api").unwrap_or(base);
    let url = |source: &str| format!("{base}/webhooks/{source}/{tenant}");
    Ok(WebhookUrls {
        supplier: url("supplier"),
        shopify: url("shopify"),
        square: url("square"),
    })
}

fn tenant_id(raw: &str) -> Result<TenantId, ValidationError> {
    TenantId::parse(raw.trim())
}

/// A tenant to add.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub tenant_id: String,
    /// The deployed HTTP API's base URL, for the webhook URLs.
    pub api_url: String,
    /// The fresh `whsec_…` secret the supplier signs with.
    pub signing_secret: String,
    pub credentials: Credentials,
    /// Settings beyond the defaults (active, every target on, name = id).
    pub settings: SettingsChange,
}

/// A tenant added: its settings, the URLs to hand out, and its new signing
/// secret (shown this once; it cannot be read back).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Added {
    pub tenant_id: String,
    pub settings: TenantSettings,
    pub webhook_urls: WebhookUrls,
    pub signing_secret: String,
    /// The parameters stored (names only).
    pub stored: Vec<String>,
}

/// Adds a tenant: refused, with nothing changed, when it exists (or has
/// parameters left from an earlier one). The settings item is the one
/// conditional write that decides; its parameters follow it.
pub async fn add<A: TenantAdmin, V: CredentialVault>(
    ports: &TenantPorts<'_, A, V>,
    request: &NewTenant,
) -> Result<Added, TenantAdminError> {
    let tenant = tenant_id(&request.tenant_id)?;
    let urls = webhook_urls(&request.api_url, &tenant)?;
    WebhookSecret::parse(&request.signing_secret)
        .map_err(|rule| ValidationError::new("signingSecret", rule))?;
    request.credentials.check()?;
    let (settings, _) = request.settings.apply(&tenant_defaults(&tenant, &urls)?)?;

    refuse_existing(ports, &tenant).await?;
    if !ports.admin.create(&settings).await? {
        return Err(TenantAdminError::AlreadyExists(tenant.to_string()));
    }
    let stored = store_parameters(ports.vault, &tenant, request).await?;
    Ok(Added {
        tenant_id: tenant.to_string(),
        settings,
        webhook_urls: urls,
        signing_secret: request.signing_secret.clone(),
        stored,
    })
}

/// A new tenant's default settings: named after it, Square notified at its
/// URL.
fn tenant_defaults(tenant: &TenantId, urls: &WebhookUrls) -> Result<TenantSettings, PortError> {
    Ok(TenantSettings {
        name: tenant.to_string(),
        square_notification_url: Some(urls.square.clone()),
        ..serde_json::from_value(serde_json::json!({ "tenantId": tenant.as_str() }))
            .map_err(|e| PortError::decode("tenant settings", e))?
    })
}

/// Refuses a tenant that exists, or has parameters left from an earlier one.
async fn refuse_existing<A: TenantAdmin, V: CredentialVault>(
    ports: &TenantPorts<'_, A, V>,
    tenant: &TenantId,
) -> Result<(), TenantAdminError> {
    if ports.admin.load(tenant).await?.is_some() {
        return Err(TenantAdminError::AlreadyExists(tenant.to_string()));
    }
    let left = ports.vault.parameters(tenant).await?;
    if !left.is_empty() {
        let names: Vec<&str> = left.iter().map(|p| p.name.as_str()).collect();
        return Err(TenantAdminError::ParametersExist {
            tenant: tenant.to_string(),
            names: names.join(", "),
        });
    }
    Ok(())
}

/// Stores an added tenant's signing secret, then its credentials; answers
/// the names stored. A write that fails names the command that finishes it.
async fn store_parameters<V: CredentialVault>(
    vault: &V,
    tenant: &TenantId,
    request: &NewTenant,
) -> Result<Vec<String>, TenantAdminError> {
    let unfinished = |parameter, then| {
        let tenant = tenant.to_string();
        move |source| TenantAdminError::Unfinished {
            tenant,
            parameter,
            then,
            source,
        }
    };
    let mut stored = Vec::new();
    vault
        .save_signing_secrets(
            tenant,
            &[SigningSecret {
                value: request.signing_secret.clone(),
                expires_millis: None,
            }],
        )
        .await
        .map_err(unfinished(WEBHOOK_SECRET, "rotate-secret"))?;
    stored.push(WEBHOOK_SECRET.to_owned());
    for (parameter, _, value) in request.credentials.given() {
        vault
            .put_secure(tenant, parameter, value, true)
            .await
            .map_err(unfinished(parameter, "set with the credential"))?;
        stored.push(parameter.to_owned());
    }
    for (parameter, value) in request.credentials.pos_parameters() {
        vault
            .put_secure(tenant, &parameter, value, true)
            .await
            .map_err(unfinished("pos-<connector>", "set with the credential"))?;
        stored.push(parameter);
    }
    Ok(stored)
}

/// The state of a tenant's signing secrets, without their values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretsState {
    /// Secrets that verify and do not expire.
    pub current: usize,
    /// When each secret being rotated out stops verifying (RFC 3339).
    pub retiring: Vec<String>,
    /// Rotated-out secrets past their end, still in the parameter until the
    /// next rotation removes them (they no longer verify).
    pub expired: usize,
}

impl SecretsState {
    fn of(secrets: &[SigningSecret], now: i64) -> Self {
        let mut retiring: Vec<i64> = secrets
            .iter()
            .filter_map(|s| s.expires_millis)
            .filter(|e| *e > now)
            .collect();
        retiring.sort_unstable();
        Self {
            current: secrets
                .iter()
                .filter(|s| s.expires_millis.is_none())
                .count(),
            retiring: retiring.into_iter().map(rfc3339).collect(),
            expired: secrets
                .iter()
                .filter(|s| s.expires_millis.is_some_and(|e| e <= now))
                .count(),
        }
    }
}

fn rfc3339(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map(canonical_time)
        .unwrap_or_default()
}

/// What `show` tells about a tenant: never a secret's value.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub settings: TenantSettings,
    pub parameters: Vec<StoredParameter>,
    /// `None` when the tenant has no webhook signing secret.
    pub signing_secrets: Option<SecretsState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_urls: Option<WebhookUrls>,
}

/// A tenant's settings, which parameters it has, and its secrets' rotation
/// state; with `api_url`, its webhook URLs.
pub async fn show<A: TenantAdmin, V: CredentialVault>(
    ports: &TenantPorts<'_, A, V>,
    tenant: &str,
    api_url: Option<&str>,
) -> Result<TenantView, TenantAdminError> {
    let tenant = tenant_id(tenant)?;
    let webhook_urls = api_url.map(|u| webhook_urls(u, &tenant)).transpose()?;
    let stored = ports
        .admin
        .load(&tenant)
        .await?
        .ok_or_else(|| TenantAdminError::UnknownTenant(tenant.to_string()))?;
    let parameters = ports.vault.parameters(&tenant).await?;
    let signing_secrets = match ports.vault.signing_secrets(&tenant).await {
        Ok(secrets) => secrets.map(|s| SecretsState::of(&s, now_millis())),
        // Shown as unreadable rather than failing the whole answer.
        Err(PortError::Misconfigured { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(TenantView {
        settings: stored.settings,
        parameters,
        signing_secrets,
        webhook_urls,
    })
}

/// A change made.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changed {
    pub tenant_id: String,
    pub settings: TenantSettings,
    /// The settings fields whose values changed.
    pub changed: Vec<&'static str>,
    /// The parameters (re)written, by name.
    pub stored: Vec<String>,
}

/// Changes a tenant's settings (under the revision it read, re-reading when
/// another write came first) and stores the credentials given.
pub async fn set<A: TenantAdmin, V: CredentialVault>(
    ports: &TenantPorts<'_, A, V>,
    tenant: &str,
    change: &SettingsChange,
    credentials: &Credentials,
) -> Result<Changed, TenantAdminError> {
    let tenant = tenant_id(tenant)?;
    if change.is_empty() && credentials.is_empty() {
        return Err(ValidationError::new(
            "settings",
            "nothing to change: give at least one setting or credential",
        )
        .into());
    }
    credentials.check()?;
    let (settings, changed) = update(ports.admin, &tenant, change).await?;
    let mut stored = Vec::new();
    for (parameter, _, value) in credentials.given() {
        ports
            .vault
            .put_secure(&tenant, parameter, value, false)
            .await?;
        stored.push(parameter.to_owned());
    }
    for (parameter, value) in credentials.pos_parameters() {
        ports
            .vault
            .put_secure(&tenant, &parameter, value, false)
            .await?;
        stored.push(parameter);
    }
    Ok(Changed {
        tenant_id: tenant.to_string(),
        settings,
        changed,
        stored,
    })
}

/// Applies `change` to the stored settings under their revision.
pub async fn update<A: TenantAdmin>(
    admin: &A,
    tenant: &TenantId,
    change: &SettingsChange,
) -> Result<(TenantSettings, Vec<&'static str>), TenantAdminError> {
    for _ in 0..UPDATE_ATTEMPTS {
        let stored = admin
            .load(tenant)
            .await?
            .ok_or_else(|| TenantAdminError::UnknownTenant(tenant.to_string()))?;
        let (next, changed) = change.apply(&stored.settings)?;
        if changed.is_empty() || admin.replace(&next, stored.revision).await? {
            return Ok((next, changed));
        }
    }
    Err(TenantAdminError::Conflict(tenant.to_string()))
}

/// Every tenant, active or not, by id.
pub async fn list<A: TenantAdmin>(admin: &A) -> Result<Vec<TenantSettings>, TenantAdminError> {
    let mut tenants = admin.all().await?;
    tenants.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
    Ok(tenants)
}

/// A rotation to make: a new secret beside the old ones for `overlap`, or
/// (`finish`) the end of the running overlap now.
#[derive(Debug, Clone)]
pub enum Rotation {
    Start { new_secret: String, overlap: String },
    Finish,
}

/// A rotation made. `new_secret` is shown this once.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotated {
    pub tenant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_secret: Option<String>,
    pub secrets: SecretsState,
    /// Secrets taken out of the parameter (expired, or ended by `finish`).
    pub removed: usize,
    /// The stored value could not be read (so nothing verified): it was replaced.
    pub replaced_unreadable: bool,
}

pub async fn rotate_secret<A: TenantAdmin, V: CredentialVault>(
    ports: &TenantPorts<'_, A, V>,
    tenant: &str,
    rotation: &Rotation,
    now: i64,
) -> Result<Rotated, TenantAdminError> {
    let tenant = tenant_id(tenant)?;
    let plan = match rotation {
        Rotation::Start {
            new_secret,
            overlap,
        } => {
            WebhookSecret::parse(new_secret)
                .map_err(|rule| ValidationError::new("signingSecret", rule))?;
            Some((new_secret, rotation::parse_overlap(overlap)?))
        }
        Rotation::Finish => None,
    };
    if ports.admin.load(&tenant).await?.is_none() {
        return Err(TenantAdminError::UnknownTenant(tenant.to_string()));
    }
    let (existing, unreadable) = match ports.vault.signing_secrets(&tenant).await {
        Ok(secrets) => (secrets.unwrap_or_default(), false),
        Err(PortError::Misconfigured { .. }) if plan.is_some() => (Vec::new(), true),
        Err(e) => return Err(e.into()),
    };
    let next = match plan {
        Some((new_secret, overlap)) => rotation::rotate(&existing, new_secret, now, overlap),
        None => rotation::finish(&existing),
    };
    if next.is_empty() {
        return Err(ValidationError::new(
            "finish",
            "the tenant has no current secret to keep: rotate first",
        )
        .into());
    }
    if next != existing {
        ports.vault.save_signing_secrets(&tenant, &next).await?;
    }
    Ok(Rotated {
        tenant_id: tenant.to_string(),
        new_secret: plan.map(|(s, _)| s.clone()),
        secrets: SecretsState::of(&next, now),
        removed: existing
            .iter()
            .filter(|old| !next.iter().any(|kept| kept.value == old.value))
            .count(),
        replaced_unreadable: unreadable,
    })
}
