//! `synchub tenant add | show | set | list | rotate-secret`: onboarding and
//! steering a tenant through the use cases of `synchub_ops::tenants`, on the
//! tenants table and SSM the environment names. Human text by default,
//! `--json` for scripts. No command prints a stored secret: `add` and
//! `rotate-secret` print the secret they just generated, once.

use crate::ops::answer;
use aws_config::SdkConfig;
use clap::{Args, Subcommand, ValueEnum};
use std::time::Duration;
use synchub_aws::dynamodb::DynamoTenantDirectory;
use synchub_aws::ssm::SsmSecretStore;
use synchub_core::domain::time::now_millis;
use synchub_core::ports::TenantSettings;
use synchub_lambda::config::Config;
use synchub_ops::tenants::{
    self, Added, Changed, Credentials, NewTenant, Rotated, Rotation, SecretsState, SettingsChange,
    TenantPorts, TenantView, WebhookUrls,
};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Add a tenant: its settings item, a new webhook signing secret
    /// (whsec_…) and any credentials given, all SecureStrings in SSM; prints
    /// the webhook URLs to give the supplier, Shopify and Square, and the
    /// signing secret (once). An existing tenant is refused and left as it is.
    Add(Box<AddArgs>),
    /// A tenant's settings, which parameters it has (never their values) and
    /// its signing secrets' rotation state.
    Show {
        #[command(flatten)]
        tenant: TenantName,
        /// The deployed HTTP API's base URL, to print the webhook URLs.
        #[arg(long, env = "SYNCHUB_API_URL", value_name = "URL")]
        api_url: Option<String>,
        #[command(flatten)]
        output: crate::args::Output,
    },
    /// Change a tenant's settings (only those given) or store credentials.
    Set(Box<SetArgs>),
    /// Every tenant, active or not.
    List {
        #[command(flatten)]
        output: crate::args::Output,
    },
    /// Add a new webhook signing secret beside the old one, which keeps
    /// verifying for --overlap (then stops on its own); or --finish the
    /// overlap now. Prints the new secret once.
    RotateSecret(Box<RotateArgs>),
}

