//! The connector engine against a local stand-in server: every pagination
//! kind, every auth kind (OAuth2 tokens cached and fetched again after a
//! 401), Retry-After, per-item requests, body templates, the incremental
//! filter, and the refusals (an unverified manifest in production, a next
//! link to another host).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use synchub_aws::connector_http::{ConnectorEngine, Pull};
use synchub_connectors::{load, Manifest};
use synchub_core::domain::DataType;
use synchub_core::ports::PullWindow;
use synchub_core::ErrorClass;
use wiremock::matchers::{
    body_json, body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn manifest(auth: &str, streams: &str) -> &'static Manifest {
    let text = format!(
        "version: 1\nname: test\ntitle: Test POS\ndocumentation:\n  status: documented\n  sources: [stand-in]\n  covers: tests\nenvironments:\n  production: https://pos.invalid/api\nsecrets: [key, user, pass, client_id, client_secret]\nsettings: [stores]\n{auth}\nstreams:\n{streams}"
    );
    match load("connectors/test.yaml", &text) {
        Ok(m) => Box::leak(Box::new(m)),
        Err(e) => panic!("{e:?}\n{text}"),
    }
}

const API_KEY: &str = "auth:\n  type: api_key\n  headers:\n    X-Key: \"{{ secrets.key }}\"";

fn catalog(request: &str, records: &str, pagination: &str) -> String {
    format!("  catalog:\n    request:\n{request}\n    records: \"{records}\"\n    pagination: {pagination}\n    mapping:\n      id: id\n      updated_at: updated\n")
}

fn secrets() -> BTreeMap<String, String> {
    [
        ("key", "k-1"),
        ("user", "u"),
        ("pass", "p"),
        ("client_id", "cid"),
        ("client_secret", "cs"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect()
}

fn item(id: u32) -> Value {
    json!({"id": format!("P{id}"), "updated": "2026-06-01T10:00:00Z"})
}

fn items(range: std::ops::Range<u32>) -> Value {
    Value::Array(range.map(item).collect())
}

fn engine(server: &MockServer) -> ConnectorEngine {
    ConnectorEngine::new(4, std::time::Duration::from_secs(5)).with_origin(server.uri())
}

/// Pulls every page; returns the record ids and the number of pages.
async fn pull_all(
    engine: &ConnectorEngine,
    m: &'static Manifest,
    settings: &Value,
    window: &PullWindow,
) -> Result<(Vec<String>, usize), synchub_core::ports::PortError> {
    let secrets = secrets();
    let pull = Pull {
        manifest: m,
        environment: "production",
        settings,
        secrets: &secrets,
        tenant: "t1",
    };
    let (mut ids, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page = engine
            .page(&pull, DataType::Catalog, window, cursor.as_deref())
            .await?;
        pages += 1;
        for r in &page.records {
            ids.push(
                m.normalize(DataType::Catalog, r, 0)
                    .map(|o| o.id)
                    .unwrap_or_else(|e| panic!("{e}")),
            );
        }
        assert!(pages < 50, "pagination must end");
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok((ids, pages)),
        }
    }
}

fn ids(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("P{i}")).collect()
}

