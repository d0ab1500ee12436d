//! The fleet at a glance, for an operator watching many tenants at once (the
//! dashboard): every active tenant's status in one answer, a page of tenants
//! at a time, and the recent failures grouped by tenant and error class.
//!
//! Each answer's cost is bounded by the page and the window, never by the
//! history: a tenant's last runs are one item per data type (the newest run
//! of each), and its failures are the newest few per error class.

use super::flags::{effective_flags, FlagPolicy};
use super::gate::window;
use super::status::{RunLine, TenantStatus};
use super::OpsError;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use synchub_core::domain::alert::Failure;
use synchub_core::domain::sync_run::RunStatus;
use synchub_core::domain::time::{canonical_time, parse_rfc3339_millis};
use synchub_core::domain::DataType;
use synchub_core::domain::{TenantId, ValidationError};
use synchub_core::ports::{FailureLog, PortError, RunLog, TenantRoster, TenantSettings};
use synchub_core::ErrorClass;

pub const DEFAULT_TENANTS_LIMIT: usize = 50;
pub const MAX_TENANTS_LIMIT: usize = 100;
pub const DEFAULT_FAILURES_LIMIT: usize = 5;
pub const MAX_FAILURES_LIMIT: usize = 50;
/// Reads in flight at once: enough to hide the latency, few enough not to
/// be throttled.
const IN_FLIGHT: usize = 16;

/// One page of the active tenants, by id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantsPage {
    pub tenants: Vec<TenantOverview>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A tenant's status as `GET /api/tenants/{t}/status` answers it, with its name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantOverview {
    pub name: String,
    #[serde(flatten)]
    pub status: TenantStatus,
}

