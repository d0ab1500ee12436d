//! Typed promotions on a catalog record (`mapping.catalog.promotions`):
//! the discounts, specials or deals a POS attaches to a product, each read
//! into one shape whatever the POS: its discount (a percentage or an
//! amount off), its date/time window, and what it targets (products,
//! categories, brands, vendors). A promotion that is present but cannot be
//! read, or reads as impossible (nothing off, over 100 %, a window that
//! ends before it starts), refuses the record, naming the path and the
//! rule: a storefront never shows a deal synchub misread. A kind synchub
//! does not type (buy one get one, bundles, a price set to an amount) is
//! kept as `other` with the POS's method and value, never guessed at.

use super::catalog::PriceUnits;
use super::manifest::TimeFormat;
use super::mapping::{parse_time, records, value_at};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use synchub_model::ids::ValidationError;

/// Where a record's promotions are, and each one's fields (paths relative
/// to the promotion).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionPaths {
    /// The record's list of promotions (`*` flattens: `specials.*.deal`).
    pub path: String,
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The discount's value: a percentage or an amount off.
    pub discount: String,
    /// The path of the discount's kind (`percent`, `%`, `amount`, `flat`…),
    /// when the promotion says which.
    #[serde(default)]
    pub kind: Option<String>,
    /// The kind when the promotion does not say (no `kind` path, or none there).
    #[serde(default)]
    pub default_kind: Option<DiscountKind>,
    /// Amounts off in minor units (cents, the default) or major.
    #[serde(default)]
    pub amount_units: PriceUnits,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    /// How the window's times are written (RFC 3339 when absent).
    #[serde(default)]
    pub time_format: Option<TimeFormat>,
    /// Ids or names of what it targets; each path may end on a list.
    #[serde(default)]
    pub products: Option<String>,
    #[serde(default)]
    pub categories: Option<String>,
    #[serde(default)]
    pub brands: Option<String>,
    #[serde(default)]
    pub vendors: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscountKind {
    Percent,
    Amount,
}

/// A promotion's discount.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Discount {
    /// A percentage off, over 0 and at most 100.
    Percent { value: f64 },
    /// An amount off in minor units (cents), over 0.
    Amount { amount: i64 },
    /// A kind synchub does not type, as the POS names it, with the
    /// promotion's value as sent.
    Other {
        method: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<Value>,
    },
}

/// What a promotion applies to, as the POS names them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Targets {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub brands: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vendors: Vec<String>,
}

/// One promotion, in `attributes.catalog.promotions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub discount: Discount,
    /// RFC 3339 (UTC, milliseconds); open when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    #[serde(skip_serializing_if = "is_empty")]
    pub targets: Targets,
}

fn is_empty(t: &Targets) -> bool {
    *t == Targets::default()
}

/// A discount kind as POS systems write it.
pub fn discount_kind(text: &str) -> Option<DiscountKind> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "percent" | "percentage" | "pct" | "%" | "percent_off" | "percentoff" => {
            DiscountKind::Percent
        }
        "amount" | "flat" | "fixed" | "dollar" | "dollars" | "amount_off" | "amountoff"
        | "fixed_amount" | "cash" => DiscountKind::Amount,
        _ => return None,
    })
}

/// The discount `value` of `kind`, checked; `Err` is the rule broken.
pub fn discount(value: &Value, kind: DiscountKind, units: PriceUnits) -> Result<Discount, String> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().trim_end_matches('%').trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
    .ok_or("must be a number")?;
    if n <= 0.0 {
        return Err("must be more than 0 (nothing off is no promotion)".into());
    }
    match (kind, units) {
        (DiscountKind::Percent, _) if n > 100.0 => Err("is a percentage over 100".into()),
        (DiscountKind::Percent, _) => Ok(Discount::Percent { value: n }),
        (DiscountKind::Amount, PriceUnits::Minor) if n.fract() != 0.0 => {
            Err("must be whole minor units (cents)".into())
        }
        (DiscountKind::Amount, _) if n > 1e10 => Err("is out of range".into()),
        (DiscountKind::Amount, PriceUnits::Minor) => Ok(Discount::Amount { amount: n as i64 }),
        (DiscountKind::Amount, PriceUnits::Major) => match (n * 100.0).round() as i64 {
            0 => Err("is less than a cent".into()),
            amount => Ok(Discount::Amount { amount }),
        },
    }
}

/// Text at a path inside one promotion (catalog's rule), named by its place.
fn text(promo: &Value, path: &str, at: &str) -> Result<Option<String>, ValidationError> {
    super::catalog::text(promo, path)
        .map_err(|e| ValidationError::new(format!("{at}.{}", e.field), e.rule))
}

