//! Typed catalog fields: what cannabis retailers sync for, read from a POS
//! record by the stream's `mapping.catalog` paths into one shape whatever
//! the POS (brand, strain, category, potency with its unit, lab test date,
//! weight or volume, price per location, image URLs, promotions). A value that is
//! present but cannot be read is refused with the path and the rule, so a
//! product never lands with a potency or a price synchub misread.

use super::manifest::TimeFormat;
use super::mapping::{parse_time, records, value_at};
use super::promotion::{promotions, Promotion, PromotionPaths};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use synchub_model::ids::ValidationError;

/// `mapping.catalog`: typed field → the record's path.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogPaths {
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub strain: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// THC: a number, or text with its unit (`21.3%`, `12.5 mg`, `210 mg/g`).
    #[serde(default)]
    pub thc: Option<String>,
    #[serde(default)]
    pub cbd: Option<String>,
    /// The paths of THC's and CBD's units, when the record keeps them apart.
    #[serde(default)]
    pub thc_unit: Option<String>,
    #[serde(default)]
    pub cbd_unit: Option<String>,
    /// The unit of a potency given as a bare number with no unit path.
    #[serde(default)]
    pub potency_unit: Option<PotencyUnit>,
    /// When the lab tested the product (RFC 3339).
    #[serde(default)]
    pub lab_tested_at: Option<String>,
    /// Weight or volume: a number, or text with its unit (`3.5g`).
    #[serde(default)]
    pub size: Option<String>,
    /// The path of the size's unit, when the record keeps it apart.
    #[serde(default)]
    pub size_unit: Option<String>,
    /// The unit of a bare size with no unit path (`g`).
    #[serde(default)]
    pub default_size_unit: Option<String>,
    #[serde(default)]
    pub price: Option<String>,
    /// Whether the price is in minor units (cents; the default) or major.
    #[serde(default)]
    pub price_units: PriceUnits,
    /// The path of the price's currency (USD when absent).
    #[serde(default)]
    pub currency: Option<String>,
    /// The path of the location the price is for (all locations when absent).
    #[serde(default)]
    pub price_location: Option<String>,
    /// An image URL, or a list of them (`*` flattens: `assets.*.publicURL`).
    #[serde(default)]
    pub images: Option<String>,
    /// The promotions the record carries (see `promotion`).
    #[serde(default)]
    pub promotions: Option<PromotionPaths>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PotencyUnit {
    Percent,
    Mg,
    MgPerG,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceUnits {
    #[default]
    Minor,
    Major,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeUnit {
    Mg,
    G,
    Kg,
    Oz,
    Lb,
    Ml,
    L,
    Each,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Potency {
    pub value: f64,
    pub unit: PotencyUnit,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Size {
    pub value: f64,
    pub unit: SizeUnit,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationPrice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// Minor units (cents).
    pub amount: i64,
    pub currency: String,
}

/// The typed fields of one catalog record (`attributes.catalog`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thc: Option<Potency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cbd: Option<Potency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lab_tested_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<Size>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prices: Vec<LocationPrice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub promotions: Vec<Promotion>,
}

/// A number and the unit text after it (`21.3%` → (21.3, "%")).
fn number_and_unit(value: &Value) -> Result<(f64, String), &'static str> {
    let (n, unit) = match value {
        Value::Number(n) => (n.as_f64().ok_or("must be a number")?, String::new()),
        Value::String(s) => {
            let s = s.trim();
            let split = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
                .unwrap_or(s.len());
            let n = s[..split]
                .parse::<f64>()
                .map_err(|_| "must start with a number")?;
            (n, s[split..].trim().to_ascii_lowercase())
        }
        _ => return Err("must be a number or text such as 21.3%"),
    };
    if !n.is_finite() || n < 0.0 {
        return Err("must be a finite number, not negative");
    }
    Ok((n, unit))
}

/// A potency unit as POS systems write it.
pub fn potency_unit(text: &str) -> Option<PotencyUnit> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "%" | "percent" | "pct" => PotencyUnit::Percent,
        "mg" | "milligrams" => PotencyUnit::Mg,
        "mg/g" | "mgg" | "mg_per_g" => PotencyUnit::MgPerG,
        _ => return None,
    })
}

/// A potency: `21.3%`, `12.5 mg`, `210 mg/g`, or a number in `bare`.
pub fn potency(value: &Value, bare: Option<PotencyUnit>) -> Result<Potency, &'static str> {
    let (n, unit) = number_and_unit(value)?;
    let unit = match unit.as_str() {
        "" => bare.ok_or(
            "has no unit and the manifest names none (thc_unit, cbd_unit or potency_unit)",
        )?,
        text => potency_unit(text).ok_or("has an unknown potency unit (%, mg or mg/g)")?,
    };
    if unit == PotencyUnit::Percent && n > 100.0 {
        return Err("is a percentage over 100");
    }
    if unit == PotencyUnit::MgPerG && n > 1000.0 {
        return Err("is over 1000 mg/g");
    }
    Ok(Potency { value: n, unit })
}

