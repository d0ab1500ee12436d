//! Structure-aware random requests to the operations API (issue 14), through
//! the real router against the local engines: every documented route, with
//! a known tenant, an unknown one or an arbitrary path segment, query
//! parameters of the documented names with arbitrary values, and bodies
//! that are valid ones with a field replaced or removed, arbitrary JSON, or
//! arbitrary bytes. Never a panic, never a 5xx: every answer is 2xx or a 4xx
//! whose error names its class and message, and a 400 names the field.
//!
//! 64 cases in the suite (a few seconds); `FUZZ_CASES=20000` runs about five
//! minutes.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use synchub_tests::api_contract::*;
use synchub_tests::square_server::SquareData;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
        Just(json!("2026-06-01T10:00:00Z")),
        Just(json!("orders")),
        Just(json!("catalog_item")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("dataTypes".to_owned()),
                    Just("since".to_owned()),
                    Just("until".to_owned()),
                    Just("dryRun".to_owned()),
                    Just("kinds".to_owned()),
                    Just("timeoutMs".to_owned()),
                    Just("enabled".to_owned()),
                    "[a-zA-Z]{1,8}",
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid body with up to two fields replaced by any JSON or removed.
fn mutated(valid: Value) -> impl Strategy<Value = String> {
    let keys: Vec<String> = valid
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let edit = (
        prop::sample::select(if keys.is_empty() {
            vec!["x".to_owned()]
        } else {
            keys
        }),
        prop::option::weighted(0.8, arb_json()),
    );
    prop::collection::vec(edit, 0..3).prop_map(move |edits| {
        let mut doc = valid.clone();
        for (key, value) in edits {
            if let Some(map) = doc.as_object_mut() {
                match value {
                    Some(v) => map.insert(key, v),
                    None => map.remove(&key),
                };
            }
        }
        doc.to_string()
    })
}

/// (method, path template, a valid body) of every documented operation.
fn operations() -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("GET", "/api/health", None),
        ("GET", "/api/gate", None),
        ("GET", "/api/metrics", None),
        ("GET", "/api/tenants", None),
        ("GET", "/api/failures", None),
        ("GET", "/api/method-stats", None),
        ("GET", "/api/tenants/{t}/status", None),
        ("GET", "/api/tenants/{t}/trace", None),
        ("GET", "/api/tenants/{t}/runs", None),
        (
            "POST",
            "/api/tenants/{t}/runs",
            Some(json!({"dataTypes": ["catalog"], "dryRun": true})),
        ),
        (
            "POST",
            "/api/tenants/{t}/replay",
            Some(json!({"since": "2026-06-01T00:00:00Z", "until": "2026-06-01T02:00:00Z"})),
        ),
        (
            "PUT",
            "/api/tenants/{t}/targets/crm",
            Some(json!({"enabled": false})),
        ),
        (
            "POST",
            "/api/tenants/{t}/ensure",
            Some(json!({"dataTypes": ["catalog"], "timeoutMs": 500})),
        ),
    ]
}

const QUERY_NAMES: [&str; 9] = [
    "limit", "cursor", "kind", "id", "since", "until", "tenantId", "window", "x",
];

fn check(status: u16, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!(
        (200..300).contains(&status) || (400..500).contains(&status),
        "status {status}: {body}"
    );
    if status >= 400 {
        let error = &body["error"];
        prop_assert!(error["class"].is_string(), "{body}");
        prop_assert!(
            !error["message"].as_str().unwrap_or_default().is_empty(),
            "{body}"
        );
        if status == 400 {
            prop_assert!(
                !error["field"].as_str().unwrap_or_default().is_empty(),
                "a 400 names its field: {body}"
            );
        }
    }
    Ok(())
}

#[test]
fn any_api_request_is_answered_or_refused_with_a_4xx_naming_what_is_wrong() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = runtime.block_on(setup(SquareData::empty()));
    let tenant = runtime.block_on(s.tenant());
    let ops = operations();
    let bodies = ops.clone();
    let strategy = (0..ops.len()).prop_flat_map(move |op| {
        let body = match &bodies[op].2 {
            Some(valid) => prop_oneof![
                4 => mutated(valid.clone()).prop_map(Some),
                1 => arb_json().prop_map(|v| Some(v.to_string())),
                1 => prop::collection::vec(any::<u8>(), 0..200)
                    .prop_map(|b| Some(String::from_utf8_lossy(&b).into_owned())),
            ]
            .boxed(),
            None => Just(None).boxed(),
        };
        (Just(op), body)
    });
    let strategy = (
        strategy,
        prop_oneof![
            3 => Just(tenant.clone()),
            1 => Just("nobody-here".to_owned()),
            1 => "[A-Za-z0-9_.~-]{0,80}",
        ],
        prop::collection::vec(
            (prop::sample::select(QUERY_NAMES.to_vec()), "\\PC{0,40}"),
            0..4,
        ),
    );
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |((op, body), segment, query)| {
            let (method, template, _) = &ops[op];
            let path = template.replace("{t}", &segment);
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let answer = runtime.block_on(call(&s.api, method, &path, &query, body.as_deref()));
            check(answer.status, &answer.body).map_err(|e| {
                TestCaseError::fail(format!("{method} {path} {query:?} {body:?}: {e}"))
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
