//! Configuration read once at init from the environment (names match template.yaml).

use std::ops::RangeInclusive;
use std::time::Duration;
use synchub_core::domain::layout::ItemShards;

/// Everything a function needs to know about its resources.
#[derive(Debug, Clone)]
pub struct Config {
    pub items_table: String,
    /// How many partition keys each tenant's items are spread over
    /// (`ITEM_SHARDS`, 1 to 64; 1 is the layout before sharding). A table
    /// keeps the count it was written with (README, items table layout).
    pub item_shards: ItemShards,
    pub audit_table: String,
    pub tenants_table: String,
    pub sync_queue_url: String,
    pub sync_dlq_url: String,
    /// SSM path under which each tenant's credentials live: `{path}/{tenant}/webhook-secret`.
    pub tenant_secrets_path: String,
    pub audit_ttl: Duration,
    /// Failure notifications and the failures they report.
    pub notifications_table: String,
    /// The queue other functions send `runFailed` notices to; the notifier
    /// also sends itself delayed digests there.
    pub notify_queue_url: String,
    /// The SES-verified sender of alert emails.
    pub alert_sender: String,
    /// Who gets alerts for tenants that list no recipients.
    pub alert_default_recipient: String,
    /// At most one email per (tenant, error class) per window.
    pub alert_window: Duration,
    /// Sync runs, their checkpoints and locks.
    pub runs_table: String,
    /// Work items of the daily sync (a run to start or continue).
    pub runs_queue_url: String,
    /// Square's API base URL.
    pub square_base_url: String,
    /// `CONNECTOR_ORIGIN`: sends every connector request to this origin
    /// instead of the manifests' hosts (local stand-ins; unset in AWS).
    pub connector_origin: Option<String>,
    pub orders_lookback: Duration,
    pub inventory_lookback: Duration,
    pub stuck_after: Duration,
    /// How long a warm function trusts a cached tenant secret or setting.
    pub tenant_cache_ttl: Duration,
    /// HubSpot's API base URL (the CRM target).
    pub hubspot_base_url: String,
    /// Attempts per customer target call before it is recorded as failed.
    pub target_attempts: usize,
    /// `ENABLE_POS_SYNC`, `ENABLE_CRM_SYNC`, `ENABLE_UPDATE_SYNC`.
    pub flags: synchub_core::app::customers::TargetFlags,
    /// The runs queue's dead-letter queue (health counts its messages).
    pub runs_dlq_url: String,
    /// The notifications queue's dead-letter queue (health counts its messages).
    pub notify_dlq_url: String,
    /// `CANARY_TENANTS` (comma-separated): tenants that get new behaviour first.
    pub canary_tenants: Vec<String>,
    /// What `health` holds the queues and runs to (`HEALTH_MAX_*`; stuck runs
    /// by `STUCK_AFTER_MINUTES`).
    pub health: synchub_ops::HealthThresholds,
    /// `MAINTENANCE_PARAMETER`: the SSM parameter holding the maintenance
    /// switch (`on` holds back all outbound sync; absent = off).
    pub maintenance_parameter: String,
}

/// Every variable that was missing or malformed, named at init.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// The variables each function cannot run without (the template sets them).
pub const WEBHOOK_INGEST: &[&str] = &["SYNC_QUEUE_URL", "RUNS_QUEUE_URL"];
pub const SYNC_WORKER: &[&str] = &["SYNC_DLQ_URL"];
pub const FAILURE_NOTIFIER: &[&str] = &["NOTIFY_QUEUE_URL"];
pub const DAILY_SYNC: &[&str] = &["RUNS_QUEUE_URL", "SYNC_QUEUE_URL", "NOTIFY_QUEUE_URL"];
/// sync-api reads every queue's depth for health and queues manual runs.
pub const SYNC_API: &[&str] = &[
    "SYNC_QUEUE_URL",
    "SYNC_DLQ_URL",
    "RUNS_QUEUE_URL",
    "RUNS_DLQ_URL",
    "NOTIFY_QUEUE_URL",
    "NOTIFY_DLQ_URL",
];

/// Reads variables, remembering each problem instead of stopping at the first.
struct Reader<'a, G> {
    get: &'a G,
    problems: Vec<String>,
}

impl<'a, G: Fn(&str) -> Option<String>> Reader<'a, G> {
    /// A reader that starts with a problem for each `required` variable
    /// that is unset or blank.
    fn requiring(get: &'a G, required: &[&str]) -> Self {
        Self {
            get,
            problems: required
                .iter()
                .filter(|k| get(k).is_none_or(|v| v.trim().is_empty()))
                .map(|k| format!("{k} is not set"))
                .collect(),
        }
    }

    fn value(&self, key: &str) -> Option<String> {
        (self.get)(key).filter(|v| !v.trim().is_empty())
    }

    fn text(&mut self, key: &str, default: &str) -> String {
        self.value(key).unwrap_or_else(|| default.to_owned())
    }

