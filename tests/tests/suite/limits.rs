//! Every input from outside has an upper bound (issue 14): docs/operating.md's
//! "Limits" table is held to the code's constants and rules, and each input
//! one past its bound goes through the real handlers, whose AWS clients
//! reach the engines only through a counting proxy: every one is refused
//! with its 4xx naming the field or header, and no AWS request is made.

use serde_json::{json, Value};
use synchub_core::domain::limits::*;
use synchub_core::domain::{EventId, Sku, TenantId};
use synchub_core::ports::TenantSettings;
use synchub_lambda::{Api, Ingest};
use synchub_ops::tenants::change::SettingsChange;
use synchub_tests::api_contract::call;
use synchub_tests::lambda_emulator::CountingProxy;
use synchub_tests::*;

/// The row of docs/operating.md's Limits table whose first cell is `label`.
fn readme_row(label: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("docs/operating.md")).unwrap();
    let section = readme
        .split("## Limits")
        .nth(1)
        .expect("docs/operating.md has a Limits section");
    section
        .lines()
        .find(|l| l.starts_with(&format!("| {label} |")))
        .unwrap_or_else(|| panic!("docs/operating.md's Limits table has no row {label:?}"))
        .to_owned()
}

#[test]
fn the_limits_table_states_the_bounds_the_code_enforces() {
    use synchub_ops as ops;
    let bound = |label: &str, numbers: &[String]| {
        let row = readme_row(label);
        let cell = row.split('|').nth(2).unwrap_or_default();
        for n in numbers {
            assert!(
                cell.split(|c: char| !c.is_ascii_digit()).any(|w| w == n),
                "docs/operating.md says {cell:?} for {label}; the code's bound is {n}"
            );
        }
    };
    let s = |n: usize| n.to_string();
    bound(
        "webhook body",
        &[s(synchub_core::app::ingest::MAX_BODY_BYTES)],
    );
    bound("`webhook-id`", &[s(WEBHOOK_HEADER_BYTES)]);
    bound(
        "`webhook-timestamp`",
        &[synchub_core::domain::webhook_signature::TOLERANCE_SECONDS.to_string()],
    );
    bound(
        "`webhook-signature`",
        &[
            s(SIGNATURE_HEADER_BYTES),
            s(synchub_core::domain::webhook_signature::MAX_SIGNATURES),
        ],
    );
    bound(
        "`X-Shopify-Hmac-Sha256`, `x-square-hmacsha256-signature`",
        &[s(PROVIDER_SIGNATURE_BYTES)],
    );
    bound(
        "`X-Shopify-Topic`, `X-Shopify-Event-Id`, `X-Shopify-Webhook-Id`, `X-Shopify-Triggered-At`",
        &[s(WEBHOOK_HEADER_BYTES)],
    );
    bound(
        "entity id from a POS or provider",
        &[s(synchub_core::domain::ids::MAX_ENTITY_ID)],
    );
    bound("trace `id`", &[s(ops::trace::MAX_ID_CHARS)]);
    bound("operations API body", &[s(API_BODY_BYTES)]);
    bound("operations API query value", &[s(API_QUERY_VALUE_BYTES)]);
    bound(
        "operations API query parameters",
        &[s(API_QUERY_PARAMETERS)],
    );
    bound(
        "list in an operations API body (`dataTypes`, `kinds`)",
        &[s(API_LIST_ITEMS)],
    );
    bound(
        "`limit` of runs, tenants, failures",
        &[
            s(ops::MAX_RUNS_LIMIT),
            s(ops::fleet::MAX_TENANTS_LIMIT),
            s(ops::fleet::MAX_FAILURES_LIMIT),
        ],
    );
    bound(
        "replay window",
        &[ops::replay::MAX_WINDOW_HOURS.to_string()],
    );
    bound(
        "ensure `timeoutMs`",
        &[synchub_core::domain::ensure::MAX_TIMEOUT_MS.to_string()],
    );
    bound("a tenant's alert recipients", &[s(ALERT_RECIPIENTS)]);
    bound("a tenant's allowed suppliers", &[s(ALLOWED_SUPPLIERS)]);
    bound("a tenant's POS connections", &[s(POS_CONNECTIONS)]);
    // The id rules: the stated length passes, one more is refused.
    for (label, parse) in [
        (
            "tenant id (path, settings, queued body)",
            (|t: &str| TenantId::parse(t).is_ok()) as fn(&str) -> bool,
        ),
        ("event id", |t| EventId::parse(t).is_ok()),
        ("SKU", |t| Sku::parse(t).is_ok()),
        ("supplier id", |t| {
            synchub_core::domain::ids::SupplierId::parse(t).is_ok()
        }),
    ] {
        let row = readme_row(label);
        let n: usize = row
            .split('|')
            .nth(2)
            .and_then(|c| c.split_whitespace().next())
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no number in {row}"));
        assert!(parse(&"a".repeat(n)), "{label}: {n} characters pass");
        assert!(!parse(&"a".repeat(n + 1)), "{label}: {} are refused", n + 1);
    }
}

