//! A tenant's run history, newest first, a page at a time: the same pages
//! for the API and the CLI.

use super::status::RunLine;
use super::OpsError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use std::cmp::Reverse;
use synchub_core::domain::sync_run::SyncRun;
use synchub_core::domain::{TenantId, ValidationError};
use synchub_core::ports::{RunLog, TenantDirectory};

pub const DEFAULT_RUNS_LIMIT: usize = 20;
pub const MAX_RUNS_LIMIT: usize = 100;

/// The page of the tenant's runs after `cursor` (text as the caller gave
/// it), at most `limit` long (default 20, at most 100).
pub async fn runs<R: RunLog, T: TenantDirectory>(
    runs: &R,
    tenants: &T,
    tenant: &TenantId,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<RunsPage, OpsError> {
    let limit = runs_limit(limit)?;
    let cursor = cursor.map(RunsCursor::decode).transpose()?;
    if tenants.settings(tenant).await?.is_none() {
        return Err(OpsError::UnknownTenant(tenant.to_string()));
    }
    let all = runs.runs(tenant.as_str()).await?;
    Ok(runs_page(tenant, all, cursor.as_ref(), limit))
}

/// One page of a tenant's runs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunsPage {
    pub tenant_id: String,
    pub runs: Vec<RunLine>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Where a page starts: after the run with this (start, id) in newest-first
/// order. Opaque to callers (base64url), and valid even if that run expired.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunsCursor {
    started_millis: i64,
    run_id: String,
}

impl RunsCursor {
    fn of(run: &SyncRun) -> Self {
        Self {
            started_millis: run.started_millis,
            run_id: run.run_id.clone(),
        }
    }

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.started_millis, self.run_id))
    }

    fn decode(token: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("cursor", "is not a cursor this API returned");
        let text = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        let (millis, run_id) = text.split_once('.').ok_or_else(bad)?;
        Ok(Self {
            started_millis: millis.parse().map_err(|_| bad())?,
            run_id: (!run_id.is_empty())
                .then(|| run_id.to_owned())
                .ok_or_else(bad)?,
        })
    }

    /// Newest first: a greater start, then a greater id, comes first.
    fn order(run: &SyncRun) -> (Reverse<i64>, Reverse<String>) {
        (Reverse(run.started_millis), Reverse(run.run_id.clone()))
    }

    fn is_before(&self, run: &SyncRun) -> bool {
        Self::order(run) > (Reverse(self.started_millis), Reverse(self.run_id.clone()))
    }
}

pub fn runs_limit(text: Option<&str>) -> Result<usize, ValidationError> {
    let Some(text) = text else {
        return Ok(DEFAULT_RUNS_LIMIT);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_RUNS_LIMIT).contains(&n) => Ok(n),
        _ => Err(ValidationError::new(
            "limit",
            format!("must be a whole number from 1 to {MAX_RUNS_LIMIT}"),
        )),
    }
}

/// The page of `runs` (any order) after `cursor`, at most `limit` long.
fn runs_page(
    tenant: &TenantId,
    mut runs: Vec<SyncRun>,
    cursor: Option<&RunsCursor>,
    limit: usize,
) -> RunsPage {
    runs.sort_by_key(RunsCursor::order);
    let mut after: Vec<SyncRun> = runs
        .into_iter()
        .filter(|r| cursor.is_none_or(|c| c.is_before(r)))
        .collect();
    let more = after.len() > limit;
    after.truncate(limit);
    RunsPage {
        tenant_id: tenant.to_string(),
        next_cursor: more
            .then(|| after.last().map(|r| RunsCursor::of(r).encode()))
            .flatten(),
        runs: after.iter().map(RunLine::from).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_core::domain::sync_run::{RunStatus, Trigger};
    use synchub_core::domain::DataType;

    fn run(id: &str, started: i64) -> SyncRun {
        let mut r = synchub_core::app::daily_sync::new_run(
            "acme",
            DataType::Catalog,
            Trigger::Manual,
            started,
            &Default::default(),
        );
        r.run_id = id.into();
        r.status = RunStatus::Succeeded;
        r
    }

    #[test]
    fn runs_page_newest_first_and_every_run_appears_once() {
        let tenant = TenantId::parse("acme").unwrap();
        let runs: Vec<SyncRun> = (0..7)
            .map(|i| run(&format!("sync-acme-{}-{i}", i / 2), i / 2))
            .collect();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = runs_page(&tenant, runs.clone(), cursor.as_ref(), 3);
            assert!(page.runs.len() <= 3);
            seen.extend(page.runs.iter().map(|r| r.run_id.clone()));
            match page.next_cursor {
                Some(c) => cursor = Some(RunsCursor::decode(&c).unwrap()),
                None => break,
            }
        }
        let mut expected: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
        expected.sort_by_key(|id| Reverse(id.clone()));
        assert_eq!(seen, expected);
        assert_eq!(runs_limit(Some("0")).unwrap_err().field, "limit");
        assert_eq!(runs_limit(Some("101")).unwrap_err().field, "limit");
        assert_eq!(runs_limit(None), Ok(DEFAULT_RUNS_LIMIT));
        assert_eq!(RunsCursor::decode("%%%").unwrap_err().field, "cursor");
    }
}
