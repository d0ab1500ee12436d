//! A sync run: one pull of one data type for one tenant, with its checkpoint.

use super::square::DataType;
use crate::ErrorClass;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Manual,
    Backfill,
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
}

impl SyncRun {
    pub fn reject(&mut self, id: String, reason: String) {
        self.rejected += 1;
        if self.rejections.len() < MAX_KEPT_REJECTIONS {
            self.rejections.push((id, reason));
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
        self.status == RunStatus::Running && now_millis - self.last_progress_millis > threshold_millis
    }
}

/// A new correlation id for a run.
pub fn new_run_id(tenant: &str, now_millis: i64) -> String {
    format!("sync-{tenant}-{now_millis}-{:08x}", rand::random::<u32>())
}
