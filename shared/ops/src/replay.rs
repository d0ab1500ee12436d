//! Replay a window: re-drive through the worker what a tenant's audit
//! recorded between `since` and `until` and what dead-lettered then, where it
//! can still change something (`domain::replay` decides which and why). A dry
//! run (the default at every door) answers the items it would touch; a real
//! one sends them to the sync queue, marked with the replay's correlation id,
//! and answers what it sent. Cost: one index query per hour of the window,
//! one batch read per 100 entities, one query per error class of dead letters.

use super::gate::window;
use super::OpsError;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use synchub_core::app::apply::entity_of;
use synchub_core::app::event_message;
use synchub_core::domain::alert::Failure;
use synchub_core::domain::audit::AuditRow;
use synchub_core::domain::correlation::new_correlation_id;
use synchub_core::domain::metrics::hour_of;
use synchub_core::domain::ordering::StoredVersion;
use synchub_core::domain::replay::{decide, Decision, Journaled, DEAD_LETTER};
use synchub_core::domain::time::{canonical_time, parse_rfc3339_millis};
use synchub_core::domain::{EntityKey, EntityKind, TenantId, ValidationError};
use synchub_core::messages::{QueuedEvent, ReplayMark};
use synchub_core::ports::replay::{DeadLetters, DeliveryJournal, StoredVersions};
use synchub_core::ports::{MessageQueue, OutgoingMessage, PortError};
use synchub_core::ErrorClass;

/// The longest window one replay covers.
pub const MAX_WINDOW_HOURS: i64 = 31 * 24;

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRequest {
    pub since: String,
    pub until: String,
    /// Only deliveries about these kinds (every kind when empty).
    pub kinds: Vec<EntityKind>,
    /// Send every touched item's stored change to its targets again.
    pub republish: bool,
    pub dry_run: bool,
    /// Only the window's dead letters of this class (no recorded deliveries).
    pub error_class: Option<ErrorClass>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    pub tenant_id: String,
    pub since: String,
    pub until: String,
    pub dry_run: bool,
    pub republish: bool,
    /// Marks every message this replay sent (and its audit rows' notes).
    pub replay_id: String,
    /// Deliveries the window recorded (of the kinds asked for).
    pub deliveries: u64,
    /// Entities they are about.
    pub entities: u64,
    pub dead_letters: u64,
    /// What the replay touches (or would): one line per item or dead letter.
    pub items: Vec<ReplayItem>,
    /// Messages sent to the sync queue (0 in a dry run).
    pub sent: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayItem {
    /// `catalog_item`, `item`, ...; absent for a dead letter that is not
    /// about an entity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `newerThanStored`, `publishFailed`, `targetFailed`,
    /// `republishRequested` or `deadLetter`.
    pub reason: &'static str,
    /// What makes the reason true, in words.
    pub detail: String,
    pub event_id: Option<String>,
    /// The delivery (audit sort key) or dead letter (message id) replayed.
    pub of: String,
    /// `wouldReplay`, `replayed`, `alreadyReplayed` (a dead letter sent
    /// back before), `notKept` (recorded before changes were kept) or
    /// `failed` (the send failed; run the replay again).
    pub action: &'static str,
}

synchub_core::port_kinds! {
    /// The kinds of port a replay reads and sends with, as one bound.
    pub trait ReplayDeps {
        Journal: DeliveryJournal,
        Stored: StoredVersions,
        Letters: DeadLetters,
        Queue: MessageQueue,
    }
}

/// Everything a replay reads and the queue it sends to.
pub struct ReplayPorts<'a, Deps: ReplayDeps> {
    pub journal: &'a Deps::Journal,
    pub stored: &'a Deps::Stored,
    pub dead_letters: &'a Deps::Letters,
    pub queue: &'a Deps::Queue,
}

/// One line of a replay and, when it can be sent, its message.
type Planned = (ReplayItem, Option<OutgoingMessage>);

