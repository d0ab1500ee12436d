//! Configuration read once at init from the environment (names match template.yaml).

use std::time::Duration;

/// Everything a function needs to know about its resources.
#[derive(Debug, Clone)]
pub struct Config {
    pub items_table: String,
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
    pub flags: crate::app::customers::TargetFlags,
}

impl Config {
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let text = |k: &str, default: &str| {
            get(k)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let number = |k: &str, default: u64| {
            get(k)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        Self {
            items_table: text("ITEMS_TABLE", "synchub-items"),
            audit_table: text("AUDIT_TABLE", "synchub-audit"),
            tenants_table: text("TENANTS_TABLE", "synchub-tenants"),
            sync_queue_url: text("SYNC_QUEUE_URL", ""),
            sync_dlq_url: text("SYNC_DLQ_URL", ""),
            tenant_secrets_path: text("TENANT_SECRETS_PATH", "/synchub/tenants")
                .trim_end_matches('/')
                .to_owned(),
            audit_ttl: Duration::from_secs(number("AUDIT_TTL_DAYS", 90) * 86_400),
            tenant_cache_ttl: Duration::from_secs(number("TENANT_CACHE_SECONDS", 60)),
            notifications_table: text("NOTIFICATIONS_TABLE", "synchub-notifications"),
            notify_queue_url: text("NOTIFY_QUEUE_URL", ""),
            alert_sender: text("ALERT_SENDER", "synchub-alerts@example.com"),
            alert_default_recipient: text("ALERT_DEFAULT_RECIPIENT", "ops@example.com"),
            alert_window: Duration::from_secs(number("ALERT_WINDOW_MINUTES", 15).max(1) * 60),
            runs_table: text("RUNS_TABLE", "synchub-sync-runs"),
            runs_queue_url: text("RUNS_QUEUE_URL", ""),
            square_base_url: text("SQUARE_BASE_URL", "https://connect.squareup.com"),
            orders_lookback: Duration::from_secs(number("ORDERS_LOOKBACK_DAYS", 7).max(1) * 86_400),
            inventory_lookback: Duration::from_secs(
                number("INVENTORY_LOOKBACK_HOURS", 24).max(1) * 3_600,
            ),
            stuck_after: Duration::from_secs(number("STUCK_AFTER_MINUTES", 30).max(1) * 60),
            hubspot_base_url: text("HUBSPOT_BASE_URL", "https://api.hubapi.com"),
            target_attempts: number("TARGET_ATTEMPTS", 4).clamp(1, 10) as usize,
            flags: crate::app::customers::TargetFlags::from_lookup(&get),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_unset_or_unparsable() {
        let c = Config::from_lookup(|k| match k {
            "AUDIT_TTL_DAYS" => Some("ninety".into()),
            "TENANT_SECRETS_PATH" => Some("/x/tenants/".into()),
            _ => None,
        });
        assert_eq!(c.audit_ttl, Duration::from_secs(90 * 86_400));
        assert_eq!(c.items_table, "synchub-items");
        assert_eq!(c.tenant_secrets_path, "/x/tenants");
    }
}
