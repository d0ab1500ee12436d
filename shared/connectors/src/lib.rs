//! Declarative POS connectors: a manifest per POS (`connectors/*.yaml`,
//! compiled in with `include_str!`) says how to call its API and how its
//! records become normalized changes; one engine
//! (`synchub_aws::connector_http`) runs any of them. Pure: loading, checking
//! against the checked-in JSON Schema, templates, pagination and mapping.

pub mod catalog;
pub mod describe;
pub mod manifest;
pub mod mapping;
pub mod paging;
pub mod pos;
pub mod promotion;
pub mod schema;
pub mod template;
pub mod yaml_lines;

pub use manifest::{Manifest, FORMAT_VERSION};
pub use pos::{PosConnection, SQUARE_CONNECTOR};

use schema::{dotted, Schema, Seg};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;
use synchub_model::ids::ValidationError;
use synchub_model::DataType;
use synchub_model::PulledObject;

/// The manifest format's JSON Schema, as checked in.
pub const SCHEMA_TEXT: &str = include_str!("../../../connectors/manifest.schema.json");

/// The connectors synchub ships: (file, text).
pub const BUILT_IN: [(&str, &str); 7] = [
    (
        "connectors/blaze.yaml",
        include_str!("../../../connectors/blaze.yaml"),
    ),
    (
        "connectors/cova.yaml",
        include_str!("../../../connectors/cova.yaml"),
    ),
    (
        "connectors/dutchie.yaml",
        include_str!("../../../connectors/dutchie.yaml"),
    ),
    (
        "connectors/flowhub.yaml",
        include_str!("../../../connectors/flowhub.yaml"),
    ),
    (
        "connectors/headset.yaml",
        include_str!("../../../connectors/headset.yaml"),
    ),
    (
        "connectors/posabit.yaml",
        include_str!("../../../connectors/posabit.yaml"),
    ),
    (
        "connectors/treez.yaml",
        include_str!("../../../connectors/treez.yaml"),
    ),
];

/// A manifest that cannot be used, with where to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    pub file: String,
    pub line: usize,
    /// The dotted key (`streams.catalog.pagination.type`); empty for the whole file.
    pub key: String,
    pub rule: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key.is_empty() {
            true => write!(f, "{}:{}: {}", self.file, self.line, self.rule),
            false => write!(
                f,
                "{}:{}: {}: {}",
                self.file, self.line, self.key, self.rule
            ),
        }
    }
}

/// The schema every manifest is checked against (an unreadable schema is
/// an error of every load, never a silent pass).
pub fn schema() -> Result<&'static Schema, &'static str> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let value = serde_json::from_str(SCHEMA_TEXT).map_err(|e| e.to_string())?;
            Schema::parse(value)
        })
        .as_ref()
        .map_err(String::as_str)
}

/// Reads a manifest: YAML, then the JSON Schema, then the typed format and
/// the rules a schema cannot say (templates, names). Every error names
/// `file`, the line and the key.
pub fn load(file: &str, text: &str) -> Result<Manifest, Vec<ManifestError>> {
    let at = |path: &[Seg], rule: String| ManifestError {
        file: file.to_owned(),
        line: yaml_lines::line_of(text, path),
        key: dotted(path),
        rule,
    };
    let value: serde_json::Value = serde_yaml::from_str(text).map_err(|e| {
        vec![ManifestError {
            file: file.to_owned(),
            line: e.location().map_or(1, |l| l.line()),
            key: String::new(),
            rule: format!("is not valid YAML: {e}"),
        }]
    })?;
    let schema = schema().map_err(|why| {
        vec![at(
            &[],
            format!("cannot be checked: the manifest schema is unreadable ({why})"),
        )]
    })?;
    let errors: Vec<ManifestError> = schema
        .validate(&value)
        .into_iter()
        .map(|e| at(&e.path, e.rule))
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let manifest: Manifest = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path: Vec<Seg> = e
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                _ => None,
            })
            .collect();
        vec![at(&path, e.inner().to_string())]
    })?;
    let errors = rules(file, &manifest);
    if !errors.is_empty() {
        return Err(errors.into_iter().map(|(p, r)| at(&p, r)).collect());
    }
    Ok(manifest)
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// The rules beyond the schema: the format version, the name, every
/// template, and the names templates and `for_each` read.
fn rules(file: &str, m: &Manifest) -> Vec<(Vec<Seg>, String)> {
    let mut errors = identity_errors(file, m);
    let mut templates = manifest_templates(m);
    for (data_type, stream) in &m.streams {
        templates.extend(request_templates(*data_type, &stream.request));
        errors.extend(catalog_mapping_error(*data_type, stream));
        errors.extend(for_each_error(m, *data_type, stream));
    }
    errors.extend(template_errors(m, templates));
    if !m.environments.contains_key("production") {
        errors.push((
            vec![key("environments")],
            "must name a `production` base URL".into(),
        ));
    }
    errors
}