/// A size unit's name as POS systems write it.
pub fn size_unit(text: &str) -> Option<SizeUnit> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "mg" | "milligram" | "milligrams" => SizeUnit::Mg,
        "g" | "gram" | "grams" | "gr" => SizeUnit::G,
        "kg" | "kilogram" | "kilograms" => SizeUnit::Kg,
        "oz" | "ounce" | "ounces" => SizeUnit::Oz,
        "lb" | "lbs" | "pound" | "pounds" => SizeUnit::Lb,
        "ml" | "milliliter" | "milliliters" => SizeUnit::Ml,
        "l" | "liter" | "liters" => SizeUnit::L,
        "each" | "ea" | "unit" | "units" | "count" => SizeUnit::Each,
        _ => return None,
    })
}

/// Text at `path` (a number reads as its digits); null and empty text are absent.
pub(super) fn text(record: &Value, path: &str) -> Result<Option<String>, ValidationError> {
    match value_at(record, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ValidationError::new(path, "must be text")),
    }
}

/// The value at an optional path; null and empty text read as absent.
fn at<'a>(record: &'a Value, path: Option<&'a String>) -> Option<(&'a str, &'a Value)> {
    let path = path?;
    match value_at(record, path)? {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        v => Some((path.as_str(), v)),
    }
}

fn image_url(path: &str, v: &Value) -> Result<String, ValidationError> {
    let url = v
        .as_str()
        .map(str::trim)
        .ok_or_else(|| ValidationError::new(path, "must be a URL or a list of URLs"))?;
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(char::is_whitespace)
    {
        return Err(ValidationError::new(path, "must hold http(s) URLs"));
    }
    Ok(url.to_owned())
}

/// Text at an optional path (see `text`); no path reads as absent.
fn optional_text(record: &Value, path: &Option<String>) -> Result<Option<String>, ValidationError> {
    path.as_deref().map_or(Ok(None), |p| text(record, p))
}

/// The unit a bare potency is in: the record's unit at `unit_path` when it
/// has one, else the manifest's `potency_unit`.
fn bare_potency_unit(
    paths: &CatalogPaths,
    record: &Value,
    unit_path: &Option<String>,
) -> Result<Option<PotencyUnit>, ValidationError> {
    Ok(match unit_path.as_deref() {
        Some(up) => match text(record, up)? {
            Some(u) => Some(potency_unit(&u).ok_or_else(|| {
                ValidationError::new(up, "is not a potency unit (%, mg or mg/g)")
            })?),
            None => paths.potency_unit,
        },
        None => paths.potency_unit,
    })
}

/// The potency at `path` (THC or CBD), its unit read from `unit_path`.
fn potency_at(
    paths: &CatalogPaths,
    record: &Value,
    path: &Option<String>,
    unit_path: &Option<String>,
) -> Result<Option<Potency>, ValidationError> {
    let Some((path, v)) = at(record, path.as_ref()) else {
        return Ok(None);
    };
    let bare = bare_potency_unit(paths, record, unit_path)?;
    potency(v, bare)
        .map(Some)
        .map_err(|r| ValidationError::new(path, r))
}

/// When the lab tested the product, as canonical RFC 3339.
fn lab_test_date(paths: &CatalogPaths, record: &Value) -> Result<Option<String>, ValidationError> {
    at(record, paths.lab_tested_at.as_ref())
        .map(|(path, v)| {
            parse_time(v, TimeFormat::Rfc3339)
                .map(|(t, _)| t)
                .map_err(|r| ValidationError::new(path, r))
        })
        .transpose()
}

/// The size's unit text and the path it was read from: the unit written
/// after the size, else the record's `size_unit`, else the manifest's
/// `default_size_unit`.
fn size_unit_text<'a>(
    paths: &'a CatalogPaths,
    record: &Value,
    size_path: &'a str,
    inline: String,
) -> Result<(&'a str, String), ValidationError> {
    Ok(match (inline.is_empty(), paths.size_unit.as_deref()) {
        (false, _) => (size_path, inline),
        (true, Some(up)) => (
            up,
            text(record, up)?
                .ok_or_else(|| ValidationError::new(up, "is required beside a size"))?,
        ),
        (true, None) => match paths.default_size_unit.clone() {
            Some(unit) => ("default_size_unit", unit),
            None => {
                return Err(ValidationError::new(
                    size_path,
                    "has no unit and the manifest names none (size_unit or default_size_unit)",
                ))
            }
        },
    })
}

