//! In-memory fakes of the ports, for fast use-case tests.
//!
//! Each fake keeps the part of its adapter's behaviour the use cases rely on
//! (above all the conditional writes: the ordering rule, write-once rows,
//! the run lock) and records what it was asked, so a test can check both the
//! state left behind and the calls made. Failures are injected with
//! [`Faults`]. The engines-backed tests still cover the adapters themselves.
//!
//! Nothing here awaits: every call takes its lock, answers and lets go.

mod alerts;
mod audit;
mod items;
mod pos_source;
mod queue;
mod runs;
mod targets;
mod tenants_and_secrets;

pub use alerts::{FakeAlertStore, FakeMailer};
pub use audit::FakeAuditLog;
pub use items::{FakeItemStore, StoredEntity};
pub use pos_source::{FakePosSource, PageCall};
pub use queue::FakeQueue;
pub use runs::{FakeRunStore, LockItem};
pub use targets::{FakeCustomerTargets, FakeStorefront, TargetCall};
pub use tenants_and_secrets::{FakeSecrets, FakeTenants};

use super::{PortError, TenantSettings};
use crate::ErrorClass;
use std::sync::{Mutex, MutexGuard};

/// A poisoned lock only means another test thread panicked: the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Failures to inject into a fake: after `skip` more successful calls, the
/// next `times` calls fail with `class`.
#[derive(Debug, Default)]
pub struct Faults(Mutex<Option<Plan>>);

#[derive(Debug, Clone, Copy)]
struct Plan {
    skip: u32,
    class: ErrorClass,
    times: u32,
}

impl Faults {
    /// The next `times` calls fail.
    pub fn fail(&self, class: ErrorClass, times: u32) {
        self.fail_after(0, class, times);
    }

    /// Every call fails until [`Faults::clear`].
    pub fn fail_always(&self, class: ErrorClass) {
        self.fail_after(0, class, u32::MAX);
    }

    /// `skip` calls succeed, then `times` calls fail.
    pub fn fail_after(&self, skip: u32, class: ErrorClass, times: u32) {
        *lock(&self.0) = Some(Plan { skip, class, times });
    }

    pub fn clear(&self) {
        *lock(&self.0) = None;
    }

    /// Counts one call: `Err` when it is one of the failing ones.
    pub fn check(&self, service: &'static str, operation: &'static str) -> Result<(), PortError> {
        let mut plan = lock(&self.0);
        let Some(p) = plan.as_mut() else {
            return Ok(());
        };
        if p.skip > 0 {
            p.skip -= 1;
            return Ok(());
        }
        if p.times == 0 {
            return Ok(());
        }
        if p.times != u32::MAX {
            p.times -= 1;
        }
        Err(PortError::new(
            service,
            operation,
            p.class,
            "injected failure",
        ))
    }
}

/// A refused DynamoDB condition as the SDK classifies it (HTTP 400).
fn condition_failed(operation: &'static str) -> PortError {
    PortError::new(
        "DynamoDB",
        operation,
        ErrorClass::ValidationError,
        "ConditionalCheckFailedException (HTTP 400): The conditional request failed",
    )
}

// The tenant parameters `FakeSecrets` serves.
pub const WEBHOOK_SECRET: &str = "webhook-secret";
pub const SQUARE_TOKEN: &str = "square-token";
pub const HUBSPOT_TOKEN: &str = "hubspot-token";

/// Settings for an active tenant with nothing configured.
pub fn tenant_settings(tenant: &str) -> TenantSettings {
    TenantSettings {
        tenant_id: tenant.to_owned(),
        name: String::new(),
        active: true,
        storefront_url: None,
        targets_disabled: Vec::new(),
        alert_recipients: Vec::new(),
        daily_summary: false,
        square_notification_url: None,
        flag_overrides: Default::default(),
        sync_method: None,
        allowed_suppliers: vec![],
        pos: vec![],
    }
}
