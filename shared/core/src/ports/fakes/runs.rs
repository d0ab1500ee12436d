//! Sync runs.

use super::{condition_failed, lock, Faults};
use crate::domain::sync_run::{RunStatus, SeenIds, SyncRun};
use crate::domain::DataType;
use crate::ports::{LockResult, PortError, RunLock, RunLog, SeenLog};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The lock item of one (tenant, data type).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockItem {
    pub run_id: Option<String>,
    pub lock_until: Option<i64>,
    pub done_day: Option<String>,
    pub done_run_id: Option<String>,
}

/// The sync-runs table: [`RunLock`], [`RunLog`], [`SeenLog`], with the
/// lock's conditions as the adapter writes them.
#[derive(Debug, Default)]
pub struct FakeRunStore {
    locks: Mutex<BTreeMap<(String, DataType), LockItem>>,
    runs: Mutex<BTreeMap<(String, DataType, String), SyncRun>>,
    seen: Mutex<BTreeMap<String, BTreeMap<u64, Vec<String>>>>,
    drift: Mutex<BTreeMap<String, BTreeMap<u64, Vec<crate::domain::drift::DriftEntry>>>>,
    /// Fails every call.
    pub faults: Faults,
}

/// The UTC day of an RFC 3339 time.
fn day(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

impl FakeRunStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn lock_item(&self, tenant: &str, data_type: DataType) -> Option<LockItem> {
        lock(&self.locks)
            .get(&(tenant.to_owned(), data_type))
            .cloned()
    }

    pub fn all_runs(&self) -> Vec<SyncRun> {
        lock(&self.runs).values().cloned().collect()
    }

    fn check(&self, operation: &'static str) -> Result<(), PortError> {
        self.faults.check("DynamoDB", operation)
    }
}

impl RunLock for FakeRunStore {
    async fn lock(
        &self,
        run: &SyncRun,
        now: i64,
        ttl_millis: i64,
        force: bool,
    ) -> Result<LockResult, PortError> {
        self.check("UpdateItem")?;
        let mut locks = lock(&self.locks);
        let item = locks
            .entry((run.tenant_id.clone(), run.data_type))
            .or_default();
        let free = item.lock_until.is_none_or(|until| until < now)
            || item.run_id.as_deref() == Some(run.run_id.as_str());
        let not_done = force || item.done_day.as_deref() != Some(day(&run.started_at));
        if free && not_done {
            item.run_id = Some(run.run_id.clone());
            item.lock_until = Some(now + ttl_millis);
            return Ok(LockResult::Acquired);
        }
        let until = item.lock_until.unwrap_or(0);
        Ok(if until >= now {
            LockResult::Held {
                run_id: item.run_id.clone().unwrap_or_default(),
                until_millis: until,
            }
        } else {
            LockResult::DoneToday {
                run_id: item.done_run_id.clone().unwrap_or_default(),
            }
        })
    }

    async fn renew(&self, run: &SyncRun, now: i64, ttl_millis: i64) -> Result<(), PortError> {
        self.check("UpdateItem")?;
        let mut locks = lock(&self.locks);
        match locks.get_mut(&(run.tenant_id.clone(), run.data_type)) {
            Some(item) if item.run_id.as_deref() == Some(run.run_id.as_str()) => {
                item.lock_until = Some(now + ttl_millis);
                Ok(())
            }
            _ => Err(condition_failed("UpdateItem")),
        }
    }

    async fn unlock(&self, run: &SyncRun) -> Result<(), PortError> {
        self.check("UpdateItem")?;
        let mut locks = lock(&self.locks);
        // Someone else's lock (ours expired) is not ours to release.
        let Some(item) = locks
            .get_mut(&(run.tenant_id.clone(), run.data_type))
            .filter(|i| i.run_id.as_deref() == Some(run.run_id.as_str()))
        else {
            return Ok(());
        };
        item.lock_until = None;
        if matches!(run.status, RunStatus::Succeeded | RunStatus::Partial) {
            item.done_day = Some(day(&run.started_at).to_owned());
            item.done_run_id = Some(run.run_id.clone());
        }
        Ok(())
    }
}

impl RunLog for FakeRunStore {
    async fn save(&self, run: &SyncRun) -> Result<(), PortError> {
        self.check("PutItem")?;
        lock(&self.runs).insert(
            (run.tenant_id.clone(), run.data_type, run.run_id.clone()),
            run.clone(),
        );
        Ok(())
    }

    async fn load(
        &self,
        tenant: &str,
        data_type: DataType,
        run_id: &str,
    ) -> Result<Option<SyncRun>, PortError> {
        self.check("GetItem")?;
        Ok(lock(&self.runs)
            .get(&(tenant.to_owned(), data_type, run_id.to_owned()))
            .cloned())
    }

    async fn runs(&self, tenant: &str) -> Result<Vec<SyncRun>, PortError> {
        self.check("Query")?;
        let mut runs: Vec<SyncRun> = lock(&self.runs)
            .values()
            .filter(|r| r.tenant_id == tenant)
            .cloned()
            .collect();
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_millis));
        Ok(runs)
    }
}

impl SeenLog for FakeRunStore {
    /// The checkpoint and the page's ids together, as the adapter writes them.
    async fn save_seen(
        &self,
        run: &SyncRun,
        page: u64,
        ids: &[String],
        drift: &[crate::domain::drift::DriftEntry],
    ) -> Result<(), PortError> {
        self.check("BatchWriteItem")?;
        lock(&self.runs).insert(
            (run.tenant_id.clone(), run.data_type, run.run_id.clone()),
            run.clone(),
        );
        lock(&self.seen)
            .entry(run.run_id.clone())
            .or_default()
            .insert(page, ids.to_vec());
        if !drift.is_empty() {
            lock(&self.drift)
                .entry(run.run_id.clone())
                .or_default()
                .insert(page, drift.to_vec());
        }
        Ok(())
    }

    async fn save_drift(
        &self,
        run: &SyncRun,
        part: u64,
        drift: &[crate::domain::drift::DriftEntry],
    ) -> Result<(), PortError> {
        self.check("PutItem")?;
        lock(&self.drift)
            .entry(run.run_id.clone())
            .or_default()
            .insert(part, drift.to_vec());
        Ok(())
    }

    async fn drift(
        &self,
        run: &SyncRun,
    ) -> Result<Vec<crate::domain::drift::DriftEntry>, PortError> {
        self.check("Query")?;
        Ok(lock(&self.drift)
            .get(&run.run_id)
            .map(|parts| parts.values().flatten().cloned().collect())
            .unwrap_or_default())
    }

    async fn seen(&self, run: &SyncRun) -> Result<SeenIds, PortError> {
        self.check("Query")?;
        let mut ids = SeenIds::default();
        if let Some(pages) = lock(&self.seen).get(&run.run_id) {
            for id in pages.values().flatten() {
                ids.insert(id);
            }
        }
        ids.seal();
        Ok(ids)
    }
}
