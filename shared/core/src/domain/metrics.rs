//! Counters per (tenant, hour), kept by the worker once per batch, from which
//! the launch gate and the metrics answer "how many over a window" without
//! scanning the audit table: the cost of a question grows with its window,
//! not with the table.

use serde::{Deserialize, Serialize};

/// What one tenant's deliveries did in one hour (or, summed, a window).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// Deliveries the worker received for the first time.
    pub received: u64,
    /// Deliveries that got their audit row (the ones `trace` explains).
    pub audited: u64,
    pub applied: u64,
    pub stale: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// Storefront cache-busts that went through, failed, and that went
    /// through on a retry after failing.
    pub publish_ok: u64,
    pub publish_failed: u64,
    pub publish_recovered: u64,
    /// Applied changes the storefront was not sent (switched off or not configured).
    #[serde(default)]
    pub publish_skipped: u64,
    /// What the customer targets did with the tenant's applied changes.
    #[serde(default)]
    pub pos: TargetTally,
    #[serde(default)]
    pub crm: TargetTally,
    /// The longest a delivery of the hour waited on the sync queue.
    pub lag_max_ms: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.received += other.received;
        self.audited += other.audited;
        self.applied += other.applied;
        self.stale += other.stale;
        self.duplicate += other.duplicate;
        self.rejected += other.rejected;
        self.publish_ok += other.publish_ok;
        self.publish_failed += other.publish_failed;
        self.publish_recovered += other.publish_recovered;
        self.publish_skipped += other.publish_skipped;
        self.pos.add(&other.pos);
        self.crm.add(&other.crm);
        self.lag_max_ms = self.lag_max_ms.max(other.lag_max_ms);
    }

    /// Applied changes whose storefront does not show them yet: publishes
    /// that failed and have not gone through since.
    pub fn stale_items(&self) -> u64 {
        self.publish_failed.saturating_sub(self.publish_recovered)
    }

    /// Stale items per applied change, in percent.
    pub fn stale_items_percent(&self) -> f64 {
        100.0 * ratio(self.stale_items(), self.applied)
    }

    /// Failed storefront publishes per publish attempted, in percent.
    pub fn publish_error_rate_percent(&self) -> f64 {
        100.0 * ratio(self.publish_failed, self.publish_ok + self.publish_failed)
    }

    /// Deliveries with an audit row per delivery received, in percent (100
    /// when nothing was received: nothing is unexplained).
    pub fn trace_coverage_percent(&self) -> f64 {
        if self.received == 0 {
            100.0
        } else {
            (100.0 * ratio(self.audited, self.received)).min(100.0)
        }
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// What a target did with applied changes, one count per (change, target):
/// the batch's customer targets together for CloudWatch, and each target
/// per tenant in the [`Tally`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetTally {
    /// Calls that went through, erasures included.
    pub succeeded: u64,
    pub skipped: u64,
    pub failed: u64,
}

impl TargetTally {
    pub fn add(&mut self, other: &TargetTally) {
        self.succeeded += other.succeeded;
        self.skipped += other.skipped;
        self.failed += other.failed;
    }
}

/// The hour a moment falls in, as the counters' sort key (`2026-12-02T07`).
pub fn hour_of(rfc3339: &str) -> String {
    rfc3339.chars().take(13).collect()
}

/// One launch signal: its value, its threshold and whether it passes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Signal {
    pub name: &'static str,
    pub value: f64,
    pub threshold: f64,
    /// How `value` must compare with `threshold`: `<` or `>=`.
    pub rule: &'static str,
    pub pass: bool,
}

/// The signals the catalog sync is judged by before a rollout widens.
pub fn launch_signals(t: &Tally) -> Vec<Signal> {
    let below = |name, value: f64, threshold| Signal {
        name,
        value,
        threshold,
        rule: "<",
        pass: value < threshold,
    };
    let coverage = t.trace_coverage_percent();
    vec![
        below("staleItemsPercent", t.stale_items_percent(), 1.0),
        below("queueLagSeconds", t.lag_max_ms as f64 / 1000.0, 90.0),
        below(
            "publishErrorRatePercent",
            t.publish_error_rate_percent(),
            0.5,
        ),
        Signal {
            name: "traceCoveragePercent",
            value: coverage,
            threshold: 100.0,
            rule: ">=",
            pass: coverage >= 100.0,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_clean_window_passes_and_each_signal_fails_on_its_own() {
        let clean = Tally {
            received: 1000,
            audited: 1000,
            applied: 900,
            publish_ok: 900,
            lag_max_ms: 2_000,
            ..Tally::default()
        };
        assert!(launch_signals(&clean).iter().all(|s| s.pass));
        let fails = |t: Tally| -> Vec<&'static str> {
            launch_signals(&t)
                .into_iter()
                .filter(|s| !s.pass)
                .map(|s| s.name)
                .collect()
        };
        assert_eq!(
            fails(Tally {
                publish_failed: 10,
                ..clean
            }),
            vec!["staleItemsPercent", "publishErrorRatePercent"]
        );
        assert_eq!(
            fails(Tally {
                publish_failed: 10,
                publish_recovered: 10,
                ..clean
            }),
            vec!["publishErrorRatePercent"],
            "recovered publishes leave no stale item, but the errors happened"
        );
        assert_eq!(
            fails(Tally {
                lag_max_ms: 90_000,
                ..clean
            }),
            vec!["queueLagSeconds"]
        );
        assert_eq!(
            fails(Tally {
                audited: 999,
                ..clean
            }),
            vec!["traceCoveragePercent"]
        );
    }

    proptest! {
        #[test]
        fn adding_tallies_is_order_free(a in 0u64..1000, b in 0u64..1000, la in 0u64..10_000, lb in 0u64..10_000) {
            let pos = TargetTally { succeeded: a, skipped: b, failed: 1 };
            let x = Tally { applied: a, lag_max_ms: la, pos, ..Tally::default() };
            let y = Tally { applied: b, lag_max_ms: lb, crm: pos, publish_skipped: b, ..Tally::default() };
            let (mut xy, mut yx) = (x, y);
            xy.add(&y);
            yx.add(&x);
            prop_assert_eq!(xy, yx);
            prop_assert_eq!(xy.lag_max_ms, la.max(lb));
            prop_assert_eq!((xy.pos, xy.crm, xy.publish_skipped), (pos, pos, b));
        }
    }
}
