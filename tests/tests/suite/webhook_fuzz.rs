//! Structure-aware random input at the doors that take outside input, on the
//! stable toolchain (proptest): the three webhook routes through the real
//! ingest handler (arbitrary bytes, and valid bodies mutated field by field,
//! byte by byte or cut short, signed as their sender would so the parsers
//! behind the signature run too), and queued bodies through the real worker.
//! Never a panic, never a 5xx: every refusal is a 4xx whose error names the
//! field (or the header) and the rule, and every queued body the worker
//! cannot apply gets a `rejected` row naming the field.
//!
//! Bounded here (48 cases per property and route, a few seconds); for a long
//! run, rounds of cases until the time is up:
//! `FUZZ_SECONDS=600 bash scripts/with-engines.sh cargo nextest run -p synchub-tests --test suite webhook_fuzz::`
//! (ten minutes; `FUZZ_CASES` sets the cases per round).

use base64::Engine;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use synchub_lambda::sqs::handle_sync_batch;
use synchub_tests::*;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48)
}

/// Runs `round` once, then again while `FUZZ_SECONDS` (unset: none) have
/// not passed since the start; each round draws new cases.
fn for_a_while(mut round: impl FnMut()) {
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let started = std::time::Instant::now();
    let mut rounds = 0;
    loop {
        round();
        rounds += 1;
        if started.elapsed().as_secs() >= seconds {
            break;
        }
    }
    println!("{rounds} rounds of {} cases", cases());
}

/// Any JSON value, nested a little.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        Just(json!("2026-06-01T10:00:00Z")),
        Just(json!("")),
        "[\\x00-\\x1f\\x7f-\\u{2fff}]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The paths of every value in a JSON document (objects and arrays too).
fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| {
            at.push(k.clone());
            paths(v, at, out);
            at.pop();
        }),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| {
            at.push(i.to_string());
            paths(v, at, out);
            at.pop();
        }),
        _ => {}
    }
}

/// Replaces (or, with `None`, removes) the value at `path`.
fn set_at(doc: &mut Value, path: &[String], value: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        *doc = value.unwrap_or(Value::Null);
        return;
    };
    let mut node = doc;
    for key in parents {
        node = match node {
            Value::Object(m) => m.get_mut(key).unwrap(),
            Value::Array(a) => &mut a[key.parse::<usize>().unwrap()],
            _ => return,
        };
    }
    match (node, value) {
        (Value::Object(m), Some(v)) => {
            m.insert(last.clone(), v);
        }
        (Value::Object(m), None) => {
            m.remove(last);
        }
        (Value::Array(a), v) => a[last.parse::<usize>().unwrap()] = v.unwrap_or(Value::Null),
        _ => {}
    }
}

