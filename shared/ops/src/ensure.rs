//! Sync on demand: `ensure` brings a tenant's data types up to date before
//! someone looks at them (a merchant signing in to the storefront's admin),
//! within the caller's timeout, by the tenant's sync method:
//!
//! - `queued` (the default) starts the runs through the schedule's `plan`
//!   (a run already holding the lock is waited for, never doubled) and
//!   waits for the runs queue's consumer to finish them, polling the run
//!   records;
//! - `direct` runs the same page loop inline (`continue_run`), bounded by
//!   the time left.
//!
//! The chosen method gets two thirds of the timeout; on timeout or a
//! retryable error the other method gets what is left, once, and the answer
//! says so (`fallbackUsed`, `fallbackReason`). A non-retryable error (no
//! token, a refused credential) would fail the other way too, so it is
//! answered as it is. Every call is counted per (method, hour) for
//! `method-stats`.

mod methods;
mod stats;

pub use stats::{method_stats, MethodLine, MethodStatsReport};

use serde::Serialize;
use std::time::{Duration, Instant};
use synchub_connectors::pos::{none_pulls, pulling};
use synchub_connectors::PosConnection;
use synchub_core::app::daily_sync::{SyncDeps, SyncError, SyncPolicy, SyncPorts};
use synchub_core::domain::ensure::DEFAULT_TIMEOUT_MS;
use synchub_core::domain::ensure::{ensure_timeout, first_method_budget, EnsureSample, SyncMethod};
use synchub_core::domain::metrics::hour_of;
use synchub_core::domain::sync_run::{RunStatus, SyncRun};
use synchub_core::domain::time::now_rfc3339;
use synchub_core::domain::DataType;
use synchub_core::domain::{TenantId, ValidationError};
use synchub_core::ports::method_stats::MethodStats;
use synchub_core::ports::{PortError, TenantDirectory, TenantRoster};
use synchub_core::{Classified, ErrorClass};

/// What a caller asks for: data types (each once) and how long it waits.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsureRequest {
    pub data_types: Vec<DataType>,
    /// No data types were named: every one the tenant's POS pulls.
    pub all: bool,
    pub timeout: Duration,
}

impl EnsureRequest {
    /// Every data type when `data_types` is absent; an empty list or a
    /// timeout out of bounds names its field.
    pub fn new(
        data_types: Option<Vec<DataType>>,
        timeout_ms: Option<u64>,
    ) -> Result<Self, ValidationError> {
        if data_types.as_ref().is_some_and(Vec::is_empty) {
            return Err(ValidationError::new(
                "dataTypes",
                "must name at least one data type (omit it for all)",
            ));
        }
        let all = data_types.is_none();
        let mut unique: Vec<DataType> = Vec::new();
        for d in data_types.unwrap_or_else(|| DataType::ALL.to_vec()) {
            if !unique.contains(&d) {
                unique.push(d);
            }
        }
        Ok(Self {
            data_types: unique,
            all,
            timeout: ensure_timeout(timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS))?,
        })
    }
}

/// How `ensure` watches and pulls (deploy-time; tests shorten the poll).
#[derive(Debug, Clone)]
pub struct EnsurePolicy {
    /// How often a waited-for run's record is read.
    pub poll_every: Duration,
    /// The direct pull starts no further page with less than this left.
    pub page_margin: Duration,
}

impl Default for EnsurePolicy {
    fn default() -> Self {
        Self {
            poll_every: Duration::from_millis(250),
            page_margin: Duration::from_millis(500),
        }
    }
}

synchub_core::port_kinds! {
    /// The kinds of port `ensure` runs on, as one bound: the daily sync's,
    /// the tenants and the method statistics.
    pub trait EnsureDeps {
        Sync: SyncDeps,
        Tenants: TenantDirectory + TenantRoster,
        Stats: MethodStats,
    }
}

pub struct EnsurePorts<'a, E: EnsureDeps> {
    pub sync: SyncPorts<'a, E::Sync>,
    pub tenants: &'a E::Tenants,
    pub stats: &'a E::Stats,
    pub policy: &'a EnsurePolicy,
}

/// Where one data type ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DataTypeStatus {
    Succeeded,
    /// Pulled, but some objects were rejected (the run names them).
    Partial,
    Failed,
    /// Not finished when the time was up (its run goes on).
    TimedOut,
}

