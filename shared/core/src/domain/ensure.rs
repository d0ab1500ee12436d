//! Sync on demand (`ensure`), the pure part: the two methods, the bounds of
//! a caller's timeout and how it is shared between the chosen method and its
//! fallback, and the per-(method, hour) tally `method-stats` reads: counts
//! and a fixed histogram of durations, so p50/p95 come from a few counters
//! instead of a scan of every call.

use super::ValidationError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How an on-demand sync runs for a tenant (its `syncMethod` setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMethod {
    /// Through the runs queue (crash-safe, resumable); the caller waits.
    #[default]
    Queued,
    /// Inline in the caller's invocation, bounded by the time left.
    Direct,
}

impl SyncMethod {
    pub const ALL: [SyncMethod; 2] = [SyncMethod::Queued, SyncMethod::Direct];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncMethod::Queued => "queued",
            SyncMethod::Direct => "direct",
        }
    }

    /// The method a fallback uses.
    pub fn other(self) -> Self {
        match self {
            SyncMethod::Queued => SyncMethod::Direct,
            SyncMethod::Direct => SyncMethod::Queued,
        }
    }

    /// Reads a stored or requested name; `field` names where it came from.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or_else(|| ValidationError::new(field, "must be one of queued, direct"))
    }

    /// A tenant's method: its setting, `queued` when unset.
    pub fn of_setting(setting: Option<&str>) -> Result<Self, ValidationError> {
        setting.map_or(Ok(SyncMethod::Queued), |s| Self::parse("syncMethod", s))
    }
}

impl std::fmt::Display for SyncMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shortest wait a caller may ask for.
pub const MIN_TIMEOUT_MS: u64 = 500;
/// The longest: the HTTP API gives an integration 30 s, and the sync-api
/// function's timeout (29 s) must cover the wait, a last page and the answer.
pub const MAX_TIMEOUT_MS: u64 = 25_000;
/// The wait when the caller names none.
pub const DEFAULT_TIMEOUT_MS: u64 = 20_000;

/// A caller's `timeoutMs`, checked against the bounds.
pub fn ensure_timeout(ms: u64) -> Result<Duration, ValidationError> {
    if (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&ms) {
        Ok(Duration::from_millis(ms))
    } else {
        Err(ValidationError::new(
            "timeoutMs",
            format!("must be from {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS} (milliseconds), not {ms}"),
        ))
    }
}

/// The part of the timeout the chosen method gets: two thirds, so a timed
/// out or failed method always leaves its fallback at least a third.
pub fn first_method_budget(timeout: Duration) -> Duration {
    timeout * 2 / 3
}

/// Upper bounds (inclusive, milliseconds) of the duration histogram's
/// buckets; one more bucket holds everything longer.
pub const DURATION_BUCKETS_MS: [u64; 17] = [
    100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 4_000, 5_000, 7_500, 10_000, 15_000,
    20_000, 25_000, 30_000,
];
/// Buckets, the overflow one included.
pub const BUCKETS: usize = DURATION_BUCKETS_MS.len() + 1;

/// The bucket a duration falls in.
pub fn bucket(ms: u64) -> usize {
    DURATION_BUCKETS_MS
        .iter()
        .position(|&upper| ms <= upper)
        .unwrap_or(DURATION_BUCKETS_MS.len())
}

/// The range of durations bucket `i` holds (the overflow bucket's upper
/// bound is its lower one: nothing is known past it).
pub fn bucket_range(i: usize) -> (u64, u64) {
    let lower = if i == 0 {
        0
    } else {
        DURATION_BUCKETS_MS[(i - 1).min(DURATION_BUCKETS_MS.len() - 1)]
    };
    let upper = DURATION_BUCKETS_MS.get(i).copied().unwrap_or(lower);
    (lower, upper)
}

/// One `ensure` call, as the stats count it (under the tenant's method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnsureSample {
    pub succeeded: bool,
    pub fallback_used: bool,
    pub duration_ms: u64,
}

/// The calls of one method over some hours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodTally {
    pub calls: u64,
    pub succeeded: u64,
    pub fallbacks: u64,
    pub duration_ms_total: u64,
    /// Calls per duration bucket ([`DURATION_BUCKETS_MS`], then overflow).
    pub buckets: [u64; BUCKETS],
}

impl MethodTally {
    /// The tally of one call.
    pub fn of(sample: &EnsureSample) -> Self {
        let mut t = Self {
            calls: 1,
            succeeded: u64::from(sample.succeeded),
            fallbacks: u64::from(sample.fallback_used),
            duration_ms_total: sample.duration_ms,
            ..Self::default()
        };
        t.buckets[bucket(sample.duration_ms)] = 1;
        t
    }