    fn number(&mut self, key: &str, default: u64, range: RangeInclusive<u64>) -> u64 {
        let Some(text) = self.value(key) else {
            return default;
        };
        match text.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                self.problems.push(format!(
                    "{key}={text:?} must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ));
                default
            }
        }
    }

    fn flag(&mut self, key: &str) -> bool {
        let Some(text) = self.value(key) else {
            return false;
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                self.problems
                    .push(format!("{key}={text:?} must be true or false"));
                false
            }
        }
    }

    /// A comma-separated list of tenant ids; each must be a valid tenant id.
    fn tenants(&mut self, key: &str) -> Vec<String> {
        let Some(text) = self.value(key) else {
            return Vec::new();
        };
        let mut tenants = Vec::new();
        for id in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            match synchub_core::domain::TenantId::parse(id) {
                Ok(t) => tenants.push(t.to_string()),
                Err(e) => self
                    .problems
                    .push(format!("{key} has {id:?}, not a tenant id: {}", e.rule)),
            }
        }
        tenants
    }

    /// A parameter path, without a trailing `/`.
    fn path(&mut self, key: &str, default: &str) -> String {
        self.text(key, default).trim_end_matches('/').to_owned()
    }

    fn seconds(&mut self, key: &str, default: u64, range: RangeInclusive<u64>) -> Duration {
        Duration::from_secs(self.number(key, default, range))
    }

    fn minutes(&mut self, key: &str, default: u64, range: RangeInclusive<u64>) -> Duration {
        Duration::from_secs(self.number(key, default, range) * 60)
    }

    fn hours(&mut self, key: &str, default: u64, range: RangeInclusive<u64>) -> Duration {
        Duration::from_secs(self.number(key, default, range) * 3_600)
    }

    fn days(&mut self, key: &str, default: u64, range: RangeInclusive<u64>) -> Duration {
        Duration::from_secs(self.number(key, default, range) * 86_400)
    }

    /// How many partition keys each tenant's items are spread over; a count
    /// out of range is a problem, and the layout before sharding is used.
    fn item_shards(&mut self, key: &str) -> ItemShards {
        let count = self.number(key, 1, 1..=u64::from(ItemShards::MAX));
        ItemShards::new(count as u16).unwrap_or_default()
    }

    fn url(&mut self, key: &str, default: &str) -> String {
        let url = self.text(key, default);
        if !url.is_empty() && !url.starts_with("https://") && !url.starts_with("http://") {
            self.problems
                .push(format!("{key}={url:?} must be an http(s) URL"));
        }
        url
    }
}

impl Config {
    /// Reads the process environment; `required` names the variables this
    /// function cannot run without. Fails naming every missing or malformed one.
    pub fn from_env(required: &[&str]) -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok(), required)
    }

    /// Reads from any lookup, so tests need not touch the process environment.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        required: &[&str],
    ) -> Result<Self, ConfigError> {
        let mut r = Reader::requiring(&get, required);
        let stuck_after = r.minutes("STUCK_AFTER_MINUTES", 30, 1..=1440);
        let config = Self {
            items_table: r.text("ITEMS_TABLE", "synchub-items"),
            item_shards: r.item_shards("ITEM_SHARDS"),
            audit_table: r.text("AUDIT_TABLE", "synchub-audit"),
            tenants_table: r.text("TENANTS_TABLE", "synchub-tenants"),
            sync_queue_url: r.url("SYNC_QUEUE_URL", ""),
            sync_dlq_url: r.url("SYNC_DLQ_URL", ""),
            tenant_secrets_path: r.path("TENANT_SECRETS_PATH", "/synchub/tenants"),
            audit_ttl: r.days("AUDIT_TTL_DAYS", 90, 1..=3650),
            tenant_cache_ttl: r.seconds("TENANT_CACHE_SECONDS", 60, 0..=3600),
            notifications_table: r.text("NOTIFICATIONS_TABLE", "synchub-notifications"),
            notify_queue_url: r.url("NOTIFY_QUEUE_URL", ""),
            alert_sender: r.text("ALERT_SENDER", "synchub-alerts@example.com"),
            alert_default_recipient: r.text("ALERT_DEFAULT_RECIPIENT", "ops@example.com"),
            alert_window: r.minutes("ALERT_WINDOW_MINUTES", 15, 1..=1440),
            runs_table: r.text("RUNS_TABLE", "synchub-sync-runs"),
            runs_queue_url: r.url("RUNS_QUEUE_URL", ""),
            square_base_url: r.url("SQUARE_BASE_URL", "https://connect.squareup.com"),
            connector_origin: get("CONNECTOR_ORIGIN").filter(|o| !o.trim().is_empty()),
            orders_lookback: r.days("ORDERS_LOOKBACK_DAYS", 7, 1..=90),
            inventory_lookback: r.hours("INVENTORY_LOOKBACK_HOURS", 24, 1..=720),
            stuck_after,
            hubspot_base_url: r.url("HUBSPOT_BASE_URL", "https://api.hubapi.com"),
            target_attempts: r.number("TARGET_ATTEMPTS", 4, 1..=10) as usize,
            flags: target_flags(&mut r),
            runs_dlq_url: r.url("RUNS_DLQ_URL", ""),
            notify_dlq_url: r.url("NOTIFY_DLQ_URL", ""),
            canary_tenants: r.tenants("CANARY_TENANTS"),
            health: health_thresholds(&mut r, stuck_after),
            maintenance_parameter: r.text("MAINTENANCE_PARAMETER", "/synchub/maintenance"),
        };
        if r.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError {
                problems: r.problems,
            })
        }
    }
}