#[derive(Debug, Args)]
pub struct TenantName {
    /// The tenant (merchant) id: letters, digits, '-' and '_'.
    #[arg(long, env = "SYNCHUB_TENANT")]
    pub tenant: String,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub tenant: TenantName,
    /// The deployed HTTP API's base URL (the stack's WebhookBaseUrl output).
    #[arg(long, env = "SYNCHUB_API_URL", value_name = "URL")]
    pub api_url: String,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    #[command(flatten)]
    pub output: crate::args::Output,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    #[command(flatten)]
    pub tenant: TenantName,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    #[command(flatten)]
    pub output: crate::args::Output,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub tenant: TenantName,
    /// How long the old secret keeps verifying: 30s, 90m, 24h, 7d (at most
    /// 30d; 0 drops it at once).
    #[arg(long, required_unless_present = "finish", value_name = "DURATION")]
    pub overlap: Option<String>,
    /// End the running overlap now: only the current secret verifies.
    #[arg(long, conflicts_with = "overlap")]
    pub finish: bool,
    #[command(flatten)]
    pub output: crate::args::Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl From<OnOff> for bool {
    fn from(v: OnOff) -> bool {
        v == OnOff::On
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetName {
    Pos,
    Crm,
    Storefront,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncMethod {
    Queued,
    Direct,
}

/// The settings `add` and `set` take; `set` changes only those given.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// The tenant's display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Whether the tenant is synced and its webhooks accepted.
    #[arg(long, value_enum)]
    pub active: Option<OnOff>,
    /// Where applied changes are announced (the storefront's cache-bust URL).
    #[arg(long, value_name = "URL")]
    pub storefront_url: Option<String>,
    /// Remove the storefront URL.
    #[arg(long, conflicts_with = "storefront_url")]
    pub no_storefront_url: bool,
    /// The URL the tenant's Square webhook subscription posts to (add sets it
    /// from --api-url).
    #[arg(long, value_name = "URL")]
    pub square_notification_url: Option<String>,
    /// Who gets failure emails (repeatable; replaces the list).
    #[arg(long = "alert-recipient", value_name = "EMAIL")]
    pub alert_recipients: Vec<String>,
    /// Send failure emails to the deployment's default recipient.
    #[arg(long, conflicts_with = "alert_recipients")]
    pub default_alert_recipient: bool,
    /// The daily success report of the tenant's runs.
    #[arg(long, value_enum)]
    pub daily_summary: Option<OnOff>,
    /// Switch a target on for the tenant (repeatable).
    #[arg(long = "enable-target", value_enum, value_name = "TARGET")]
    pub enable_targets: Vec<TargetName>,
    /// Switch a target off for the tenant, at once (repeatable).
    #[arg(long = "disable-target", value_enum, value_name = "TARGET")]
    pub disable_targets: Vec<TargetName>,
    /// A flag override, ENABLE_X=on|off|default (repeatable; default removes it).
    #[arg(long = "flag", value_name = "FLAG=VALUE")]
    pub flags: Vec<String>,
    /// How on-demand syncs run.
    #[arg(long, value_enum)]
    pub sync_method: Option<SyncMethod>,
    /// Take supplier webhooks from this supplier id (repeatable); with none
    /// listed, every supplier's are taken.
    #[arg(long = "allow-supplier", value_name = "SUPPLIER_ID")]
    pub allow_suppliers: Vec<String>,
    /// Remove a supplier id from the allowlist (repeatable).
    #[arg(long = "disallow-supplier", value_name = "SUPPLIER_ID")]
    pub disallow_suppliers: Vec<String>,
    /// The POS the daily sync pulls, replacing the list: a JSON list of
    /// {connector, environment, settings} (or @FILE holding it).
    #[arg(long, value_name = "JSON|@FILE")]
    pub pos: Option<String>,
    /// Back to Square alone (clears the POS list).
    #[arg(long, conflicts_with = "pos")]
    pub no_pos: bool,
}

impl SettingsArgs {
    pub fn change(&self) -> Result<SettingsChange, Error> {
        let names =
            |targets: &[TargetName]| targets.iter().map(|t| value_name(*t)).collect::<Vec<_>>();
        let pos = match (&self.pos, self.no_pos) {
            (_, true) => Some(Vec::new()),
            (Some(text), false) => {
                let text = read_value(text, "pos")?;
                Some(serde_json::from_str(&text).map_err(|e| {
                    format!("--pos: not a list of {{connector, environment, settings}}: {e}")
                })?)
            }
            (None, false) => None,
        };
        Ok(SettingsChange {
            name: self.name.clone(),
            active: self.active.map(bool::from),
            storefront_url: if self.no_storefront_url {
                Some(None)
            } else {
                self.storefront_url.clone().map(Some)
            },
            square_notification_url: self.square_notification_url.clone().map(Some),
            alert_recipients: if self.default_alert_recipient {
                Some(Vec::new())
            } else if self.alert_recipients.is_empty() {
                None
            } else {
                Some(self.alert_recipients.clone())
            },
            daily_summary: self.daily_summary.map(bool::from),
            enable_targets: names(&self.enable_targets),
            disable_targets: names(&self.disable_targets),
            flags: self.flags.clone(),
            sync_method: self.sync_method.map(value_name),
            allow_suppliers: self.allow_suppliers.clone(),
            disallow_suppliers: self.disallow_suppliers.clone(),
            pos,
        })
    }
}

/// A value, or the trimmed text of the file `@PATH` names.
fn read_value(value: &str, option: &str) -> Result<String, Error> {
    match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| text.trim().to_owned())
            .map_err(|e| format!("--{option}: cannot read {path}: {e}").into()),
        None => Ok(value.to_owned()),
    }
}

/// A value's name on the command line (`pos`, `queued`).
fn value_name<V: ValueEnum>(value: V) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// Credentials to store as SecureStrings. A value `@PATH` is read from that
/// file, so it stays out of the shell history and the process list.
#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// Square access token (the daily pull, the POS target): square-token.
    #[arg(long, value_name = "TOKEN|@FILE")]
    pub square_token: Option<String>,
    /// HubSpot private app token (the CRM target): hubspot-token.
    #[arg(long, value_name = "TOKEN|@FILE")]
    pub hubspot_token: Option<String>,
    /// Shopify app client secret (verifies Shopify webhooks): shopify-secret.
    #[arg(long, value_name = "SECRET|@FILE")]
    pub shopify_secret: Option<String>,
    /// Square webhook subscription signature key: square-signature-key.
    #[arg(long, value_name = "KEY|@FILE")]
    pub square_signature_key: Option<String>,
    /// A connector's credentials, CONNECTOR=JSON|@FILE: a JSON object of its
    /// manifest's secrets, stored as pos-CONNECTOR (repeatable).
    #[arg(long = "pos-secrets", value_name = "CONNECTOR=JSON|@FILE")]
    pub pos_secrets: Vec<String>,
}

