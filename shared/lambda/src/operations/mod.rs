//! The operator's questions on the sync API's adapters, asked the same way by
//! every door: the `sync-api` router and the `synchub` CLI call these, so
//! their answers are the same JSON.

mod ensure;
mod fleet;
mod metrics;
mod replay;
mod tenants;

use super::Api;
use synchub_core::app::health::HealthPorts;
use synchub_core::domain::time::{canonical_time, now_millis};
use synchub_core::domain::{EntityKey, TenantId};
use synchub_core::ports::TenantDirectory;
use synchub_ops::{self as ops, FlagValue, GateReport, Health, OpsError, Queues, RunsPage};
use synchub_ops::{TenantStatus, Trace};

impl Api {
    /// Sweeps the runs that died quietly first (failing them, with their
    /// notices), then answers; `sweptRuns` names what it failed.
    pub async fn health(&self) -> Result<Health, OpsError> {
        let ports: HealthPorts<'_, (crate::LiveSync, _, _)> = HealthPorts {
            sync: self.sync.ports(),
            queues: Queues {
                sync: &self.sync.queue,
                sync_dlq: &self.sync_dlq,
                runs_dlq: &self.runs_dlq,
                notify_dlq: &self.notify_dlq,
            },
            tenants: &self.sync.tenants,
        };
        Ok(ops::health(&ports, &self.thresholds, now_millis()).await?)
    }

    pub async fn status(&self, tenant: &TenantId) -> Result<TenantStatus, OpsError> {
        ops::status(&self.sync.runs, &self.sync.tenants, &self.flags, tenant).await
    }

    /// The flags part of the tenant's status.
    pub async fn flags(&self, tenant: &TenantId) -> Result<Vec<FlagValue>, OpsError> {
        Ok(self.status(tenant).await?.flags)
    }

    /// A page of the tenant's runs, newest first.
    pub async fn runs(
        &self,
        tenant: &TenantId,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<RunsPage, OpsError> {
        ops::runs(&self.sync.runs, &self.sync.tenants, tenant, limit, cursor).await
    }

    pub async fn trace(&self, key: &EntityKey) -> Result<Trace, OpsError> {
        self.known_tenant(&key.tenant).await?;
        Ok(ops::trace(&self.audit, key).await?)
    }

    /// The launch gate over `since`..`until` (RFC 3339); the last 24 hours
    /// when either is not given.
    pub async fn gate(
        &self,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<GateReport, OpsError> {
        let now = now_millis();
        let at = |millis: i64| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
                .map(canonical_time)
                .unwrap_or_default()
        };
        let since = since.map_or_else(|| at(now - 86_400_000), str::to_owned);
        let until = until.map_or_else(|| at(now), str::to_owned);
        ops::gate(&self.metrics, &self.sync.tenants, &since, &until).await
    }

    /// An unknown tenant is an error, not an empty answer.
    pub async fn known_tenant(&self, tenant: &TenantId) -> Result<(), OpsError> {
        match self.sync.tenants.settings(tenant).await? {
            Some(_) => Ok(()),
            None => Err(OpsError::UnknownTenant(tenant.to_string())),
        }
    }
}
