//! Replay by window: of the deliveries a tenant's audit recorded in a window,
//! which to send through the worker again, and why. The ordering rule makes
//! any replay safe (an older event can never roll an item back), so a replay
//! only has to find what it can still change:
//!
//! - an entity whose store holds an older version than the window's newest
//!   delivery (the store was restored, or the newest write was lost):
//!   `newerThanStored`, the newest delivery is applied again;
//! - an entity whose stored version was delivered in the window and whose
//!   storefront publish (`publishFailed`) or customer target call
//!   (`targetFailed`) failed and never went through since: sent to its
//!   targets again;
//! - with `republish`, every other entity whose stored version was
//!   delivered in the window: `republishRequested`.
//!
//! Dead letters of the window are replayed as they are (`deadLetter`).

use super::audit::{AuditOutcome, AuditRow, Target, TargetState};
use super::ids::EventId;
use super::ordering::Version;
use super::time::parse_rfc3339_millis;
use std::collections::BTreeMap;

pub const NEWER_THAN_STORED: &str = "newerThanStored";
pub const PUBLISH_FAILED: &str = "publishFailed";
pub const TARGET_FAILED: &str = "targetFailed";
pub const REPUBLISH_REQUESTED: &str = "republishRequested";
pub const DEAD_LETTER: &str = "deadLetter";

/// One recorded delivery about an entity, as the replay reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Journaled {
    /// The audit partition: `{tenant}#{kind}#{id}`.
    pub entity: String,
    pub version: Version,
    /// The audit sort key: `{eventId}#{messageId}`.
    pub sk: String,
    pub outcome: AuditOutcome,
    pub targets: BTreeMap<String, TargetState>,
}

impl Journaled {
    /// A recorded row that carries its entity and version; rows about no
    /// entity (rejections) are replayed from the dead letters instead.
    pub fn from_row(row: &AuditRow) -> Option<Self> {
        let event_id = EventId::parse(row.event_id.as_deref()?).ok()?;
        let (_, source_millis) = parse_rfc3339_millis(row.source_updated_at.as_deref()?).ok()?;
        Some(Self {
            entity: row.pk.clone(),
            version: Version {
                source_millis,
                event_id,
            },
            sk: row.sk.clone(),
            outcome: row.outcome,
            targets: row
                .targets
                .iter()
                .map(|(name, status)| (name.clone(), status.status.clone()))
                .collect(),
        })
    }
}

/// What to do about one entity: send `entry` again, for `reason`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<'a> {
    pub entry: &'a Journaled,
    pub reason: &'static str,
    /// Ask the worker to send the stored change to its targets again.
    pub republish: bool,
    /// The targets that failed, for `publishFailed` and `targetFailed`.
    pub failed_targets: Vec<String>,
}

/// Decides about one entity from its deliveries in the window and the
/// version its store holds (`None`: nothing stored). `None` when a replay
/// would change nothing.
pub fn decide<'a>(
    entries: &'a [Journaled],
    stored: Option<&Version>,
    republish: bool,
) -> Option<Decision<'a>> {
    let newest = entries.iter().max_by(|a, b| a.version.cmp(&b.version))?;
    if stored.is_none_or(|s| *s < newest.version) {
        return Some(Decision {
            entry: newest,
            reason: NEWER_THAN_STORED,
            republish: false,
            failed_targets: vec![],
        });
    }
    // Only the stored version's own deliveries say whether it reached its targets.
    let stored = stored?;
    let of_stored: Vec<&Journaled> = entries.iter().filter(|e| e.version == *stored).collect();
    let entry = *of_stored.first()?;
    let failed = failed_targets(&of_stored);
    if !failed.is_empty() {
        let storefront = failed.iter().any(|t| t == Target::Storefront.as_str());
        return Some(Decision {
            entry,
            reason: if storefront {
                PUBLISH_FAILED
            } else {
                TARGET_FAILED
            },
            republish: true,
            failed_targets: failed,
        });
    }
    republish.then(|| Decision {
        entry,
        reason: REPUBLISH_REQUESTED,
        republish: true,
        failed_targets: vec![],
    })
}

