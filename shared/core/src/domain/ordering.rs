//! The ordering rule: the stored state of an entity is the one from the event
//! with the greatest (source `updatedAt`, `eventId`), whatever the arrival order.
//!
//! The store enforces it with a conditional write; this module decides, as a
//! pure function, which delivery in a batch is written and what every other
//! delivery's outcome is once the store has answered.

use super::audit::Outcome;
use super::ids::{EntityKey, EventId};
use std::collections::BTreeMap;

/// An event's position in its entity's history. Ordered by source time first,
/// then by event id, so two events stamped with the same millisecond still
/// have one deterministic winner on every worker.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub source_millis: i64,
    pub event_id: EventId,
}

/// What the store holds for an entity when a write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub version: Version,
    /// The SQS message whose write produced the stored state.
    pub message_id: String,
    /// The writes the entity has had (0 when the store did not say).
    pub revision: i64,
    /// The messages whose writes came just before this one, newest first
    /// (the one at `i` made revision `revision - 1 - i`), as far as the
    /// store keeps them: a redelivery finds its own write there when newer
    /// ones followed it before its audit row was written (a crash).
    pub earlier_writers: Vec<String>,
}

impl StoredVersion {
    /// The revision `claim`'s own write made, if this state or one of the
    /// writes just before it is that write (0 when unknown).
    pub fn revision_of(&self, claim: &Claim) -> Option<i64> {
        if self.version == claim.version && self.message_id == claim.message_id {
            return Some(self.revision);
        }
        let back = self
            .earlier_writers
            .iter()
            .position(|m| *m == claim.message_id)?;
        Some((self.revision - 1 - back as i64).max(0))
    }
}

/// The store's answer to "write this if it is newer".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteResult {
    /// Written; `revision` counts the writes the entity has had, and
    /// `previous` is what the store held before (absent: nothing).
    Applied {
        revision: i64,
        previous: Option<StoredVersion>,
    },
    /// Refused: the store already holds this or a newer version.
    NotNewer(StoredVersion),
}

/// One delivery's claim on an entity, as seen by the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub key: EntityKey,
    pub version: Version,
    pub message_id: String,
}

/// The deliveries of one batch that touch one entity, and which one to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityPlan {
    pub key: EntityKey,
    /// Index (into the batch's claims) of the delivery to write.
    pub winner: usize,
    /// Indexes of every delivery for this entity, the winner included.
    pub members: Vec<usize>,
}

/// Groups a batch by entity and picks, per entity, the newest delivery:
/// several events for one entity cost one state write.
pub fn plan_batch(claims: &[Claim]) -> Vec<EntityPlan> {
    let mut by_entity: BTreeMap<&EntityKey, EntityPlan> = BTreeMap::new();
    for (i, claim) in claims.iter().enumerate() {
        let plan = by_entity.entry(&claim.key).or_insert_with(|| EntityPlan {
            key: claim.key.clone(),
            winner: i,
            members: Vec::new(),
        });
        plan.members.push(i);
        // Strictly greater: among identical versions the first delivery is written.
        if claim.version > claims[plan.winner].version {
            plan.winner = i;
        }
    }
    by_entity.into_values().collect()
}