/// The format version and the name, which must be the file's.
fn identity_errors(file: &str, m: &Manifest) -> Vec<(Vec<Seg>, String)> {
    let mut errors = Vec::new();
    if m.version != FORMAT_VERSION {
        errors.push((
            vec![key("version")],
            format!("must be {FORMAT_VERSION} (this engine runs format {FORMAT_VERSION})"),
        ));
    }
    let stem = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".yaml");
    if m.name != stem {
        errors.push((
            vec![key("name")],
            format!("must be {stem:?}, the file's name"),
        ));
    }
    errors
}

/// Each template of a map, at `prefix.<key>`.
fn map_templates(prefix: &[Seg], m: &BTreeMap<String, String>) -> Vec<(Vec<Seg>, String)> {
    m.iter()
        .map(|(k, v)| {
            let mut p = prefix.to_vec();
            p.push(key(k));
            (p, v.clone())
        })
        .collect()
}

/// The templates every request shares: the headers, then the auth's.
fn manifest_templates(m: &Manifest) -> Vec<(Vec<Seg>, String)> {
    let mut owned = map_templates(&[key("headers")], &m.headers);
    match &m.auth {
        manifest::Auth::ApiKey { headers } => {
            owned.extend(map_templates(&[key("auth"), key("headers")], headers))
        }
        manifest::Auth::Bearer { token } => {
            owned.push((vec![key("auth"), key("token")], token.clone()))
        }
        manifest::Auth::Basic { username, password } => {
            owned.push((vec![key("auth"), key("username")], username.clone()));
            owned.push((vec![key("auth"), key("password")], password.clone()));
        }
        manifest::Auth::Oauth2 {
            form, token_url, ..
        } => {
            owned.extend(map_templates(&[key("auth"), key("form")], form));
            owned.push((vec![key("auth"), key("token_url")], token_url.clone()));
        }
        manifest::Auth::None => {}
    }
    owned
}

/// The key path of a stream's part (`streams.<type>.<part>`).
fn stream_key(data_type: DataType, part: &str) -> Vec<Seg> {
    vec![key("streams"), key(data_type.as_str()), key(part)]
}

/// The templates of a stream's request: path, query, headers, form, body.
fn request_templates(data_type: DataType, request: &manifest::Request) -> Vec<(Vec<Seg>, String)> {
    let with = |k: &str| {
        let mut p = stream_key(data_type, "request");
        p.push(key(k));
        p
    };
    let mut owned = vec![(with("path"), request.path.clone())];
    owned.extend(map_templates(&with("query"), &request.query));
    owned.extend(map_templates(&with("headers"), &request.headers));
    if let Some(form) = &request.form {
        owned.extend(map_templates(&with("form"), form));
    }
    if let Some(body) = &request.body {
        body_templates(body, with("body"), &mut owned);
    }
    owned
}

/// Typed catalog fields belong to the catalog stream, and need the
/// `catalog` attribute free.
fn catalog_mapping_error(
    data_type: DataType,
    stream: &manifest::Stream,
) -> Option<(Vec<Seg>, String)> {
    stream.mapping.catalog.as_ref()?;
    let mut at = stream_key(data_type, "mapping");
    at.push(key("catalog"));
    if data_type != DataType::Catalog {
        Some((at, "is for the catalog stream only".into()))
    } else if stream.mapping.attributes.contains_key("catalog") {
        Some((
            at,
            "holds the typed fields at attributes.catalog: rename the attribute named catalog"
                .into(),
        ))
    } else {
        None
    }
}