/// Targets some delivery of this version failed at and none reached since.
fn failed_targets(deliveries: &[&Journaled]) -> Vec<String> {
    let mut failed: Vec<String> = Vec::new();
    let reached = |target: &str| {
        deliveries.iter().any(|d| {
            matches!(
                d.targets.get(target),
                Some(TargetState::Success | TargetState::Erased)
            )
        })
    };
    for d in deliveries {
        for (target, state) in &d.targets {
            if matches!(state, TargetState::Failed(_))
                && !reached(target)
                && !failed.contains(target)
            {
                failed.push(target.clone());
            }
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorClass;
    use proptest::prelude::*;

    fn entry(millis: i64, event: &str, targets: &[(&str, TargetState)]) -> Journaled {
        Journaled {
            entity: "t1#catalog_item#SKU-1".into(),
            version: Version {
                source_millis: millis,
                event_id: EventId::parse(event).unwrap(),
            },
            sk: format!("{event}#msg-{millis}"),
            outcome: AuditOutcome::Applied,
            targets: targets
                .iter()
                .map(|(t, s)| ((*t).to_owned(), s.clone()))
                .collect(),
        }
    }

    fn failed() -> TargetState {
        TargetState::Failed(ErrorClass::NetworkError)
    }

    #[test]
    fn a_store_behind_the_window_gets_the_newest_delivery() {
        let entries = [
            entry(1, "e1", &[]),
            entry(3, "e3", &[]),
            entry(2, "e2", &[]),
        ];
        let d = decide(&entries, Some(&entries[0].version), false).unwrap();
        assert_eq!(
            (d.reason, d.entry.sk.as_str(), d.republish),
            (NEWER_THAN_STORED, "e3#msg-3", false)
        );
        assert_eq!(
            decide(&entries, None, false).unwrap().reason,
            NEWER_THAN_STORED
        );
    }

    #[test]
    fn a_failed_publish_is_sent_again_until_a_later_delivery_reached_it() {
        let entries = [entry(1, "e1", &[("storefront", failed())])];
        let d = decide(&entries, Some(&entries[0].version), false).unwrap();
        assert_eq!((d.reason, d.republish), (PUBLISH_FAILED, true));
        assert_eq!(d.failed_targets, vec!["storefront".to_owned()]);

        let mut again = entry(1, "e1", &[("storefront", TargetState::Success)]);
        again.sk = "e1#msg-replayed".into();
        let healed = [entries[0].clone(), again];
        assert_eq!(decide(&healed, Some(&healed[0].version), false), None);
    }

    #[test]
    fn a_failed_customer_target_is_a_target_failure() {
        let entries = [entry(
            1,
            "e1",
            &[("pos", failed()), ("crm", TargetState::Success)],
        )];
        let d = decide(&entries, Some(&entries[0].version), false).unwrap();
        assert_eq!(
            (d.reason, d.failed_targets.clone()),
            (TARGET_FAILED, vec!["pos".to_owned()])
        );
    }

    #[test]
    fn republish_touches_only_entities_whose_stored_version_is_in_the_window() {
        let entries = [entry(1, "e1", &[("storefront", TargetState::Success)])];
        let stored = entries[0].version.clone();
        assert_eq!(decide(&entries, Some(&stored), false), None);
        assert_eq!(
            decide(&entries, Some(&stored), true).unwrap().reason,
            REPUBLISH_REQUESTED
        );
        let newer = Version {
            source_millis: 9,
            event_id: EventId::parse("e9").unwrap(),
        };
        assert_eq!(decide(&entries, Some(&newer), true), None);
    }

    proptest! {
        /// Whatever the window and the store hold, a replay never re-drives
        /// an event older than what is stored (so it can never roll an item
        /// back), and re-drives exactly when the store is behind, a target
        /// failed, or a republish was asked for.
        #[test]
        fn a_replay_never_sends_an_event_older_than_the_stored_one(
            versions in proptest::collection::vec((0i64..6, 0u8..3, any::<bool>()), 1..8),
            stored in proptest::option::of((0i64..6, 0u8..3)),
            republish in any::<bool>(),
        ) {
            let entries: Vec<Journaled> = versions
                .iter()
                .map(|(m, e, ok)| {
                    let state = if *ok { TargetState::Success } else { failed() };
                    entry(*m, &format!("e{e}"), &[("storefront", state)])
                })
                .collect();
            let stored = stored.map(|(m, e)| Version {
                source_millis: m,
                event_id: EventId::parse(&format!("e{e}")).unwrap(),
            });
            let newest = entries.iter().map(|e| e.version.clone()).max().unwrap();
            match decide(&entries, stored.as_ref(), republish) {
                Some(d) => {
                    if let Some(s) = &stored {
                        prop_assert!(d.entry.version >= *s);
                    }
                    if d.reason == NEWER_THAN_STORED {
                        prop_assert_eq!(&d.entry.version, &newest);
                    } else {
                        prop_assert_eq!(Some(&d.entry.version), stored.as_ref());
                    }
                }
                None => {
                    let s = stored.clone().unwrap();
                    prop_assert!(s >= newest);
                    let of_stored: Vec<_> = entries.iter().filter(|e| e.version == s).collect();
                    let healed = of_stored.iter().any(|e| e.targets["storefront"] == TargetState::Success);
                    prop_assert!(of_stored.is_empty() || (healed && !republish));
                }
            }
        }
    }
}