impl DataTypeStatus {
    pub fn is_fresh(self) -> bool {
        matches!(self, DataTypeStatus::Succeeded | DataTypeStatus::Partial)
    }
}

/// Why something failed, as every API error says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub class: ErrorClass,
    pub retryable: bool,
    pub message: String,
}

impl Failure {
    fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            retryable: class.is_retryable(),
            message: message.into(),
        }
    }
}

/// One data type's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataTypeResult {
    pub data_type: DataType,
    /// The connector POS that pulled it (absent: Square).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub status: DataTypeStatus,
    /// The method that finished it (or tried last).
    pub method: SyncMethod,
    /// Objects the run pulled from the source.
    pub objects: u64,
    /// From the call's start until this data type was done (or given up).
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// The answer of `ensure`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnsureReport {
    pub tenant_id: String,
    /// The tenant's method, the one tried first.
    pub method: SyncMethod,
    pub fallback_used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    pub results: Vec<DataTypeResult>,
    /// Data types not fresh at the end (failed or timed out).
    pub failed_collections: Vec<DataType>,
    pub duration_ms: u64,
    /// The first failure among `failedCollections`, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

impl EnsureReport {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// Why `ensure` could not even start.
#[derive(Debug, thiserror::Error)]
pub enum EnsureError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("tenant {0} is not known")]
    UnknownTenant(String),
}

impl Classified for EnsureError {
    fn class(&self) -> ErrorClass {
        match self {
            EnsureError::Sync(e) => e.class(),
            EnsureError::Port(e) => e.class(),
            EnsureError::Invalid(_) | EnsureError::UnknownTenant(_) => ErrorClass::ValidationError,
        }
    }
}

/// Where one data type stands while `ensure` works on it.
#[derive(Debug, Clone)]
struct Track {
    data_type: DataType,
    /// The POS it is pulled from (a tenant's connector, or Square).
    pos: PosConnection,
    method: SyncMethod,
    run_id: Option<String>,
    /// The run as last read or left (a paused direct run is still `running`).
    run: Option<SyncRun>,
    state: State,
    /// When the current attempt started watching it (Unix millis).
    watched_since: i64,
    done_after: Duration,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Pending,
    Done,
    Failed(Failure),
    TimedOut,
}

impl Track {
    fn new(data_type: DataType, pos: PosConnection, method: SyncMethod) -> Self {
        Self {
            data_type,
            pos,
            method,
            run_id: None,
            run: None,
            state: State::Pending,
            watched_since: 0,
            done_after: Duration::ZERO,
        }
    }

    /// The source its runs name (`None`: Square).
    fn source(&self) -> Option<String> {
        (!self.pos.is_square()).then(|| self.pos.connector.clone())
    }

    /// The run ended (or was found ended): its status decides.
    fn ended(&mut self, run: SyncRun, started: Instant) {
        self.state = match run.status {
            RunStatus::Succeeded | RunStatus::Partial => State::Done,
            RunStatus::Failed => State::Failed(Failure::new(
                run.error_class.unwrap_or(ErrorClass::UnknownError),
                run.error_message
                    .clone()
                    .unwrap_or_else(|| "run failed".into()),
            )),
            RunStatus::Running => State::Pending,
        };
        self.run_id = Some(run.run_id.clone());
        self.run = Some(run);
        self.done_after = started.elapsed();
    }

    fn failed(&mut self, failure: Failure, started: Instant) {
        self.state = State::Failed(failure);
        self.done_after = started.elapsed();
    }

    fn timed_out(&mut self, started: Instant) {
        self.state = State::TimedOut;
        self.done_after = started.elapsed();
    }

    /// Worth the other method: out of time, or an error that may pass.
    fn retryable(&self) -> bool {
        match &self.state {
            State::TimedOut => true,
            State::Failed(f) => f.retryable,
            State::Pending | State::Done => false,
        }
    }

    fn why(&self, waited: Duration) -> String {
        match &self.state {
            State::Failed(f) => format!(
                "{}: {} failed ({}: {})",
                self.method, self.data_type, f.class, f.message
            ),
            _ => format!(
                "{}: {} not finished after {} ms",
                self.method,
                self.data_type,
                waited.as_millis()
            ),
        }
    }