/// Which customer targets are on (`ENABLE_POS_SYNC`, `ENABLE_CRM_SYNC`,
/// `ENABLE_UPDATE_SYNC`; each off when unset).
fn target_flags<G: Fn(&str) -> Option<String>>(
    r: &mut Reader<'_, G>,
) -> synchub_core::app::customers::TargetFlags {
    synchub_core::app::customers::TargetFlags {
        pos: r.flag("ENABLE_POS_SYNC"),
        crm: r.flag("ENABLE_CRM_SYNC"),
        updates: r.flag("ENABLE_UPDATE_SYNC"),
    }
}

/// What `health` holds the queues and runs to (`HEALTH_MAX_*`), runs
/// counting as stuck after `stuck_after`.
fn health_thresholds<G: Fn(&str) -> Option<String>>(
    r: &mut Reader<'_, G>,
    stuck_after: Duration,
) -> synchub_ops::HealthThresholds {
    synchub_ops::HealthThresholds {
        max_sync_backlog: r.number("HEALTH_MAX_SYNC_BACKLOG", 1_000, 0..=10_000_000),
        max_dead_letters: r.number("HEALTH_MAX_DEAD_LETTERS", 0, 0..=10_000_000),
        max_failed_runs: r.number("HEALTH_MAX_FAILED_RUNS", 0, 0..=100_000),
        stuck_after_millis: stuck_after.as_millis() as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_apply_when_unset() {
        let c =
            Config::from_lookup(lookup(&[("TENANT_SECRETS_PATH", "/x/tenants/")]), &[]).unwrap();
        assert_eq!(c.audit_ttl, Duration::from_secs(90 * 86_400));
        assert_eq!(c.items_table, "synchub-items");
        assert_eq!(c.tenant_secrets_path, "/x/tenants");
        assert!(!c.flags.pos);
    }

    #[test]
    fn every_missing_or_malformed_variable_is_named_at_once() {
        let e = Config::from_lookup(
            lookup(&[
                ("AUDIT_TTL_DAYS", "ninety"),
                ("ENABLE_POS_SYNC", "maybe"),
                ("SYNC_QUEUE_URL", "sqs-queue"),
            ]),
            WEBHOOK_INGEST,
        )
        .unwrap_err();
        let text = e.to_string();
        for needle in [
            "RUNS_QUEUE_URL is not set",
            "AUDIT_TTL_DAYS=\"ninety\"",
            "ENABLE_POS_SYNC=\"maybe\"",
            "SYNC_QUEUE_URL=\"sqs-queue\" must be an http(s) URL",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert_eq!(e.problems.len(), 4, "{text}");
    }

    #[test]
    fn flags_read_the_usual_spellings() {
        let c = Config::from_lookup(
            lookup(&[
                ("ENABLE_POS_SYNC", "TRUE"),
                ("ENABLE_CRM_SYNC", "0"),
                ("ENABLE_UPDATE_SYNC", "on"),
            ]),
            &[],
        )
        .unwrap();
        assert!(c.flags.pos && !c.flags.crm && c.flags.updates);
    }

    #[test]
    fn the_canary_list_and_health_thresholds_are_read_and_checked() {
        let c = Config::from_lookup(
            lookup(&[
                ("CANARY_TENANTS", " acme, beta-shop ,,"),
                ("HEALTH_MAX_SYNC_BACKLOG", "50"),
                ("STUCK_AFTER_MINUTES", "10"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(c.canary_tenants, vec!["acme", "beta-shop"]);
        assert_eq!(c.health.max_sync_backlog, 50);
        assert_eq!(c.health.max_dead_letters, 0);
        assert_eq!(c.health.stuck_after_millis, 600_000);

        let e = Config::from_lookup(
            lookup(&[
                ("CANARY_TENANTS", "acme,not a tenant"),
                ("HEALTH_MAX_DEAD_LETTERS", "-1"),
            ]),
            SYNC_API,
        )
        .unwrap_err();
        let text = e.to_string();
        for needle in [
            "CANARY_TENANTS has \"not a tenant\"",
            "HEALTH_MAX_DEAD_LETTERS=\"-1\"",
            "RUNS_DLQ_URL is not set",
            "NOTIFY_DLQ_URL is not set",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn a_flag_never_turns_on_by_accident(v in "\\PC{0,8}") {
            let c = Config::from_lookup(|k| (k == "ENABLE_POS_SYNC").then(|| v.clone()), &[]);
            let on = matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on");
            proptest::prop_assert_eq!(c.as_ref().is_ok_and(|c| c.flags.pos), on);
        }
    }
}