#[tokio::test]
async fn cursor_pagination_follows_the_body_cursor_then_stops() {
    let server = MockServer::start().await;
    let m = manifest(
        API_KEY,
        &catalog(
            "      path: /items\n      query:\n        cursor: \"{{ cursor }}\"",
            "data",
            "{type: cursor, cursor_path: meta.next}",
        ),
    );
    Mock::given(path("/api/items"))
        .and(query_param_is_missing("cursor"))
        .and(header("X-Key", "k-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": items(0..2), "meta": {"next": "c2"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/items"))
        .and(query_param("cursor", "c2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": items(2..3), "meta": {"next": null}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (got, pages) = pull_all(&engine(&server), m, &json!({}), &PullWindow::default())
        .await
        .unwrap();
    assert_eq!((got, pages), (ids(0..3), 2));
}

#[tokio::test]
async fn cursor_pagination_can_read_the_cursor_from_a_header() {
    let server = MockServer::start().await;
    let m = manifest(
        API_KEY,
        &catalog(
            "      path: /items\n      query:\n        after: \"{{ cursor }}\"",
            "",
            "{type: cursor, cursor_header: X-Next-Cursor}",
        ),
    );
    Mock::given(path("/api/items"))
        .and(query_param_is_missing("after"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(items(0..2))
                .insert_header("X-Next-Cursor", "abc"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/items"))
        .and(query_param("after", "abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items(2..4)))
        .mount(&server)
        .await;
    let (got, _) = pull_all(&engine(&server), m, &json!({}), &PullWindow::default())
        .await
        .unwrap();
    assert_eq!(got, ids(0..4));
}

#[tokio::test]
async fn page_numbers_run_until_an_empty_page() {
    let server = MockServer::start().await;
    let m = manifest(API_KEY, &catalog("      path: /items\n      query:\n        page: \"{{ page }}\"\n        size: \"{{ limit }}\"", "items", "{type: page_number, start: 1, page_size: 2, stop: empty_page}"));
    for (page, body) in [("1", items(0..2)), ("2", items(2..3)), ("3", json!([]))] {
        Mock::given(path("/api/items"))
            .and(query_param("page", page))
            .and(query_param("size", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": body})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (got, pages) = pull_all(&engine(&server), m, &json!({}), &PullWindow::default())
        .await
        .unwrap();
    assert_eq!((got, pages), (ids(0..3), 3));
}

#[tokio::test]
async fn page_numbers_stop_on_a_short_page_or_the_page_count() {
    let server = MockServer::start().await;
    let short = manifest(
        API_KEY,
        &catalog(
            "      path: /short\n      query:\n        page: \"{{ page }}\"",
            "items",
            "{type: page_number, page_size: 2, stop: short_page}",
        ),
    );
    Mock::given(path("/api/short"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": items(0..2)})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/short"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": items(2..3)})))
        .expect(1)
        .mount(&server)
        .await;
    let (got, pages) = pull_all(&engine(&server), short, &json!({}), &PullWindow::default())
        .await
        .unwrap();
    assert_eq!((got, pages), (ids(0..3), 2));
    let counted = manifest(
        API_KEY,
        &catalog(
            "      path: /counted\n      query:\n        page: \"{{ page }}\"",
            "inventory",
            "{type: page_number, page_size: 100, stop: empty_page, total_pages_path: total_pages}",
        ),
    );
    for (page, body) in [("1", items(0..2)), ("2", items(2..4))] {
        Mock::given(path("/api/counted"))
            .and(query_param("page", page))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({"inventory": body, "total_pages": 2, "current_page": page}),
                ),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let (got, pages) = pull_all(
        &engine(&server),
        counted,
        &json!({}),
        &PullWindow::default(),
    )
    .await
    .unwrap();
    assert_eq!((got, pages), (ids(0..4), 2));
}

#[tokio::test]
async fn offsets_advance_until_the_total_and_a_post_body_carries_them() {
    let server = MockServer::start().await;
    let m = manifest(API_KEY, &catalog("      method: POST\n      path: /search\n      body:\n        Skip: \"{{ offset }}\"\n        Top: \"{{ limit }}\"\n        Store: \"{{ settings.stores[0] }}\"", "values", "{type: offset, page_size: 2, stop: short_page, total_path: total}"));
    for (skip, body) in [(0, items(0..2)), (2, items(2..4)), (4, items(4..5))] {
        Mock::given(method("POST"))
            .and(path("/api/search"))
            .and(body_json(json!({"Skip": skip, "Top": 2, "Store": 7})))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"values": body, "total": 5})),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let (got, pages) = pull_all(
        &engine(&server),
        m,
        &json!({"stores": [7]}),
        &PullWindow::default(),
    )
    .await
    .unwrap();
    assert_eq!((got, pages), (ids(0..5), 3));
}

#[tokio::test]
async fn link_headers_lead_to_the_next_page_on_the_same_host_only() {
    let server = MockServer::start().await;
    let m = manifest(
        API_KEY,
        &catalog("      path: /linked", "data", "{type: link_header}"),
    );
    let next = "<https://pos.invalid/api/linked?page=2>; rel=\"next\"";
    Mock::given(path("/api/linked"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": items(0..2)}))
                .insert_header("Link", next),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/linked"))
        .and(query_param("page", "2"))
        .and(header("X-Key", "k-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": items(2..3)})))
        .mount(&server)
        .await;
    let (got, pages) = pull_all(&engine(&server), m, &json!({}), &PullWindow::default())
        .await
        .unwrap();
    assert_eq!((got, pages), (ids(0..3), 2));

    let elsewhere = manifest(
        API_KEY,
        &catalog("      path: /leaky", "data", "{type: link_header}"),
    );
    Mock::given(path("/api/leaky"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": items(0..1)}))
                .insert_header("Link", "<https://attacker.invalid/x>; rel=\"next\""),
        )
        .mount(&server)
        .await;
    let e = pull_all(
        &engine(&server),
        elsewhere,
        &json!({}),
        &PullWindow::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.class(), ErrorClass::ValidationError);
    assert!(e.to_string().contains("leaves"), "{e}");
}

#[tokio::test]
async fn for_each_runs_the_request_per_setting_item_and_checkpoints_between() {
    let server = MockServer::start().await;
    let m = manifest(API_KEY, "  catalog:\n    for_each: settings.stores\n    request:\n      path: \"/stores/{{ item }}/items\"\n    records: data\n    pagination: {type: none}\n    mapping:\n      id: id\n      updated_at: updated\n");
    Mock::given(path("/api/stores/A/items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": items(0..2)})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/stores/B/items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": items(2..3)})))
        .expect(1)
        .mount(&server)
        .await;
    let (got, pages) = pull_all(
        &engine(&server),
        m,
        &json!({"stores": ["A", "B"]}),
        &PullWindow::default(),
    )
    .await
    .unwrap();
    assert_eq!((got, pages), (ids(0..3), 2));
    let e = pull_all(&engine(&server), m, &json!({}), &PullWindow::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no stores list"), "{e}");
}

#[tokio::test]
async fn bearer_and_basic_auth_send_their_headers() {
    let server = MockServer::start().await;
    let bearer = manifest(
        "auth:\n  type: bearer\n  token: \"{{ secrets.key }}\"",
        &catalog("      path: /bearer", "", "{type: none}"),
    );
    Mock::given(path("/api/bearer"))
        .and(header("Authorization", "Bearer k-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items(0..1)))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        pull_all(&engine(&server), bearer, &json!({}), &PullWindow::default())
            .await
            .unwrap()
            .0,
        ids(0..1)
    );
    let basic = manifest("auth:\n  type: basic\n  username: \"{{ secrets.user }}\"\n  password: \"{{ secrets.pass }}\"", &catalog("      path: /basic", "", "{type: none}"));
    Mock::given(path("/api/basic"))
        .and(header("Authorization", "Basic dTpw"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items(0..1)))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        pull_all(&engine(&server), basic, &json!({}), &PullWindow::default())
            .await
            .unwrap()
            .0,
        ids(0..1)
    );
}

const OAUTH: &str = "auth:\n  type: oauth2\n  token_url: https://login.invalid/oauth/token\n  form:\n    grant_type: client_credentials\n    client_id: \"{{ secrets.client_id }}\"\n    client_secret: \"{{ secrets.client_secret }}\"\n  expires_in_field: expires_in";

#[tokio::test]
async fn oauth2_tokens_are_cached_across_pages_and_refreshed_after_a_401() {
    let server = MockServer::start().await;
    let m = manifest(
        OAUTH,
        &catalog(
            "      path: /items\n      query:\n        page: \"{{ page }}\"",
            "",
            "{type: page_number, page_size: 1, stop: empty_page}",
        ),
    );
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=cid"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "tok-1", "expires_in": 3600})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    for (page, body) in [("1", items(0..1)), ("2", items(1..2)), ("3", json!([]))] {
        Mock::given(path("/api/items"))
            .and(query_param("page", page))
            .and(header("Authorization", "Bearer tok-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let engine = engine(&server);
    let (got, _) = pull_all(&engine, m, &json!({}), &PullWindow::default())
        .await
        .unwrap();
    assert_eq!(got, ids(0..2), "three pages, one token");

    // The API stops taking tok-1: the engine fetches a new token once.
    server.reset().await;
    Mock::given(path("/api/items"))
        .and(header("Authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "tok-2", "expires_in": 3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/items"))
        .and(query_param("page", "1"))
        .and(header("Authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    assert!(pull_all(&engine, m, &json!({}), &PullWindow::default())
        .await
        .unwrap()
        .0
        .is_empty());
}

#[tokio::test]
async fn a_refused_token_request_is_an_auth_error_and_not_retried() {
    let server = MockServer::start().await;
    let m = manifest(OAUTH, &catalog("      path: /items", "", "{type: none}"));
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&server)
        .await;
    let e = pull_all(&engine(&server), m, &json!({}), &PullWindow::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::AuthError, "{e}");
}

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_header_and_auth_errors_are_not() {
    let server = MockServer::start().await;
    let m = manifest(API_KEY, &catalog("      path: /busy", "", "{type: none}"));
    Mock::given(path("/api/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/busy"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items(0..1)))
        .expect(1)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    assert_eq!(
        pull_all(&engine(&server), m, &json!({}), &PullWindow::default())
            .await
            .unwrap()
            .0,
        ids(0..1)
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "waited {:?}",
        started.elapsed()
    );

    let denied = manifest(API_KEY, &catalog("      path: /denied", "", "{type: none}"));
    Mock::given(path("/api/denied"))
        .respond_with(ResponseTemplate::new(403))
        .expect(1)
        .mount(&server)
        .await;
    let e = pull_all(&engine(&server), denied, &json!({}), &PullWindow::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::AuthError);
}

#[tokio::test]
async fn the_incremental_filter_keeps_the_window_and_templates_read_it() {
    let server = MockServer::start().await;
    let m = manifest(API_KEY, "  catalog:\n    request:\n      path: /changed\n      query:\n        since: \"{{ window.after | date }}\"\n    pagination: {type: none}\n    incremental: {field: updated, filter: true}\n    mapping:\n      id: id\n      updated_at: updated\n");
    let body = json!([{"id": "old", "updated": "2026-05-01T00:00:00Z"}, {"id": "new", "updated": "2026-06-02T00:00:00Z"}]);
    Mock::given(path("/api/changed"))
        .and(query_param("since", "2026-06-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let window = PullWindow {
        updated_after: Some("2026-06-01T00:00:00Z".into()),
        updated_before: Some("2026-06-03T00:00:00Z".into()),
    };
    assert_eq!(
        pull_all(&engine(&server), m, &json!({}), &window)
            .await
            .unwrap()
            .0,
        ["new"]
    );
}

#[tokio::test]
async fn an_unverified_manifest_is_refused_in_production() {
    let m = synchub_connectors::connector("headset").unwrap();
    let engine = ConnectorEngine::new(1, std::time::Duration::from_secs(1));
    let secrets = secrets();
    let pull = Pull {
        manifest: m,
        environment: "production",
        settings: &json!({"storeId": "s1"}),
        secrets: &secrets,
        tenant: "t1",
    };
    let e = engine
        .page(&pull, DataType::Catalog, &PullWindow::default(), None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::ValidationError);
    assert!(e.to_string().contains("unverified"), "{e}");
}