impl CredentialArgs {
    pub fn credentials(&self) -> Result<Credentials, Error> {
        let read = |value: &Option<String>, option: &str| -> Result<Option<String>, Error> {
            match value.as_deref() {
                Some(v) if v.starts_with('@') => std::fs::read_to_string(&v[1..])
                    .map(|text| Some(text.trim().to_owned()))
                    .map_err(|e| format!("--{option}: cannot read {}: {e}", &v[1..]).into()),
                other => Ok(other.map(str::to_owned)),
            }
        };
        Ok(Credentials {
            square_token: read(&self.square_token, "square-token")?,
            hubspot_token: read(&self.hubspot_token, "hubspot-token")?,
            shopify_secret: read(&self.shopify_secret, "shopify-secret")?,
            square_signature_key: read(&self.square_signature_key, "square-signature-key")?,
            pos_secrets: self
                .pos_secrets
                .iter()
                .map(|pair| {
                    let (connector, value) = pair
                        .split_once('=')
                        .ok_or("--pos-secrets: must be CONNECTOR=JSON or CONNECTOR=@FILE")?;
                    Ok((
                        connector.trim().to_owned(),
                        read_value(value, "pos-secrets")?,
                    ))
                })
                .collect::<Result<_, Error>>()?,
        })
    }
}

/// Runs a tenant command on the tenants table and the parameter store the
/// configuration names; the text to print.
pub async fn run(
    aws: &SdkConfig,
    config: &Config,
    command: TenantCommand,
) -> Result<String, Error> {
    let (admin, vault) = uncached_stores(aws, config);
    let ports = TenantPorts {
        admin: &admin,
        vault: &vault,
    };
    let text = match command {
        TenantCommand::Add(args) => {
            let request = NewTenant {
                tenant_id: args.tenant.tenant,
                api_url: args.api_url,
                signing_secret: crate::local::new_signing_secret(),
                credentials: args.credentials.credentials()?,
                settings: args.settings.change()?,
            };
            let added = tenants::add(&ports, &request).await?;
            answer(&added, args.output.json, render_added)?
        }
        TenantCommand::Show {
            tenant,
            api_url,
            output,
        } => {
            let view = tenants::show(&ports, &tenant.tenant, api_url.as_deref()).await?;
            answer(&view, output.json, render_view)?
        }
        TenantCommand::Set(args) => {
            let credentials = args.credentials.credentials()?;
            let change = args.settings.change()?;
            let changed = tenants::set(&ports, &args.tenant.tenant, &change, &credentials).await?;
            answer(&changed, args.output.json, render_changed)?
        }
        TenantCommand::List { output } => {
            let all = tenants::list(&admin).await?;
            let listed = serde_json::json!({ "tenants": all });
            answer(&listed, output.json, |_| render_list(&all))?
        }
        TenantCommand::RotateSecret(args) => {
            let rotation = rotation(args.overlap, args.finish);
            let rotated =
                tenants::rotate_secret(&ports, &args.tenant.tenant, &rotation, now_millis())
                    .await?;
            answer(&rotated, args.output.json, render_rotated)?
        }
    };
    Ok(text)
}

/// The tenants table and the parameter store the configuration names, with
/// no cache: every command reads what is stored now.
fn uncached_stores(aws: &SdkConfig, config: &Config) -> (DynamoTenantDirectory, SsmSecretStore) {
    let admin = DynamoTenantDirectory::new(
        aws_sdk_dynamodb::Client::new(aws),
        &config.tenants_table,
        Duration::ZERO,
    );
    let vault = SsmSecretStore::new(
        aws_sdk_ssm::Client::new(aws),
        &config.tenant_secrets_path,
        Duration::ZERO,
    );
    (admin, vault)
}

/// What `rotate-secret` asks for: a new secret beside the old one for
/// `overlap`, or (with `--finish`) the end of the running overlap.
fn rotation(overlap: Option<String>, finish: bool) -> Rotation {
    match overlap {
        Some(overlap) if !finish => Rotation::Start {
            new_secret: crate::local::new_signing_secret(),
            overlap,
        },
        _ => Rotation::Finish,
    }
}

fn on_off(value: bool) -> &'static str {
    if value {
        "on"
    } else {
        "off"
    }
}

fn list_or(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_owned()
    } else {
        items.join(", ")
    }
}

