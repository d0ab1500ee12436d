//! The daily pull: one sync run per (tenant, data type), page by page from
//! the POS, each object normalized and enqueued for the worker (so pulled
//! data and webhooks converge on one state under the same ordering rule).
//!
//! A run checkpoints its cursor after every page and pauses cleanly before
//! its invocation's deadline; the caller continues it in a new invocation
//! (a message on the runs queue), and a crashed invocation's message is
//! redelivered, so the run resumes from its last checkpoint. Only one run
//! per (tenant, data type) holds the lock at a time. After a complete full
//! pull, entities the POS no longer returned get a tombstone.

mod drift;
mod error;
mod preview;
mod source;
mod work;
pub use drift::{drift, DriftReport, RunDrift};
pub use error::SyncError;
pub use preview::{first_page, FirstPage};
pub use work::{
    handle_work, plan, queue_run, send_summary, sweep, NotStarted, PlanOutcome, PlanReport,
    PlannedRun, SweepReport,
};

use super::{object_message, send_all, SHOPIFY, SQUARE};
use crate::domain::alert::Notice;
use crate::domain::provider_webhook::redaction;
use crate::domain::square::normalize;
use crate::domain::sync_run::{new_run_id, RunStatus, SyncRun, Trigger};
use crate::domain::time::canonical_time;
use crate::domain::DataType;
use crate::domain::EntityKind;
use crate::domain::TenantId;
use crate::messages::NoticeMessage;
use crate::ports::maintenance::MaintenanceSwitch;
use crate::ports::PortError;
use crate::ports::{
    EntityIndex, LockResult, MessageQueue, OutgoingMessage, PosSource, PullWindow, RunStore,
    SourcePage, TokenStore,
};
use crate::ports::{RunLock as _, RunLog as _, SeenLog as _};
use crate::ErrorClass;
use source::{enqueue, normalize_page, page_drift, reconcile, Puller};
use std::collections::HashMap;
use std::time::Duration;
use synchub_connectors::PosConnection;

/// How runs behave (template parameters).
#[derive(Debug, Clone)]
pub struct SyncPolicy {
    pub orders_lookback: Duration,
    pub inventory_lookback: Duration,
    /// The lock expires this long after the last progress.
    pub lock_ttl: Duration,
    /// A running run without progress for this long is failed (TIMEOUT_ERROR).
    pub stuck_after: Duration,
    /// Pause when less than this is left before the invocation's deadline.
    pub margin: Duration,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        Self {
            orders_lookback: Duration::from_secs(7 * 86_400),
            inventory_lookback: Duration::from_secs(86_400),
            lock_ttl: Duration::from_secs(15 * 60),
            stuck_after: Duration::from_secs(30 * 60),
            margin: Duration::from_secs(20),
        }
    }
}

crate::port_kinds! {
    /// The kinds of port the daily sync runs on, as one bound: a use case
    /// takes `Deps: SyncDeps` instead of five type parameters and their bounds.
    pub trait SyncDeps {
        /// Where pages come from (Square, or a connector's API).
        Source: PosSource,
        Runs: RunStore,
        Queue: MessageQueue,
        Tokens: TokenStore,
        Index: EntityIndex,
    }
}

pub struct SyncPorts<'a, Deps: SyncDeps> {
    pub source: &'a Deps::Source,
    pub runs: &'a Deps::Runs,
    /// The sync queue the worker consumes.
    pub queue: &'a Deps::Queue,
    /// The notifications queue (failed runs).
    pub notices: &'a Deps::Queue,
    /// The runs queue (continuations).
    pub work: &'a Deps::Queue,
    pub tokens: &'a Deps::Tokens,
    pub index: &'a Deps::Index,
    pub policy: &'a SyncPolicy,
    /// On: the schedule's runs are not started and manual ones refused.
    pub maintenance: &'a dyn MaintenanceSwitch,
}

/// What asking for a run did.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per run start: a box would buy nothing
pub enum Start {
    Started(SyncRun),
    AlreadyRunning { run_id: String },
    DoneToday { run_id: String },
}

/// Where a run stands after an invocation's worth of work.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Finished(SyncRun),
    /// Out of time: continue it (from its checkpoint) in a new invocation.
    Paused(SyncRun),
}

/// What a dry run found: nothing written, nothing enqueued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DryRun {
    pub fetched: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub would_delete: u64,
}

fn millis_text(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map(canonical_time)
        .unwrap_or_default()
}

