//! Where `ensure` counts its calls per (method, hour), so `method-stats`
//! answers from a few counters whatever the number of calls.

use super::PortError;
use crate::domain::ensure::{EnsureSample, MethodTally, SyncMethod};
use std::future::Future;

pub trait MethodStats: Send + Sync {
    /// Adds one call to its method's hour (`2026-12-02T07`).
    fn record(
        &self,
        method: SyncMethod,
        hour: &str,
        sample: &EnsureSample,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The method's hours from `first` to `last` (inclusive), in order.
    fn hours(
        &self,
        method: SyncMethod,
        first: &str,
        last: &str,
    ) -> impl Future<Output = Result<Vec<(String, MethodTally)>, PortError>> + Send;
}
