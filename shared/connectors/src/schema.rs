//! A JSON Schema validator for the subset of keywords the manifest schema
//! uses (`type`, `properties`, `required`, `additionalProperties`, `items`,
//! `enum`, `const`, `minimum`, `minItems`, `minLength`, `$ref` into `$defs`,
//! `oneOf`). A keyword outside the subset is refused when the schema is
//! read, so the schema can never say more than is checked. A `oneOf` whose
//! branches each fix `type` with a `const` is read as a tagged union: the
//! instance's `type` picks the branch, so its errors are that branch's.

use serde_json::{Map, Value};
use std::fmt;

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// The dotted form of a path (`streams.catalog.pagination.type`, `sources[0]`).
pub fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Where a document broke the schema, and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub path: Vec<Seg>,
    pub rule: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", dotted(&self.path), self.rule)
    }
}

const ANNOTATIONS: [&str; 7] = [
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "examples",
    "default",
];
const CHECKED: [&str; 12] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "minItems",
    "minLength",
    "$ref",
    "oneOf",
];

/// A schema checked to use only the supported keywords.
#[derive(Debug, Clone)]
pub struct Schema {
    root: Value,
}

impl Schema {
    /// Reads a schema, refusing keywords this validator does not check.
    pub fn parse(root: Value) -> Result<Self, String> {
        check_keywords(&root, &root, "#")?;
        Ok(Self { root })
    }

    /// Every rule `instance` breaks, in document order (at most one per value).
    pub fn validate(&self, instance: &Value) -> Vec<SchemaError> {
        let mut errors = Vec::new();
        self.check(&self.root, instance, &mut Vec::new(), &mut errors);
        errors
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix("#/$defs/")
                .and_then(|name| self.root.get("$defs")?.get(name))
                .unwrap_or(schema),
            None => schema,
        }
    }

    fn check(
        &self,
        schema: &Value,
        value: &Value,
        path: &mut Vec<Seg>,
        out: &mut Vec<SchemaError>,
    ) {
        let schema = self.resolve(schema);
        let fail = |out: &mut Vec<SchemaError>, path: &[Seg], rule: String| {
            out.push(SchemaError {
                path: path.to_vec(),
                rule,
            })
        };
        if let Some(expected) = schema.get("type") {
            if !type_matches(expected, value) {
                return fail(out, path, format!("must be {}", type_words(expected)));
            }
        }
        if let Some(c) = schema.get("const") {
            if c != value {
                return fail(out, path, format!("must be {c}"));
            }
        }
        if let Some(Value::Array(allowed)) = schema.get("enum") {
            if !allowed.contains(value) {
                let words: Vec<String> = allowed.iter().map(plain).collect();
                return fail(out, path, format!("must be one of: {}", words.join(", ")));
            }
        }
        if let (Some(min), Some(n)) = (
            schema.get("minimum").and_then(Value::as_f64),
            value.as_f64(),
        ) {
            if n < min {
                return fail(out, path, format!("must be at least {min}"));
            }
        }
        if let (Some(min), Some(s)) = (
            schema.get("minLength").and_then(Value::as_u64),
            value.as_str(),
        ) {
            if (s.chars().count() as u64) < min {
                return fail(out, path, "must not be empty".into());
            }
        }
        if let Some(Value::Array(branches)) = schema.get("oneOf") {
            self.one_of(branches, value, path, out);
        }
        match value {
            Value::Object(map) => self.check_object(schema, map, path, out),
            Value::Array(items) => {
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                    if (items.len() as u64) < min {
                        return fail(out, path, format!("must have at least {min} item(s)"));
                    }
                }
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Seg::Index(i));
                        self.check(item_schema, item, path, out);
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }

    fn check_object(
        &self,
        schema: &Value,
        map: &Map<String, Value>,
        path: &mut Vec<Seg>,
        out: &mut Vec<SchemaError>,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    out.push(SchemaError {
                        path: path.clone(),
                        rule: format!("`{key}` is required"),
                    });
                }
            }
        }
        for (key, v) in map {
            path.push(Seg::Key(key.clone()));
            match (
                properties.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => self.check(s, v, path, out),
                (None, Some(Value::Bool(false))) => {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    out.push(SchemaError {
                        path: path.clone(),
                        rule: format!("is not a known key (known: {})", known.join(", ")),
                    });
                }
                (None, Some(s @ Value::Object(_))) => self.check(s, v, path, out),
                (None, _) => {}
            }
            path.pop();
        }
    }

    fn one_of(
        &self,
        branches: &[Value],
        value: &Value,
        path: &mut Vec<Seg>,
        out: &mut Vec<SchemaError>,
    ) {
        let tag = |b: &Value| {
            self.resolve(b)
                .get("properties")?
                .get("type")?
                .get("const")
                .cloned()
        };
        let tags: Option<Vec<Value>> = branches.iter().map(tag).collect();
        if let Some(tags) = tags {
            let Some(given) = value.get("type") else {
                out.push(SchemaError {
                    path: path.clone(),
                    rule: "`type` is required".into(),
                });
                return;
            };
            return match tags.iter().position(|t| t == given) {
                Some(i) => self.check(&branches[i], value, path, out),
                None => {
                    path.push(Seg::Key("type".into()));
                    let words: Vec<String> = tags.iter().map(plain).collect();
                    out.push(SchemaError {
                        path: path.clone(),
                        rule: format!("must be one of: {}", words.join(", ")),
                    });
                    path.pop();
                }
            };
        }
        let passing = branches
            .iter()
            .filter(|b| {
                let mut errors = Vec::new();
                self.check(b, value, &mut path.clone(), &mut errors);
                errors.is_empty()
            })
            .count();
        if passing != 1 {
            out.push(SchemaError {
                path: path.clone(),
                rule: format!(
                    "must match exactly one of {} shapes ({passing} matched)",
                    branches.len()
                ),
            });
        }
    }
}

fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn type_matches(expected: &Value, value: &Value) -> bool {
    let one = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        _ => false,
    };
    match expected {
        Value::String(t) => one(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(one),
        _ => false,
    }
}

fn type_words(expected: &Value) -> String {
    let word = |t: &str| match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "boolean" => "true or false",
        "integer" => "a whole number",
        "number" => "a number",
        "null" => "null",
        _ => "of an unknown type",
    };
    match expected {
        Value::String(t) => word(t).to_owned(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(word)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "of an unknown type".into(),
    }
}

fn check_keywords(root: &Value, schema: &Value, at: &str) -> Result<(), String> {
    let Value::Object(map) = schema else {
        return match schema {
            Value::Bool(_) => Ok(()),
            _ => Err(format!("{at}: a schema must be an object")),
        };
    };
    for (key, v) in map {
        let here = format!("{at}/{key}");
        match key.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "$defs" | "properties" => {
                for (name, s) in v.as_object().ok_or(format!("{here}: must be an object"))? {
                    check_keywords(root, s, &format!("{here}/{name}"))?;
                }
            }
            "items" | "additionalProperties" => check_keywords(root, v, &here)?,
            "oneOf" => {
                for (i, s) in v
                    .as_array()
                    .ok_or(format!("{here}: must be a list"))?
                    .iter()
                    .enumerate()
                {
                    check_keywords(root, s, &format!("{here}/{i}"))?;
                }
            }
            "$ref" => {
                let target = v.as_str().and_then(|r| r.strip_prefix("#/$defs/"));
                if target.and_then(|t| root.get("$defs")?.get(t)).is_none() {
                    return Err(format!(
                        "{here}: only #/$defs/<name> references that exist are supported"
                    ));
                }
            }
            k if CHECKED.contains(&k) => {}
            other => {
                return Err(format!(
                    "{here}: keyword `{other}` is not checked by this validator"
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::parse(json!({
            "type": "object", "required": ["name"], "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "size": {"type": "integer", "minimum": 1},
                "paging": {"oneOf": [{"$ref": "#/$defs/none"}, {"$ref": "#/$defs/page"}]},
                "tags": {"type": "array", "items": {"enum": ["a", "b"]}}
            },
            "$defs": {
                "none": {"type": "object", "additionalProperties": false, "properties": {"type": {"const": "none"}}},
                "page": {"type": "object", "additionalProperties": false, "required": ["size"],
                          "properties": {"type": {"const": "page"}, "size": {"type": "integer"}}}
            }
        }))
        .unwrap()
    }

    fn errors(v: Value) -> Vec<String> {
        schema()
            .validate(&v)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn each_broken_rule_names_its_path() {
        assert!(errors(json!({"name": "x", "paging": {"type": "page", "size": 2}})).is_empty());
        assert_eq!(errors(json!({})), [": `name` is required"]);
        assert_eq!(errors(json!({"name": ""})), ["name: must not be empty"]);
        assert_eq!(
            errors(json!({"name": "x", "size": 0})),
            ["size: must be at least 1"]
        );
        assert_eq!(
            errors(json!({"name": "x", "tags": ["a", "c"]})),
            ["tags[1]: must be one of: a, b"]
        );
        assert_eq!(
            errors(json!({"name": "x", "colour": 1})),
            ["colour: is not a known key (known: name, paging, size, tags)"]
        );
    }

    #[test]
    fn a_tagged_union_reports_the_chosen_branch() {
        assert_eq!(
            errors(json!({"name": "x", "paging": {"type": "page"}})),
            ["paging: `size` is required"]
        );
        assert_eq!(
            errors(json!({"name": "x", "paging": {"type": "pages"}})),
            ["paging.type: must be one of: none, page"]
        );
        assert_eq!(
            errors(json!({"name": "x", "paging": {}})),
            ["paging: `type` is required"]
        );
    }

    #[test]
    fn unsupported_keywords_are_refused_when_the_schema_is_read() {
        let e = Schema::parse(json!({"properties": {"a": {"pattern": "^x$"}}})).unwrap_err();
        assert!(e.contains("pattern"), "{e}");
        assert!(Schema::parse(json!({"$ref": "#/$defs/missing"})).is_err());
    }
}