    fn result(&self) -> DataTypeResult {
        let status = match (&self.state, self.run.as_ref().map(|r| r.status)) {
            (State::Done, Some(RunStatus::Partial)) => DataTypeStatus::Partial,
            (State::Done, _) => DataTypeStatus::Succeeded,
            (State::Failed(_), _) => DataTypeStatus::Failed,
            (State::Pending | State::TimedOut, _) => DataTypeStatus::TimedOut,
        };
        let error = match &self.state {
            State::Failed(f) => Some(f.clone()),
            State::Pending | State::TimedOut => Some(Failure::new(
                ErrorClass::TimeoutError,
                format!(
                    "{} not finished within the timeout; its run goes on",
                    self.data_type
                ),
            )),
            State::Done => None,
        };
        DataTypeResult {
            data_type: self.data_type,
            source: self.source(),
            status,
            method: self.method,
            objects: self.run.as_ref().map_or(0, |r| r.fetched),
            duration_ms: self.done_after.as_millis() as u64,
            run_id: self.run_id.clone(),
            error,
        }
    }
}

/// Brings `tenant`'s data types up to date within `request.timeout` by its
/// sync method, falling back to the other once (see the module doc).
/// Refused while maintenance is on, as any run asked for by hand.
pub async fn ensure<E: EnsureDeps>(
    ports: &EnsurePorts<'_, E>,
    tenant: &TenantId,
    request: &EnsureRequest,
) -> Result<EnsureReport, EnsureError> {
    let started = Instant::now();
    let settings = ports
        .tenants
        .settings(tenant)
        .await?
        .ok_or_else(|| EnsureError::UnknownTenant(tenant.to_string()))?;
    let method = SyncMethod::of_setting(settings.sync_method.as_deref()).unwrap_or_else(|e| {
        tracing::warn!(tenant_id = %tenant, error = %e, "unknown stored sync method; using queued");
        SyncMethod::Queued
    });
    if ports.sync.maintenance.state().await?.is_on() {
        return Err(SyncError::Maintenance.into());
    }
    let deadline = started + request.timeout;
    let mut tracks = tracks_for(request, &settings.pos_sources(), method)?;
    let first_deadline = started + first_method_budget(request.timeout);
    methods::attempt(ports, method, tenant, &mut tracks, started, first_deadline).await;

    let waited = started.elapsed();
    let again: Vec<usize> = (0..tracks.len())
        .filter(|&i| tracks[i].retryable())
        .collect();
    let mut fallback_reason = None;
    if !again.is_empty() && Instant::now() < deadline {
        let reasons: Vec<String> = again.iter().map(|&i| tracks[i].why(waited)).collect();
        let reason = format!("{}; tried {} instead", reasons.join("; "), method.other());
        tracing::warn!(tenant_id = %tenant, method = %method, reason = %reason, "ensure falls back");
        fallback_reason = Some(reason);
        let mut retried: Vec<Track> = again.iter().map(|&i| tracks[i].clone()).collect();
        for t in &mut retried {
            t.method = method.other();
            t.state = State::Pending;
        }
        methods::attempt(
            ports,
            method.other(),
            tenant,
            &mut retried,
            started,
            deadline,
        )
        .await;
        for (i, t) in again.into_iter().zip(retried) {
            tracks[i] = t;
        }
    }
    let report = report(tenant, method, fallback_reason, &tracks, started);
    count_in_method_stats(ports.stats, tenant, method, &report).await;
    tracing::info!(tenant_id = %tenant, method = %method, fallback_used = report.fallback_used, succeeded = report.succeeded(), duration_ms = report.duration_ms, "ensure answered");
    Ok(report)
}

/// Counts one answer for `method` in this hour's method stats; a count that
/// fails is logged, never the caller's error.
async fn count_in_method_stats<S: MethodStats>(
    stats: &S,
    tenant: &TenantId,
    method: SyncMethod,
    report: &EnsureReport,
) {
    let sample = EnsureSample {
        succeeded: report.succeeded(),
        fallback_used: report.fallback_used,
        duration_ms: report.duration_ms,
    };
    if let Err(e) = stats
        .record(method, &hour_of(&now_rfc3339()), &sample)
        .await
    {
        tracing::warn!(tenant_id = %tenant, error.class = %e.class(), error = %e, "ensure not counted in the method stats");
    }
}

