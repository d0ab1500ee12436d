use super::*;
use proptest::prelude::*;
use serde_json::json;

fn paths(v: Value) -> PromotionPaths {
    serde_json::from_value(v).unwrap()
}

fn dutchie_like() -> PromotionPaths {
    paths(
        json!({"path": "specials", "id": "id", "name": "title", "discount": "value",
        "kind": "type", "amount_units": "major", "starts_at": "from", "ends_at": "to",
        "products": "productIds", "categories": "categories.*.name", "brands": "brand", "vendors": "vendorIds"}),
    )
}

#[test]
fn a_records_promotions_read_into_one_shape() {
    let record = json!({"specials": [
        {"id": 7, "title": " Happy hour ", "value": "20%", "type": "Percentage",
         "from": "2026-06-01T16:00:00-07:00", "to": "2026-06-01T18:00:00-07:00",
         "productIds": [11, "12"], "categories": [{"name": "Flower"}, {"name": null}], "brand": "Acme", "vendorIds": []},
        {"id": "b2", "value": 2.5, "type": "flat"}
    ]});
    let found = promotions(&dutchie_like(), &record).unwrap();
    assert_eq!(
        serde_json::to_value(&found).unwrap(),
        json!([
            {"id": "7", "name": "Happy hour", "discount": {"kind": "percent", "value": 20.0},
             "startsAt": "2026-06-01T23:00:00.000Z", "endsAt": "2026-06-02T01:00:00.000Z",
             "targets": {"products": ["11", "12"], "categories": ["Flower"], "brands": ["Acme"]}},
            {"id": "b2", "discount": {"kind": "amount", "amount": 250}}
        ])
    );
    assert!(promotions(&dutchie_like(), &json!({"specials": []}))
        .unwrap()
        .is_empty());
    assert!(promotions(&dutchie_like(), &json!({"name": "no specials"}))
        .unwrap()
        .is_empty());
}

#[test]
fn an_unreadable_or_impossible_promotion_names_its_place_and_the_rule() {
    let refused = |promo: Value| {
        promotions(
            &dutchie_like(),
            &json!({"specials": [{"id": 1, "value": 5, "type": "percent"}, promo]}),
        )
        .unwrap_err()
    };
    let e = refused(json!({"id": 2, "value": 0, "type": "percent"}));
    assert_eq!(e.field, "specials.1.value");
    assert!(e.rule.contains("more than 0"), "{e}");
    let e = refused(json!({"id": 2, "value": 120, "type": "percent"}));
    assert_eq!(
        (e.field.as_str(), e.rule.as_str()),
        ("specials.1.value", "is a percentage over 100")
    );
    let e = refused(json!({"id": 2, "value": 5}));
    assert_eq!(e.field, "specials.1.type");
    assert!(e.rule.contains("default_kind"), "{e}");
    let e = refused(json!({"value": 5, "type": "percent"}));
    assert_eq!(e.field, "specials.1.id");
    let e = refused(json!({"id": 2, "value": 5, "type": "percent",
        "from": "2026-06-02T00:00:00Z", "to": "2026-06-01T00:00:00Z"}));
    assert_eq!(
        (e.field.as_str(), e.rule.as_str()),
        ("specials.1.to", "must be after the start")
    );
    let e = refused(json!({"id": 2, "value": 5, "type": "percent", "from": "next tuesday"}));
    assert_eq!(e.field, "specials.1.from");
    let e = refused(json!({"id": 2, "value": 5, "type": "percent", "productIds": [{"id": 1}]}));
    assert_eq!(e.field, "specials.1.productIds");
    let e = refused(json!("20% off"));
    assert_eq!(e.field, "specials.1");
    // Minor units must be whole cents.
    let mut minor = dutchie_like();
    minor.amount_units = PriceUnits::Minor;
    let e = promotions(
        &minor,
        &json!({"specials": [{"id": 1, "value": 2.5, "type": "amount"}]}),
    )
    .unwrap_err();
    assert_eq!(e.field, "specials.0.value");
}

#[test]
fn a_default_kind_serves_promotions_that_do_not_say() {
    let p = paths(
        json!({"path": "deal", "id": "code", "discount": "pct", "default_kind": "percent",
        "starts_at": "start", "time_format": "epoch_seconds"}),
    );
    let found = promotions(
        &p,
        &json!({"deal": {"code": "SUMMER", "pct": 15, "start": 1780308000}}),
    )
    .unwrap();
    assert_eq!(found[0].discount, Discount::Percent { value: 15.0 });
    assert_eq!(
        found[0].starts_at.as_deref(),
        Some("2026-06-01T10:00:00.000Z")
    );
    assert_eq!(found[0].ends_at, None);
}

#[test]
fn a_kind_synchub_does_not_type_is_kept_as_the_pos_names_it() {
    let record = json!({"specials": [{"id": 3, "value": "1", "type": "BOGO", "brand": "Acme"},
        {"id": 4, "type": "BUNDLE"}]});
    let found = promotions(&dutchie_like(), &record).unwrap();
    assert_eq!(
        serde_json::to_value(&found).unwrap(),
        json!([
            {"id": "3", "discount": {"kind": "other", "method": "BOGO", "value": "1"}, "targets": {"brands": ["Acme"]}},
            {"id": "4", "discount": {"kind": "other", "method": "BUNDLE"}}
        ])
    );
    // Its window is still checked.
    let e = promotions(
        &dutchie_like(),
        &json!({"specials": [{"id": 3, "type": "BOGO",
        "from": "2026-06-02T00:00:00Z", "to": "2026-06-01T00:00:00Z"}]}),
    )
    .unwrap_err();
    assert_eq!(e.field, "specials.0.to");
}

proptest! {
    /// Whatever the POS sends, a promotion is refused or kept with a
    /// discount in range and a window that starts before it ends.
    #[test]
    fn every_kept_promotion_is_in_range(
        value in prop_oneof![any::<f64>().prop_map(|f| json!(f)), any::<i64>().prop_map(|i| json!(i)), "\\PC{0,8}".prop_map(|s| json!(s))],
        kind in prop_oneof![Just("percent"), Just("amount"), Just("flat"), Just("x")],
        from in 0i64..4_000_000_000, length in -1_000_000i64..1_000_000,
    ) {
        let record = json!({"specials": [{"id": 1, "value": value, "type": kind, "from": format!("{from}"), "to": format!("{}", from + length)}]});
        let mut p = dutchie_like();
        p.time_format = Some(TimeFormat::EpochSeconds);
        if let Ok(found) = promotions(&p, &record) {
            let promo = &found[0];
            match promo.discount {
                Discount::Percent { value } => prop_assert!(value > 0.0 && value <= 100.0),
                Discount::Amount { amount } => prop_assert!(amount > 0),
                Discount::Other { ref method, .. } => prop_assert_eq!(method.as_str(), "x"),
            }
            prop_assert!(length > 0, "{:?}", promo);
            prop_assert!(promo.starts_at < promo.ends_at);
        }
    }
}
