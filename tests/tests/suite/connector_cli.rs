//! `synchub connector check` and `synchub connector pull --dry-run`: a
//! manifest validated offline (a bad one named by file, line and key), and a
//! tenant's first page from a Flowhub stand-in, normalized, with nothing
//! written or enqueued.

use clap::Parser;
use serde_json::json;
use std::time::Duration;
use synchub_cli::args::{Cli, Command};
use synchub_cli::connector::{check, pull, ConnectorCommand, PullArgs};
use synchub_connectors::BUILT_IN;
use synchub_core::ports::{RunLog, TenantSettings};
use synchub_lambda::DailySync;
use synchub_tests::*;
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn every_shipped_manifest_checks_and_says_what_it_requests() {
    for (file, text) in BUILT_IN {
        let (out, valid) = check(file, text, false);
        assert!(valid, "{out}");
        assert!(out.starts_with(&format!("{file}: valid")), "{out}");
    }
    let flowhub = BUILT_IN
        .iter()
        .find(|(f, _)| f.ends_with("flowhub.yaml"))
        .unwrap();
    let (out, _) = check(flowhub.0, flowhub.1, false);
    for line in [
        "environment production https://api.flowhub.co",
        "locations   GET /v0/clientsLocations",
        "catalog     GET /v0/locations/{{ item }}/inventory",
        "once per item of settings.importIds",
        "pages: page numbers from 1, 100 per page, until an empty page",
    ] {
        assert!(out.contains(line), "{line:?} not in\n{out}");
    }
    let (json, _) = check(flowhub.0, flowhub.1, true);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["streams"].as_array().unwrap().len(), 4);
}

#[test]
fn a_bad_manifest_is_refused_naming_file_line_and_key() {
    let flowhub = BUILT_IN
        .iter()
        .find(|(f, _)| f.ends_with("flowhub.yaml"))
        .unwrap();
    // Two mistakes: a pagination kind that does not exist, and a mapping key misspelt.
    let bad = flowhub
        .1
        .replacen("pagination: {type: none}", "pagination: {type: pages}", 1)
        .replacen(
            "      updated_at: productUpdatedAt",
            "      updatedAt: productUpdatedAt",
            1,
        );
    let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (out, valid) = check("connectors/flowhub.yaml", &bad, false);
    assert!(!valid, "{out}");
    let pagination = format!(
        "connectors/flowhub.yaml:{}: streams.locations.pagination.type: must be one of",
        line_of("pagination: {type: pages}")
    );
    assert!(out.contains(&pagination), "{pagination:?} not in\n{out}");
    let mapping = format!(
        "connectors/flowhub.yaml:{}: streams.catalog.mapping.updatedAt",
        line_of("updatedAt: productUpdatedAt")
    );
    assert!(out.contains(&mapping), "{mapping:?} not in\n{out}");

    // Through the command: exit status 1.
    let file = std::env::temp_dir().join(format!("{}/flowhub.yaml", unique("manifest")));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &bad).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (text, status) = runtime
        .block_on(synchub_cli::connector::run(ConnectorCommand::Check {
            file: file.clone(),
            output: synchub_cli::args::Output { json: false },
        }))
        .unwrap();
    assert_eq!(status, 1, "{text}");
    assert!(text.contains(&format!("{}:", file.display())), "{text}");
}

#[test]
fn pull_is_a_dry_run_only() {
    let refused = Cli::try_parse_from([
        "synchub",
        "connector",
        "pull",
        "--tenant",
        "acme",
        "--data-type",
        "catalog",
    ]);
    assert!(refused.unwrap_err().to_string().contains("--dry-run"));
    let parsed = Cli::try_parse_from([
        "synchub",
        "connector",
        "pull",
        "--tenant",
        "acme",
        "--data-type",
        "catalog",
        "--dry-run",
    ])
    .unwrap();
    assert!(
        matches!(parsed.command, Command::Connector { command: ConnectorCommand::Pull(ref a) } if a.dry_run)
    );
}

#[tokio::test]
async fn pull_dry_run_shows_the_first_pages_entities_and_writes_nothing() {
    let mut stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let server = MockServer::start().await;
    Mock::given(path("/v0/locations/loc-1/inventory"))
        .and(header("clientId", "cid"))
        .and(header("key", "k"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": 200, "data": [
            {"variantId": "var-1", "productName": "Blue Dream 3.5g", "brand": "Acme Farms", "productUpdatedAt": "2026-11-30T12:00:00.000Z", "quantity": 3, "locationId": "loc-1"},
            {"variantId": "var-2", "productName": "No time", "locationId": "loc-1"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let settings = TenantSettings {
        pos: serde_json::from_value(json!([{"connector": "flowhub", "settings": {"locationIds": ["loc-1"], "importIds": ["imp-1"]}}])).unwrap(),
        ..stack_settings(&tenant.id)
    };
    synchub_cli::local::seed_tenant(&stack.aws, &stack.config, &settings, &tenant.secret_text)
        .await
        .unwrap();
    stack
        .put_parameter(
            &tenant.id,
            "pos-flowhub",
            r#"{"client_id": "cid", "api_key": "k"}"#,
        )
        .await;
    stack.config.connector_origin = Some(server.uri());
    let sync = DailySync::new(&stack.aws, &stack.config);
    let args = |data_type: &str, connector: Option<&str>| -> PullArgs {
        let mut argv = vec![
            "synchub",
            "connector",
            "pull",
            "--tenant",
            &tenant.id,
            "--data-type",
            data_type,
            "--dry-run",
        ];
        if let Some(c) = connector {
            argv.extend(["--connector", c]);
        }
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Connector {
                command: ConnectorCommand::Pull(a),
            } => a,
            other => panic!("{other:?}"),
        }
    };

    let page = pull(&sync, &args("catalog", None)).await.unwrap();
    assert_eq!(
        (page.source.as_str(), page.fetched, page.more),
        ("flowhub", 2, false)
    );
    assert_eq!(page.entities.len(), 1);
    assert_eq!(page.entities[0].id, "var-1");
    assert_eq!(page.entities[0].attributes["brand"], "Acme Farms");
    assert_eq!(page.rejected.len(), 1);
    assert_eq!(page.rejected[0].0, "var-2");
    assert!(
        page.rejected[0].1.contains("productUpdatedAt"),
        "{:?}",
        page.rejected
    );
    let text = synchub_cli::connector::render_page(&page);
    assert!(
        text.contains("var-1") && text.contains("dry run: nothing written"),
        "{text}"
    );

    let wrong = pull(&sync, &args("catalog", Some("treez")))
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("does not run treez"), "{wrong}");
    let uncovered = pull(&sync, &args("categories", None)).await.unwrap_err();
    assert!(
        uncovered
            .to_string()
            .contains("flowhub has no categories stream"),
        "{uncovered}"
    );

    // Nothing written, nothing enqueued.
    assert!(sync.runs.runs(&tenant.id).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued = stack
        .sqs()
        .receive_message()
        .queue_url(&stack.config.sync_queue_url)
        .send()
        .await
        .unwrap();
    assert!(queued.messages.unwrap_or_default().is_empty());
    assert!(stack.entity(&tenant.id, "item", "var-1").await.is_none());
}

fn stack_settings(tenant: &str) -> TenantSettings {
    serde_json::from_value(json!({"tenantId": tenant, "name": "Test shop"})).unwrap()
}