/// The product's weight, volume or count.
fn package_size(paths: &CatalogPaths, record: &Value) -> Result<Option<Size>, ValidationError> {
    let Some((path, v)) = at(record, paths.size.as_ref()) else {
        return Ok(None);
    };
    let (value, inline) = number_and_unit(v).map_err(|r| ValidationError::new(path, r))?;
    let (unit_path, unit_text) = size_unit_text(paths, record, path, inline)?;
    let unit = size_unit(&unit_text).ok_or_else(|| {
        ValidationError::new(
            unit_path,
            "is not a weight, volume or count unit (g, mg, kg, oz, lb, ml, l, each)",
        )
    })?;
    Ok(Some(Size { value, unit }))
}

/// A price amount in minor units (cents), as the manifest's `price_units` says.
fn price_in_minor_units(
    paths: &CatalogPaths,
    path: &str,
    v: &Value,
) -> Result<f64, ValidationError> {
    let (n, unit) = number_and_unit(v).map_err(|r| ValidationError::new(path, r))?;
    if !unit.is_empty() {
        return Err(ValidationError::new(path, "must be a plain amount"));
    }
    let amount = match paths.price_units {
        PriceUnits::Minor if n.fract() == 0.0 => n,
        PriceUnits::Minor => {
            return Err(ValidationError::new(
                path,
                "must be whole minor units (cents)",
            ))
        }
        PriceUnits::Major => (n * 100.0).round(),
    };
    if amount > 1e12 {
        return Err(ValidationError::new(path, "is out of range"));
    }
    Ok(amount)
}

/// The price's ISO 4217 currency, upper-cased (USD when the record has none).
fn price_currency(paths: &CatalogPaths, record: &Value) -> Result<String, ValidationError> {
    let currency = optional_text(record, &paths.currency)?.unwrap_or_else(|| "USD".into());
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        let p = paths.currency.as_deref().unwrap_or("currency");
        return Err(ValidationError::new(p, "must be an ISO 4217 code"));
    }
    Ok(currency.to_ascii_uppercase())
}

/// The record's price, for its location (or all locations).
fn location_prices(
    paths: &CatalogPaths,
    record: &Value,
) -> Result<Vec<LocationPrice>, ValidationError> {
    let Some((path, v)) = at(record, paths.price.as_ref()) else {
        return Ok(Vec::new());
    };
    let amount = price_in_minor_units(paths, path, v)?;
    let currency = price_currency(paths, record)?;
    Ok(vec![LocationPrice {
        location_id: optional_text(record, &paths.price_location)?,
        amount: amount as i64,
        currency,
    }])
}

/// The product's image URLs, empty entries skipped.
fn image_urls(paths: &CatalogPaths, record: &Value) -> Result<Vec<String>, ValidationError> {
    match paths.images.as_deref() {
        None => Ok(Vec::new()),
        Some(path) => records(record, path)
            .into_iter()
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .map(|v| image_url(path, v))
            .collect(),
    }
}

