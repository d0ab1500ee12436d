//! A tenant's POS as its settings name it: `pos: [{connector, environment,
//! settings}]`, one entry per POS it runs (Square, or a connector manifest).
//! Pure: the entries are checked against the manifests, each refusal naming
//! the entry's field and its rule.

use super::manifest::DocumentationStatus;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use synchub_model::ids::ValidationError;
use synchub_model::DataType;

/// The connector name of Square, whose client is hand-written.
pub const SQUARE_CONNECTOR: &str = "square";

/// The SSM parameter (under the tenant's path) holding a connector's
/// credentials: a JSON object of the manifest's `secrets`.
pub fn secret_parameter(connector: &str) -> String {
    format!("pos-{connector}")
}

/// One POS a tenant runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PosConnection {
    /// `square`, or a shipped connector's name (`flowhub`).
    pub connector: String,
    /// A base URL the manifest names (`production`, `sandbox`).
    #[serde(default = "production")]
    pub environment: String,
    /// What the manifest's templates read (`locationIds`), as an object.
    #[serde(default = "empty_object")]
    pub settings: Value,
}

fn production() -> String {
    "production".into()
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

impl PosConnection {
    /// Square, as every tenant without a `pos` list runs it.
    pub fn square() -> Self {
        Self {
            connector: SQUARE_CONNECTOR.into(),
            environment: production(),
            settings: empty_object(),
        }
    }

    pub fn is_square(&self) -> bool {
        self.connector == SQUARE_CONNECTOR
    }

    /// The data types this POS is pulled for.
    pub fn data_types(&self) -> Vec<DataType> {
        match self.is_square() {
            true => DataType::ALL.to_vec(),
            false => super::connector(&self.connector)
                .map(|m| m.data_types())
                .unwrap_or_default(),
        }
    }
}

/// The POS of a tenant's `sources` that pull `data_type`.
pub fn pulling(sources: &[PosConnection], data_type: DataType) -> Vec<&PosConnection> {
    sources
        .iter()
        .filter(|p| p.data_types().contains(&data_type))
        .collect()
}

/// Why no run of `data_type` can start: none of `sources` pulls it.
pub fn none_pulls(sources: &[PosConnection], data_type: DataType) -> String {
    let names: Vec<&str> = sources.iter().map(|p| p.connector.as_str()).collect();
    format!(
        "no POS of this tenant pulls {data_type} ({})",
        names.join(", ")
    )
}

/// A tenant's `pos` list: Square when it names none.
pub fn sources(pos: &[PosConnection]) -> Vec<PosConnection> {
    match pos.is_empty() {
        true => vec![PosConnection::square()],
        false => pos.to_vec(),
    }
}

/// Checks a `pos` list: known connectors, each at most once, an environment
/// the manifest names (never production for an unverified manifest), and
/// exactly the settings the manifest declares, of the right shape.
pub fn check(pos: &[PosConnection]) -> Result<(), ValidationError> {
    for (i, entry) in pos.iter().enumerate() {
        let field = |name: &str| format!("pos[{i}].{name}");
        if pos[..i].iter().any(|e| e.connector == entry.connector) {
            return Err(ValidationError::new(
                field("connector"),
                format!(
                    "{} is listed twice: one entry per connector (list every location in its settings)",
                    entry.connector
                ),
            ));
        }
        let Value::Object(settings) = &entry.settings else {
            return Err(ValidationError::new(field("settings"), "must be an object"));
        };
        if entry.is_square() {
            if entry.environment != "production" || !settings.is_empty() {
                return Err(ValidationError::new(
                    field("environment"),
                    "square takes no settings and only production (its base URL is the deployment's SQUARE_BASE_URL)",
                ));
            }
            continue;
        }
        let manifest = super::connector(&entry.connector).map_err(|why| {
            ValidationError::new(field("connector"), format!("{why}; or {SQUARE_CONNECTOR}"))
        })?;
        if !manifest.environments.contains_key(&entry.environment) {
            let known: Vec<&str> = manifest.environments.keys().map(String::as_str).collect();
            return Err(ValidationError::new(
                field("environment"),
                format!(
                    "{} has no {:?} environment (one of: {})",
                    entry.connector,
                    entry.environment,
                    known.join(", ")
                ),
            ));
        }
        if manifest.documentation.status == DocumentationStatus::Unverified
            && entry.environment == "production"
        {
            return Err(ValidationError::new(
                field("environment"),
                format!(
                    "{} is unverified (no public reference): confirm its manifest with the vendor before running production",
                    entry.connector
                ),
            ));
        }
        check_settings(manifest, settings, &field("settings"))?;
    }
    Ok(())
}

fn check_settings(
    manifest: &super::Manifest,
    settings: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<(), ValidationError> {
    let declared = manifest.settings.join(", ");
    if let Some(extra) = settings.keys().find(|k| !manifest.settings.contains(k)) {
        return Err(ValidationError::new(
            format!("{field}.{extra}"),
            format!(
                "is not a setting of {} (it reads: {})",
                manifest.name,
                if declared.is_empty() {
                    "none"
                } else {
                    &declared
                }
            ),
        ));
    }
    let lists: Vec<&str> = manifest
        .streams
        .values()
        .filter_map(|s| s.for_each.as_deref()?.strip_prefix("settings."))
        .collect();
    for name in &manifest.settings {
        let here = format!("{field}.{name}");
        let scalar = |v: &Value| match v {
            Value::String(s) => !s.trim().is_empty(),
            Value::Number(_) => true,
            _ => false,
        };
        match (settings.get(name), lists.contains(&name.as_str())) {
            (None, _) => {
                return Err(ValidationError::new(
                    here,
                    format!("is required by {} (it reads: {declared})", manifest.name),
                ))
            }
            (Some(Value::Array(items)), true) => {
                if items.is_empty() || !items.iter().all(scalar) {
                    return Err(ValidationError::new(
                        here,
                        "must be a non-empty list of ids (strings or numbers)",
                    ));
                }
            }
            (Some(v), _) if scalar(v) => {}
            (Some(_), true) => {
                return Err(ValidationError::new(
                    here,
                    "must be a list of ids, or one id",
                ))
            }
            (Some(_), false) => {
                return Err(ValidationError::new(
                    here,
                    "must be a non-empty string or a number",
                ))
            }
        }
    }
    Ok(())
}

/// Checks a connector's credentials (a JSON object of strings) against the
/// manifest's `secrets`: every one present, none unknown. Values never
/// appear in the error.
pub fn check_secrets(connector: &str, text: &str) -> Result<(), ValidationError> {
    let field = format!("posSecrets.{connector}");
    let manifest =
        super::connector(connector).map_err(|why| ValidationError::new(field.clone(), why))?;
    let values: BTreeMap<String, String> = serde_json::from_str(text).map_err(|_| {
        ValidationError::new(
            field.clone(),
            format!(
                "must be a JSON object of strings with the keys {}",
                manifest.secrets.join(", ")
            ),
        )
    })?;
    if let Some(missing) = manifest
        .secrets
        .iter()
        .find(|s| values.get(s.as_str()).is_none_or(|v| v.trim().is_empty()))
    {
        return Err(ValidationError::new(
            format!("{field}.{missing}"),
            format!(
                "is required (the manifest's secrets: {})",
                manifest.secrets.join(", ")
            ),
        ));
    }
    if let Some(extra) = values.keys().find(|k| !manifest.secrets.contains(k)) {
        return Err(ValidationError::new(
            format!("{field}.{extra}"),
            format!(
                "is not a secret of {connector} (its secrets: {})",
                manifest.secrets.join(", ")
            ),
        ));
    }
    if text.len() > 4096 {
        return Err(ValidationError::new(field, "must be at most 4096 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: Value) -> PosConnection {
        serde_json::from_value(v).unwrap()
    }

    fn refusal(list: Value) -> ValidationError {
        let list: Vec<PosConnection> = serde_json::from_value(list).unwrap();
        check(&list).unwrap_err()
    }

    #[test]
    fn a_flowhub_store_beside_square_is_accepted() {
        let list = vec![
            PosConnection::square(),
            entry(
                json!({"connector": "flowhub", "settings": {"locationIds": ["l1", "l2"], "importIds": ["i1"]}}),
            ),
        ];
        check(&list).unwrap();
        assert_eq!(list[1].environment, "production");
        assert_eq!(sources(&[]), vec![PosConnection::square()]);
        assert!(list[1].data_types().contains(&DataType::Orders));
    }

    #[test]
    fn every_mistake_names_the_entry_and_field() {
        let cases = [
            (
                json!([{"connector": "lightspeed"}]),
                "pos[0].connector",
                "unknown connector",
            ),
            (
                json!([{"connector": "posabit"}, {"connector": "posabit"}]),
                "pos[1].connector",
                "listed twice",
            ),
            (
                json!([{"connector": "flowhub", "environment": "staging", "settings": {"locationIds": ["l"], "importIds": ["i"]}}]),
                "pos[0].environment",
                "no \"staging\" environment",
            ),
            (
                json!([{"connector": "flowhub", "settings": {"locationIds": ["l"]}}]),
                "pos[0].settings.importIds",
                "is required",
            ),
            (
                json!([{"connector": "flowhub", "settings": {"locationIds": [], "importIds": ["i"]}}]),
                "pos[0].settings.locationIds",
                "non-empty list",
            ),
            (
                json!([{"connector": "flowhub", "settings": {"locationIds": ["l"], "importIds": ["i"], "storeId": "x"}}]),
                "pos[0].settings.storeId",
                "not a setting of flowhub",
            ),
            (
                json!([{"connector": "headset", "settings": {"storeId": "s1"}}]),
                "pos[0].environment",
                "unverified",
            ),
            (
                json!([{"connector": "square", "settings": {"x": 1}}]),
                "pos[0].environment",
                "square takes no settings",
            ),
            (
                json!([{"connector": "treez", "settings": "acme"}]),
                "pos[0].settings",
                "must be an object",
            ),
        ];
        for (list, field, rule) in cases {
            let e = refusal(list.clone());
            assert_eq!(e.field, field, "{list}");
            assert!(e.rule.contains(rule), "{list}: {}", e.rule);
        }
    }

    #[test]
    fn credentials_must_carry_exactly_the_manifest_secrets() {
        check_secrets("flowhub", r#"{"client_id": "c", "api_key": "k"}"#).unwrap();
        let e = check_secrets("flowhub", r#"{"client_id": "c"}"#).unwrap_err();
        assert_eq!(e.field, "posSecrets.flowhub.api_key");
        let e = check_secrets(
            "flowhub",
            r#"{"client_id": "c", "api_key": "k", "apikey": "x"}"#,
        )
        .unwrap_err();
        assert_eq!(e.field, "posSecrets.flowhub.apikey");
        let e = check_secrets("flowhub", "hunter2").unwrap_err();
        assert!(!e.rule.contains("hunter2"), "{}", e.rule);
        assert!(check_secrets("nope", "{}").is_err());
    }
}