    pub fn add(&mut self, other: &MethodTally) {
        self.calls += other.calls;
        self.succeeded += other.succeeded;
        self.fallbacks += other.fallbacks;
        self.duration_ms_total += other.duration_ms_total;
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
    }

    /// Percent of calls that ended with every data type fresh.
    pub fn success_rate_percent(&self) -> Option<f64> {
        (self.calls > 0).then(|| 100.0 * self.succeeded as f64 / self.calls as f64)
    }

    /// The `q` quantile (0 < q ≤ 1) of the durations, by nearest rank,
    /// interpolated inside the bucket that holds that rank; `None` without
    /// calls. The true value lies in the same bucket.
    pub fn percentile_ms(&self, q: f64) -> Option<u64> {
        let n: u64 = self.buckets.iter().sum();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).clamp(1, n);
        let mut before = 0;
        for (i, &count) in self.buckets.iter().enumerate() {
            if count > 0 && before + count >= rank {
                let (lower, upper) = bucket_range(i);
                let within = (rank - before) as f64 / count as f64;
                return Some(lower + ((upper - lower) as f64 * within).round() as u64);
            }
            before += count;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_method_is_read_by_name_and_unset_is_queued() {
        assert_eq!(SyncMethod::of_setting(None), Ok(SyncMethod::Queued));
        assert_eq!(
            SyncMethod::of_setting(Some("direct")),
            Ok(SyncMethod::Direct)
        );
        let e = SyncMethod::parse("method", "pigeon").unwrap_err();
        assert_eq!(e.field, "method");
        assert!(e.rule.contains("queued, direct"), "{e}");
        for m in SyncMethod::ALL {
            assert_eq!(SyncMethod::parse("m", m.as_str()), Ok(m));
            assert_eq!(m.other().other(), m);
            assert_ne!(m.other(), m);
        }
    }

    #[test]
    fn a_timeout_outside_the_bounds_names_timeout_ms() {
        assert_eq!(ensure_timeout(20_000), Ok(Duration::from_secs(20)));
        for bad in [0, MIN_TIMEOUT_MS - 1, MAX_TIMEOUT_MS + 1, u64::MAX] {
            let e = ensure_timeout(bad).unwrap_err();
            assert_eq!(e.field, "timeoutMs");
            assert!(e.rule.contains("25000"), "{e}");
        }
    }

    #[test]
    fn the_first_method_leaves_a_third_to_the_fallback() {
        let t = Duration::from_millis(MAX_TIMEOUT_MS);
        assert!(t - first_method_budget(t) >= t / 3 - Duration::from_millis(1));
    }

    #[test]
    fn no_calls_have_no_percentile_or_rate() {
        let t = MethodTally::default();
        assert_eq!(t.percentile_ms(0.5), None);
        assert_eq!(t.success_rate_percent(), None);
    }

    proptest! {
        /// The estimate of a quantile lies in the bucket of the true value
        /// (nearest rank), and p50 never exceeds p95.
        #[test]
        fn a_percentile_lies_in_the_true_values_bucket(
            durations in proptest::collection::vec(0u64..40_000, 1..200),
            q in 0.01f64..=1.0,
        ) {
            let mut tally = MethodTally::default();
            for &d in &durations {
                tally.add(&MethodTally::of(&EnsureSample { succeeded: true, fallback_used: false, duration_ms: d }));
            }
            let mut sorted = durations.clone();
            sorted.sort_unstable();
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let truth = sorted[rank - 1];
            let estimate = tally.percentile_ms(q).unwrap();
            let (lower, upper) = bucket_range(bucket(truth));
            prop_assert!(lower <= estimate && estimate <= upper.max(lower),
                "q {q}: estimate {estimate} outside [{lower}, {upper}] of the true {truth}");
            prop_assert!(tally.percentile_ms(0.5) <= tally.percentile_ms(0.95));
            prop_assert_eq!(tally.calls, durations.len() as u64);
            prop_assert_eq!(tally.duration_ms_total, durations.iter().sum::<u64>());
        }

        #[test]
        fn every_duration_falls_in_the_bucket_whose_range_holds_it(ms in 0u64..100_000) {
            let (lower, upper) = bucket_range(bucket(ms));
            prop_assert!(ms <= upper || bucket(ms) == BUCKETS - 1);
            prop_assert!(ms > lower || ms == 0 || (bucket(ms) == 0));
        }
    }
}
