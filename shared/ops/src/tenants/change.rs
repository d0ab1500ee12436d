//! A change to a tenant's settings as an operator spells it (raw text from
//! the CLI or the API), checked field by field and applied to the stored
//! settings. Pure: every refusal names the settings field and its rule.

use crate::flags::FLAG_NAMES;
use synchub_core::domain::audit::Target;
use synchub_core::domain::ids::SupplierId;
use synchub_core::domain::limits::{
    check_list, ALERT_RECIPIENTS, ALLOWED_SUPPLIERS, POS_CONNECTIONS,
};
use synchub_core::domain::ValidationError;
use synchub_core::ports::TenantSettings;

/// How on-demand syncs run for a tenant.
pub const SYNC_METHODS: [&str; 2] = ["queued", "direct"];

/// What to change; `None` (or empty) leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub name: Option<String>,
    pub active: Option<bool>,
    /// `Some(None)` removes the storefront (no cache-bust is sent).
    pub storefront_url: Option<Option<String>>,
    /// `Some(None)` removes it (Square webhooks then cannot be verified).
    pub square_notification_url: Option<Option<String>>,
    /// Replaces the list; an empty list means the deployment's default recipient.
    pub alert_recipients: Option<Vec<String>>,
    pub daily_summary: Option<bool>,
    /// Targets (`pos`, `crm`, `storefront`) to switch on or off for the tenant.
    pub enable_targets: Vec<String>,
    pub disable_targets: Vec<String>,
    /// `ENABLE_X=on|off|default` (`default` removes the tenant's override).
    pub flags: Vec<String>,
    pub sync_method: Option<String>,
    pub allow_suppliers: Vec<String>,
    pub disallow_suppliers: Vec<String>,
    /// Replaces the POS list (`Some(vec![])`: Square alone).
    pub pos: Option<Vec<synchub_connectors::PosConnection>>,
}

impl SettingsChange {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Applies the change to `settings`; the settings fields it changed
    /// (camelCase, as stored), or the first rule an input breaks (nothing is
    /// applied then).
    pub fn apply(
        &self,
        settings: &TenantSettings,
    ) -> Result<(TenantSettings, Vec<&'static str>), ValidationError> {
        let mut next = settings.clone();
        if let Some(name) = &self.name {
            next.name = checked_name(name)?;
        }
        if let Some(active) = self.active {
            next.active = active;
        }
        if let Some(url) = &self.storefront_url {
            next.storefront_url = url
                .as_deref()
                .map(|u| checked_url("storefrontUrl", u))
                .transpose()?;
        }
        if let Some(url) = &self.square_notification_url {
            next.square_notification_url = url
                .as_deref()
                .map(|u| checked_url("squareNotificationUrl", u))
                .transpose()?;
        }
        if let Some(recipients) = &self.alert_recipients {
            check_list("alertRecipients", recipients.len(), ALERT_RECIPIENTS)?;
            next.alert_recipients = recipients
                .iter()
                .map(|r| checked_email(r))
                .collect::<Result<_, _>>()?;
            next.alert_recipients.dedup();
        }
        if let Some(daily) = self.daily_summary {
            next.daily_summary = daily;
        }
        self.apply_targets(&mut next)?;
        for flag in &self.flags {
            let (name, value) = checked_flag(flag)?;
            match value {
                Some(on) => next.flag_overrides.insert(name.to_owned(), on),
                None => next.flag_overrides.remove(name),
            };
        }
        if let Some(method) = &self.sync_method {
            if !SYNC_METHODS.contains(&method.as_str()) {
                return Err(ValidationError::new(
                    "syncMethod",
                    format!("must be one of {}", SYNC_METHODS.join(", ")),
                ));
            }
            next.sync_method = Some(method.clone());
        }
        self.apply_suppliers(&mut next)?;
        if let Some(pos) = &self.pos {
            check_list("pos", pos.len(), POS_CONNECTIONS)?;
            synchub_connectors::pos::check(pos)?;
            next.pos = pos.clone();
        }
        Ok((next.clone(), changed_fields(settings, &next)))
    }

    fn apply_targets(&self, next: &mut TenantSettings) -> Result<(), ValidationError> {
        let parse = |name: &String| {
            Target::parse(name).ok_or_else(|| {
                ValidationError::new(
                    "targets",
                    format!("{name:?} is not a target: one of pos, crm, storefront"),
                )
            })
        };
        let enable = self
            .enable_targets
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        let disable = self
            .disable_targets
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(both) = enable.iter().find(|t| disable.contains(t)) {
            return Err(ValidationError::new(
                "targets",
                format!("{both} cannot be both enabled and disabled"),
            ));
        }
        next.targets_disabled
            .retain(|t| !enable.iter().any(|e| e.as_str() == t));
        for target in disable {
            if !next.targets_disabled.iter().any(|t| t == target.as_str()) {
                next.targets_disabled.push(target.as_str().to_owned());
            }
        }
        next.targets_disabled.sort();
        Ok(())
    }

