//! The flows run through the function binaries, then every output searched.

use super::*;
use std::path::Path;
use synchub_cli::local::sent_emails;
use synchub_core::domain::provider_webhook::{signed_parts, Provider, ProviderKey};
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_tests::chaos::function_binary;
use synchub_tests::square_server::{self, Fault, SquareData, SquareServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_token_or_valid_signature_reaches_a_log_row_email_or_answer() {
    let mut stack = TestStack::new().await;
    let mut data = SquareData::empty();
    data.items = square_server::items(3);
    data.locations = square_server::locations(1);
    let square = SquareServer::start(data, 10).await;
    stack.config.square_base_url = square.url.clone();
    let (crm_url, crm_tokens) = refusing_crm().await;
    let recipient = format!("{}@example.com", unique("alerts"));
    let ops = format!("{}@example.com", unique("ops"));

    let a = stack.tenant_with(None, vec![recipient.clone()]).await;
    let b = stack.tenant(None).await;
    let p = stack.provider_tenant(vec![]).await;
    let square_token = format!("EAAA{}", unique("sq-token").replace('-', "x"));
    let hubspot_token = format!("pat-na1-{:032x}", rand::random::<u128>());
    stack
        .put_parameter(&p.id, "square-token", &square_token)
        .await;
    stack
        .put_parameter(&p.id, "hubspot-token", &hubspot_token)
        .await;
    let mut secrets = Secrets::default();
    secrets.add_webhook_secret("tenant A's", &a.secret_text);
    secrets.add_webhook_secret("tenant B's", &b.secret_text);
    secrets.add("Shopify secret", &p.shopify_secret);
    secrets.add("Square signature key", &p.square_key);
    secrets.add("Square token", &square_token);
    secrets.add("HubSpot token", &hubspot_token);

    let logs = std::env::temp_dir().join(format!("{}-secret-outputs", stack.prefix));
    std::fs::create_dir_all(&logs).unwrap();
    let env = function_env(
        &stack,
        &[
            ("HUBSPOT_BASE_URL", &crm_url),
            ("ENABLE_POS_SYNC", "true"),
            ("ENABLE_CRM_SYNC", "true"),
            ("TARGET_ATTEMPTS", "1"),
            ("ALERT_DEFAULT_RECIPIENT", &ops),
        ],
    );
    let start = |name: &'static str| {
        let env = env.clone();
        let log = logs.join(format!("{name}.log"));
        async move { Environment::start(function_binary(name), env, Duration::from_secs(20), log).await }
    };
    let ingest = start("webhook-ingest").await;
    let worker = start("sync-worker").await;
    let api = start("sync-api").await;
    let daily = start("daily-sync").await;
    let notifier = start("failure-notifier").await;
    let outputs = Mutex::new(Outputs::default());
    let answer = |what: &str, status: u16, text: String| {
        outputs
            .lock()
            .unwrap()
            .add(format!("answer to {what} ({status})"), text);
    };

    // Webhooks, accepted and refused.
    let body = supplier_event("evt-a1", "SKU-A1", 5, &at_minute(1)).to_string();
    let ts = now_millis() / 1000;
    let good = a.secret.sign("msg_a1", ts, body.as_bytes());
    secrets.add_signature("a valid supplier signature", &good);
    let with = |id: &str, ts: i64, signature: &str| {
        vec![
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", signature.to_owned()),
        ]
    };
    let (status, text) = call(
        &ingest,
        &apigw_event(&a.id, &with("msg_a1", ts, &good), &body),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    answer("a signed supplier webhook", status, text);
    // Signed with B's own secret, sent to A's path.
    let b_signed = b.secret.sign("msg_a2", ts, body.as_bytes());
    secrets.add_signature("B's valid signature", &b_signed);
    // Old enough to be refused as a replay, though the signature is right.
    let stale = a.secret.sign("msg_a3", ts - 3_600, body.as_bytes());
    secrets.add_signature("a valid but stale signature", &stale);
    // Right signature, body that fails validation.
    let bad_body = supplier_event("evt-a4", "SKU-A4", -5, &at_minute(1)).to_string();
    let signed_bad = a.secret.sign("msg_a4", ts, bad_body.as_bytes());
    secrets.add_signature("a valid signature on a bad body", &signed_bad);
    // Right signature among wrong ones, for a body changed after signing.
    let other = WebhookSecret::parse(&synchub_cli::local::new_signing_secret()).unwrap();
    let several = format!("{} {}", other.sign("msg_a5", ts, b"x"), good);
    for (what, tenant, headers, body, expected) in [
        (
            "B's signature on A's path",
            &a.id,
            with("msg_a2", ts, &b_signed),
            &body,
            401,
        ),
        (
            "a stale timestamp",
            &a.id,
            with("msg_a3", ts - 3_600, &stale),
            &body,
            401,
        ),
        (
            "a bad body",
            &a.id,
            with("msg_a4", ts, &signed_bad),
            &bad_body,
            400,
        ),
        (
            "A's signature on B's path",
            &b.id,
            with("msg_a1", ts, &good),
            &body,
            401,
        ),
        (
            "a signature list, body changed",
            &a.id,
            with("msg_a1", ts, &several),
            &bad_body,
            401,
        ),
    ] {
        let (status, text) = call(&ingest, &apigw_event(tenant, &headers, body)).await;
        assert_eq!(status, expected, "{what}: {text}");
        answer(what, status, text);
    }
    let customer =
        shopify_customer(11, "ada@example.com", "Ada", "2026-06-01T10:00:00-00:00").to_string();
    let shopify = shopify_headers(&p.shopify_secret, "customers/create", "e-s1", &customer);
    secrets.add_signature("a valid Shopify signature", &shopify[0].1);
    let (status, text) = call(
        &ingest,
        &webhook_event("shopify", &p.id, &shopify, &customer),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    answer("a signed Shopify webhook", status, text);
    let tampered = customer.replace("Ada", "Eve");
    let (status, text) = call(
        &ingest,
        &webhook_event("shopify", &p.id, &shopify, &tampered),
    )
    .await;
    assert_eq!(status, 401, "{text}");
    answer("a Shopify webhook changed after signing", status, text);
    let notice = json!({"merchant_id": "6SSW7HV8K2ST5", "type": "customer.updated", "event_id": "sq-e1", "created_at": "2026-06-01T10:00:00.528Z",
        "data": {"type": "customer", "id": "SQC1", "object": {"customer": {"id": "SQC1", "updated_at": "2026-06-01T10:00:00Z", "given_name": "Grace", "version": 2}}}}).to_string();
    let square_signed = square_headers(&p.square_key, &p.square_url, &notice);
    secrets.add_signature("a valid Square signature", &square_signed[0].1);
    let (status, text) = call(
        &ingest,
        &webhook_event("square", &p.id, &square_signed, &notice),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    answer("a signed Square webhook", status, text);
    let wrong_url = ProviderKey::new(&p.square_key).sign(&signed_parts(
        Provider::Square,
        "https://elsewhere.example.com/hook",
        notice.as_bytes(),
    ));
    secrets.add_signature("a Square signature for another URL", &wrong_url);
    let headers = vec![("x-square-hmacsha256-signature", wrong_url)];
    let (status, text) = call(&ingest, &webhook_event("square", &p.id, &headers, &notice)).await;
    assert_eq!(status, 401, "{text}");
    answer("a Square webhook signed for another URL", status, text);

    // The operations API: a manual pull (its locations refused by Square), answers and refusals.
    square.inject("/v2/locations", Fault::Unauthorized, 10);
    let runs = format!("/api/tenants/{}/runs", p.id);
    let replay = format!("/api/tenants/{}/replay", a.id);
    let hours_from_now = |h: i64| {
        synchub_core::domain::time::canonical_time(
            time::OffsetDateTime::now_utc() + time::Duration::hours(h),
        )
    };
    let window = json!({"since": hours_from_now(-2), "until": hours_from_now(1)}).to_string();
    let requests: Vec<(&str, Value, u16)> = vec![
        (
            "start runs",
            api_event(
                "POST",
                &runs,
                &[],
                Some(r#"{"dataTypes":["catalog","locations"]}"#),
            ),
            202,
        ),
        (
            "status",
            api_event("GET", &format!("/api/tenants/{}/status", p.id), &[], None),
            200,
        ),
        ("tenants", api_event("GET", "/api/tenants", &[], None), 200),
        (
            "a bad trace id",
            api_event(
                "GET",
                &format!("/api/tenants/{}/trace", a.id),
                &[("kind", "catalog_item"), ("id", "a#b")],
                None,
            ),
            400,
        ),
        (
            "an unknown tenant",
            api_event(
                "GET",
                &format!("/api/tenants/{}/status", unique("nobody")),
                &[],
                None,
            ),
            404,
        ),
        (
            "a replay dry run",
            api_event("POST", &replay, &[], Some(&window)),
            200,
        ),
        (
            "a bad replay",
            api_event("POST", &replay, &[], Some(r#"{"since":"soon"}"#)),
            400,
        ),
    ];
    for (what, event, expected) in &requests {
        let (status, text) = call(&api, event).await;
        assert_eq!(status, *expected, "{what}: {text}");
        answer(what, status, text);
    }

    // A record the worker must park, for the notifier.
    let poison = queued(
        &a.id,
        &json!({"eventId": "evt-p", "supplierId": "sup-1", "sku": "SKU-P", "quantity": -1, "updatedAt": at_minute(2)}),
    );
    stack
        .sqs()
        .send_message()
        .queue_url(&stack.config.sync_queue_url)
        .message_body(poison)
        .send()
        .await
        .expect("send the poison");
    drain(&stack, &stack.config.runs_queue_url, &daily, &outputs).await;
    drain(&stack, &stack.config.sync_queue_url, &worker, &outputs).await;
    drain(&stack, &stack.config.sync_dlq_url, &notifier, &outputs).await;
    drain(&stack, &stack.config.notify_queue_url, &notifier, &outputs).await;
    // The failure list and a trace, once the notifier and the worker did their part.
    let trace = api_event(
        "GET",
        &format!("/api/tenants/{}/trace", a.id),
        &[("kind", "catalog_item"), ("id", "SKU-A1")],
        None,
    );
    let failures = api_event("GET", "/api/failures", &[], None);
    for (what, event) in [("failures", failures), ("trace", trace)] {
        let (status, text) = call(&api, &event).await;
        assert_eq!(status, 200, "{text}");
        answer(what, status, text);
    }
    drop((ingest, worker, api, daily, notifier));

    // The secrets were in play: the tokens went out, the flows ran.
    assert!(
        square
            .authorizations()
            .contains(&format!("Bearer {square_token}")),
        "daily-sync pulled Square with the tenant's token"
    );
    assert!(
        crm_tokens
            .lock()
            .unwrap()
            .contains(&format!("Bearer {hubspot_token}")),
        "the worker called HubSpot with the tenant's token"
    );
    let mut outputs = outputs.into_inner().unwrap();
    for entry in std::fs::read_dir(&logs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (n, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
            outputs.add(format!("{name}:{}", n + 1), line);
        }
    }
    all_rows(&stack, &mut outputs).await;
    let moto = std::env::var("AWS_ENDPOINT_URL_SES").expect("the SES endpoint");
    for email in sent_emails(&moto).await.expect("moto's emails") {
        if email.to.contains(&recipient) || email.to.contains(&ops) {
            outputs.add(
                format!("email to {:?}", email.to),
                format!("{}\n{}", email.subject, email.body),
            );
        }
    }
    for (place, at_least) in [
        ("webhook-ingest.log", 10),
        ("sync-worker.log", 3),
        ("daily-sync.log", 3),
        ("failure-notifier.log", 2),
        ("sync-api.log", 9),
        ("row of ", 10),
        ("email to", 2),
        ("answer to", 19),
    ] {
        assert!(
            outputs.count(place) >= at_least,
            "{place}: {} entries, expected at least {at_least} (logs in {})",
            outputs.count(place),
            logs.display()
        );
    }
    // The search sees what the flows wrote: the event id of the accepted
    // webhook is in the ingest's log, the worker's rows and the trace.
    for place in ["webhook-ingest.log", "row of ", "answer to trace"] {
        assert!(
            outputs
                .0
                .iter()
                .any(|(p, text)| p.starts_with(place) && text.contains("evt-a1")),
            "evt-a1 not found in {place}"
        );
    }
    let mut leaks = Vec::new();
    for (what, value) in &secrets.0 {
        for (place, text) in &outputs.0 {
            if text.contains(value.as_str()) {
                leaks.push(format!("{what} in {place}: {text:.300}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks (logs in {}):\n{}",
        leaks.len(),
        logs.display(),
        leaks.join("\n")
    );
    let _ = std::fs::remove_dir_all(Path::new(&logs));
}
