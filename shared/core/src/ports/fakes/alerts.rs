//! The notifier's table and the mailer.

use super::{lock, Faults};
use crate::domain::alert::{AlertState, Failure};
use crate::ports::{AlertClaim, AlertLedger, Email, FailureLog, Mailer, PortError, SummaryLedger};
use crate::ErrorClass;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// The notifications table: [`FailureLog`], [`AlertLedger`],
/// [`SummaryLedger`], with the adapter's conditions.
#[derive(Debug, Default)]
pub struct FakeAlertStore {
    failures: Mutex<BTreeMap<(String, &'static str, String), Failure>>,
    alerts: Mutex<BTreeMap<(String, &'static str), AlertState>>,
    summaries: Mutex<BTreeSet<(String, String)>>,
    /// Fails every call.
    pub faults: Faults,
}

/// A failure's sort key: its time, then its key, so a range on time works.
fn failure_sk(at_millis: i64, key: &str) -> String {
    format!("{:013}#{key}", at_millis.max(0))
}

impl FakeAlertStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn state(&self, tenant: &str, class: ErrorClass) -> Option<AlertState> {
        lock(&self.alerts)
            .get(&(tenant.to_owned(), class.as_str()))
            .cloned()
    }

    pub fn failures(&self) -> Vec<Failure> {
        lock(&self.failures).values().cloned().collect()
    }

    /// The (tenant, day) summaries claimed.
    pub fn summaries(&self) -> Vec<(String, String)> {
        lock(&self.summaries).iter().cloned().collect()
    }

    /// Runs `f` on the alert item, creating it as an update would.
    fn update<R>(
        &self,
        tenant: &str,
        class: ErrorClass,
        f: impl FnOnce(&mut AlertState) -> R,
    ) -> R {
        let mut alerts = lock(&self.alerts);
        let state = alerts
            .entry((tenant.to_owned(), class.as_str()))
            .or_insert_with(|| AlertState {
                tenant_id: tenant.to_owned(),
                error_class: class.as_str().to_owned(),
                ..AlertState::default()
            });
        f(state)
    }
}

impl FailureLog for FakeAlertStore {
    async fn record(&self, failure: &Failure) -> Result<bool, PortError> {
        self.faults.check("DynamoDB", "TransactWriteItems")?;
        let key = (
            failure.tenant_id.clone(),
            failure.error_class.as_str(),
            failure_sk(failure.at_millis, &failure.key),
        );
        {
            let mut failures = lock(&self.failures);
            if failures.contains_key(&key) {
                return Ok(false);
            }
            failures.insert(key, failure.clone());
        }
        self.update(&failure.tenant_id, failure.error_class, |s| {
            if s.total == 0 {
                s.first_seen_millis = failure.at_millis;
            }
            s.total += 1;
            s.pending += 1;
            s.last_seen_millis = failure.at_millis;
        });
        Ok(true)
    }

    async fn recent(
        &self,
        tenant: &str,
        class: ErrorClass,
        since: i64,
        limit: i32,
    ) -> Result<Vec<Failure>, PortError> {
        self.faults.check("DynamoDB", "Query")?;
        let from = failure_sk(since, "");
        Ok(lock(&self.failures)
            .iter()
            .rev()
            .filter(|((t, c, sk), _)| t == tenant && *c == class.as_str() && *sk >= from)
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|(_, f)| f.clone())
            .collect())
    }
}

impl AlertLedger for FakeAlertStore {
    async fn claim(
        &self,
        tenant: &str,
        class: ErrorClass,
        now: i64,
        window: i64,
        lease: i64,
    ) -> Result<AlertClaim, PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        let mut alerts = lock(&self.alerts);
        let Some(state) = alerts.get_mut(&(tenant.to_owned(), class.as_str())) else {
            return Ok(AlertClaim::Nothing);
        };
        Ok(if state.email_due(now, window) {
            state.lease_until_millis = Some(now + lease);
            AlertClaim::Claimed(state.clone())
        } else if state.pending > 0 {
            AlertClaim::NotDue(state.clone())
        } else {
            AlertClaim::Nothing
        })
    }

    async fn sent(&self, state: &AlertState, reported: u64, now: i64) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        let class = ErrorClass::parse(&state.error_class).unwrap_or(ErrorClass::UnknownError);
        self.update(&state.tenant_id, class, |s| {
            s.last_email_millis = Some(now);
            s.sample_ids = state.sample_ids.clone();
            s.correlation_ids = state.correlation_ids.clone();
            // The table would keep a negative count; no use case reports more than is pending.
            s.pending = s.pending.saturating_sub(reported);
            s.emails += 1;
            s.lease_until_millis = None;
            s.delivery_error = None;
        });
        Ok(())
    }

    async fn release(
        &self,
        tenant: &str,
        class: ErrorClass,
        rejected: Option<&str>,
        now: i64,
    ) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        self.update(tenant, class, |s| {
            s.lease_until_millis = None;
            if let Some(why) = rejected {
                s.delivery_error = Some(why.to_owned());
                s.last_email_millis = Some(now);
            }
        });
        Ok(())
    }

    async fn arm_flush(
        &self,
        tenant: &str,
        class: ErrorClass,
        due: i64,
    ) -> Result<bool, PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        Ok(self.update(tenant, class, |s| {
            if s.flush_at_millis.is_none_or(|at| at < due) {
                s.flush_at_millis = Some(due);
                true
            } else {
                false
            }
        }))
    }

    async fn disarm_flush(
        &self,
        tenant: &str,
        class: ErrorClass,
        due: i64,
    ) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        let mut alerts = lock(&self.alerts);
        if let Some(s) = alerts.get_mut(&(tenant.to_owned(), class.as_str())) {
            if s.flush_at_millis == Some(due) {
                s.flush_at_millis = None;
            }
        }
        Ok(())
    }
}

impl SummaryLedger for FakeAlertStore {
    async fn claim_summary(&self, tenant: &str, day: &str) -> Result<bool, PortError> {
        self.faults.check("DynamoDB", "PutItem")?;
        Ok(lock(&self.summaries).insert((tenant.to_owned(), day.to_owned())))
    }

    async fn release_summary(&self, tenant: &str, day: &str) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "DeleteItem")?;
        lock(&self.summaries).remove(&(tenant.to_owned(), day.to_owned()));
        Ok(())
    }
}

/// A mailer that keeps every email it accepted.
#[derive(Debug, Default)]
pub struct FakeMailer {
    sent: Mutex<Vec<Email>>,
    pub faults: Faults,
}

impl FakeMailer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<Email> {
        lock(&self.sent).clone()
    }
}

impl Mailer for FakeMailer {
    async fn send(&self, email: &Email) -> Result<String, PortError> {
        self.faults.check("SES", "SendEmail")?;
        let mut sent = lock(&self.sent);
        sent.push(email.clone());
        Ok(format!("fake-ses-{}", sent.len()))
    }
}
