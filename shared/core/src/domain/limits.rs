//! Upper bounds on what comes from outside: every request body, header,
//! id and list has one, and each is checked before any AWS call is made
//! for the request (README.md, "Limits", lists them all; a test holds the
//! table to these constants). A request past a bound is refused with a 4xx
//! naming the field or header and the bound.
//!
//! Bounds kept beside their rules elsewhere: ids (`ids.rs`: tenant ids 64
//! characters, event ids 128, entity ids `MAX_ENTITY_ID`), supplier fields
//! (`supplier.rs`), signatures per header (`webhook_signature.rs`), the
//! webhook body (`app::ingest::MAX_BODY_BYTES`), pages and windows of the
//! operations API (`app::ops`), and an on-demand sync's timeout
//! (`ensure.rs`).

use super::ValidationError;

/// Any single header a webhook route reads, other than a signature:
/// `webhook-id`, `X-Shopify-Topic`, `X-Shopify-Event-Id`,
/// `X-Shopify-Webhook-Id`, `X-Shopify-Triggered-At`.
pub const WEBHOOK_HEADER_BYTES: usize = 256;

/// `webhook-signature`: room for the 16 `v1` signatures a rotation may
/// carry (47 bytes each) and other schemes' beside them.
pub const SIGNATURE_HEADER_BYTES: usize = 2_048;

/// `X-Shopify-Hmac-Sha256` and `x-square-hmacsha256-signature`: one
/// base64 HMAC-SHA256 is 44 characters.
pub const PROVIDER_SIGNATURE_BYTES: usize = 64;

/// A request body of the operations API.
pub const API_BODY_BYTES: usize = 64 * 1024;

/// A query parameter's value on the operations API (cursors are ~100).
pub const API_QUERY_VALUE_BYTES: usize = 1_024;

/// Query parameters on one operations API request.
pub const API_QUERY_PARAMETERS: usize = 16;

/// Items in any list of an operations API request body (`dataTypes`,
/// `kinds`): more than every value there is, twice over.
pub const API_LIST_ITEMS: usize = 16;

/// A tenant's alert recipients: SES takes at most 50 per email.
pub const ALERT_RECIPIENTS: usize = 50;

/// Suppliers on a tenant's allowlist (kept on its settings item).
pub const ALLOWED_SUPPLIERS: usize = 1_000;

/// POS connections on one tenant.
pub const POS_CONNECTIONS: usize = 16;

/// `value` (the header `name`), refused past `max` bytes.
pub fn check_header(name: &str, value: Option<&str>, max: usize) -> Result<(), ValidationError> {
    match value {
        Some(v) if v.len() > max => Err(ValidationError::new(
            name,
            format!("header must be at most {max} bytes"),
        )),
        _ => Ok(()),
    }
}

/// A list of `len` items in `field`, refused past `max`.
pub fn check_list(field: &str, len: usize, max: usize) -> Result<(), ValidationError> {
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must list at most {max} items"),
        ));
    }
    Ok(())
}

/// Every array in a JSON document within [`API_LIST_ITEMS`]; the first
/// that is not names its JSON path.
pub fn check_lists(value: &serde_json::Value) -> Result<(), ValidationError> {
    fn walk(value: &serde_json::Value, path: &mut Vec<String>) -> Result<(), ValidationError> {
        match value {
            serde_json::Value::Array(items) => {
                let field = if path.is_empty() {
                    "body".to_owned()
                } else {
                    path.join(".")
                };
                check_list(&field, items.len(), API_LIST_ITEMS)?;
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(item, path)?;
                    path.pop();
                }
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    path.push(key.clone());
                    walk(item, path)?;
                    path.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(value, &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_header_past_its_bound_is_named() {
        assert!(check_header("webhook-id", Some(&"a".repeat(256)), 256).is_ok());
        assert!(check_header("webhook-id", None, 256).is_ok());
        let e = check_header("webhook-id", Some(&"a".repeat(257)), 256).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.rule.as_str()),
            ("webhook-id", "header must be at most 256 bytes")
        );
    }

    #[test]
    fn the_first_list_past_the_bound_is_named_by_its_path() {
        let ok = json!({"dataTypes": vec!["orders"; API_LIST_ITEMS], "x": [[1, 2]]});
        assert!(check_lists(&ok).is_ok());
        let long = json!({"filter": {"kinds": vec!["item"; API_LIST_ITEMS + 1]}});
        let e = check_lists(&long).unwrap_err();
        assert_eq!(e.field, "filter.kinds");
        assert_eq!(e.rule, format!("must list at most {API_LIST_ITEMS} items"));
        let nested = json!([vec![0; 17]]);
        assert_eq!(check_lists(&nested).unwrap_err().field, "0");
        let top = json!(vec![0; 17]);
        assert_eq!(check_lists(&top).unwrap_err().field, "body");
    }
}