/// The page of active tenants after `cursor` (the last tenant id of the
/// previous page), at most `limit` long (default 50, at most 100).
pub async fn tenants<R: RunLog, T: TenantRoster>(
    runs: &R,
    roster: &T,
    policy: &FlagPolicy,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<TenantsPage, OpsError> {
    let limit = bounded("limit", limit, DEFAULT_TENANTS_LIMIT, MAX_TENANTS_LIMIT)?;
    let after = cursor
        .map(|c| {
            TenantId::parse(c)
                .map_err(|_| ValidationError::new("cursor", "is not a cursor this API returned"))
        })
        .transpose()?;
    let mut active = roster.active().await?;
    active.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
    let mut page: Vec<TenantSettings> = active
        .into_iter()
        .filter(|s| {
            after
                .as_ref()
                .is_none_or(|a| s.tenant_id.as_str() > a.as_str())
        })
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next_cursor = more
        .then(|| page.last().map(|s| s.tenant_id.clone()))
        .flatten();
    let tenants = stream::iter(page)
        .map(|settings| overview(runs, policy, settings))
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(TenantsPage {
        tenants,
        next_cursor,
    })
}

async fn overview<R: RunLog>(
    runs: &R,
    policy: &FlagPolicy,
    settings: TenantSettings,
) -> Result<TenantOverview, PortError> {
    let mut last_runs = Vec::new();
    for data_type in DataType::ALL {
        if let Some(run) = runs.latest(&settings.tenant_id, data_type).await? {
            last_runs.push(RunLine::from(&run));
        }
    }
    let failed_collections = last_runs
        .iter()
        .filter(|r| r.status == RunStatus::Failed)
        .map(|r| r.data_type)
        .collect();
    Ok(TenantOverview {
        name: settings.name.clone(),
        status: TenantStatus {
            tenant_id: settings.tenant_id.clone(),
            active: settings.active,
            last_runs,
            failed_collections,
            flags: effective_flags(policy, &settings),
            targets_disabled: settings.targets_disabled.clone(),
            sync_method: settings.sync_method.unwrap_or_else(|| "queued".into()),
        },
    })
}

/// The failures of the active tenants over a window, by tenant and class.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentFailures {
    pub since: String,
    pub until: String,
    /// Newest first; only (tenant, class) pairs with a failure in the window.
    pub groups: Vec<FailureGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureGroup {
    pub tenant_id: String,
    pub error_class: ErrorClass,
    pub retryable: bool,
    /// Failures in the window, counted up to the limit (see `more`).
    pub count: usize,
    /// There are more than `count` in the window.
    pub more: bool,
    pub last_at: String,
    /// The newest ones, newest first.
    pub failures: Vec<FailureLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureLine {
    pub at: String,
    /// `webhook:supplier`, `sync:orders`, ...
    pub source: String,
    pub reason: String,
    /// The event id (a dead letter) or run id (a failed run).
    pub subject_id: String,
    pub correlation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
}

impl FailureLine {
    fn new(f: Failure) -> Self {
        Self {
            at: at(f.at_millis),
            source: f.source,
            reason: f.reason,
            subject_id: f.subject_id,
            correlation_id: f.correlation_id,
            entity: f.entity,
        }
    }
}

fn at(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map(canonical_time)
        .unwrap_or_default()
}

/// The newest failures (at most `limit` per tenant and class) recorded in
/// `since`..`until` (RFC 3339; the last 24 hours up to `now` by default).
pub async fn failures<F: FailureLog, T: TenantRoster>(
    log: &F,
    roster: &T,
    since: Option<&str>,
    until: Option<&str>,
    limit: Option<&str>,
    now: i64,
) -> Result<RecentFailures, OpsError> {
    let limit = bounded("limit", limit, DEFAULT_FAILURES_LIMIT, MAX_FAILURES_LIMIT)?;
    let since = since.map_or_else(|| at(now - 86_400_000), str::to_owned);
    let until = until.map_or_else(|| at(now), str::to_owned);
    let (since, until) = window(&since, &until)?;
    let millis = |t: &str| parse_rfc3339_millis(t).map(|(_, m)| m).unwrap_or_default();
    let (from, to) = (millis(&since), millis(&until));
    let pairs: Vec<(String, ErrorClass)> = roster
        .active()
        .await?
        .into_iter()
        .flat_map(|s| ErrorClass::ALL.map(|c| (s.tenant_id.clone(), c)))
        .collect();
    let found: Vec<Option<FailureGroup>> = stream::iter(pairs)
        .map(|(tenant, class)| async move {
            // One more than asked, to tell whether there are more.
            let newest = log.recent(&tenant, class, from, limit as i32 + 1).await?;
            let mut in_window: Vec<Failure> =
                newest.into_iter().filter(|f| f.at_millis <= to).collect();
            let more = in_window.len() > limit;
            in_window.truncate(limit);
            let Some(newest) = in_window.first().map(|f| f.at_millis) else {
                return Ok(None);
            };
            Ok::<_, PortError>(Some(FailureGroup {
                tenant_id: tenant.clone(),
                error_class: class,
                retryable: class.is_retryable(),
                count: in_window.len(),
                more,
                last_at: at(newest),
                failures: in_window.into_iter().map(FailureLine::new).collect(),
            }))
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    let mut groups: Vec<FailureGroup> = found.into_iter().flatten().collect();
    groups.sort_by(|a, b| b.last_at.cmp(&a.last_at));
    Ok(RecentFailures {
        since,
        until,
        groups,
    })
}

/// A whole number from 1 to `max` named `field`; `default` when absent.
fn bounded(
    field: &str,
    text: Option<&str>,
    default: usize,
    max: usize,
) -> Result<usize, ValidationError> {
    let Some(text) = text else {
        return Ok(default);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ValidationError::new(
            field,
            format!("must be a whole number from 1 to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_core::app::daily_sync::new_run;
    use synchub_core::domain::sync_run::Trigger;
    use synchub_core::ports::fakes::{FakeAlertStore, FakeRunStore, FakeTenants};

    /// As stored: every other setting at its default.
    fn tenant(id: &str) -> TenantSettings {
        serde_json::from_value(serde_json::json!({
            "tenantId": id, "name": format!("{id} shop"), "targetsDisabled": ["pos"]
        }))
        .expect("tenant settings")
    }

    async fn run(
        runs: &FakeRunStore,
        tenant: &str,
        data_type: DataType,
        at: i64,
        status: RunStatus,
    ) {
        let mut r = new_run(
            tenant,
            data_type,
            Trigger::Schedule,
            at,
            &Default::default(),
        );
        r.status = status;
        runs.save(&r).await.unwrap();
    }

    #[tokio::test]
    async fn every_active_tenant_appears_once_with_its_newest_run_per_data_type() {
        let ids = ["a", "b", "c", "d", "e"];
        let roster = FakeTenants::new(ids.map(tenant));
        let mut asleep = tenant("z");
        asleep.active = false;
        roster.put(asleep);
        let runs = FakeRunStore::new();
        for (i, id) in ids.iter().enumerate() {
            run(&runs, id, DataType::Catalog, 1_000, RunStatus::Succeeded).await;
            let newest = if i % 2 == 0 {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            };
            run(&runs, id, DataType::Catalog, 2_000, newest).await;
        }
        let policy = FlagPolicy::default();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = tenants(&runs, &roster, &policy, Some("2"), cursor.as_deref())
                .await
                .unwrap();
            assert!(page.tenants.len() <= 2);
            for t in &page.tenants {
                assert_eq!(t.status.last_runs.len(), 1, "one line per data type run");
                assert_eq!(
                    t.status.last_runs[0].started_at,
                    runs.all_runs()
                        .iter()
                        .filter(|r| r.tenant_id == t.status.tenant_id)
                        .map(|r| r.started_at.clone())
                        .max()
                        .unwrap()
                );
                assert_eq!(
                    t.status.failed_collections.is_empty(),
                    t.status.last_runs[0].status != RunStatus::Failed
                );
                assert_eq!(t.status.targets_disabled, vec!["pos".to_owned()]);
                seen.push(t.status.tenant_id.clone());
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, ids.map(String::from).to_vec(), "inactive z left out");
        let err = tenants(&runs, &roster, &policy, Some("0"), None)
            .await
            .unwrap_err();
        assert!(matches!(err, OpsError::Invalid(e) if e.field == "limit"));
        let err = tenants(&runs, &roster, &policy, None, Some("no good"))
            .await
            .unwrap_err();
        assert!(matches!(err, OpsError::Invalid(e) if e.field == "cursor"));
    }

    fn failure(tenant: &str, class: ErrorClass, at_millis: i64, key: &str) -> Failure {
        Failure {
            tenant_id: tenant.into(),
            source: "webhook:supplier".into(),
            error_class: class,
            reason: "bad sku".into(),
            subject_id: format!("evt-{key}"),
            correlation_id: format!("sync-{tenant}-{at_millis}-00000000"),
            entity: None,
            at_millis,
            key: key.into(),
            dead_letter_body: None,
        }
    }

    #[tokio::test]
    async fn failures_are_grouped_by_tenant_and_class_within_the_window_newest_first() {
        let roster = FakeTenants::new(["a", "b"].map(tenant));
        let log = FakeAlertStore::new();
        let now = 10 * 86_400_000;
        let hour = 3_600_000;
        for i in 0..4 {
            log.record(&failure(
                "a",
                ErrorClass::ValidationError,
                now - hour * (i + 1),
                &format!("v{i}"),
            ))
            .await
            .unwrap();
        }
        log.record(&failure(
            "b",
            ErrorClass::NetworkError,
            now - 30 * 60_000,
            "n1",
        ))
        .await
        .unwrap();
        // Out of the default window (older than a day).
        log.record(&failure(
            "b",
            ErrorClass::AuthError,
            now - 2 * 86_400_000,
            "old",
        ))
        .await
        .unwrap();
        let found = failures(&log, &roster, None, None, Some("3"), now)
            .await
            .unwrap();
        let groups: Vec<_> = found
            .groups
            .iter()
            .map(|g| (g.tenant_id.as_str(), g.error_class, g.count, g.more))
            .collect();
        assert_eq!(
            groups,
            vec![
                ("b", ErrorClass::NetworkError, 1, false),
                ("a", ErrorClass::ValidationError, 3, true),
            ]
        );
        assert!(!found.groups[1].retryable);
        let err = failures(&log, &roster, Some("yesterday"), None, None, now)
            .await
            .unwrap_err();
        assert!(matches!(err, OpsError::Invalid(e) if e.field == "since"));
        let err = failures(&log, &roster, None, None, Some("51"), now)
            .await
            .unwrap_err();
        assert!(matches!(err, OpsError::Invalid(e) if e.field == "limit"));
    }
}
