//! A sync run: one pull of one data type for one tenant, with its checkpoint.

use super::DataType;
use crate::ErrorClass;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Manual,
    Backfill,
    /// A source said it changed (Square's `catalog.version.updated`).
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    /// Every object enqueued.
    Succeeded,
    /// Finished, but some objects were rejected (their ids are on the run).
    Partial,
    Failed,
}

/// Rejections kept on the run record (the rest are counted).
pub const MAX_KEPT_REJECTIONS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    /// The correlation id: `sync-{tenantId}-{unix millis}-{random}`.
    pub run_id: String,
    pub tenant_id: String,
    pub data_type: DataType,
    pub trigger: Trigger,
    pub status: RunStatus,
    pub started_at: String,
    pub started_millis: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The pull's window for incremental data types (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_before: Option<String>,
    pub fetched: u64,
    pub enqueued: u64,
    pub rejected: u64,
    pub pages: u64,
    /// Where the next page starts; `None` before the first page and after the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Whether the last page was pulled.
    #[serde(default)]
    pub complete: bool,
    pub last_progress_millis: i64,
    /// Invocations the run took (continuations + 1).
    #[serde(default)]
    pub invocations: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// (object id, reason) of the first rejected objects.
    #[serde(default)]
    pub rejections: Vec<(String, String)>,
    /// The connector pulled, with the tenant's settings as the run started
    /// (its checkpoint counts through their lists); Square when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<synchub_connectors::PosConnection>,
    /// A full pull's drift, counted (the entries per id are stored beside
    /// the run: `RunStore::drift`).
    #[serde(
        default,
        skip_serializing_if = "crate::domain::drift::DriftCounts::is_empty"
    )]
    pub drift: crate::domain::drift::DriftCounts,
    /// Records whose id this pull had already returned (a POS answering one
    /// product per batch or per location). None is dropped: each goes on as
    /// a change and the ordering rule keeps the newest (`updatedAt`, then
    /// `eventId`), so the product ends as its newest row. Counted here, the
    /// first ids kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicates: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicate_ids: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl SyncRun {
    /// The source of the run's changes: `square` or the connector's name.
    pub fn source(&self) -> &str {
        self.pos
            .as_ref()
            .map_or(synchub_connectors::SQUARE_CONNECTOR, |p| {
                p.connector.as_str()
            })
    }

    pub fn reject(&mut self, id: String, reason: String) {
        self.rejected += 1;
        if self.rejections.len() < MAX_KEPT_REJECTIONS {
            self.rejections.push((id, reason));
        }
    }

    /// Notes a record of an id this pull had already returned.
    pub fn duplicate(&mut self, id: &str) {
        self.duplicates += 1;
        if self.duplicate_ids.len() < MAX_KEPT_REJECTIONS
            && !self.duplicate_ids.iter().any(|d| d == id)
        {
            self.duplicate_ids.push(id.to_owned());
        }
    }

    /// The status a run ends with once every page was pulled.
    pub fn finished_status(&self) -> RunStatus {
        if self.rejected > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Succeeded
        }
    }

    /// A running run with no progress for `threshold_millis` is stuck.
    pub fn is_stuck(&self, now_millis: i64, threshold_millis: i64) -> bool {
        self.status == RunStatus::Running
            && now_millis - self.last_progress_millis > threshold_millis
    }
}

/// A new correlation id for a run.
pub fn new_run_id(tenant: &str, now_millis: i64) -> String {
    format!("sync-{tenant}-{now_millis}-{:08x}", rand::random::<u32>())
}

/// The ids a full pull saw, as 64-bit hashes in a sorted list: 8 bytes per
/// object however long the ids, so reconciling a large catalog stays small.
/// A hash collision can only make an absent entity look seen (it is then
/// not tombstoned that day), never delete a present one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenIds {
    hashes: Vec<u64>,
    repeated: usize,
}

fn id_hash(id: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(id)
}

impl SeenIds {
    pub fn insert(&mut self, id: &str) {
        self.hashes.push(id_hash(id));
    }

    /// Sorts for lookups; call once after the inserts.
    pub fn seal(&mut self) {
        let inserted = self.hashes.len();
        self.hashes.sort_unstable();
        self.hashes.dedup();
        self.hashes.shrink_to_fit();
        self.repeated += inserted - self.hashes.len();
    }

    pub fn contains(&self, id: &str) -> bool {
        self.hashes.binary_search(&id_hash(id)).is_ok()
    }

    /// Distinct ids.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Inserts of an id already inserted (the pull's duplicates, across pages).
    pub fn repeated(&self) -> usize {
        self.repeated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seen_ids_count_the_repeats_of_a_pull_across_pages() {
        let mut seen = SeenIds::default();
        for id in ["var-1", "var-2", "var-1", "var-3", "var-1"] {
            seen.insert(id);
        }
        seen.seal();
        assert_eq!((seen.len(), seen.repeated()), (3, 2));
        assert!(seen.contains("var-1") && !seen.contains("var-4"));
    }

    proptest! {
        #[test]
        fn seen_ids_contain_exactly_what_was_inserted(ids in proptest::collection::hash_set("[A-Z0-9]{1,24}", 0..200), other in "[a-z]{1,24}") {
            let mut seen = SeenIds::default();
            for id in &ids {
                seen.insert(id);
            }
            seen.seal();
            for id in &ids {
                prop_assert!(seen.contains(id));
            }
            prop_assert!(!seen.contains(&other), "lower-case ids were never inserted");
            prop_assert_eq!(seen.len(), ids.len());
        }
    }
}
