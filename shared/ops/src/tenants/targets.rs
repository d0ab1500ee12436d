//! Switching one of a tenant's targets (POS, CRM, storefront) on or off at
//! once, without a deploy, as the dashboard does: the answer shows the
//! tenant's targets and the flags in effect the way its status does, since a
//! target also needs its flag.

use super::{update, SettingsChange, TenantAdminError};
use crate::flags::{effective_flags, FlagPolicy, FlagValue};
use serde::Serialize;
use synchub_core::domain::audit::Target;
use synchub_core::domain::{TenantId, ValidationError};
use synchub_core::ports::tenant_admin::TenantAdmin;

/// A target switched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSwitched {
    pub tenant_id: String,
    pub target: Target,
    pub enabled: bool,
    /// Whether the switch changed the settings (false when it was already so).
    pub changed: bool,
    pub targets_disabled: Vec<String>,
    /// The flags in effect for the tenant now, and where each comes from.
    pub flags: Vec<FlagValue>,
}

/// Turns `target` on or off for the tenant.
pub async fn switch_target<A: TenantAdmin>(
    admin: &A,
    policy: &FlagPolicy,
    tenant: &TenantId,
    target: &str,
    enabled: bool,
) -> Result<TargetSwitched, TenantAdminError> {
    let target = Target::parse(target)
        .ok_or_else(|| ValidationError::new("target", "must be one of pos, crm, storefront"))?;
    let names = vec![target.as_str().to_owned()];
    let change = if enabled {
        SettingsChange {
            enable_targets: names,
            ..SettingsChange::default()
        }
    } else {
        SettingsChange {
            disable_targets: names,
            ..SettingsChange::default()
        }
    };
    let (settings, changed) = update(admin, tenant, &change).await?;
    Ok(TargetSwitched {
        tenant_id: tenant.to_string(),
        target,
        enabled,
        changed: !changed.is_empty(),
        flags: effective_flags(policy, &settings),
        targets_disabled: settings.targets_disabled,
    })
}