/// Every member's outcome once the store answered the winner's write.
pub fn settle(plan: &EntityPlan, claims: &[Claim], result: &WriteResult) -> Vec<(usize, Outcome)> {
    let winner = &claims[plan.winner];
    let current = match result {
        WriteResult::Applied { .. } => &winner.version,
        WriteResult::NotNewer(stored) => &stored.version,
    };
    // The store's answer shows this member's own write: an earlier attempt at
    // this very delivery wrote it (the state now, the one this write
    // replaced, or one before that) and did not get to record it.
    let completed = |claim: &Claim| match result {
        WriteResult::Applied { previous, .. } => previous
            .as_ref()
            .and_then(|p| p.revision_of(claim))
            .is_some(),
        WriteResult::NotNewer(stored) => stored.revision_of(claim).is_some(),
    };
    let applied_now = matches!(result, WriteResult::Applied { .. });
    plan.members
        .iter()
        .map(|&i| {
            let claim = &claims[i];
            let outcome = if (applied_now && i == plan.winner) || completed(claim) {
                Outcome::Applied
            } else if claim.version == *current {
                Outcome::Duplicate
            } else {
                Outcome::Stale {
                    beaten_by: current.event_id.clone(),
                }
            };
            (i, outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{EntityKind, TenantId};
    use proptest::prelude::*;

    fn key(id: &str) -> EntityKey {
        EntityKey {
            tenant: TenantId::parse("t1").unwrap(),
            kind: EntityKind::CatalogItem,
            id: id.into(),
        }
    }

    fn claim(id: &str, millis: i64, event: &str, msg: &str) -> Claim {
        Claim {
            key: key(id),
            version: Version {
                source_millis: millis,
                event_id: EventId::parse(event).unwrap(),
            },
            message_id: msg.into(),
        }
    }

    #[test]
    fn newer_source_time_wins_then_greater_event_id_breaks_ties() {
        let a = Version {
            source_millis: 10,
            event_id: EventId::parse("z").unwrap(),
        };
        let b = Version {
            source_millis: 11,
            event_id: EventId::parse("a").unwrap(),
        };
        let c = Version {
            source_millis: 11,
            event_id: EventId::parse("b").unwrap(),
        };
        assert!(a < b && b < c);
    }

    #[test]
    fn one_write_per_entity_and_the_rest_are_stale_or_duplicate() {
        let claims = vec![
            claim("A", 1, "e1", "m1"),
            claim("B", 5, "e5", "m2"),
            claim("A", 3, "e3", "m3"),
            claim("A", 3, "e3", "m4"),
        ];
        let plans = plan_batch(&claims);
        assert_eq!(plans.len(), 2);
        let a = plans.iter().find(|p| p.key.id == "A").unwrap();
        assert_eq!(a.winner, 2);
        let outcomes = settle(
            a,
            &claims,
            &WriteResult::Applied {
                revision: 1,
                previous: None,
            },
        );
        assert_eq!(
            outcomes,
            vec![
                (
                    0,
                    Outcome::Stale {
                        beaten_by: EventId::parse("e3").unwrap()
                    }
                ),
                (2, Outcome::Applied),
                (3, Outcome::Duplicate),
            ]
        );
    }

    #[test]
    fn a_refused_write_reports_who_holds_the_entity() {
        let claims = vec![claim("A", 1, "e1", "m1"), claim("A", 9, "e9", "m2")];
        let plan = &plan_batch(&claims)[0];
        let stored = StoredVersion {
            version: claims[1].version.clone(),
            message_id: "older-msg".into(),
            revision: 3,
            earlier_writers: vec!["m0".into()],
        };
        let outcomes = settle(plan, &claims, &WriteResult::NotNewer(stored));
        assert_eq!(
            outcomes[0].1,
            Outcome::Stale {
                beaten_by: EventId::parse("e9").unwrap()
            }
        );
        assert_eq!(outcomes[1].1, Outcome::Duplicate);
    }

    #[test]
    fn a_redelivered_message_that_already_wrote_its_state_is_applied() {
        let claims = vec![claim("A", 4, "e4", "m1")];
        let plan = &plan_batch(&claims)[0];
        let stored = StoredVersion {
            version: claims[0].version.clone(),
            message_id: "m1".into(),
            revision: 1,
            earlier_writers: vec![],
        };
        assert_eq!(
            settle(plan, &claims, &WriteResult::NotNewer(stored))[0].1,
            Outcome::Applied
        );
    }

    #[test]
    fn a_crashed_delivery_whose_write_a_newer_one_replaced_is_completed_as_applied() {
        // m1 wrote e1 and crashed before its row; redelivered beside m2 (e2, newer).
        let claims = vec![claim("A", 1, "e1", "m1"), claim("A", 2, "e2", "m2")];
        let plan = &plan_batch(&claims)[0];
        let previous = StoredVersion {
            version: claims[0].version.clone(),
            message_id: "m1".into(),
            revision: 1,
            earlier_writers: vec![],
        };
        let outcomes = settle(
            plan,
            &claims,
            &WriteResult::Applied {
                revision: 2,
                previous: Some(previous.clone()),
            },
        );
        assert_eq!(outcomes, vec![(0, Outcome::Applied), (1, Outcome::Applied)]);
        // The same version re-sent by the source under another message is stale.
        let resent = vec![claim("A", 1, "e1", "m9"), claim("A", 2, "e2", "m2")];
        let plan = &plan_batch(&resent)[0];
        let outcomes = settle(
            plan,
            &resent,
            &WriteResult::Applied {
                revision: 2,
                previous: Some(previous),
            },
        );
        assert!(matches!(outcomes[0].1, Outcome::Stale { .. }));
    }

    #[test]
    fn a_crashed_delivery_whose_write_newer_ones_followed_is_applied_at_its_revision() {
        // m1 wrote e1 (revision 2) and crashed; m5 and m6 wrote after it in
        // other batches; m1 is redelivered alone (or beside a newer m7).
        let stored = StoredVersion {
            version: claim("A", 6, "e6", "m6").version,
            message_id: "m6".into(),
            revision: 4,
            earlier_writers: vec!["m5".into(), "m1".into(), "m0".into()],
        };
        let alone = vec![claim("A", 1, "e1", "m1")];
        let plan = &plan_batch(&alone)[0];
        let refused = WriteResult::NotNewer(stored.clone());
        assert_eq!(settle(plan, &alone, &refused)[0].1, Outcome::Applied);
        assert_eq!(stored.revision_of(&alone[0]), Some(2));
        let beside = vec![claim("A", 1, "e1", "m1"), claim("A", 7, "e7", "m7")];
        let plan = &plan_batch(&beside)[0];
        let applied = WriteResult::Applied {
            revision: 5,
            previous: Some(stored.clone()),
        };
        assert_eq!(
            settle(plan, &beside, &applied),
            vec![(0, Outcome::Applied), (1, Outcome::Applied)]
        );
        // Another delivery of the same event (another message) is still stale.
        let other = vec![claim("A", 1, "e1", "m9")];
        let plan = &plan_batch(&other)[0];
        assert!(matches!(
            settle(plan, &other, &refused)[0].1,
            Outcome::Stale { .. }
        ));
    }

    /// A model of the conditional write, to check the rule on its own.
    fn apply_all(batches: &[Vec<Claim>]) -> (BTreeMap<EntityKey, Version>, usize) {
        let mut store: BTreeMap<EntityKey, (Version, String)> = BTreeMap::new();
        let mut outcomes = 0;
        for claims in batches {
            for plan in plan_batch(claims) {
                let w = &claims[plan.winner];
                let result = match store.get(&plan.key) {
                    Some((v, m)) if *v >= w.version => WriteResult::NotNewer(StoredVersion {
                        version: v.clone(),
                        message_id: m.clone(),
                        revision: 0,
                        earlier_writers: vec![],
                    }),
                    _ => {
                        store.insert(plan.key.clone(), (w.version.clone(), w.message_id.clone()));
                        WriteResult::Applied {
                            revision: 0,
                            previous: None,
                        }
                    }
                };
                outcomes += settle(&plan, claims, &result).len();
            }
        }
        (
            store.into_iter().map(|(k, (v, _))| (k, v)).collect(),
            outcomes,
        )
    }

    proptest! {
        #[test]
        fn any_order_and_batching_converges_to_the_newest_per_entity(
            events in prop::collection::vec((0..4u8, 0..6i64, 0..3u8), 1..30),
            seed in any::<u64>(),
            batch in 1..12usize,
        ) {
            use rand::{seq::SliceRandom, SeedableRng};
            let mut claims: Vec<Claim> = events.iter().enumerate()
                .map(|(i, (e, t, id))| claim(&format!("S{e}"), *t, &format!("e{t}-{id}"), &format!("m{i}")))
                .collect();
            // Duplicate some deliveries, then shuffle.
            let dups: Vec<Claim> = claims.iter().step_by(3).cloned().collect();
            claims.extend(dups);
            claims.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
            let batches: Vec<Vec<Claim>> = claims.chunks(batch).map(|c| c.to_vec()).collect();

            let (store, outcomes) = apply_all(&batches);
            prop_assert_eq!(outcomes, claims.len(), "one outcome per delivery");
            for (key, version) in store {
                let newest = claims.iter().filter(|c| c.key == key).map(|c| &c.version).max().unwrap();
                prop_assert_eq!(&version, newest);
            }
        }
    }
}