/// A new run record for (tenant, data type) at `now`, with its window.
pub fn new_run(
    tenant: &str,
    data_type: DataType,
    trigger: Trigger,
    now: i64,
    policy: &SyncPolicy,
) -> SyncRun {
    let lookback = match data_type {
        DataType::Orders => Some(policy.orders_lookback),
        DataType::Inventory => Some(policy.inventory_lookback),
        _ => None,
    };
    SyncRun {
        run_id: new_run_id(tenant, now),
        tenant_id: tenant.to_owned(),
        data_type,
        trigger,
        status: RunStatus::Running,
        started_at: millis_text(now),
        started_millis: now,
        finished_at: None,
        updated_after: lookback.map(|l| millis_text(now - l.as_millis() as i64)),
        updated_before: lookback.map(|_| millis_text(now)),
        fetched: 0,
        enqueued: 0,
        rejected: 0,
        pages: 0,
        cursor: None,
        complete: false,
        last_progress_millis: now,
        invocations: 0,
        error_class: None,
        error_message: None,
        rejections: Vec::new(),
        pos: None,
        drift: Default::default(),
        duplicates: 0,
        duplicate_ids: Vec::new(),
    }
}

/// Starts a Square run unless one holds the lock (never two at once), or
/// today's already succeeded and `force` is off. A stuck holder is failed first.
pub async fn start_run<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    tenant: &str,
    data_type: DataType,
    trigger: Trigger,
    force: bool,
    now: i64,
) -> Result<Start, SyncError> {
    start_run_for(ports, tenant, None, data_type, trigger, force, now).await
}

/// Starts a run of `pos` (Square when `None`), as [`start_run`]; each
/// connector of a tenant has its own lock per data type.
pub async fn start_run_for<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    tenant: &str,
    pos: Option<&PosConnection>,
    data_type: DataType,
    trigger: Trigger,
    force: bool,
    now: i64,
) -> Result<Start, SyncError> {
    let mut run = new_run(tenant, data_type, trigger, now, ports.policy);
    run.pos = pos.filter(|p| !p.is_square()).cloned();
    let ttl = ports.policy.lock_ttl.as_millis() as i64;
    for _ in 0..2 {
        match ports.runs.lock(&run, now, ttl, force).await? {
            LockResult::Acquired => {
                ports.runs.save(&run).await?;
                fail_abandoned(ports, &run, now).await?;
                return Ok(Start::Started(run));
            }
            LockResult::DoneToday { run_id } => return Ok(Start::DoneToday { run_id }),
            LockResult::Held { run_id, .. } => {
                let holder = ports.runs.load(tenant, data_type, &run_id).await?;
                match holder {
                    Some(mut stuck)
                        if stuck.is_stuck(now, ports.policy.stuck_after.as_millis() as i64) =>
                    {
                        let minutes = (now - stuck.last_progress_millis) / 60_000;
                        fail(
                            ports,
                            &mut stuck,
                            ErrorClass::TimeoutError,
                            format!("no progress for {minutes} minutes"),
                            now,
                        )
                        .await?;
                    }
                    _ => return Ok(Start::AlreadyRunning { run_id }),
                }
            }
        }
    }
    Ok(Start::AlreadyRunning { run_id: run.run_id })
}

/// Ends a run as failed, releases its lock and tells the failure notifier.
/// Runs of the same (tenant, data type) still `running` when a new run takes
/// the lock were abandoned: their lock expired without progress (a crashed
/// invocation, a continuation lost to the runs DLQ). They are failed with
/// TIMEOUT_ERROR and reported, never left `running`.
async fn fail_abandoned<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    new: &SyncRun,
    now: i64,
) -> Result<(), PortError> {
    let abandoned = ports
        .runs
        .runs(&new.tenant_id)
        .await?
        .into_iter()
        .filter(|r| {
            r.status == RunStatus::Running
                && r.data_type == new.data_type
                && r.source() == new.source()
                && r.run_id != new.run_id
        });
    for mut old in abandoned {
        let minutes = (now - old.last_progress_millis) / 60_000;
        let why = format!("abandoned: no progress for {minutes} minutes and its lock expired");
        fail(ports, &mut old, ErrorClass::TimeoutError, why, now).await?;
    }
    Ok(())
}

