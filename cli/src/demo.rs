//! The local demo: a few hundred signed supplier webhooks (shuffled, with
//! duplicates and malformed ones) through the real ingest handler, the real
//! worker consuming the queue concurrently, then what happened and a check
//! that every SKU holds its newest event.

use crate::event_source::LocalEventSource;
use crate::local::{self, QueueSettings};
use crate::trace;
use aws_config::SdkConfig;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use synchub::config::Config;
use synchub::domain::time::now_millis;
use synchub::domain::webhook_signature::WebhookSecret;
use synchub::domain::{Sku, TenantId};
use synchub::lambda::{
    http::handle_webhook, notify::handle_failures, sqs::handle_sync_batch, Ingest, Notifier, Worker,
};
use synchub::ports::TenantSettings;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Who gets the demo tenant's failure emails.
pub const DEMO_ALERT_RECIPIENT: &str = "ops@demo-shop.example";

/// An API Gateway HTTP API (payload v2) event for `POST /webhooks/supplier/{tenant}`,
/// as Lambda would receive it.
pub fn apigw_event(tenant: &str, headers: &[(&str, String)], body: &str) -> Value {
    webhook_event("supplier", tenant, headers, body)
}

/// An API Gateway (HTTP API) event for `POST /webhooks/{source}/{tenant}`.
pub fn webhook_event(source: &str, tenant: &str, headers: &[(&str, String)], body: &str) -> Value {
    let path = format!("/webhooks/{source}/{tenant}");
    let route = format!("POST /webhooks/{source}/{{tenantId}}");
    let mut h: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    h.insert("content-type".into(), json!("application/json"));
    json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": h,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "synchub-demo"},
            "requestId": format!("req-{}", rand::random::<u32>()), "routeKey": route,
            "stage": "$default", "time": "22/Nov/2026:10:00:00 +0000", "timeEpoch": now_millis()
        },
        "pathParameters": {"tenantId": tenant},
        "body": body,
        "isBase64Encoded": false
    })
}

/// Standard Webhooks headers for a body, signed now.
pub fn signed_headers(
    secret: &WebhookSecret,
    webhook_id: &str,
    body: &str,
) -> Vec<(&'static str, String)> {
    let ts = now_millis() / 1000;
    vec![
        ("webhook-id", webhook_id.to_owned()),
        ("webhook-timestamp", ts.to_string()),
        (
            "webhook-signature",
            secret.sign(webhook_id, ts, body.as_bytes()),
        ),
    ]
}

/// Runs one request through the real handler, as the Lambda runtime would.
pub async fn invoke_ingest(ingest: &Ingest, event: &Value) -> (u16, Value) {
    let request = lambda_http::request::from_str(&event.to_string())
        .expect("a well-formed API Gateway event");
    let response = handle_webhook(ingest, request).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}

struct Planned {
    sku: String,
    event_id: String,
    body: String,
    tamper: bool,
}

/// A supplier's stream: several versions per SKU, some re-sent, some broken.
fn plan_webhooks(skus: usize, rng: &mut impl Rng) -> Vec<Planned> {
    let base = now_millis() - 3_600_000;
    let mut planned = Vec::new();
    for s in 0..skus {
        let sku = format!("SKU-{s:03}");
        for v in 0..rng.random_range(4..9) {
            let event_id = format!("evt-{s:03}-{v}");
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(
                (base + v * 60_000 + rng.random_range(0..1000)) as i128 * 1_000_000,
            )
            .unwrap();
            let body = json!({"eventId": event_id, "supplierId": "acme-supply", "sku": sku, "quantity": rng.random_range(0..500),
                              "price": (rng.random_range(100..10_000) as f64) / 100.0, "name": format!("Item {s}"),
                              "updatedAt": synchub::domain::time::canonical_time(at)})
            .to_string();
            let resend = rng.random_bool(0.12);
            planned.push(Planned {
                sku: sku.clone(),
                event_id: event_id.clone(),
                body: body.clone(),
                tamper: false,
            });
            if resend {
                planned.push(Planned {
                    sku: sku.clone(),
                    event_id,
                    body,
                    tamper: false,
                });
            }
        }
    }
    let broken = [
        json!({"eventId": "evt-bad-1", "supplierId": "acme-supply", "sku": "SKU-001", "quantity": -4, "updatedAt": "2026-06-01T10:00:00Z"}).to_string(),
        json!({"eventId": "evt-bad-2", "supplierId": "acme-supply", "sku": "not a sku!", "quantity": 3, "updatedAt": "2026-06-01T10:00:00Z"}).to_string(),
        json!({"eventId": "evt-bad-3", "supplierId": "acme-supply", "sku": "SKU-002", "quantity": 3, "updatedAt": "last tuesday"}).to_string(),
        "{\"eventId\": \"evt-bad-4\", \"sku\": ".to_owned(),
    ];
    for (i, body) in broken.iter().cycle().take(12).enumerate() {
        planned.push(Planned {
            sku: String::new(),
            event_id: format!("bad-{i}"),
            body: body.clone(),
            tamper: false,
        });
    }
    for i in 0..6 {
        let victim = &planned[i * 7];
        planned.push(Planned {
            sku: victim.sku.clone(),
            event_id: victim.event_id.clone(),
            body: victim.body.clone(),
            tamper: true,
        });
    }
    planned.shuffle(rng);
    planned
}