#[test]
fn a_tenant_setting_list_past_its_bound_is_refused_naming_it() {
    let settings = TenantSettings {
        tenant_id: "shop".into(),
        name: "Shop".into(),
        active: true,
        storefront_url: None,
        targets_disabled: vec![],
        alert_recipients: vec![],
        daily_summary: false,
        square_notification_url: None,
        flag_overrides: Default::default(),
        sync_method: None,
        allowed_suppliers: vec![],
        pos: vec![],
    };
    let many = |n: usize, f: fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>();
    let cases = [
        (
            "alertRecipients",
            SettingsChange {
                alert_recipients: Some(many(ALERT_RECIPIENTS + 1, |i| {
                    format!("ops{i}@example.com")
                })),
                ..Default::default()
            },
            SettingsChange {
                alert_recipients: Some(many(ALERT_RECIPIENTS, |i| format!("ops{i}@example.com"))),
                ..Default::default()
            },
        ),
        (
            "allowedSuppliers",
            SettingsChange {
                allow_suppliers: many(ALLOWED_SUPPLIERS + 1, |i| format!("sup-{i}")),
                ..Default::default()
            },
            SettingsChange {
                allow_suppliers: many(ALLOWED_SUPPLIERS, |i| format!("sup-{i}")),
                ..Default::default()
            },
        ),
    ];
    for (field, past, at) in cases {
        let e = past.apply(&settings).expect_err("past the bound");
        assert_eq!(e.field, field, "{e}");
        assert!(e.rule.contains("at most"), "{e}");
        assert!(at.apply(&settings).is_ok(), "{field} at its bound");
    }
    // Applied twice over, the allowlist still stops at its bound.
    let (half, _) = SettingsChange {
        allow_suppliers: many(ALLOWED_SUPPLIERS, |i| format!("sup-{i}")),
        ..Default::default()
    }
    .apply(&settings)
    .unwrap();
    let more = SettingsChange {
        allow_suppliers: vec!["sup-extra".into()],
        ..Default::default()
    };
    assert_eq!(more.apply(&half).unwrap_err().field, "allowedSuppliers");
}

const ENDPOINTS: [&str; 4] = [
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_ENDPOINT_URL_SES",
];

fn requests(proxy: &CountingProxy) -> usize {
    proxy.counts().values().sum()
}

/// One test for both doors: it alone here changes the process's endpoint
/// variables, so no other test reads them meanwhile.
#[tokio::test]
async fn an_input_past_a_bound_is_refused_before_any_aws_call() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    // The handlers' clients are built the way the functions build theirs,
    // from the standard variables (which win over an endpoint set on a
    // shared config), pointed at a counting proxy while they are built.
    let proxy = CountingProxy::start(&std::env::var(ENDPOINTS[0]).unwrap()).await;
    let saved: Vec<Option<String>> = ENDPOINTS.iter().map(|k| std::env::var(k).ok()).collect();
    for k in ENDPOINTS {
        std::env::set_var(k, &proxy.url);
    }
    let aws = synchub_lambda::aws_config().await;
    let ingest = Ingest::new(&aws, &stack.config);
    let api = Api::new(&aws, &stack.config);
    for (k, v) in ENDPOINTS.iter().zip(saved) {
        match v {
            Some(v) => std::env::set_var(k, v),
            None => std::env::remove_var(k),
        }
    }
    webhooks_past_their_bounds(&ingest, &tenant, &proxy).await;
    api_requests_past_their_bounds(&api, &tenant.id, &proxy).await;
}