pub(crate) async fn fail<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    run: &mut SyncRun,
    class: ErrorClass,
    message: String,
    now: i64,
) -> Result<(), PortError> {
    run.status = RunStatus::Failed;
    run.error_class = Some(class);
    run.error_message = Some(message.clone());
    run.finished_at = Some(millis_text(now));
    ports.runs.save(run).await?;
    ports.runs.unlock(run).await?;
    tracing::error!(tenant_id = %run.tenant_id, data_type = %run.data_type, correlation_id = %run.run_id, error.class = %class, error = %message, "sync run failed");
    ::metrics::counter!("RunsFailed").increment(1);
    let notice = Notice::RunFailed {
        tenant_id: run.tenant_id.clone(),
        data_type: run.data_type.to_string(),
        run_id: run.run_id.clone(),
        correlation_id: run.run_id.clone(),
        error_class: class,
        message,
        failed_at: millis_text(now),
    };
    ports
        .notices
        .send(&OutgoingMessage::json(
            &run.tenant_id,
            &NoticeMessage::new(notice),
        )?)
        .await?;
    Ok(())
}

/// Shopify's `shop/redact`: every Shopify customer of the tenant gets an
/// erasure tombstone through the worker, which also erases the targets'
/// copies, as for `customers/redact`. Returns how many were queued.
pub async fn erase_shop<Q: MessageQueue, I: EntityIndex>(
    queue: &Q,
    index: &I,
    tenant: &TenantId,
    event_id: &str,
    correlation_id: &str,
    now: i64,
) -> Result<usize, PortError> {
    let (mut after, mut total) = (None, 0);
    loop {
        let (rows, next) = index
            .live_page(tenant, EntityKind::Customer, SHOPIFY, after)
            .await?;
        let messages = rows
            .iter()
            .map(|(id, _)| {
                let tombstone = redaction(
                    id,
                    "redacted (shop/redact)",
                    &format!("{event_id}-{id}"),
                    now,
                );
                object_message(
                    tenant.as_str(),
                    SHOPIFY,
                    correlation_id,
                    Some(event_id.to_owned()),
                    Some("shop/redact".into()),
                    &tombstone,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        send_all(queue, &messages).await?;
        total += messages.len();
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    tracing::info!(tenant_id = %tenant, event_id, correlation_id, customers = total, "shop erasure queued");
    Ok(total)
}

/// Works on a run until it finishes or `remaining()` falls under the margin.
/// `on_page` sees the run after every page (progress bars).
pub async fn continue_run<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    mut run: SyncRun,
    remaining: impl Fn() -> Duration,
    now: impl Fn() -> i64,
    mut on_page: impl FnMut(&SyncRun),
) -> Result<Progress, SyncError> {
    if run.status != RunStatus::Running {
        return Ok(Progress::Finished(run));
    }
    run.invocations += 1;
    let tenant = TenantId::parse(&run.tenant_id)?;
    let puller = match Puller::for_run(ports.tokens, &tenant, run.pos.as_ref()).await? {
        Ok(puller) => puller,
        Err((class, why)) => {
            fail(ports, &mut run, class, why, now()).await?;
            return Ok(Progress::Finished(run));
        }
    };
    let window = PullWindow {
        updated_after: run.updated_after.clone(),
        updated_before: run.updated_before.clone(),
    };
    let ttl = ports.policy.lock_ttl.as_millis() as i64;
    let (mut renewed_at, mut pages_now) = (now(), 0);
    while !run.complete {
        // Every invocation pulls at least one page, so a run always progresses.
        if pages_now > 0 && remaining() < ports.policy.margin {
            // The checkpoint after the last page already holds the cursor.
            ports.runs.renew(&run, now(), ttl).await?;
            tracing::info!(tenant_id = %run.tenant_id, data_type = %run.data_type, correlation_id = %run.run_id, pages = run.pages, "sync run paused before the deadline");
            return Ok(Progress::Paused(run));
        }
        let page = match puller
            .page(
                ports.source,
                &tenant,
                run.data_type,
                &window,
                run.cursor.as_deref(),
            )
            .await
        {
            Ok(page) => page,
            Err(e) => {
                // The client's retries are spent, or retrying cannot help
                // (AUTH): the run fails with its checkpoint kept.
                fail(ports, &mut run, e.class(), e.to_string(), now()).await?;
                return Ok(Progress::Finished(run));
            }
        };
        checkpoint_page(ports, &puller, &mut run, page, now()).await?;
        if run.last_progress_millis - renewed_at > ttl / 3 {
            renewed_at = run.last_progress_millis;
            ports.runs.renew(&run, renewed_at, ttl).await?;
        }
        pages_now += 1;
        on_page(&run);
    }
    finish(ports, &puller, run, &tenant, now()).await
}

/// Normalizes and enqueues one page, then saves the run's checkpoint (with
/// the ids seen, for a full pull's reconciliation).
async fn checkpoint_page<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    puller: &Puller,
    run: &mut SyncRun,
    page: SourcePage,
    now: i64,
) -> Result<(), PortError> {
    let objects = normalize_page(puller, run, &page.objects);
    // A full pull's drift is what the tenant held before this page's changes.
    let drift = match run.data_type.is_full() {
        true => page_drift(ports.index, run, &objects).await?,
        false => Vec::new(),
    };
    run.enqueued += enqueue(ports.queue, run, &objects).await?;
    run.fetched += page.objects.len() as u64;
    run.pages += 1;
    run.cursor = page.cursor;
    run.complete = run.cursor.is_none();
    run.last_progress_millis = now;
    run.drift.add(&drift);
    if run.data_type.is_full() {
        let ids: Vec<String> = objects.iter().map(|o| o.id.clone()).collect();
        ports.runs.save_seen(run, run.pages, &ids, &drift).await
    } else {
        ports.runs.save(run).await
    }
}

/// A complete pull: reconcile a full one, record the status, release the lock.
async fn finish<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    puller: &Puller,
    mut run: SyncRun,
    tenant: &TenantId,
    now: i64,
) -> Result<Progress, SyncError> {
    if run.data_type.is_full() {
        reconcile(ports, puller, &mut run, tenant).await?;
    }
    run.status = run.finished_status();
    run.finished_at = Some(millis_text(now));
    ports.runs.save(&run).await?;
    ports.runs.unlock(&run).await?;
    tracing::info!(tenant_id = %run.tenant_id, data_type = %run.data_type, correlation_id = %run.run_id, status = ?run.status, fetched = run.fetched, enqueued = run.enqueued, rejected = run.rejected, "sync run finished");
    ::metrics::counter!("RunsFinished").increment(1);
    ::metrics::histogram!("RunDurationMs").record((now - run.started_millis).max(0) as f64);
    ::metrics::counter!("ObjectsFetched").increment(run.fetched);
    ::metrics::counter!("ObjectsEnqueued").increment(run.enqueued);
    ::metrics::counter!("ObjectsRejected").increment(run.rejected);
    Ok(Progress::Finished(run))
}

/// Pulls like a run but writes and enqueues nothing: what would change.
pub async fn dry_run<Deps: SyncDeps>(
    ports: &SyncPorts<'_, Deps>,
    tenant: &TenantId,
    data_type: DataType,
    now: i64,
) -> Result<DryRun, SyncError> {
    let (source, tokens, index, policy) = (ports.source, ports.tokens, ports.index, ports.policy);
    let run = new_run(tenant.as_str(), data_type, Trigger::Manual, now, policy);
    let token = tokens
        .square_token(tenant)
        .await?
        .ok_or_else(|| SyncError::NoToken {
            tenant: tenant.to_string(),
        })?;
    let mut held = live_ids(index, tenant, data_type.kind()).await?;
    let window = PullWindow {
        updated_after: run.updated_after.clone(),
        updated_before: run.updated_before.clone(),
    };
    let mut report = DryRun::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = source
            .page(&token, data_type, &window, cursor.as_deref())
            .await?;
        for object in &page.objects {
            report.fetched += 1;
            match normalize(data_type, object, now) {
                Err(_) => report.rejected += 1,
                Ok(o) => match held.remove(&o.id) {
                    None => report.new += 1,
                    Some(event_id) if event_id == o.event_id => report.unchanged += 1,
                    Some(_) => report.changed += 1,
                },
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    if data_type.is_full() {
        report.would_delete = held.len() as u64;
    }
    Ok(report)
}

/// Every live entity of a kind the tenant holds from Square: id → event id.
async fn live_ids<I: EntityIndex>(
    index: &I,
    tenant: &TenantId,
    kind: EntityKind,
) -> Result<HashMap<String, String>, PortError> {
    let (mut held, mut after) = (HashMap::new(), None);
    loop {
        let (rows, next) = index.live_page(tenant, kind, SQUARE, after).await?;
        held.extend(rows);
        match next {
            Some(n) => after = Some(n),
            None => return Ok(held),
        }
    }
}
