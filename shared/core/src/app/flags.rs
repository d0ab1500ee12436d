//! The flags in effect for a tenant, and where each value came from: a
//! tenant override wins, then the canary list (canary tenants get new
//! behaviour first), then the deploy-time default.

use crate::app::customers::TargetFlags;
use crate::ports::TenantSettings;
use serde::Serialize;

/// The deploy-time side of the flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagPolicy {
    pub deploy: TargetFlags,
    /// `CANARY_TENANTS`: tenants that get every flag on unless they override it.
    pub canary_tenants: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FlagSource {
    /// The template parameter (environment variable).
    Deploy,
    /// The tenant is on the `CANARY_TENANTS` list.
    Canary,
    /// The tenant's own override in its settings.
    Tenant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagValue {
    pub name: &'static str,
    pub value: bool,
    pub source: FlagSource,
}

pub const FLAG_NAMES: [&str; 3] = ["ENABLE_POS_SYNC", "ENABLE_CRM_SYNC", "ENABLE_UPDATE_SYNC"];

/// Every flag's value for the tenant, and why.
pub fn effective_flags(policy: &FlagPolicy, settings: &TenantSettings) -> Vec<FlagValue> {
    resolve(policy.deploy, &policy.canary_tenants, settings)
}

/// The flags from their three sources: the deploy default, the canary list,
/// the tenant's overrides.
pub fn resolve(
    deploy: TargetFlags,
    canary: &[String],
    settings: &TenantSettings,
) -> Vec<FlagValue> {
    let canary = canary.contains(&settings.tenant_id);
    let deploy = [deploy.pos, deploy.crm, deploy.updates];
    FLAG_NAMES
        .into_iter()
        .zip(deploy)
        .map(|(name, default)| match settings.flag_overrides.get(name) {
            Some(&value) => FlagValue {
                name,
                value,
                source: FlagSource::Tenant,
            },
            None if canary => FlagValue {
                name,
                value: true,
                source: FlagSource::Canary,
            },
            None => FlagValue {
                name,
                value: default,
                source: FlagSource::Deploy,
            },
        })
        .collect()
}

/// The target flags the worker applies for the tenant.
pub fn target_flags(
    deploy: TargetFlags,
    canary: &[String],
    settings: &TenantSettings,
) -> TargetFlags {
    let flags = resolve(deploy, canary, settings);
    let on = |name: &str| flags.iter().any(|f| f.name == name && f.value);
    TargetFlags {
        pos: on("ENABLE_POS_SYNC"),
        crm: on("ENABLE_CRM_SYNC"),
        updates: on("ENABLE_UPDATE_SYNC"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(overrides: &[(&str, bool)]) -> TenantSettings {
        TenantSettings {
            tenant_id: "acme".into(),
            name: String::new(),
            active: true,
            storefront_url: None,
            targets_disabled: vec![],
            alert_recipients: vec![],
            daily_summary: false,
            square_notification_url: None,
            flag_overrides: overrides.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            sync_method: None,
            allowed_suppliers: vec![],
            pos: vec![],
        }
    }

    #[test]
    fn a_tenant_override_beats_the_canary_list_which_beats_the_deploy_default() {
        let mut policy = FlagPolicy::default();
        let plain = effective_flags(&policy, &settings(&[]));
        assert!(plain
            .iter()
            .all(|f| !f.value && f.source == FlagSource::Deploy));

        policy.canary_tenants = vec!["acme".into()];
        let canary = effective_flags(&policy, &settings(&[("ENABLE_CRM_SYNC", false)]));
        assert_eq!(
            canary
                .iter()
                .map(|f| (f.name, f.value, f.source))
                .collect::<Vec<_>>(),
            vec![
                ("ENABLE_POS_SYNC", true, FlagSource::Canary),
                ("ENABLE_CRM_SYNC", false, FlagSource::Tenant),
                ("ENABLE_UPDATE_SYNC", true, FlagSource::Canary),
            ]
        );
        let flags = target_flags(
            policy.deploy,
            &policy.canary_tenants,
            &settings(&[("ENABLE_CRM_SYNC", false)]),
        );
        assert!(flags.pos && !flags.crm && flags.updates);
    }
}