pub struct DemoOptions {
    pub prefix: String,
    pub tenant: String,
    pub skus: usize,
    pub pollers: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            prefix: "synchub".into(),
            tenant: "demo-shop".into(),
            skus: 40,
            pollers: 4,
        }
    }
}

/// Runs the demo and returns whether the final check passed.
pub async fn run(aws: &SdkConfig, options: &DemoOptions) -> Result<bool, Error> {
    let started = Instant::now();
    let config = local::provision(
        aws,
        &options.prefix,
        QueueSettings {
            visibility_seconds: 5,
            ..QueueSettings::default()
        },
    )
    .await?;
    println!(
        "resources   {}, {}, {}, queue {} (+ DLQ)",
        config.items_table,
        config.audit_table,
        config.tenants_table,
        config.sync_queue_url.rsplit('/').next().unwrap_or("")
    );

    let storefront = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&storefront)
        .await;
    let secret_text = local::new_signing_secret();
    let secret = WebhookSecret::parse(&secret_text)?;
    let settings = TenantSettings {
        tenant_id: options.tenant.clone(),
        name: "Demo Shop".into(),
        active: true,
        storefront_url: Some(format!("{}/cache-bust", storefront.uri())),
        targets_disabled: vec![],
        alert_recipients: vec![DEMO_ALERT_RECIPIENT.into()],
        daily_summary: true,
        square_notification_url: None,
    };
    local::seed_tenant(aws, &config, &settings, &secret_text).await?;
    println!(
        "tenant      {} (signing secret in SSM {}/{}/webhook-secret, storefront at {})",
        options.tenant,
        config.tenant_secrets_path,
        options.tenant,
        storefront.uri()
    );

    let ingest = Arc::new(Ingest::new(aws, &config));
    let worker = Arc::new(Worker::new(aws, &config));
    let source = LocalEventSource::new(aws_sdk_sqs::Client::new(aws), &config.sync_queue_url);
    let producing = Arc::new(AtomicBool::new(true));
    let pollers: Vec<_> = (0..options.pollers)
        .map(|_| {
            let (source, worker, producing) = (source.clone(), worker.clone(), producing.clone());
            tokio::spawn(async move {
                let mut idle = 0;
                loop {
                    let stats = source
                        .poll_once(|event| async { handle_sync_batch(&worker, event).await })
                        .await?;
                    if stats.received == 0 && !producing.load(Ordering::Relaxed) {
                        idle += 1;
                        if idle >= 2 && source.depth().await? == 0 {
                            return Ok::<_, Error>(());
                        }
                    } else {
                        idle = 0;
                    }
                }
            })
        })
        .collect();

    let mut rng = rand::rng();
    let planned = plan_webhooks(options.skus, &mut rng);
    println!("webhooks    sending {} signed supplier webhooks (shuffled; re-sends, malformed bodies and bad signatures mixed in)", planned.len());
    let sent_at = Instant::now();
    let results: Vec<(usize, u16, Value)> = futures::stream::iter(planned.iter().enumerate())
        .map(|(i, p)| {
            let ingest = ingest.clone();
            let signing = if p.tamper {
                WebhookSecret::parse(&local::new_signing_secret()).unwrap()
            } else {
                secret.clone()
            };
            let event = apigw_event(
                &options.tenant,
                &signed_headers(&signing, &format!("msg_{i}"), &p.body),
                &p.body,
            );
            async move {
                let (status, body) = invoke_ingest(&ingest, &event).await;
                (i, status, body)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let send_seconds = sent_at.elapsed().as_secs_f64();
    use futures::StreamExt as _;

    // A producer that bypasses ingest and puts junk on the queue: the worker must reject it.
    let sqs = aws_sdk_sqs::Client::new(aws);
    sqs.send_message().queue_url(&config.sync_queue_url).message_group_id(&options.tenant)
        .message_body(json!({"schema": 1, "tenantId": options.tenant, "source": "supplier", "eventId": "evt-junk", "correlationId": "sync-demo-junk", "receivedAt": "2026-06-01T10:00:00Z",
                             "payload": {"eventId": "evt-junk", "supplierId": "acme-supply", "sku": "SKU-000", "quantity": 1.5, "updatedAt": "2026-06-01T10:00:00Z"}}).to_string())
        .send().await?;
    producing.store(false, Ordering::Relaxed);
    for poller in pollers {
        poller.await??;
    }
    let drained = started.elapsed();

    let mut by_status: BTreeMap<u16, (usize, Option<String>)> = BTreeMap::new();
    let mut newest: HashMap<&str, &str> = HashMap::new();
    for (i, status, body) in &results {
        let entry = by_status.entry(*status).or_default();
        entry.0 += 1;
        if entry.1.is_none() && *status != 202 {
            entry.1 = body["error"]["message"].as_str().map(str::to_owned);
        }
        if *status == 202 {
            let p = &planned[*i];
            let current = newest.entry(p.sku.as_str()).or_insert(p.event_id.as_str());
            if version_of(&planned, p.event_id.as_str()) > version_of(&planned, current) {
                *current = p.event_id.as_str();
            }
        }
    }
    println!(
        "            {} requests answered in {:.2} s",
        results.len(),
        send_seconds
    );
    for (status, (count, example)) in &by_status {
        let label = match status {
            202 => "accepted",
            400 => "invalid",
            401 => "not authenticated",
            413 => "too large",
            _ => "other",
        };
        println!(
            "  HTTP {status} {label:<18} {count:>4}{}",
            example
                .as_ref()
                .map(|e| format!("   e.g. \"{e}\""))
                .unwrap_or_default()
        );
    }

    let outcomes = count_outcomes(aws, &config).await?;
    println!(
        "worker      {} pollers drained the queue in {:.2} s since start; audit rows by outcome:",
        options.pollers,
        drained.as_secs_f64()
    );
    for (outcome, count) in &outcomes {
        println!("  {outcome:<10} {count:>4}");
    }
    let publishes = storefront
        .received_requests()
        .await
        .unwrap_or_default()
        .len();
    println!(
        "storefront  {publishes} cache-bust POSTs (one per applied change: {})",
        outcomes.get("applied").copied().unwrap_or(0)
    );
    let dlq = crate::event_source::LocalEventSource::new(sqs.clone(), &config.sync_dlq_url);
    println!("DLQ         {} message(s) parked", dlq.depth().await?);
    notify_failures(aws, &config, &dlq).await?;

    // The check: every SKU holds the newest event that was accepted for it.
    let items = synchub::adapters::dynamodb::DynamoItemStore::new(
        aws_sdk_dynamodb::Client::new(aws),
        &config.items_table,
    );
    let tenant = TenantId::parse(&options.tenant)?;
    let mut wrong = Vec::new();
    for (sku, expected) in &newest {
        let stored = stored_event_id(aws, &config, &tenant, sku).await?;
        if stored.as_deref() != Some(*expected) {
            wrong.push(format!("{sku}: stored {stored:?}, newest {expected}"));
        }
    }
    let _ = items;
    let ok = wrong.is_empty()
        && outcomes.values().sum::<usize>() == by_status.get(&202).map(|c| c.0).unwrap_or(0) + 1;
    if wrong.is_empty() {
        println!(
            "check       ✔ every SKU holds its newest event ({}/{})",
            newest.len(),
            newest.len()
        );
    } else {
        println!(
            "check       ✘ {} SKUs do not hold their newest event:\n  {}",
            wrong.len(),
            wrong.join("\n  ")
        );
    }

    // Explain one SKU that saw a stale event.
    let audit = synchub::adapters::dynamodb::DynamoAuditLog::new(
        aws_sdk_dynamodb::Client::new(aws),
        &config.audit_table,
    );
    let mut skus: Vec<&&str> = newest.keys().collect();
    skus.sort();
    for sku in skus {
        let text = trace::trace_item(&audit, &tenant, &Sku::parse(sku)?).await?;
        if text.contains("stale") {
            println!(
                "\n$ synchub trace --tenant {} --sku {sku}\n{text}",
                options.tenant
            );
            break;
        }
    }
    let registered = registrations(aws, &config, &ingest, &options.tenant).await?;
    Ok(ok && registered)
}

/// Shopify registrations through the real ingest and worker: the master
/// record first, then the POS (a local Square stand-in, flag on) while the
/// CRM's flag is off; then the CRM is switched on and backfilled.
async fn registrations(
    aws: &SdkConfig,
    config: &Config,
    ingest: &Ingest,
    tenant: &str,
) -> Result<bool, Error> {
    use synchub::app::customers::TargetFlags;
    use synchub::domain::provider_webhook::{signed_parts, Provider, ProviderKey};
    use wiremock::matchers::{method, path};
    let shopify_secret = format!("shpss_{:032x}", rand::random::<u128>());
    for (name, value) in [
        ("shopify-secret", shopify_secret.as_str()),
        ("square-token", "EAAA-demo"),
        ("hubspot-token", "pat-demo"),
    ] {
        local::put_tenant_parameter(aws, config, tenant, name, value).await?;
    }
    let targets = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST")).and(path("/v2/customers")).respond_with(|r: &wiremock::Request| {
        let sent: Value = serde_json::from_slice(&r.body).unwrap_or_default();
        wiremock::ResponseTemplate::new(200).set_body_json(json!({"customer": {"id": format!("SQ-{}", sent["reference_id"].as_str().unwrap_or("?")), "version": 0}}))
    }).mount(&targets).await;
    wiremock::Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/batch/upsert"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(
                json!({"status": "COMPLETE", "results": [{"id": "901", "new": true}]}),
            ),
        )
        .mount(&targets)
        .await;
    let mut with_targets = config.clone();
    (with_targets.square_base_url, with_targets.hubspot_base_url) = (targets.uri(), targets.uri());
    with_targets.flags = TargetFlags {
        pos: true,
        crm: false,
        updates: false,
    };
    let worker = Worker::new(aws, &with_targets);

    println!("\nregistrations  3 Shopify customers/create webhooks (X-Shopify-Hmac-Sha256); ENABLE_POS_SYNC=true, ENABLE_CRM_SYNC=false");
    let ids: Vec<u64> = (1..=3).map(|n| 7_000_000_000 + n).collect();
    for (n, id) in ids.iter().enumerate() {
        let first_name = ["Ada", "Grace", "Alan"][n];
        let body = json!({"id": id, "email": format!("customer{n}@demo-shop.example"), "first_name": first_name, "last_name": "Demo",
            "created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-06-01T10:00:00Z", "state": "enabled"}).to_string();
        let headers = vec![
            (
                "x-shopify-hmac-sha256",
                ProviderKey::new(&shopify_secret).sign(&signed_parts(
                    Provider::Shopify,
                    "",
                    body.as_bytes(),
                )),
            ),
            ("x-shopify-topic", "customers/create".to_owned()),
            ("x-shopify-event-id", format!("demo-reg-{id}")),
        ];
        let (status, answer) =
            invoke_ingest(ingest, &webhook_event("shopify", tenant, &headers, &body)).await;
        println!(
            "  HTTP {status} {}",
            answer["outcome"].as_str().unwrap_or_default()
        );
    }
    let source = LocalEventSource::new(aws_sdk_sqs::Client::new(aws), &config.sync_queue_url);
    while source
        .poll_once(|event| async { handle_sync_batch(&worker, event).await })
        .await?
        .received
        > 0
    {}
    let tenant_id = TenantId::parse(tenant)?;
    use synchub::ports::CustomerLedger;
    let mut ok = true;
    for id in &ids {
        let record = worker
            .items
            .customer(&tenant_id, &format!("shopify-{id}"))
            .await?
            .ok_or("master record missing")?;
        let status = |t: &str| {
            record
                .sync_status
                .get(t)
                .map(|s| s.status.clone())
                .unwrap_or_default()
        };
        println!(
            "  master record {:<24} pos: {:<10} (Square id {})  crm: {}",
            record.profile.id,
            status("pos"),
            record.square_customer_id.as_deref().unwrap_or("-"),
            status("crm")
        );
        ok &= status("pos") == "success" && status("crm") == "skipped (disabled)";
    }
    println!("\n$ ENABLE_CRM_SYNC=true synchub backfill --tenant {tenant} --target crm");
    let flags = TargetFlags {
        crm: true,
        ..with_targets.flags
    };
    let (report, items) = crate::backfill::run(
        &worker.targets,
        &worker.items,
        &worker.tenants,
        flags,
        &tenant_id,
        "crm",
        None,
        false,
    )
    .await?;
    print!("{report}");
    ok &= items.len() == ids.len()
        && targets.received_requests().await.unwrap_or_default().len() == 2 * ids.len();
    Ok(ok)
}