    fn apply_suppliers(&self, next: &mut TenantSettings) -> Result<(), ValidationError> {
        let parse = |id: &String| {
            SupplierId::parse(id)
                .map(|s| s.as_str().to_owned())
                .map_err(|e| ValidationError::new("allowedSuppliers", e.rule))
        };
        let listed = self
            .allow_suppliers
            .len()
            .max(self.disallow_suppliers.len());
        check_list("allowedSuppliers", listed, ALLOWED_SUPPLIERS)?;
        let allow = self
            .allow_suppliers
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        let disallow = self
            .disallow_suppliers
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(both) = allow.iter().find(|s| disallow.contains(s)) {
            return Err(ValidationError::new(
                "allowedSuppliers",
                format!("{both} cannot be both allowed and disallowed"),
            ));
        }
        next.allowed_suppliers.retain(|s| !disallow.contains(s));
        for supplier in allow {
            if !next.allowed_suppliers.contains(&supplier) {
                next.allowed_suppliers.push(supplier);
            }
        }
        next.allowed_suppliers.sort();
        check_list(
            "allowedSuppliers",
            next.allowed_suppliers.len(),
            ALLOWED_SUPPLIERS,
        )
    }
}

/// The settings fields whose values differ.
fn changed_fields(before: &TenantSettings, after: &TenantSettings) -> Vec<&'static str> {
    let (a, b) = (
        serde_json::to_value(before).unwrap_or_default(),
        serde_json::to_value(after).unwrap_or_default(),
    );
    [
        "name",
        "active",
        "storefrontUrl",
        "squareNotificationUrl",
        "alertRecipients",
        "dailySummary",
        "targetsDisabled",
        "flagOverrides",
        "syncMethod",
        "allowedSuppliers",
        "pos",
    ]
    .into_iter()
    .filter(|f| a.get(f) != b.get(f))
    .collect()
}

fn checked_name(name: &str) -> Result<String, ValidationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "name",
            "must be 1 to 120 printable characters",
        ));
    }
    Ok(name.to_owned())
}

/// An absolute https URL (http only for this machine, as local stacks
/// serve), without credentials or a fragment.
pub fn checked_url(field: &str, text: &str) -> Result<String, ValidationError> {
    let rule = "must be an absolute https URL (http only for localhost), without credentials or a fragment";
    let url = url::Url::parse(text.trim())
        .map_err(|e| ValidationError::new(field, format!("{rule}: {e}")))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
    if !scheme_ok
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
        || text.len() > 2048
    {
        return Err(ValidationError::new(field, rule));
    }
    Ok(url.to_string())
}

/// A plain address (`name@domain.tld`): SES refuses anything else.
fn checked_email(text: &str) -> Result<String, ValidationError> {
    let text = text.trim();
    let ok = text.len() <= 254
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | ';' | '<' | '>'))
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').count() >= 2
                && domain.split('.').all(|p| !p.is_empty())
        });
    if !ok {
        return Err(ValidationError::new(
            "alertRecipients",
            format!("{text:?} is not an email address (name@domain.tld)"),
        ));
    }
    Ok(text.to_owned())
}