/// The texts at a path that may end on a list (ids or names).
fn texts(promo: &Value, path: Option<&str>, at: &str) -> Result<Vec<String>, ValidationError> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    records(promo, path)
        .into_iter()
        .filter(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
        .map(|v| match v {
            Value::String(s) => Ok(s.trim().to_owned()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(ValidationError::new(
                format!("{at}.{path}"),
                "must hold ids or names (text or numbers)",
            )),
        })
        .collect()
}

/// The promotion's discount: of the kind it states (or the manifest's
/// default), or `Other` when it states a kind synchub does not type.
fn promotion_discount(
    paths: &PromotionPaths,
    promo: &Value,
    at: &str,
) -> Result<Discount, ValidationError> {
    let named = |p: &str| format!("{at}.{p}");
    let stated = match paths.kind.as_deref() {
        Some(p) => text(promo, p, at)?,
        None => None,
    };
    let value = value_at(promo, &paths.discount).filter(|v| !v.is_null());
    if let Some(method) = stated.as_deref().filter(|m| discount_kind(m).is_none()) {
        return Ok(Discount::Other {
            method: method.to_owned(),
            value: value.cloned(),
        });
    }
    let kind = stated
        .as_deref()
        .and_then(discount_kind)
        .or(paths.default_kind)
        .ok_or_else(|| {
            ValidationError::new(
                named(paths.kind.as_deref().unwrap_or("kind")),
                "is required: the promotion does not say whether it is a percentage or an amount off, and the manifest names no default_kind",
            )
        })?;
    let value = value.ok_or_else(|| {
        ValidationError::new(named(&paths.discount), "is required (the discount)")
    })?;
    discount(value, kind, paths.amount_units)
        .map_err(|rule| ValidationError::new(named(&paths.discount), rule))
}

/// A window time at an optional path, as (canonical RFC 3339, epoch millis).
fn window_time(
    promo: &Value,
    path: Option<&str>,
    format: TimeFormat,
    at: &str,
) -> Result<Option<(String, i64)>, ValidationError> {
    let Some(p) = path else {
        return Ok(None);
    };
    match value_at(promo, p) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => parse_time(v, format)
            .map(Some)
            .map_err(|rule| ValidationError::new(format!("{at}.{p}"), rule)),
    }
}

/// The promotion's (start, end) window; an end not after the start is refused.
fn promotion_window(
    paths: &PromotionPaths,
    promo: &Value,
    at: &str,
) -> Result<(Option<String>, Option<String>), ValidationError> {
    let format = paths.time_format.unwrap_or(TimeFormat::Rfc3339);
    let starts = window_time(promo, paths.starts_at.as_deref(), format, at)?;
    let ends = window_time(promo, paths.ends_at.as_deref(), format, at)?;
    if let (Some((_, from)), Some((_, to))) = (&starts, &ends) {
        if to <= from {
            let p = paths.ends_at.as_deref().unwrap_or("ends_at");
            return Err(ValidationError::new(
                format!("{at}.{p}"),
                "must be after the start",
            ));
        }
    }
    Ok((starts.map(|(t, _)| t), ends.map(|(t, _)| t)))
}

/// Reads one promotion; `at` is its place in the record, for errors.
fn promotion(
    paths: &PromotionPaths,
    promo: &Value,
    at: &str,
) -> Result<Promotion, ValidationError> {
    if !promo.is_object() {
        return Err(ValidationError::new(at, "must be an object"));
    }
    let id = text(promo, &paths.id, at)?.ok_or_else(|| {
        ValidationError::new(
            format!("{at}.{}", paths.id),
            "is required (the promotion's id)",
        )
    })?;
    let discount = promotion_discount(paths, promo, at)?;
    let (starts_at, ends_at) = promotion_window(paths, promo, at)?;
    Ok(Promotion {
        id,
        name: paths
            .name
            .as_deref()
            .map_or(Ok(None), |p| text(promo, p, at))?,
        discount,
        starts_at,
        ends_at,
        targets: Targets {
            products: texts(promo, paths.products.as_deref(), at)?,
            categories: texts(promo, paths.categories.as_deref(), at)?,
            brands: texts(promo, paths.brands.as_deref(), at)?,
            vendors: texts(promo, paths.vendors.as_deref(), at)?,
        },
    })
}

/// Every promotion `paths` finds on `record`, in the record's order.
pub fn promotions(
    paths: &PromotionPaths,
    record: &Value,
) -> Result<Vec<Promotion>, ValidationError> {
    records(record, &paths.path)
        .into_iter()
        .enumerate()
        .map(|(i, promo)| promotion(paths, promo, &format!("{}.{i}", paths.path)))
        .collect()
}

#[cfg(test)]
#[path = "promotion_tests.rs"]
mod tests;
