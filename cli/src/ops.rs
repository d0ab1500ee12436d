//! The operator's questions (health, status, flags, runs, trace) answered by
//! the use cases in `synchub_ops`, on the adapters the sync API uses:
//! nothing here decides an answer. The commands and the demo both ask
//! through [`Operations`].

use aws_config::SdkConfig;
use serde::Serialize;
use synchub_core::domain::{EntityKey, TenantId};
use synchub_lambda::config::{Config, ConfigError};
use synchub_lambda::Api;
use synchub_ops::{FlagValue, GateReport, Health, OpsError, RunsPage, TenantStatus, Trace};

/// The operator's questions on the sync API's own adapters (built from the
/// configuration as the `sync-api` function builds them, the flags' deploy
/// side included: `ENABLE_*` and `CANARY_TENANTS`).
pub struct Operations {
    pub api: Api,
}

impl Operations {
    pub fn new(aws: &SdkConfig, config: &Config) -> Self {
        Self {
            api: Api::new(aws, config),
        }
    }

    /// Needs every queue's URL (see [`with_dead_letter_queues`]).
    pub async fn health(&self) -> Result<Health, OpsError> {
        self.api.health().await
    }

    pub async fn status(&self, tenant: &TenantId) -> Result<TenantStatus, OpsError> {
        self.api.status(tenant).await
    }

    pub async fn flags(&self, tenant: &TenantId) -> Result<Vec<FlagValue>, OpsError> {
        self.api.flags(tenant).await
    }

    /// The tenant's runs, newest first, at most `limit` (the API's first page).
    pub async fn runs(&self, tenant: &TenantId, limit: usize) -> Result<RunsPage, OpsError> {
        self.api.runs(tenant, Some(&limit.to_string()), None).await
    }

    pub async fn trace(&self, key: &EntityKey) -> Result<Trace, OpsError> {
        self.api.trace(key).await
    }

    pub async fn gate(
        &self,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<GateReport, OpsError> {
        self.api.gate(since, until).await
    }
}

/// The configuration health needs: every queue named. A runs or
/// notifications DLQ it does not name is taken to be beside its queue, as
/// template.yaml names it (`{queue}-dlq`). Names every queue still missing.
pub fn with_dead_letter_queues(mut config: Config) -> Result<Config, ConfigError> {
    let beside = |queue: &str| {
        if queue.is_empty() {
            String::new()
        } else {
            format!("{queue}-dlq")
        }
    };
    if config.runs_dlq_url.is_empty() {
        config.runs_dlq_url = beside(&config.runs_queue_url);
    }
    if config.notify_dlq_url.is_empty() {
        config.notify_dlq_url = beside(&config.notify_queue_url);
    }
    let problems: Vec<String> = [
        (&config.sync_queue_url, "SYNC_QUEUE_URL"),
        (&config.sync_dlq_url, "SYNC_DLQ_URL"),
        (&config.runs_dlq_url, "RUNS_DLQ_URL (or RUNS_QUEUE_URL)"),
        (
            &config.notify_dlq_url,
            "NOTIFY_DLQ_URL (or NOTIFY_QUEUE_URL)",
        ),
    ]
    .into_iter()
    .filter(|(url, _)| url.is_empty())
    .map(|(_, name)| format!("{name} is not set"))
    .collect();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError { problems })
    }
}

/// An answer as the person asked for it: the use case's JSON (what the sync
/// API answers), or the human rendering.
pub fn answer<T: Serialize>(
    value: &T,
    json: bool,
    human: impl Fn(&T) -> String,
) -> Result<String, serde_json::Error> {
    if json {
        Ok(serde_json::to_string_pretty(value)? + "\n")
    } else {
        Ok(human(value))
    }
}

/// A value's word as its JSON names it (`succeeded`, `canary`, `TIMEOUT_ERROR`),
/// so the tables and the JSON never disagree.
pub fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_core::domain::sync_run::RunStatus;
    use synchub_ops::{FlagSource, HealthStatus};

    fn config(pairs: &'static [(&'static str, &'static str)]) -> Config {
        Config::from_lookup(
            |k| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            },
            &[],
        )
        .unwrap()
    }

    #[test]
    fn the_dead_letter_queues_are_found_beside_their_queues_unless_named() {
        let mut config = config(&[
            ("SYNC_QUEUE_URL", "http://q/synchub-sync-events"),
            ("SYNC_DLQ_URL", "http://q/synchub-sync-events-dlq"),
            ("RUNS_QUEUE_URL", "http://q/synchub-sync-runs"),
            ("NOTIFY_QUEUE_URL", "http://q/synchub-notifications"),
        ]);
        let named = with_dead_letter_queues(config.clone()).unwrap();
        assert_eq!(named.runs_dlq_url, "http://q/synchub-sync-runs-dlq");
        assert_eq!(named.notify_dlq_url, "http://q/synchub-notifications-dlq");
        config.runs_dlq_url = "http://q/other-dlq".into();
        let named = with_dead_letter_queues(config).unwrap();
        assert_eq!(named.runs_dlq_url, "http://q/other-dlq");
    }

    #[test]
    fn every_missing_queue_is_named_at_once() {
        let err = with_dead_letter_queues(config(&[])).unwrap_err();
        assert_eq!(
            err.problems,
            [
                "SYNC_QUEUE_URL is not set",
                "SYNC_DLQ_URL is not set",
                "RUNS_DLQ_URL (or RUNS_QUEUE_URL) is not set",
                "NOTIFY_DLQ_URL (or NOTIFY_QUEUE_URL) is not set",
            ]
        );
    }

    #[test]
    fn words_are_the_json_words() {
        assert_eq!(word(&RunStatus::Succeeded), "succeeded");
        assert_eq!(word(&FlagSource::Canary), "canary");
        assert_eq!(word(&HealthStatus::Unhealthy), "unhealthy");
        assert_eq!(
            word(&synchub_core::ErrorClass::TimeoutError),
            "TIMEOUT_ERROR"
        );
    }

    #[test]
    fn json_is_the_use_cases_answer() {
        let text = answer(&FlagSource::Tenant, true, |_| "human".into()).unwrap();
        assert_eq!(text, "\"tenant\"\n");
        let text = answer(&FlagSource::Tenant, false, |_| "human".into()).unwrap();
        assert_eq!(text, "human");
    }
}
