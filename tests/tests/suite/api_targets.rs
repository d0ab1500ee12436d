//! The dashboard's target switch, `PUT /api/tenants/{tenantId}/targets/{target}`,
//! in-process against the local engines and held to `openapi.yaml`: a
//! switch answers the tenant's targets and flags in effect as its status
//! shows them, repeats change nothing, bad input is named, and one tenant's
//! switch never touches another's settings.

use serde_json::{json, Value};
use synchub_lambda::Api;
use synchub_tests::api_contract::*;
use synchub_tests::square_server::SquareData;

/// Holds an answer of the switch to openapi.yaml.
fn check(contract: &mut Contract, a: &Answer) {
    let (s, b) = (a.status, &a.body);
    contract.check("PUT /api/tenants/{tenantId}/targets/{target}", s, b);
}

async fn put(api: &Api, path: &str, body: Option<&str>) -> Answer {
    call(api, "PUT", path, &[], body).await
}

#[tokio::test]
async fn a_switch_answers_the_targets_and_flags_as_the_status_shows_them() {
    let s = setup(SquareData::empty()).await;
    let (shop, other) = (s.tenant().await, s.tenant().await);
    // The canary list makes the flags' sources visible in both answers.
    let mut config = s.stack.config.clone();
    config.canary_tenants = vec![shop.clone()];
    let api = Api::new(&s.stack.aws, &config);
    let mut contract = Contract::new();
    let path = |target: &str| format!("/api/tenants/{shop}/targets/{target}");

    // The same warm API read the settings before the switch (and cached them).
    let before = get(&api, &format!("/api/tenants/{shop}/status"), &[]).await;
    assert_eq!(before.body["targetsDisabled"], json!([]), "{}", before.body);
    let off = put(&api, &path("crm"), Some(r#"{"enabled": false}"#)).await;
    // ... and sees its own write at once, not after the cache's minute.
    let warm = get(&api, &format!("/api/tenants/{shop}/status"), &[]).await;
    assert_eq!(
        warm.body["targetsDisabled"],
        json!(["crm"]),
        "{}",
        warm.body
    );

    assert_eq!(off.status, 200, "{}", off.body);
    check(&mut contract, &off);
    assert_eq!(off.body["tenantId"], shop.as_str());
    assert_eq!(
        (
            &off.body["target"],
            &off.body["enabled"],
            &off.body["changed"]
        ),
        (&json!("crm"), &json!(false), &json!(true))
    );
    assert_eq!(off.body["targetsDisabled"], json!(["crm"]));
    // A fresh API (no cached settings) reads the status the switch wrote.
    let status = get(
        &Api::new(&s.stack.aws, &config),
        &format!("/api/tenants/{shop}/status"),
        &[],
    )
    .await;
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.body["targetsDisabled"], off.body["targetsDisabled"]);
    assert_eq!(status.body["flags"], off.body["flags"]);
    assert!(
        off.body["flags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["source"] == "canary"),
        "{}",
        off.body
    );

    let again = put(&api, &path("crm"), Some(r#"{"enabled": false}"#)).await;
    assert_eq!((again.status, &again.body["changed"]), (200, &json!(false)));
    let storefront = put(&api, &path("storefront"), Some(r#"{"enabled": false}"#)).await;
    assert_eq!(
        storefront.body["targetsDisabled"],
        json!(["crm", "storefront"])
    );
    let on = put(&api, &path("crm"), Some(r#"{"enabled": true}"#)).await;
    assert_eq!(on.status, 200, "{}", on.body);
    check(&mut contract, &on);
    assert_eq!(on.body["targetsDisabled"], json!(["storefront"]));

    // The other tenant's settings are untouched.
    let theirs = get(
        &Api::new(&s.stack.aws, &config),
        &format!("/api/tenants/{other}/status"),
        &[],
    )
    .await;
    assert_eq!(theirs.body["targetsDisabled"], json!([]), "{}", theirs.body);
    assert_eq!(
        contract.succeeded.len(),
        1,
        "the switch answered as documented"
    );
}

#[tokio::test]
async fn bad_switches_are_refused_naming_the_field() {
    let s = setup(SquareData::empty()).await;
    let shop = s.tenant().await;
    let mut contract = Contract::new();
    let field = |a: &Answer| a.body["error"]["field"].as_str().map(str::to_owned);

    let cases: [(String, Option<&str>, u16, Option<&str>); 6] = [
        (
            format!("/api/tenants/{shop}/targets/erp"),
            Some(r#"{"enabled": true}"#),
            400,
            Some("target"),
        ),
        (
            format!("/api/tenants/{shop}/targets/pos"),
            None,
            400,
            Some("enabled"),
        ),
        (
            format!("/api/tenants/{shop}/targets/pos"),
            Some(r#"{"enabled": "yes"}"#),
            400,
            Some("enabled"),
        ),
        (
            format!("/api/tenants/{shop}/targets/pos"),
            Some(r#"{"enabled": true, "force": 1}"#),
            400,
            Some("force"),
        ),
        (
            "/api/tenants/bad!shop/targets/pos".into(),
            Some(r#"{"enabled": true}"#),
            400,
            Some("tenantId"),
        ),
        (
            "/api/tenants/no-such-shop/targets/pos".into(),
            Some(r#"{"enabled": true}"#),
            404,
            None,
        ),
    ];
    for (path, body, status, named) in cases {
        let a = put(&s.api, &path, body).await;
        assert_eq!(
            (a.status, field(&a).as_deref()),
            (status, named),
            "{path}: {}",
            a.body
        );
        check(&mut contract, &a);
    }
    // Nothing was switched by any of them.
    let status = get(&s.api, &format!("/api/tenants/{shop}/status"), &[]).await;
    assert_eq!(status.body["targetsDisabled"], json!([]));

    // Only PUT is routed there.
    let a = get(&s.api, &format!("/api/tenants/{shop}/targets/pos"), &[]).await;
    assert_eq!(
        (a.status, a.allow.as_deref()),
        (405, Some("PUT")),
        "{}",
        a.body
    );
    contract.check_error(&a.body);

    // A tenants table that cannot be read: a server-side error, as documented.
    let mut broken = s.stack.config.clone();
    broken.tenants_table = format!("{}-no-such-table", s.stack.prefix);
    let a = put(
        &Api::new(&s.stack.aws, &broken),
        &format!("/api/tenants/{shop}/targets/pos"),
        Some(r#"{"enabled": false}"#),
    )
    .await;
    assert!(a.status >= 500, "{}", a.body);
    check(&mut contract, &a);
    let body: &Value = &a.body;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("DynamoDB"),
        "{body}"
    );
    assert_eq!(
        contract.failed.len(),
        1,
        "its errors answered as documented"
    );
}