/// Reads the typed fields `paths` names from `record`.
pub fn catalog_fields(
    paths: &CatalogPaths,
    record: &Value,
) -> Result<CatalogFields, ValidationError> {
    let lab_tested_at = lab_test_date(paths, record)?;
    let size = package_size(paths, record)?;
    let prices = location_prices(paths, record)?;
    let images = image_urls(paths, record)?;
    Ok(CatalogFields {
        brand: optional_text(record, &paths.brand)?,
        strain: optional_text(record, &paths.strain)?,
        category: optional_text(record, &paths.category)?,
        thc: potency_at(paths, record, &paths.thc, &paths.thc_unit)?,
        cbd: potency_at(paths, record, &paths.cbd, &paths.cbd_unit)?,
        lab_tested_at,
        size,
        prices,
        images,
        promotions: match &paths.promotions {
            Some(p) => promotions(p, record)?,
            None => Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn paths(v: Value) -> CatalogPaths {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_pos_shape_reads_into_one_typed_record() {
        let p = paths(
            json!({"brand": "b", "strain": "s", "category": "c", "thc": "thc", "thc_unit": "thcUnit",
            "cbd": "cbd", "potency_unit": "percent", "lab_tested_at": "lab", "size": "w", "size_unit": "wu",
            "price": "price", "price_units": "major", "currency": "cur", "price_location": "loc", "images": "assets.*.url"}),
        );
        let r = json!({"b": " Acme ", "s": "Blue Dream", "c": "Flower", "thc": 100, "thcUnit": "MG", "cbd": "0.4",
            "lab": "2026-05-01T10:00:00-07:00", "w": "3.5", "wu": "Grams", "price": "19.99", "cur": "cad", "loc": 7,
            "assets": [{"url": "https://images.test/a.png"}, {"url": null}, {"url": "https://images.test/b.png"}]});
        let f = catalog_fields(&p, &r).unwrap();
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"brand": "Acme", "strain": "Blue Dream", "category": "Flower",
                "thc": {"value": 100.0, "unit": "mg"}, "cbd": {"value": 0.4, "unit": "percent"},
                "labTestedAt": "2026-05-01T17:00:00.000Z", "size": {"value": 3.5, "unit": "g"},
                "prices": [{"locationId": "7", "amount": 1999, "currency": "CAD"}],
                "images": ["https://images.test/a.png", "https://images.test/b.png"]})
        );
    }

    #[test]
    fn units_inline_win_and_absent_values_stay_absent() {
        let p = paths(
            json!({"thc": "thc", "size": "w", "default_size_unit": "g", "price": "p", "images": "img"}),
        );
        let f = catalog_fields(
            &p,
            &json!({"thc": "21.3 %", "w": "1oz", "p": 3500, "img": ""}),
        )
        .unwrap();
        assert_eq!(
            f.thc,
            Some(Potency {
                value: 21.3,
                unit: PotencyUnit::Percent
            })
        );
        assert_eq!(
            f.size,
            Some(Size {
                value: 1.0,
                unit: SizeUnit::Oz
            })
        );
        assert_eq!(
            (f.prices[0].amount, f.prices[0].currency.as_str()),
            (3500, "USD")
        );
        assert!(f.images.is_empty());
        let f = catalog_fields(&p, &json!({"thc": null, "w": 2})).unwrap();
        assert_eq!((f.thc, f.size.map(|s| s.unit)), (None, Some(SizeUnit::G)));
    }

    #[test]
    fn a_value_that_cannot_be_read_names_its_path_and_rule() {
        let p = paths(
            json!({"thc": "potency.thc", "cbd": "cbd", "size": "w", "size_unit": "wu", "price": "p", "images": "img", "currency": "cur"}),
        );
        let cases = [
            (
                json!({"potency": {"thc": "lots"}}),
                "potency.thc",
                "must start with a number",
            ),
            (
                json!({"potency": {"thc": "120%"}}),
                "potency.thc",
                "is a percentage over 100",
            ),
            (
                json!({"potency": {"thc": "12 ppm"}}),
                "potency.thc",
                "has an unknown potency unit",
            ),
            (json!({"cbd": 4}), "cbd", "has no unit"),
            (json!({"cbd": "-1%"}), "cbd", "not negative"),
            (json!({"w": 3.5, "wu": "handful"}), "wu", "is not a weight"),
            (json!({"w": 3.5}), "wu", "is required beside a size"),
            (json!({"p": 12.5}), "p", "whole minor units"),
            (json!({"p": 100, "cur": "dollars"}), "cur", "ISO 4217"),
            (json!({"img": ["ftp://x/y.png"]}), "img", "http(s) URLs"),
            (json!({"img": {"url": 1}}), "img", "must be a URL"),
        ];
        for (record, field, rule) in cases {
            let e = catalog_fields(&p, &record).unwrap_err();
            assert_eq!(e.field, field, "{record}");
            assert!(e.to_string().contains(rule), "{record}: {e}");
        }
    }

    proptest! {
        #[test]
        fn a_potency_reads_back_whatever_way_a_pos_writes_it(
            tenths in 0u32..1000, unit in prop::sample::select(vec!["%", " %", "percent", "mg", " mg", "mg/g", "MG/G"]),
            as_number in any::<bool>(),
        ) {
            let value = f64::from(tenths) / 10.0;
            let text = json!(format!("{value}{unit}"));
            let want = potency_unit(unit).unwrap();
            let read = if as_number { potency(&json!(value), Some(want)) } else { potency(&text, None) };
            prop_assert_eq!(read, Ok(Potency { value, unit: want }));
        }

        #[test]
        fn any_record_is_read_or_refused_by_path_never_a_panic(record in any::<String>().prop_map(|s| json!({"thc": s.clone(), "w": s.clone(), "p": s}))) {
            let p = paths(json!({"thc": "thc", "potency_unit": "mg", "size": "w", "default_size_unit": "g", "price": "p", "price_units": "major"}));
            match catalog_fields(&p, &record) {
                Ok(f) => prop_assert!(f.thc.is_none_or(|t| t.value.is_finite() && t.value >= 0.0)),
                Err(e) => prop_assert!(["thc", "w", "p", "default_size_unit"].contains(&e.field.as_str()), "{}", e),
            }
        }
    }
}
