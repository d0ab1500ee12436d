//! Every file in events/ is loaded and run through its function's real
//! handler, so the samples cannot rot.

use aws_lambda_events::sqs::SqsEvent;
use serde_json::Value;
use synchub_core::domain::webhook_signature::{SignedHeaders, WebhookSecret};
use synchub_lambda::sqs::handle_sync_batch;
use synchub_tests::*;

const SAMPLE_SECRET: &str = "whsec_c3luY2h1Yi1zYW1wbGUtc2VjcmV0LWtleS0zMmJ5dGU=";
const SAMPLE_TENANT: &str = "demo-shop";
const SAMPLE_SHOPIFY_SECRET: &str = "shpss_synchub_sample_client_secret";
const SAMPLE_SQUARE_KEY: &str = "synchub-sample-square-signature-key";
const SAMPLE_SQUARE_URL: &str = "https://hooks.example.com/webhooks/square/demo-shop";

/// A Shopify or Square sample: signed with the documented sample key, then
/// re-signed for this test's tenant; the provider accepts it.
async fn provider_sample(
    stack: &TestStack,
    ingest: &synchub_lambda::Ingest,
    tenant: &ProviderTenant,
    name: &str,
    source: &str,
    mut event: Value,
) {
    use synchub_core::domain::provider_webhook::{
        check_signature_header, signed_parts, verify, Provider, ProviderKey,
    };
    let body = event["body"].as_str().unwrap().to_owned();
    let (provider, key, url) = if source == "shopify" {
        (Provider::Shopify, SAMPLE_SHOPIFY_SECRET, "")
    } else {
        (Provider::Square, SAMPLE_SQUARE_KEY, SAMPLE_SQUARE_URL)
    };
    let tag = check_signature_header(
        provider,
        event["headers"][provider.signature_header()].as_str(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        verify(
            &[ProviderKey::new(key)],
            &signed_parts(provider, url, body.as_bytes()),
            &tag
        )
        .is_ok(),
        "{name}: signed with the documented sample key"
    );
    let headers = if source == "shopify" {
        let h = &event["headers"];
        shopify_headers(
            &tenant.shopify_secret,
            h["x-shopify-topic"].as_str().unwrap(),
            h["x-shopify-event-id"].as_str().unwrap(),
            &body,
        )
    } else {
        square_headers(&tenant.square_key, &tenant.square_url, &body)
    };
    let live = webhook_event(source, &tenant.id, &headers, &body);
    event["headers"] = live["headers"].clone();
    event["pathParameters"] = live["pathParameters"].clone();
    event["rawPath"] = live["rawPath"].clone();
    event["requestContext"]["http"]["path"] = live["rawPath"].clone();
    let (status, answer) = invoke_ingest(ingest, &event).await;
    assert_eq!(status, 202, "{name}: {answer}");
    assert_eq!(answer["outcome"], "queued 1 change(s)", "{name}");
    let _ = stack;
}

fn samples() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(repo_root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_sample_event_runs_through_its_function_with_the_documented_result() {
    let stack = TestStack::new().await;
    let tenant = stack.tenant(None).await;
    let ingest = stack.ingest();
    let worker = stack.worker();
    let notifier = synchub_lambda::Notifier::new(&stack.aws, &stack.config);
    let daily_sync = synchub_lambda::DailySync::new(&stack.aws, &stack.config);
    let api = synchub_lambda::Api::new(&stack.aws, &stack.config);
    let sample_secret = WebhookSecret::parse(SAMPLE_SECRET).unwrap();
    let provider_tenant = stack.provider_tenant(vec![]).await;
    let mut seen = 0;
    for (name, text) in samples() {
        seen += 1;
        if let Some(case) = name
            .strip_prefix("webhook-ingest.")
            .and_then(|n| n.strip_suffix(".json"))
        {
            if let Some(source) = ["shopify", "square"]
                .into_iter()
                .find(|p| case.starts_with(&format!("{p}-")))
            {
                provider_sample(
                    &stack,
                    &ingest,
                    &provider_tenant,
                    &name,
                    source,
                    serde_json::from_str(&text).unwrap(),
                )
                .await;
                continue;
            }
            let mut event: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let body = event["body"].as_str().unwrap().to_owned();
            let headers = event["headers"].clone();
            let h = |k: &str| headers[k].as_str();
            let checked = SignedHeaders {
                id: h("webhook-id"),
                timestamp: h("webhook-timestamp"),
                signature: h("webhook-signature"),
            }
            .check(h("webhook-timestamp").unwrap().parse().unwrap())
            .unwrap_or_else(|e| panic!("{name}: sample headers malformed: {e}"));
            let signed_by_sample_secret = checked
                .verify(std::slice::from_ref(&sample_secret), body.as_bytes())
                .is_ok();
            assert_eq!(
                signed_by_sample_secret,
                case != "bad-signature",
                "{name}: signed with the documented sample secret"
            );

            // Point the sample at this test's tenant and sign it now, as a live sender would.
            if event["pathParameters"]["tenantId"] == SAMPLE_TENANT {
                let path = format!("/webhooks/supplier/{}", tenant.id);
                event["pathParameters"]["tenantId"] = Value::from(tenant.id.as_str());
                event["rawPath"] = Value::from(path.as_str());
                event["requestContext"]["http"]["path"] = Value::from(path.as_str());
            }
            let signer = if case == "bad-signature" {
                WebhookSecret::parse(&synchub_cli::local::new_signing_secret()).unwrap()
            } else {
                tenant.secret.clone()
            };
            for (k, v) in signed_headers(&signer, h("webhook-id").unwrap(), &body) {
                event["headers"][k] = Value::from(v);
            }
            let (status, answer) = invoke_ingest(&ingest, &event).await;
            let expected = match case {
                "valid" => 202,
                "invalid-quantity" | "invalid-json" => 400,
                "bad-signature" | "unknown-tenant" => 401,
                other => panic!("events/{name}: no expectation for case {other}; add one here"),
            };
            assert_eq!(status, expected, "{name}: {answer}");
            if case.starts_with("invalid-") {
                let field = if case == "invalid-json" {
                    "body"
                } else {
                    "quantity"
                };
                assert_eq!(answer["error"]["field"], field, "{name}");
            }
        } else if let Some(case) = name
            .strip_prefix("sync-worker.")
            .and_then(|n| n.strip_suffix(".json"))
        {
            let text = text.replace(SAMPLE_TENANT, &tenant.id);
            let event: SqsEvent =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let response = handle_sync_batch(&worker, event).await;
            assert!(
                response.batch_item_failures.is_empty(),
                "{name}: {:?}",
                response.batch_item_failures
            );
            match case {
                "batch-with-duplicate-stale-and-malformed" => {
                    let rows = stack.audit(&tenant.id, "MUG-BLUE").await;
                    let outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
                    assert_eq!(outcomes, vec!["stale", "applied", "duplicate"], "{name}");
                    assert_eq!(
                        stack.item(&tenant.id, "TEAPOT").await.unwrap()["quantity"],
                        4
                    );
                    let rejected = stack.rejected_audit(&tenant.id).await;
                    assert_eq!(rejected.len(), 1, "{name}");
                    assert!(
                        rejected[0]
                            .reason
                            .as_deref()
                            .unwrap()
                            .starts_with("sku: must contain only"),
                        "{name}"
                    );
                }
                "shopify-registration" => {
                    let record = stack
                        .entity(&tenant.id, "customer", "shopify-706405506930370084")
                        .await
                        .unwrap_or_else(|| panic!("{name}: no master record"));
                    assert_eq!(
                        record["attributes"]["email"], "bob@biller.example",
                        "{name}"
                    );
                    assert_eq!(
                        record["posSync"]["status"], "skipped (disabled)",
                        "{name}: the flags default to off"
                    );
                }
                "redelivery" => {
                    let rows = stack.audit(&tenant.id, "KETTLE").await;
                    assert_eq!(
                        rows.len(),
                        1,
                        "{name}: a redelivery with no row yet is applied once"
                    );
                    assert_eq!(rows[0].outcome, "applied");
                }
                other => panic!("events/{name}: no expectation for case {other}; add one here"),
            }
        } else if let Some(case) = name
            .strip_prefix("failure-notifier.")
            .and_then(|n| n.strip_suffix(".json"))
        {
            let text = text.replace(SAMPLE_TENANT, &tenant.id);
            let event: SqsEvent =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            // The samples name the deployed queues; point the notices one at this stack's.
            let notify_queue = format!(
                "https://sqs.us-east-1.amazonaws.com/123456789012/{}",
                if case == "run-failed" {
                    "synchub-notifications"
                } else {
                    "none"
                }
            );
            let response =
                synchub_lambda::notify::handle_failures(&notifier, &notify_queue, event).await;
            assert!(
                response.batch_item_failures.is_empty(),
                "{name}: {:?}",
                response.batch_item_failures
            );
            let class = match case {
                "dead-letter" => synchub_core::ErrorClass::ValidationError,
                "run-failed" => synchub_core::ErrorClass::AuthError,
                other => panic!("events/{name}: no expectation for case {other}; add one here"),
            };
            let store = synchub_aws::alerts::DynamoAlertStore::new(
                stack.dynamo(),
                &stack.config.notifications_table,
                std::time::Duration::from_secs(60),
            );
            let state = store
                .state(&tenant.id, class)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{name}: no notification item"));
            assert_eq!(
                (state.total, state.emails),
                (1, 1),
                "{name}: counted once and emailed"
            );
        } else if let Some(case) = name
            .strip_prefix("daily-sync.")
            .and_then(|n| n.strip_suffix(".json"))
        {
            let event: Value = serde_json::from_str(&text.replace(SAMPLE_TENANT, &tenant.id))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let answer = synchub_lambda::daily_sync::handle(&daily_sync, event, u64::MAX)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            match case {
                "schedule" | "manual" => {
                    let runs = answer["runs"]
                        .as_array()
                        .unwrap_or_else(|| panic!("{name}: {answer}"));
                    let ours: Vec<&Value> = runs
                        .iter()
                        .filter(|r| r["tenantId"] == tenant.id.as_str())
                        .collect();
                    assert_eq!(
                        ours.len(),
                        if case == "schedule" { 5 } else { 2 },
                        "{name}: one run per data type: {answer}"
                    );
                    assert!(
                        ours.iter().all(|r| r["outcome"]["started"].is_string()
                            || r["outcome"]["alreadyRunning"].is_string()),
                        "{name}: {answer}"
                    );
                }
                "run-continuation" => assert_eq!(
                    answer["batchItemFailures"],
                    serde_json::json!([]),
                    "{name}: a run that is gone is acknowledged: {answer}"
                ),
                "webhook-catalog-pull" | "shop-erasure" => assert_eq!(
                    answer["batchItemFailures"],
                    serde_json::json!([]),
                    "{name}: webhook work is done and acknowledged: {answer}"
                ),
                other => panic!("events/{name}: no expectation for case {other}; add one here"),
            }
        } else if let Some(case) = name
            .strip_prefix("sync-api.")
            .and_then(|n| n.strip_suffix(".json"))
        {
            let event = text.replace(SAMPLE_TENANT, &tenant.id);
            let request = lambda_http::request::from_str(&event)
                .unwrap_or_else(|e| panic!("{name}: not an HTTP API event: {e}"));
            let response = synchub_lambda::api::handle_api(&api, request).await;
            let status = response.status().as_u16();
            let answer: Value = match response.body() {
                lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
                other => panic!("{name}: {other:?}"),
            };
            let expected = match case {
                "health" | "tenant-status" | "trace" | "runs" => 200,
                "start-runs" => 202,
                "trace-bad-kind" => 400,
                other => panic!("events/{name}: no expectation for case {other}; add one here"),
            };
            assert_eq!(status, expected, "{name}: {answer}");
            assert!(answer["correlationId"].is_string(), "{name}: {answer}");
        } else {
            panic!("events/{name}: samples are named <function>.<case>.json");
        }
    }
    assert!(seen >= 17, "expected the sample events to be found");
}