/// `ENABLE_X=on|off|default`: the flag and its override (`None` removes it).
fn checked_flag(text: &str) -> Result<(&'static str, Option<bool>), ValidationError> {
    let rule = || {
        format!(
            "must be NAME=on|off|default with NAME one of {}",
            FLAG_NAMES.join(", ")
        )
    };
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| ValidationError::new("flagOverrides", rule()))?;
    let name = FLAG_NAMES
        .into_iter()
        .find(|f| f.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            ValidationError::new(
                "flagOverrides",
                format!("{:?} is not a flag: {}", name.trim(), rule()),
            )
        })?;
    let value = match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" => Some(true),
        "off" | "false" => Some(false),
        "default" => None,
        _ => return Err(ValidationError::new("flagOverrides", rule())),
    };
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn settings() -> TenantSettings {
        serde_json::from_value(serde_json::json!({"tenantId": "acme"})).unwrap()
    }

    #[test]
    fn each_field_changes_and_is_named() {
        let change = SettingsChange {
            storefront_url: Some(Some("https://shop.example.com/hooks/cache".into())),
            alert_recipients: Some(vec!["ops@example.com".into()]),
            daily_summary: Some(true),
            disable_targets: vec!["crm".into(), "storefront".into()],
            flags: vec!["enable_pos_sync=on".into(), "ENABLE_CRM_SYNC=off".into()],
            sync_method: Some("direct".into()),
            allow_suppliers: vec!["sup-2".into(), "sup-1".into()],
            ..Default::default()
        };
        let (next, changed) = change.apply(&settings()).unwrap();
        assert_eq!(
            next.storefront_url.as_deref(),
            Some("https://shop.example.com/hooks/cache")
        );
        assert_eq!(next.targets_disabled, ["crm", "storefront"]);
        assert_eq!(next.flag_overrides.get("ENABLE_POS_SYNC"), Some(&true));
        assert_eq!(next.flag_overrides.get("ENABLE_CRM_SYNC"), Some(&false));
        assert_eq!(next.allowed_suppliers, ["sup-1", "sup-2"]);
        assert_eq!(
            changed,
            [
                "storefrontUrl",
                "alertRecipients",
                "dailySummary",
                "targetsDisabled",
                "flagOverrides",
                "syncMethod",
                "allowedSuppliers"
            ]
        );
        let back = SettingsChange {
            storefront_url: Some(None),
            enable_targets: vec!["crm".into()],
            flags: vec!["ENABLE_POS_SYNC=default".into()],
            disallow_suppliers: vec!["sup-1".into()],
            ..Default::default()
        };
        let (again, _) = back.apply(&next).unwrap();
        assert_eq!(again.storefront_url, None);
        assert_eq!(again.targets_disabled, ["storefront"]);
        assert!(!again.flag_overrides.contains_key("ENABLE_POS_SYNC"));
        assert_eq!(again.allowed_suppliers, ["sup-2"]);
    }

    #[allow(clippy::too_many_lines, reason = "a table of bad inputs, one per line")]
    #[test]
    fn bad_input_names_its_field() {
        let cases: Vec<(SettingsChange, &str)> = vec![
            (
                SettingsChange {
                    flags: vec!["ENABLE_TELEPORT=on".into()],
                    ..Default::default()
                },
                "flagOverrides",
            ),
            (
                SettingsChange {
                    flags: vec!["ENABLE_POS_SYNC=maybe".into()],
                    ..Default::default()
                },
                "flagOverrides",
            ),
            (
                SettingsChange {
                    flags: vec!["ENABLE_POS_SYNC".into()],
                    ..Default::default()
                },
                "flagOverrides",
            ),
            (
                SettingsChange {
                    storefront_url: Some(Some("not a url".into())),
                    ..Default::default()
                },
                "storefrontUrl",
            ),
            (
                SettingsChange {
                    storefront_url: Some(Some("http://shop.example.com/x".into())),
                    ..Default::default()
                },
                "storefrontUrl",
            ),
            (
                SettingsChange {
                    storefront_url: Some(Some("https://u:p@shop.example.com/".into())),
                    ..Default::default()
                },
                "storefrontUrl",
            ),
            (
                SettingsChange {
                    square_notification_url: Some(Some("ftp://x".into())),
                    ..Default::default()
                },
                "squareNotificationUrl",
            ),
            (
                SettingsChange {
                    alert_recipients: Some(vec!["ops".into()]),
                    ..Default::default()
                },
                "alertRecipients",
            ),
            (
                SettingsChange {
                    alert_recipients: Some(vec!["a@b@c.com".into()]),
                    ..Default::default()
                },
                "alertRecipients",
            ),
            (
                SettingsChange {
                    disable_targets: vec!["erp".into()],
                    ..Default::default()
                },
                "targets",
            ),
            (
                SettingsChange {
                    enable_targets: vec!["pos".into()],
                    disable_targets: vec!["pos".into()],
                    ..Default::default()
                },
                "targets",
            ),
            (
                SettingsChange {
                    sync_method: Some("carrier-pigeon".into()),
                    ..Default::default()
                },
                "syncMethod",
            ),
            (
                SettingsChange {
                    allow_suppliers: vec!["../x".into()],
                    ..Default::default()
                },
                "allowedSuppliers",
            ),
            (
                SettingsChange {
                    allow_suppliers: vec!["a".into()],
                    disallow_suppliers: vec!["a".into()],
                    ..Default::default()
                },
                "allowedSuppliers",
            ),
            (
                SettingsChange {
                    name: Some("  ".into()),
                    ..Default::default()
                },
                "name",
            ),
        ];
        for (change, field) in cases {
            let err = change.apply(&settings()).unwrap_err();
            assert_eq!(err.field, field, "{change:?}: {err}");
        }
        assert!(checked_url("storefrontUrl", "http://127.0.0.1:8080/bust").is_ok());
    }

    proptest! {
        #[test]
        fn a_target_switch_is_idempotent_and_reversible(
            disable in prop::collection::vec(prop::sample::select(vec!["pos", "crm", "storefront"]), 0..4),
            twice in any::<bool>(),
        ) {
            let off = SettingsChange { disable_targets: disable.iter().map(|s| s.to_string()).collect(), ..Default::default() };
            let (once, _) = off.apply(&settings()).unwrap();
            let (again, changed) = off.apply(&once).unwrap();
            prop_assert_eq!(&again, &once);
            prop_assert!(changed.is_empty());
            let mut expected: Vec<&str> = disable.clone();
            expected.sort();
            expected.dedup();
            prop_assert_eq!(&once.targets_disabled, &expected);
            let on = SettingsChange { enable_targets: off.disable_targets.clone(), ..Default::default() };
            let (back, _) = on.apply(if twice { &again } else { &once }).unwrap();
            prop_assert!(back.targets_disabled.is_empty());
        }

        #[test]
        fn apply_never_panics_on_arbitrary_text(text in "\\PC{0,60}") {
            let change = SettingsChange {
                storefront_url: Some(Some(text.clone())),
                alert_recipients: Some(vec![text.clone()]),
                flags: vec![text.clone()],
                allow_suppliers: vec![text.clone()],
                ..Default::default()
            };
            let _ = change.apply(&settings());
        }
    }
}