/// A `for_each` must name a setting the manifest declares.
fn for_each_error(
    m: &Manifest,
    data_type: DataType,
    stream: &manifest::Stream,
) -> Option<(Vec<Seg>, String)> {
    let each = stream.for_each.as_ref()?;
    let declared = each
        .strip_prefix("settings.")
        .is_some_and(|s| m.settings.iter().any(|d| d == s));
    (!declared).then(|| {
        (
            stream_key(data_type, "for_each"),
            format!(
                "must name a declared setting (settings.<name>, one of: {})",
                m.settings.join(", ")
            ),
        )
    })
}

/// Each template that does not parse, or reads a secret or setting the
/// manifest does not declare.
fn template_errors(m: &Manifest, templates: Vec<(Vec<Seg>, String)>) -> Vec<(Vec<Seg>, String)> {
    let mut errors = Vec::new();
    for (path, source) in templates {
        if let Err(rule) = template::check(&source) {
            errors.push((path, rule));
        } else if let Some(name) = unknown_name(&source, "secrets.", &m.secrets)
            .or_else(|| unknown_name(&source, "settings.", &m.settings))
        {
            errors.push((
                path,
                format!("reads {name}, which the manifest does not declare"),
            ));
        }
    }
    errors
}

fn body_templates(body: &serde_json::Value, path: Vec<Seg>, out: &mut Vec<(Vec<Seg>, String)>) {
    match body {
        serde_json::Value::String(s) => out.push((path, s.clone())),
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let mut p = path.clone();
                p.push(key(k));
                body_templates(v, p, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let mut p = path.clone();
                p.push(Seg::Index(i));
                body_templates(v, p, out);
            }
        }
        _ => {}
    }
}

/// The first `prefix.<name>` a template reads that is not declared.
fn unknown_name(source: &str, prefix: &str, declared: &[String]) -> Option<String> {
    source.match_indices(prefix).find_map(|(i, _)| {
        let name: String = source[i + prefix.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        (!declared.contains(&name)).then(|| format!("{prefix}{name}"))
    })
}

/// Every built-in manifest, loaded once.
pub fn built_in() -> &'static BTreeMap<String, Result<Manifest, Vec<ManifestError>>> {
    static ALL: OnceLock<BTreeMap<String, Result<Manifest, Vec<ManifestError>>>> = OnceLock::new();
    ALL.get_or_init(|| {
        BUILT_IN
            .iter()
            .map(|(file, text)| {
                let stem = file
                    .trim_start_matches("connectors/")
                    .trim_end_matches(".yaml");
                (stem.to_owned(), load(file, text))
            })
            .collect()
    })
}

/// A built-in connector by name.
pub fn connector(name: &str) -> Result<&'static Manifest, String> {
    match built_in().get(name) {
        Some(Ok(m)) => Ok(m),
        Some(Err(errors)) => Err(errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")),
        None => Err(format!(
            "unknown connector {name:?} (known: {})",
            built_in().keys().cloned().collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Whether `source` is a built-in connector's name (the source of its changes).
pub fn is_connector_source(source: &str) -> bool {
    BUILT_IN.iter().any(|(file, _)| {
        file.trim_start_matches("connectors/")
            .trim_end_matches(".yaml")
            == source
    })
}

impl Manifest {
    /// Normalizes one record of `data_type` (see `mapping::normalize`).
    pub fn normalize(
        &self,
        data_type: DataType,
        record: &serde_json::Value,
        pulled_at_millis: i64,
    ) -> Result<PulledObject, ValidationError> {
        let stream = self.streams.get(&data_type).ok_or_else(|| {
            ValidationError::new(
                "dataType",
                format!("{} has no {data_type} stream", self.name),
            )
        })?;
        mapping::normalize(
            &self.name,
            data_type.kind(),
            &stream.mapping,
            record,
            pulled_at_millis,
        )
    }

    /// The data types this connector pulls.
    pub fn data_types(&self) -> Vec<DataType> {
        self.streams.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests;