/// The settings, one per line.
fn settings_lines(s: &TenantSettings) -> String {
    let overrides: Vec<String> = s
        .flag_overrides
        .iter()
        .map(|(k, v)| format!("{k}={}", on_off(*v)))
        .collect();
    let rows = [
        ("tenant", s.tenant_id.clone()),
        ("name", s.name.clone()),
        ("active", on_off(s.active).to_owned()),
        (
            "storefront URL",
            s.storefront_url.clone().unwrap_or_else(|| "none".into()),
        ),
        (
            "Square notification URL",
            s.square_notification_url
                .clone()
                .unwrap_or_else(|| "none (Square webhooks cannot be verified)".into()),
        ),
        (
            "alert recipients",
            list_or(&s.alert_recipients, "the deployment's default"),
        ),
        ("daily summary", on_off(s.daily_summary).to_owned()),
        ("targets disabled", list_or(&s.targets_disabled, "none")),
        ("flag overrides", list_or(&overrides, "none")),
        (
            "sync method",
            s.sync_method.clone().unwrap_or_else(|| "queued".into()),
        ),
        (
            "allowed suppliers",
            list_or(&s.allowed_suppliers, "every supplier"),
        ),
        (
            "POS",
            s.pos_sources()
                .iter()
                .map(|p| format!("{} ({}) {}", p.connector, p.environment, p.settings))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    ];
    rows.iter().map(|(k, v)| format!("{k:<24} {v}\n")).collect()
}

fn url_lines(urls: &WebhookUrls) -> String {
    format!(
        "webhook URLs:\n  supplier  {}\n  shopify   {}\n  square    {}\n",
        urls.supplier, urls.shopify, urls.square
    )
}

fn secrets_line(state: &SecretsState) -> String {
    let mut line = format!("{} current", state.current);
    for end in &state.retiring {
        line.push_str(&format!(", 1 retiring at {end}"));
    }
    if state.expired > 0 {
        line.push_str(&format!(
            ", {} expired (no longer verifying)",
            state.expired
        ));
    }
    line
}

pub fn render_added(added: &Added) -> String {
    format!(
        "Added tenant {}.\n{}{}\
         signing secret for the supplier (shown this once; it cannot be read back):\n  {}\n\
         stored as SecureString: {}\n",
        added.tenant_id,
        settings_lines(&added.settings),
        url_lines(&added.webhook_urls),
        added.signing_secret,
        added.stored.join(", ")
    )
}

pub fn render_view(view: &TenantView) -> String {
    let mut text = settings_lines(&view.settings);
    text.push_str(&format!(
        "{:<24} {}\n",
        "signing secrets",
        view.signing_secrets
            .as_ref()
            .map_or_else(|| "none readable".to_owned(), secrets_line)
    ));
    text.push_str("parameters (SSM; values never shown):\n");
    if view.parameters.is_empty() {
        text.push_str("  none\n");
    }
    for p in &view.parameters {
        text.push_str(&format!(
            "  {:<22} {:<13} v{:<4} {}\n",
            p.name,
            p.kind,
            p.version,
            p.last_modified.as_deref().unwrap_or("")
        ));
    }
    if let Some(urls) = &view.webhook_urls {
        text.push_str(&url_lines(urls));
    }
    text
}

pub fn render_changed(changed: &Changed) -> String {
    let mut text = if changed.changed.is_empty() {
        format!("No setting of {} changed.\n", changed.tenant_id)
    } else {
        format!(
            "Changed {}: {}.\n",
            changed.tenant_id,
            changed.changed.join(", ")
        )
    };
    if !changed.stored.is_empty() {
        text.push_str(&format!(
            "stored as SecureString: {}\n",
            changed.stored.join(", ")
        ));
    }
    text + &settings_lines(&changed.settings)
}

pub fn render_list(all: &[TenantSettings]) -> String {
    let mut text = format!(
        "{:<24} {:<6} {:<18} {:<22} {:<10} {}\n",
        "TENANT", "ACTIVE", "TARGETS OFF", "OVERRIDES", "SYNC", "SUPPLIERS"
    );
    for s in all {
        let overrides: Vec<String> = s
            .flag_overrides
            .iter()
            .map(|(k, v)| format!("{}={}", k.trim_start_matches("ENABLE_"), on_off(*v)))
            .collect();
        text.push_str(&format!(
            "{:<24} {:<6} {:<18} {:<22} {:<10} {}\n",
            s.tenant_id,
            on_off(s.active),
            list_or(&s.targets_disabled, "-"),
            list_or(&overrides, "-"),
            s.sync_method.as_deref().unwrap_or("queued"),
            list_or(&s.allowed_suppliers, "all")
        ));
    }
    text.push_str(&format!("{} tenant(s)\n", all.len()));
    text
}

pub fn render_rotated(rotated: &Rotated) -> String {
    let mut text = String::new();
    if rotated.replaced_unreadable {
        text.push_str(
            "The stored secret could not be read (nothing verified with it); it was replaced.\n",
        );
    }
    match &rotated.new_secret {
        Some(secret) => text.push_str(&format!(
            "New signing secret for {} (shown this once; it cannot be read back):\n  {secret}\n\
             Webhook ingest takes it within a minute (its cache); the old one keeps verifying until the overlap ends.\n",
            rotated.tenant_id
        )),
        None => text.push_str(&format!("Overlap of {} ended.\n", rotated.tenant_id)),
    }
    text.push_str(&format!(
        "signing secrets: {}\n",
        secrets_line(&rotated.secrets)
    ));
    if rotated.removed > 0 {
        text.push_str(&format!("removed {} old secret(s)\n", rotated.removed));
    }
    text
}