/// Bodies around a valid one: arbitrary bytes, a field replaced by any JSON
/// or removed, bytes flipped, or the body cut short.
fn mutated(valid: Value) -> impl Strategy<Value = Vec<u8>> {
    let text = valid.to_string().into_bytes();
    let (a, b) = (text.clone(), text.clone());
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        (prop::collection::vec(
            (any::<Index>(), prop::option::weighted(0.8, arb_json())),
            1..4
        ))
        .prop_map(move |edits| {
            let mut doc = valid.clone();
            for (index, value) in edits {
                let mut all = Vec::new();
                paths(&doc, &mut Vec::new(), &mut all);
                let path = index.get(&all).clone();
                set_at(&mut doc, &path, value);
            }
            doc.to_string().into_bytes()
        }),
        prop::collection::vec((any::<Index>(), any::<u8>()), 1..4).prop_map(move |flips| {
            let mut bytes = a.clone();
            for (i, byte) in flips {
                let at = i.index(bytes.len());
                bytes[at] = byte;
            }
            bytes
        }),
        any::<Index>().prop_map(move |cut| b[..cut.index(b.len())].to_vec()),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Route {
    Supplier,
    Shopify,
    Square,
}

/// The API Gateway event for raw body bytes (base64, as API Gateway sends
/// what is not valid UTF-8 text).
fn event_for(route: Route, tenant: &str, headers: &[(&str, String)], body: &[u8]) -> Value {
    let source = match route {
        Route::Supplier => "supplier",
        Route::Shopify => "shopify",
        Route::Square => "square",
    };
    let mut event = webhook_event(source, tenant, headers, "");
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = json!(true);
    event
}

/// A refusal names what was wrong: a 400/413 the field and the rule, a 401
/// the header or the signature. Nothing else but 2xx.
fn check_answer(status: u16, answer: &Value) -> Result<(), TestCaseError> {
    prop_assert!(
        (200..300).contains(&status) || (400..500).contains(&status),
        "status {status}: {answer}"
    );
    if status >= 400 {
        let error = &answer["error"];
        let class = error["class"].as_str().unwrap_or_default();
        prop_assert!(
            matches!(class, "VALIDATION_ERROR" | "AUTH_ERROR"),
            "{answer}"
        );
        prop_assert!(
            !error["message"].as_str().unwrap_or_default().is_empty(),
            "{answer}"
        );
        if status != 401 {
            prop_assert!(
                !error["field"].as_str().unwrap_or_default().is_empty(),
                "no field named: {answer}"
            );
        }
    }
    Ok(())
}

#[test]
fn any_webhook_body_is_accepted_or_refused_with_a_4xx_naming_what_is_wrong() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (stack, supplier, provider) = runtime.block_on(async {
        let stack = TestStack::new().await;
        let supplier = stack.tenant(None).await;
        let provider = stack.provider_tenant(vec![]).await;
        (stack, supplier, provider)
    });
    let ingest = stack.ingest();
    let accepted = std::cell::Cell::new(0usize);
    let routes = [
        (
            Route::Supplier,
            supplier_event("evt-1", "SKU-1", 5, &at_minute(1)),
        ),
        (
            Route::Shopify,
            shopify_customer(7, "a@example.com", "Ada", "2026-06-01T10:00:00-00:00"),
        ),
        (
            Route::Square,
            json!({"merchant_id": "6SSW7HV8K2ST5", "type": "customer.created", "event_id": "6a8f5f28", "created_at": "2026-06-01T10:00:00.528Z",
                "data": {"type": "customer", "id": "A0AP25", "object": {"customer": {"id": "A0AP25", "updated_at": "2026-06-01T10:00:00Z", "given_name": "Amelia", "version": 3}}}}),
        ),
    ];
    let round = || {
        for (route, valid) in routes.clone() {
            let mut runner = TestRunner::new(Config {
                cases: cases(),
                failure_persistence: None,
                ..Config::default()
            });
            // Mostly signed as the sender would, so the body's parsers run;
            // sometimes one header (any of the sender's) holds arbitrary text.
            let strategy = (
                mutated(valid),
                prop::option::weighted(0.15, (any::<Index>(), "[ -~]{0,60}")),
            );
            runner
                .run(&strategy, |(body, garbage)| {
                    let text = String::from_utf8_lossy(&body).into_owned();
                    let mut headers = match route {
                        Route::Supplier => {
                            let ts = synchub_core::domain::time::now_millis() / 1000;
                            vec![
                                ("webhook-id", "msg_fuzz".to_owned()),
                                ("webhook-timestamp", ts.to_string()),
                                (
                                    "webhook-signature",
                                    supplier.secret.sign("msg_fuzz", ts, &body),
                                ),
                            ]
                        }
                        Route::Shopify => {
                            shopify_headers(&provider.shopify_secret, "customers/create", "e-1", "")
                        }
                        Route::Square => {
                            square_headers(&provider.square_key, &provider.square_url, "")
                        }
                    };
                    // The provider signatures over the exact bytes.
                    let key = match route {
                        Route::Shopify => Some((&provider.shopify_secret, "")),
                        Route::Square => Some((&provider.square_key, provider.square_url.as_str())),
                        Route::Supplier => None,
                    };
                    if let Some((key, url)) = key {
                        let provider_kind = match route {
                            Route::Shopify => {
                                synchub_core::domain::provider_webhook::Provider::Shopify
                            }
                            _ => synchub_core::domain::provider_webhook::Provider::Square,
                        };
                        headers[0].1 =
                            synchub_core::domain::provider_webhook::ProviderKey::new(key).sign(
                                &synchub_core::domain::provider_webhook::signed_parts(
                                    provider_kind,
                                    url,
                                    &body,
                                ),
                            );
                    }
                    if let Some((which, garbage)) = garbage {
                        let at = which.index(headers.len());
                        headers[at].1 = garbage;
                    }
                    let tenant = match route {
                        Route::Supplier => supplier.id.as_str(),
                        _ => provider.id.as_str(),
                    };
                    let event = event_for(route, tenant, &headers, &body);
                    let (status, answer) = runtime.block_on(invoke_ingest(&ingest, &event));
                    if (200..300).contains(&status) {
                        accepted.set(accepted.get() + 1);
                    }
                    check_answer(status, &answer)
                        .map_err(|e| TestCaseError::fail(format!("{route:?} body {text:?}: {e}")))
                })
                .unwrap_or_else(|e| panic!("{route:?}: {e}"));
            // Keep moto's queue shallow: it slows with depth.
            runtime.block_on(async {
                let queue = stack.queue();
                let taken = |_| async { aws_lambda_events::sqs::SqsBatchResponse::default() };
                while queue.poll_once(taken).await.expect("drain").received > 0 {}
            });
        }
    };
    for_a_while(round);
    assert!(
        accepted.get() > 0,
        "some mutations stay valid and are accepted"
    );
}

