//! Request templates (`{{ window.after }}`, `{{ settings.locationIds }}`):
//! minijinja over a context of the pull's window, the page position, the
//! tenant's settings and secrets and the `for_each` item. An absent value
//! renders empty, and an empty query parameter or body field is left out,
//! so `cursor: "{{ cursor }}"` is simply not sent on the first page.

use minijinja::{Environment, Error, ErrorKind};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The names a template may read.
pub const ROOTS: [&str; 10] = [
    "window", "cursor", "page", "offset", "limit", "settings", "secrets", "item", "now", "env",
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_filter("date", |s: String| -> Result<String, Error> {
            parse(&s).map(|t| t.date().to_string())
        });
        env.add_filter("epoch_millis", |s: String| -> Result<i64, Error> {
            parse(&s).map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        });
        env.add_filter("epoch_seconds", |s: String| -> Result<i64, Error> {
            parse(&s).map(|t| t.unix_timestamp())
        });
        env
    })
}

fn parse(s: &str) -> Result<time::OffsetDateTime, Error> {
    synchub_model::time::parse_rfc3339_millis(s)
        .map(|(t, _)| t)
        .map_err(|rule| Error::new(ErrorKind::InvalidOperation, format!("{s:?} {rule}")))
}

/// Checks a template compiles and reads only the known roots.
pub fn check(source: &str) -> Result<(), String> {
    let template = environment().template_from_str(source).map_err(|e| {
        format!(
            "is not a valid template: {}",
            e.detail().unwrap_or("syntax error")
        )
    })?;
    let mut unknown: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !ROOTS.contains(&v.as_str()))
        .collect();
    unknown.sort();
    match unknown.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "reads {} (a template may read {})",
            unknown.join(", "),
            ROOTS.join(", ")
        )),
    }
}

/// Renders one template over `context`.
pub fn render(source: &str, context: &Value) -> Result<String, String> {
    environment()
        .render_str(source, context)
        .map_err(|e| e.detail().unwrap_or("cannot be rendered").to_owned())
}

/// Renders a map of templates, leaving out those that render empty.
pub fn render_map<'a>(
    templates: impl IntoIterator<Item = (&'a String, &'a String)>,
    context: &Value,
) -> Result<Vec<(String, String)>, (String, String)> {
    let mut out = Vec::new();
    for (name, source) in templates {
        let value = render(source, context).map_err(|e| (name.clone(), e))?;
        if !value.is_empty() {
            out.push((name.clone(), value));
        }
    }
    Ok(out)
}

/// Renders a JSON body: each string leaf is a template. A leaf that is one
/// expression (`"{{ offset }}"`) and renders as a JSON number, `true` or
/// `false` becomes that value; a leaf that renders empty is left out.
pub fn render_body(body: &Value, context: &Value) -> Result<Value, String> {
    Ok(match body {
        Value::String(source) => match render_leaf(source, context)? {
            Some(v) => v,
            None => Value::Null,
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_body(i, context))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                match v {
                    Value::String(source) => {
                        if let Some(rendered) = render_leaf(source, context)? {
                            out.insert(k.clone(), rendered);
                        }
                    }
                    other => {
                        out.insert(k.clone(), render_body(other, context)?);
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn render_leaf(source: &str, context: &Value) -> Result<Option<Value>, String> {
    let text = render(source, context)?;
    if text.is_empty() {
        return Ok(None);
    }
    let whole = source.trim();
    let one_expression =
        whole.starts_with("{{") && whole.ends_with("}}") && whole.matches("{{").count() == 1;
    if one_expression {
        if let Ok(v @ (Value::Number(_) | Value::Bool(_))) = serde_json::from_str::<Value>(&text) {
            return Ok(Some(v));
        }
    }
    Ok(Some(Value::String(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_values_render_empty_and_are_left_out() {
        let ctx = json!({"page": 2, "window": {"after": "2026-06-01T10:00:00Z"}});
        let templates = [
            ("cursor".to_owned(), "{{ cursor }}".to_owned()),
            ("page".to_owned(), "{{ page }}".to_owned()),
            ("from".to_owned(), "{{ window.after | date }}".to_owned()),
            (
                "ms".to_owned(),
                "{{ window.after | epoch_millis }}".to_owned(),
            ),
        ];
        let rendered = render_map(templates.iter().map(|(a, b)| (a, b)), &ctx).unwrap();
        assert_eq!(
            rendered,
            [
                ("page".to_owned(), "2".to_owned()),
                ("from".to_owned(), "2026-06-01".to_owned()),
                ("ms".to_owned(), "1780308000000".to_owned())
            ]
        );
    }

    #[test]
    fn a_body_keeps_numbers_and_drops_empty_fields() {
        let body = json!({"Skip": "{{ offset }}", "Top": 500, "LocationId": "{{ item }}", "Code": "x{{ item }}", "Cursor": "{{ cursor }}"});
        let out = render_body(&body, &json!({"offset": 100, "item": "0012"})).unwrap();
        assert_eq!(
            out,
            json!({"Skip": 100, "Top": 500, "LocationId": "0012", "Code": "x0012"})
        );
    }

    #[test]
    fn templates_are_checked_for_syntax_and_names() {
        assert!(check("{{ settings.locationIds }}").is_ok());
        assert!(check("{{ secret.key }}")
            .unwrap_err()
            .contains("reads secret"));
        assert!(check("{{ page ")
            .unwrap_err()
            .contains("not a valid template"));
        assert!(render(
            "{{ window.after | date }}",
            &json!({"window": {"after": "yesterday"}})
        )
        .is_err());
    }
}
