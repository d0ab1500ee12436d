//! What a replay by window reads and marks: the deliveries a tenant's audit
//! recorded in a window, the versions the store holds now, and the window's
//! dead letters.

use super::PortError;
use crate::domain::alert::Failure;
use crate::domain::audit::AuditRow;
use crate::domain::ordering::StoredVersion;
use crate::domain::EntityKey;
use std::collections::HashMap;
use std::future::Future;

/// The audit rows of accepted deliveries, found by the hour they were recorded in.
pub trait DeliveryJournal: Send + Sync {
    /// The rows keyed `tenant_hour` (`{tenant}#{hour}`) recorded between
    /// `since` and `until` (RFC 3339, inclusive), oldest first.
    fn recorded(
        &self,
        tenant_hour: &str,
        since: &str,
        until: &str,
    ) -> impl Future<Output = Result<Vec<AuditRow>, PortError>> + Send;
}

/// The version each entity's store holds now (absent: nothing stored).
pub trait StoredVersions: Send + Sync {
    fn stored(
        &self,
        keys: &[EntityKey],
    ) -> impl Future<Output = Result<HashMap<EntityKey, StoredVersion>, PortError>> + Send;
}

/// The dead letters kept by the failure notifier, and which were replayed.
pub trait DeadLetters: Send + Sync {
    /// The tenant's failures with a kept dead letter, failed between
    /// `since` and `until` (Unix millis, inclusive), every error class.
    fn dead_letters(
        &self,
        tenant: &str,
        since: i64,
        until: i64,
    ) -> impl Future<Output = Result<Vec<Failure>, PortError>> + Send;
    fn is_replayed(
        &self,
        failure: &Failure,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    fn mark_replayed(
        &self,
        failure: &Failure,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