/// One track per data type and POS of the tenant that pulls it. A data type
/// none of them pulls is left out when the caller named none, and refused
/// (naming the tenant's POS) when the caller asked for it.
fn tracks_for(
    request: &EnsureRequest,
    sources: &[PosConnection],
    method: SyncMethod,
) -> Result<Vec<Track>, ValidationError> {
    let mut tracks = Vec::new();
    for &d in &request.data_types {
        let covering = pulling(sources, d);
        if covering.is_empty() && !request.all {
            return Err(ValidationError::new("dataTypes", none_pulls(sources, d)));
        }
        tracks.extend(
            covering
                .into_iter()
                .map(|p| Track::new(d, p.clone(), method)),
        );
    }
    Ok(tracks)
}

fn report(
    tenant: &TenantId,
    method: SyncMethod,
    fallback_reason: Option<String>,
    tracks: &[Track],
    started: Instant,
) -> EnsureReport {
    let results: Vec<DataTypeResult> = tracks.iter().map(Track::result).collect();
    let failed_collections = results
        .iter()
        .filter(|r| !r.status.is_fresh())
        .map(|r| r.data_type)
        .collect();
    let error = results.iter().find_map(|r| r.error.clone());
    EnsureReport {
        tenant_id: tenant.to_string(),
        method,
        fallback_used: fallback_reason.is_some(),
        fallback_reason,
        results,
        failed_collections,
        duration_ms: started.elapsed().as_millis() as u64,
        error,
    }
}

/// The direct pull's policy: the runs' own, with ensure's page margin in
/// place of the invocation's (the deadline here is the caller's).
fn direct_policy(policy: &SyncPolicy, ensure: &EnsurePolicy) -> SyncPolicy {
    SyncPolicy {
        margin: ensure.page_margin,
        ..policy.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_the_field_it_breaks() {
        let e = EnsureRequest::new(Some(vec![]), None).unwrap_err();
        assert_eq!(e.field, "dataTypes");
        let e = EnsureRequest::new(None, Some(60_000)).unwrap_err();
        assert_eq!(e.field, "timeoutMs");
        let r = EnsureRequest::new(
            Some(vec![DataType::Catalog, DataType::Orders, DataType::Catalog]),
            None,
        )
        .unwrap();
        assert_eq!(r.data_types, vec![DataType::Catalog, DataType::Orders]);
        assert_eq!(r.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert_eq!(
            EnsureRequest::new(None, Some(1_000)).unwrap().data_types,
            DataType::ALL
        );
    }

    #[test]
    fn each_pos_that_pulls_a_data_type_gets_a_track_and_one_none_pulls_is_refused_by_name() {
        let flowhub = PosConnection {
            connector: "flowhub".into(),
            ..PosConnection::square()
        };
        let two = [PosConnection::square(), flowhub.clone()];
        let all = EnsureRequest::new(None, None).unwrap();
        let tracks = tracks_for(&all, &two, SyncMethod::Direct).unwrap();
        let catalog: Vec<Option<String>> = tracks
            .iter()
            .filter(|t| t.data_type == DataType::Catalog)
            .map(Track::source)
            .collect();
        assert_eq!(catalog, [None, Some("flowhub".to_owned())]);
        assert_eq!(
            tracks[0].result().source,
            None,
            "Square's results name no source"
        );
        // Flowhub has no categories: left out when none were named...
        let only = tracks_for(&all, std::slice::from_ref(&flowhub), SyncMethod::Direct).unwrap();
        assert!(only.iter().all(|t| t.data_type != DataType::Categories));
        assert!(!only.is_empty());
        // ...refused by name when asked for.
        let asked = EnsureRequest::new(Some(vec![DataType::Categories]), None).unwrap();
        let e = tracks_for(&asked, &[flowhub], SyncMethod::Direct).unwrap_err();
        assert_eq!(e.field, "dataTypes");
        assert_eq!(e.rule, "no POS of this tenant pulls categories (flowhub)");
    }

    #[test]
    fn a_timed_out_data_type_reports_a_retryable_timeout() {
        let mut t = Track::new(
            DataType::Catalog,
            PosConnection::square(),
            SyncMethod::Queued,
        );
        t.timed_out(Instant::now());
        let r = t.result();
        assert_eq!(r.status, DataTypeStatus::TimedOut);
        let e = r.error.unwrap();
        assert_eq!((e.class, e.retryable), (ErrorClass::TimeoutError, true));
        assert!(t.retryable());
        t.failed(Failure::new(ErrorClass::AuthError, "401"), Instant::now());
        assert!(!t.retryable(), "the other method would be refused too");
    }
}