/// The real failure-notifier consumes the DLQ; the alert is read back from
/// the local SES.
async fn notify_failures(
    aws: &SdkConfig,
    config: &Config,
    dlq: &LocalEventSource,
) -> Result<(), Error> {
    let notifier = Notifier::new(aws, config);
    let before = local::sent_emails(&moto_endpoint()).await?.len();
    while dlq
        .poll_once(|event| handle_failures(&notifier, &config.notify_queue_url, event))
        .await?
        .received
        > 0
    {}
    for email in local::sent_emails(&moto_endpoint())
        .await?
        .into_iter()
        .skip(before)
    {
        println!(
            "notifier    emailed {} (SES, in the emulator): \"{}\"",
            email.to.join(", "),
            email.subject
        );
        for line in html_to_lines(&email.body).iter().take(14) {
            println!("  │ {line}");
        }
    }
    println!(
        "DLQ         {} message(s) left: the notifier keeps each dead letter for `synchub replay`",
        dlq.depth().await?
    );
    Ok(())
}

fn moto_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_SES").unwrap_or_default()
}

/// Readable lines of the HTML part, for the terminal.
fn html_to_lines(html: &str) -> Vec<String> {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html
        .replace("</th>", ": ")
        .replace("</tr>", "\n")
        .replace("<br>", "\n")
        .replace("</li>", "\n")
        .replace("</h2>", "\n")
        .replace("</p>", "\n")
        .chars()
    {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Versions compare as the ordering rule does: (updatedAt, eventId).
fn version_of<'a>(planned: &'a [Planned], event_id: &'a str) -> (String, &'a str) {
    let body = planned
        .iter()
        .find(|p| p.event_id == event_id)
        .map(|p| p.body.as_str())
        .unwrap_or("{}");
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    (v["updatedAt"].as_str().unwrap_or("").to_owned(), event_id)
}

async fn stored_event_id(
    aws: &SdkConfig,
    config: &Config,
    tenant: &TenantId,
    sku: &str,
) -> Result<Option<String>, Error> {
    let out = aws_sdk_dynamodb::Client::new(aws)
        .get_item()
        .table_name(&config.items_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(tenant.to_string()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("catalog_item#{sku}")),
        )
        .consistent_read(true)
        .send()
        .await?;
    Ok(out
        .item
        .and_then(|i| i.get("eventId").and_then(|v| v.as_s().ok()).cloned()))
}

/// Audit rows by outcome (a scan: fine for a demo table).
pub async fn count_outcomes(
    aws: &SdkConfig,
    config: &Config,
) -> Result<BTreeMap<String, usize>, Error> {
    let mut counts = BTreeMap::new();
    let mut pages = aws_sdk_dynamodb::Client::new(aws)
        .scan()
        .table_name(&config.audit_table)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for item in page?.items() {
            if let Some(outcome) = item.get("outcome").and_then(|v| v.as_s().ok()) {
                *counts.entry(outcome.clone()).or_default() += 1;
            }
        }
    }
    Ok(counts)
}