async fn webhooks_past_their_bounds(ingest: &Ingest, tenant: &TestTenant, proxy: &CountingProxy) {
    let body = supplier_event("evt-1", "SKU-1", 5, &at_minute(1)).to_string();
    let signed = signed_headers(&tenant.secret, "msg_1", &body);
    let with = |header: &str, value: String| {
        let mut h = signed.clone();
        h.iter_mut().find(|(k, _)| *k == header).unwrap().1 = value;
        h
    };
    let big_body = format!(
        "{{\"pad\":\"{}\"}}",
        "x".repeat(synchub_core::app::ingest::MAX_BODY_BYTES)
    );
    let mut cases: Vec<(&str, Value, u16, Option<&str>)> = vec![
        (
            "a body one past its bound",
            apigw_event(&tenant.id, &signed, &big_body),
            413,
            Some("body"),
        ),
        (
            "webhook-id",
            apigw_event(
                &tenant.id,
                &with("webhook-id", "i".repeat(WEBHOOK_HEADER_BYTES + 1)),
                &body,
            ),
            401,
            None,
        ),
        (
            "webhook-signature",
            apigw_event(
                &tenant.id,
                &with(
                    "webhook-signature",
                    format!(
                        "{} {}",
                        signed[2].1,
                        "v2,x".repeat(SIGNATURE_HEADER_BYTES / 4)
                    ),
                ),
                &body,
            ),
            401,
            None,
        ),
        (
            "a tenant id",
            apigw_event(&"t".repeat(65), &signed, &body),
            401,
            None,
        ),
    ];
    let customer = shopify_customer(1, "a@example.com", "Ada", "2026-06-01T10:00:00Z").to_string();
    let shopify = shopify_headers("any-secret", "customers/create", "e-1", &customer);
    let mut topic = shopify.clone();
    topic[1].1 = "t".repeat(WEBHOOK_HEADER_BYTES + 1);
    cases.push((
        "X-Shopify-Topic",
        webhook_event("shopify", &tenant.id, &topic, &customer),
        400,
        Some("X-Shopify-Topic"),
    ));
    let mut hmac = shopify.clone();
    hmac[0].1 = format!("{}{}", hmac[0].1, "A".repeat(PROVIDER_SIGNATURE_BYTES));
    cases.push((
        "X-Shopify-Hmac-Sha256",
        webhook_event("shopify", &tenant.id, &hmac, &customer),
        401,
        None,
    ));
    cases.push((
        "x-square-hmacsha256-signature",
        webhook_event(
            "square",
            &tenant.id,
            &[(
                "x-square-hmacsha256-signature",
                "A".repeat(PROVIDER_SIGNATURE_BYTES + 1),
            )],
            "{}",
        ),
        401,
        None,
    ));
    for (what, event, status, field) in &cases {
        let (got, answer) = invoke_ingest(ingest, event).await;
        assert_eq!(got, *status, "{what}: {answer}");
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], *field, "{what}: {answer}");
        }
        assert_eq!(
            requests(proxy),
            0,
            "{what} made AWS calls: {:?}",
            proxy.counts()
        );
    }
    // The same handler does reach AWS through the proxy for a request within bounds.
    let (got, answer) = invoke_ingest(ingest, &apigw_event(&tenant.id, &signed, &body)).await;
    assert!(requests(proxy) > 0, "{got}: {answer}");
}

async fn api_requests_past_their_bounds(api: &Api, tenant: &str, proxy: &CountingProxy) {
    let before = requests(proxy);
    let runs = format!("/api/tenants/{tenant}/runs");
    let long = "c".repeat(API_QUERY_VALUE_BYTES + 1);
    let params: Vec<(String, String)> = (0..=API_QUERY_PARAMETERS)
        .map(|i| (format!("p{i}"), "1".into()))
        .collect();
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let too_many_types = json!({"dataTypes": vec!["orders"; API_LIST_ITEMS + 1]}).to_string();
    let big = json!({"pad": "x".repeat(API_BODY_BYTES)}).to_string();
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        Option<&'a str>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "a body",
            "POST",
            runs.as_str(),
            vec![],
            Some(big.as_str()),
            "body",
        ),
        (
            "a query value",
            "GET",
            runs.as_str(),
            vec![("cursor", long.as_str())],
            None,
            "cursor",
        ),
        (
            "query parameters",
            "GET",
            runs.as_str(),
            params,
            None,
            "query",
        ),
        (
            "a list",
            "POST",
            runs.as_str(),
            vec![],
            Some(too_many_types.as_str()),
            "dataTypes",
        ),
    ];
    for (what, method, path, query, body, field) in cases {
        let answer = call(api, method, path, &query, body).await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.body);
        assert_eq!(
            answer.body["error"]["field"], field,
            "{what}: {}",
            answer.body
        );
        assert_eq!(
            requests(proxy) - before,
            0,
            "{what} made AWS calls: {:?}",
            proxy.counts()
        );
    }
    let answer = call(
        api,
        "GET",
        &format!("/api/tenants/{tenant}/status"),
        &[],
        None,
    )
    .await;
    assert!(requests(proxy) > before, "{}", answer.body);
}
