//! Replay a tenant's window on the sync API's adapters (the API and the CLI).

use crate::Api;
use synchub_core::domain::time::now_millis;
use synchub_core::domain::TenantId;
use synchub_ops::{self as ops, OpsError, ReplayPorts, ReplayReport, ReplayRequest};

impl Api {
    /// Replays the window (a dry run unless `request.dry_run` is false);
    /// `progress(done, total)` follows its long parts.
    pub async fn replay(
        &self,
        tenant: &TenantId,
        request: &ReplayRequest,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ReplayReport, OpsError> {
        self.known_tenant(tenant).await?;
        let ports: ReplayPorts<(_, _, _, _)> = ReplayPorts {
            journal: &self.audit,
            stored: &self.sync.index,
            dead_letters: &self.failures,
            queue: &self.sync.queue,
        };
        ops::replay(&ports, tenant, request, now_millis(), progress).await
    }
}