/// Replays one tenant's window; `progress(done, total)` follows the long
/// parts (hours read, then messages sent).
pub async fn replay<Deps: ReplayDeps>(
    ports: &ReplayPorts<'_, Deps>,
    tenant: &TenantId,
    request: &ReplayRequest,
    now_millis: i64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ReplayReport, OpsError> {
    let (since, until) = window(&request.since, &request.until)?;
    let hours = hours_between(&since, &until)?;
    let hours = if request.error_class.is_some() {
        vec![]
    } else {
        hours
    };
    let rows = recorded_rows(
        ports.journal,
        tenant,
        &hours,
        (since.as_str(), until.as_str()),
        progress,
    )
    .await?;
    let (by_entity, deliveries) = deliveries_by_entity(rows, tenant, &request.kinds);
    let keys: Vec<EntityKey> = by_entity.keys().cloned().collect();
    let stored = ports.stored.stored(&keys).await?;
    let replay_id = new_correlation_id(tenant, now_millis);
    let mut plan = entity_plan(&by_entity, &stored, request.republish, &replay_id)?;
    let (dead, dead_plan) = dead_letter_plan(
        ports.dead_letters,
        tenant,
        request,
        (since.as_str(), until.as_str()),
        &replay_id,
    )
    .await?;
    let dead_count = dead_plan.len() as u64;
    plan.extend(dead_plan);
    let mut report = ReplayReport {
        tenant_id: tenant.to_string(),
        since,
        until,
        dry_run: request.dry_run,
        republish: request.republish,
        replay_id,
        deliveries,
        entities: by_entity.len() as u64,
        dead_letters: dead_count,
        items: Vec::new(),
        sent: 0,
    };
    if request.dry_run {
        report.items = plan.into_iter().map(|(item, _)| item).collect();
        return Ok(report);
    }
    send(ports, &dead, plan, &mut report, progress).await?;
    Ok(report)
}

/// The audit rows the journal recorded in `window`, hour by hour.
async fn recorded_rows<J: DeliveryJournal>(
    journal: &J,
    tenant: &TenantId,
    hours: &[String],
    (since, until): (&str, &str),
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Vec<AuditRow>, OpsError> {
    let mut rows: Vec<AuditRow> = Vec::new();
    for (done, hour) in hours.iter().enumerate() {
        let tenant_hour = format!("{tenant}#{hour}");
        rows.extend(journal.recorded(&tenant_hour, since, until).await?);
        progress(done as u64 + 1, hours.len() as u64);
    }
    Ok(rows)
}

/// The tenant's recorded deliveries of the kinds asked for (every kind when
/// `kinds` is empty), grouped by entity, and how many there are.
fn deliveries_by_entity(
    rows: Vec<AuditRow>,
    tenant: &TenantId,
    kinds: &[EntityKind],
) -> (BTreeMap<EntityKey, Vec<(Journaled, AuditRow)>>, u64) {
    let wanted = |key: &EntityKey| kinds.is_empty() || kinds.contains(&key.kind);
    let mut by_entity: BTreeMap<EntityKey, Vec<(Journaled, AuditRow)>> = BTreeMap::new();
    let mut deliveries = 0;
    for row in rows {
        let Some(key) = EntityKey::from_audit_partition(&row.pk).filter(wanted) else {
            continue;
        };
        // Only the tenant's own partitions, whatever the index holds.
        if key.tenant != *tenant {
            continue;
        }
        if let Some(entry) = Journaled::from_row(&row) {
            deliveries += 1;
            by_entity.entry(key).or_default().push((entry, row));
        }
    }
    (by_entity, deliveries)
}

/// One line per entity whose deliveries `decide` finds worth replaying
/// against the version the store holds.
fn entity_plan(
    by_entity: &BTreeMap<EntityKey, Vec<(Journaled, AuditRow)>>,
    stored: &HashMap<EntityKey, StoredVersion>,
    republish: bool,
    replay_id: &str,
) -> Result<Vec<Planned>, OpsError> {
    let mut plan: Vec<Planned> = Vec::new();
    for (key, deliveries) in by_entity {
        let entries: Vec<Journaled> = deliveries.iter().map(|(j, _)| j.clone()).collect();
        let held = stored.get(key).map(|s| &s.version);
        if let Some(decision) = decide(&entries, held, republish) {
            let row = deliveries
                .iter()
                .find(|(j, _)| j.sk == decision.entry.sk)
                .map(|(_, r)| r)
                .expect("a decision names one of the entity's deliveries");
            plan.push(entity_item(key, &decision, row, replay_id)?);
        }
    }
    Ok(plan)
}

/// The window's dead letters (of the error class asked for), and a line for
/// each of the kinds asked for: one replayed before is `alreadyReplayed`.
async fn dead_letter_plan<D: DeadLetters>(
    dead_letters: &D,
    tenant: &TenantId,
    request: &ReplayRequest,
    (since, until): (&str, &str),
    replay_id: &str,
) -> Result<(Vec<Failure>, Vec<Planned>), OpsError> {
    let (since_ms, until_ms) = (millis(since)?, millis(until)?);
    let mut dead = dead_letters
        .dead_letters(tenant.as_str(), since_ms, until_ms)
        .await?;
    if let Some(class) = request.error_class {
        dead.retain(|f| f.error_class == class);
    }
    let mut plan: Vec<Planned> = Vec::new();
    for failure in &dead {
        let Some(item) = dead_letter_item(failure, replay_id, &request.kinds) else {
            continue;
        };
        let replayed = dead_letters.is_replayed(failure).await?;
        plan.push(if replayed {
            (
                ReplayItem {
                    action: "alreadyReplayed",
                    ..item.0
                },
                None,
            )
        } else {
            item
        });
    }
    Ok((dead, plan))
}

/// Sends the plan ten messages at a time; marks replayed dead letters.
async fn send<Deps: ReplayDeps>(
    ports: &ReplayPorts<'_, Deps>,
    dead: &[Failure],
    plan: Vec<Planned>,
    report: &mut ReplayReport,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(), PortError> {
    let total = plan.iter().filter(|(_, m)| m.is_some()).count() as u64;
    let (mut with, without): (Vec<_>, Vec<_>) = plan.into_iter().partition(|(_, m)| m.is_some());
    for chunk in with.chunks_mut(10) {
        let messages: Vec<OutgoingMessage> = chunk.iter().filter_map(|(_, m)| m.clone()).collect();
        let results = ports.queue.send_batch(&messages).await;
        for ((item, _), result) in chunk.iter_mut().zip(results) {
            if result.is_ok() {
                item.action = "replayed";
                report.sent += 1;
                if item.reason == DEAD_LETTER {
                    if let Some(f) = dead.iter().find(|f| f.key == item.of) {
                        ports.dead_letters.mark_replayed(f).await?;
                    }
                }
            } else {
                item.action = "failed";
            }
        }
        progress(report.sent, total);
    }
    report.items = with
        .into_iter()
        .chain(without)
        .map(|(item, _)| item)
        .collect();
    report
        .items
        .sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    Ok(())
}

/// The hours (`2026-12-02T09`) the window touches, first to last.
fn hours_between(since: &str, until: &str) -> Result<Vec<String>, ValidationError> {
    let (from, to) = (millis(since)?, millis(until)?);
    let first_hour = from - from.rem_euclid(3_600_000);
    if (to - first_hour) / 3_600_000 >= MAX_WINDOW_HOURS {
        return Err(ValidationError::new(
            "until",
            format!(
                "a replay window is at most {MAX_WINDOW_HOURS} hours; replay a longer one in parts"
            ),
        ));
    }
    let mut hours = Vec::new();
    let mut at = first_hour;
    while at <= to {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
            .map_err(|_| ValidationError::new("since", "is out of range"))?;
        hours.push(hour_of(&canonical_time(t)));
        at += 3_600_000;
    }
    Ok(hours)
}

fn millis(text: &str) -> Result<i64, ValidationError> {
    parse_rfc3339_millis(text)
        .map(|(_, ms)| ms)
        .map_err(|rule| ValidationError::new("since", rule))
}

/// An entity's line and, when its change was kept, the message to send.
fn entity_item(
    key: &EntityKey,
    decision: &Decision<'_>,
    row: &AuditRow,
    replay_id: &str,
) -> Result<Planned, OpsError> {
    let mark = ReplayMark {
        of: row.sk.clone(),
        reason: decision.reason.to_owned(),
        correlation_id: replay_id.to_owned(),
        republish: decision.republish,
    };
    let message = match &row.change {
        Some(body) => Some(marked(body, mark)?),
        None => None,
    };
    let detail = match decision.failed_targets.as_slice() {
        [] => format!("{} {}", row.outcome, row.event_id.as_deref().unwrap_or("-")),
        targets => format!("failed at {}", targets.join(", ")),
    };
    let item = ReplayItem {
        kind: Some(key.kind.as_str()),
        id: Some(key.id.clone()),
        reason: decision.reason,
        detail,
        event_id: row.event_id.clone(),
        of: row.sk.clone(),
        action: if message.is_some() {
            "wouldReplay"
        } else {
            "notKept"
        },
    };
    Ok((item, message))
}

/// A dead letter's line and message, or `None` when it is about another kind.
fn dead_letter_item(failure: &Failure, replay_id: &str, kinds: &[EntityKind]) -> Option<Planned> {
    let body = failure.dead_letter_body.as_deref()?;
    let entity = entity_of(body);
    // Only the tenant's own dead letters, whatever the failure log holds.
    if let Ok(key) = &entity {
        if key.tenant.as_str() != failure.tenant_id {
            tracing::warn!(tenant_id = %failure.tenant_id, of = %failure.key, "a dead letter about another tenant is not replayed");
            return None;
        }
    }
    if !kinds.is_empty() && !entity.as_ref().is_ok_and(|k| kinds.contains(&k.kind)) {
        return None;
    }
    let mark = ReplayMark {
        of: failure.key.clone(),
        reason: DEAD_LETTER.to_owned(),
        correlation_id: replay_id.to_owned(),
        republish: false,
    };
    // A body that is not a queued event goes back as it was: the worker
    // rejects it again with its reason.
    let message = marked(body, mark).unwrap_or_else(|_| {
        OutgoingMessage::raw(&failure.tenant_id, body.to_owned())
            .with_attribute("replayOf", failure.key.clone())
    });
    let detail = match &entity {
        Ok(_) => format!("{} then; it parses now", failure.error_class),
        Err(reason) => format!("{} then; still rejected: {reason}", failure.error_class),
    };
    let item = ReplayItem {
        kind: entity.as_ref().ok().map(|k| k.kind.as_str()),
        id: entity.ok().map(|k| k.id),
        reason: DEAD_LETTER,
        detail,
        event_id: Some(failure.subject_id.clone()),
        of: failure.key.clone(),
        action: "wouldReplay",
    };
    Some((item, Some(message)))
}

/// The kept body with the replay's mark, as the sync queue's message.
fn marked(body: &str, mark: ReplayMark) -> Result<OutgoingMessage, PortError> {
    let mut event: QueuedEvent =
        serde_json::from_str(body).map_err(|e| PortError::decode("kept change", e))?;
    event.replay = Some(mark);
    event_message(&event)
}