#[test]
fn any_queued_body_is_applied_or_rejected_with_a_row_naming_the_field() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (stack, tenant) = runtime.block_on(async {
        let stack = TestStack::new().await;
        let tenant = stack.tenant(None).await;
        (stack, tenant)
    });
    let worker = stack.worker();
    let valid: Value = serde_json::from_str(&queued(
        &tenant.id,
        &supplier_event("evt-q", "SKU-Q", 1, &at_minute(1)),
    ))
    .unwrap();
    let batch = prop::collection::vec(mutated(valid), 1..5);
    let case = std::cell::Cell::new(0usize);
    for_a_while(|| {
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&batch, |bodies| {
                case.set(case.get() + 1);
                let case = case.get();
                let bodies: Vec<String> = bodies
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect();
                let ids: Vec<String> = (0..bodies.len())
                    .map(|i| format!("fz-{case}-{i}"))
                    .collect();
                let records: Vec<(&str, &str, u32)> = ids
                    .iter()
                    .zip(&bodies)
                    .map(|(id, body)| (id.as_str(), body.as_str(), 1))
                    .collect();
                let response = runtime.block_on(handle_sync_batch(&worker, sqs_event(&records)));
                prop_assert!(
                    response.batch_item_failures.is_empty(),
                    "nothing is retried without a fault: {response:?} for {bodies:?}"
                );
                // A rejection is kept under its tenant when the body names a valid
                // one (any tenant, the mutations change it too), else under `unknown`.
                let mut partitions: BTreeSet<String> =
                    BTreeSet::from(["unknown#rejected".to_owned()]);
                for body in &bodies {
                    let named = serde_json::from_str::<Value>(body)
                        .ok()
                        .and_then(|v| v["tenantId"].as_str().map(str::to_owned))
                        .filter(|t| synchub_core::domain::TenantId::parse(t).is_ok());
                    partitions.extend(named.map(|t| format!("{t}#rejected")));
                }
                let rejected = runtime.block_on(async {
                    let mut rows = Vec::new();
                    for pk in &partitions {
                        rows.extend(stack.audit_rows(pk).await);
                    }
                    rows
                });
                let ours: HashSet<&str> = ids.iter().map(String::as_str).collect();
                for (id, body) in ids.iter().zip(&bodies) {
                    let rows: Vec<_> = rejected.iter().filter(|r| r.message_id == *id).collect();
                    match synchub_core::app::apply::entity_of(body) {
                        Ok(_) => prop_assert!(rows.is_empty(), "{body:?} was rejected: {rows:?}"),
                        Err(why) => {
                            prop_assert_eq!(rows.len(), 1, "{:?} has no rejected row", body);
                            let reason = rows[0].reason.clone().unwrap_or_default();
                            let field = reason.split(": ").next().unwrap_or_default();
                            prop_assert!(
                                !field.is_empty() && reason.len() > field.len(),
                                "{reason:?}"
                            );
                            prop_assert_eq!(reason, why);
                        }
                    }
                }
                // The rows checked go, so the shared `unknown` partition stays small.
                runtime.block_on(async {
                    for row in rejected
                        .iter()
                        .filter(|r| ours.contains(r.message_id.as_str()))
                    {
                        stack
                            .dynamo()
                            .delete_item()
                            .table_name(&stack.config.audit_table)
                            .key(
                                "pk",
                                aws_sdk_dynamodb::types::AttributeValue::S(row.pk.clone()),
                            )
                            .key(
                                "sk",
                                aws_sdk_dynamodb::types::AttributeValue::S(row.sk.clone()),
                            )
                            .send()
                            .await
                            .expect("delete a checked row");
                    }
                });
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    });
}
