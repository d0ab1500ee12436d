//! The functions' logs as an operator reads them: every line written while
//! handling a webhook or a record names the correlation id of that work.

use super::json_logs;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use synchub_core::app::apply::{apply_batch, ApplyPorts, Delivery};
use synchub_core::app::customers::TargetFlags;
use synchub_core::app::ingest::{ingest_supplier_webhook, IngestPorts, WebhookRequest};
use synchub_core::domain::webhook_signature::{SignedHeaders, WebhookSecret};
use synchub_core::ports::fakes::{
    tenant_settings, FakeAuditLog, FakeCustomerTargets, FakeItemStore, FakeQueue, FakeSecrets,
    FakeStorefront, FakeTenants, WEBHOOK_SECRET,
};
use synchub_core::ports::TenantSettings;
use tracing::instrument::WithSubscriber;

const TENANT: &str = "acme";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW_MILLIS: i64 = 1_750_000_000_000;

/// Log lines captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

fn correlation_of(line: &Value) -> Option<&str> {
    line["correlation_id"]
        .as_str()
        .or_else(|| line["span"]["correlation_id"].as_str())
}

/// Events for one SKU (out of order, one a duplicate) and one malformed one,
/// each through ingest, then the worker.
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
async fn one_flow() {
    let secrets = FakeSecrets::new();
    secrets.put(TENANT, WEBHOOK_SECRET, SECRET);
    let tenants = FakeTenants::new([TenantSettings {
        storefront_url: Some("http://storefront.test/bust".into()),
        ..tenant_settings(TENANT)
    }]);
    let queue = FakeQueue::new();
    let ingest: IngestPorts<(_, _, _)> = IngestPorts {
        secrets: &secrets,
        tenants: &tenants,
        queue: &queue,
    };
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let events = [("evt-2", "10:02"), ("evt-1", "10:01"), ("evt-2", "10:02")];
    for (n, (event, at)) in events.iter().enumerate() {
        let body = json!({"eventId": event, "supplierId": "sup-1", "sku": "SKU-1", "quantity": n, "updatedAt": format!("2025-06-15T{at}:00Z")}).to_string();
        let ts = (NOW_MILLIS / 1000).to_string();
        let id = format!("msg_{n}");
        let signature = secret.sign(&id, NOW_MILLIS / 1000, body.as_bytes());
        let request = WebhookRequest {
            tenant: TENANT,
            headers: SignedHeaders {
                id: Some(&id),
                timestamp: Some(&ts),
                signature: Some(&signature),
            },
            body: body.as_bytes(),
            now_millis: NOW_MILLIS,
        };
        assert!(ingest_supplier_webhook(&ingest, request)
            .await
            .result
            .is_ok());
    }
    let mut deliveries: Vec<Delivery> = queue
        .sent()
        .iter()
        .enumerate()
        .map(|(i, m)| Delivery {
            message_id: format!("sqs-{i}"),
            body: m.body.clone(),
            receive_count: 1,
        })
        .collect();
    let mut junk = json!({"schema": 1, "tenantId": TENANT, "source": "supplier", "eventId": "evt-9",
        "correlationId": "sync-acme-1-junk", "receivedAt": "2025-06-15T10:00:00.000Z",
        "payload": {"eventId": "evt-9", "supplierId": "sup-1", "sku": "../x", "quantity": 1, "updatedAt": "2025-06-15T10:00:00Z"}});
    junk["payload"]["quantity"] = json!(-1);
    deliveries.push(Delivery {
        message_id: "sqs-junk".into(),
        body: junk.to_string(),
        receive_count: 1,
    });
    let (items, audit, dlq) = (FakeItemStore::new(), FakeAuditLog::new(), FakeQueue::new());
    let (storefront, targets) = (FakeStorefront::new(), FakeCustomerTargets::new());
    let worker: ApplyPorts<(_, _, _, _, _, _)> = ApplyPorts {
        items: &items,
        audit: &audit,
        tenants: &tenants,
        dead_letters: &dlq,
        storefront: &storefront,
        targets: &targets,
        flags: TargetFlags::default(),
        canary_tenants: &[],
        audit_ttl: Duration::from_secs(86_400),
        maintenance: synchub_core::ports::maintenance::Maintenance::Off,
    };
    let report = apply_batch(&worker, &deliveries).await;
    assert_eq!(report.outcomes.len(), 4, "{report:?}");
}

#[tokio::test]
async fn every_line_written_for_a_webhook_or_a_record_names_its_correlation_id() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = json_logs(tracing_subscriber::EnvFilter::new("debug"), move || {
        writer.clone()
    });

    one_flow().with_subscriber(subscriber).await;

    let lines = logs.lines();
    assert!(
        lines.len() >= 7,
        "three webhooks and four records: {lines:#?}"
    );
    for line in &lines {
        let id = correlation_of(line).unwrap_or_else(|| panic!("no correlation id: {line}"));
        assert!(id.starts_with("sync-acme-"), "{line}");
    }
}

#[tokio::test]
async fn at_the_default_level_each_delivery_writes_one_line_the_workers() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = json_logs(tracing_subscriber::EnvFilter::new("info"), move || {
        writer.clone()
    });

    one_flow().with_subscriber(subscriber).await;

    // Three webhooks accepted, four records settled or rejected: one line
    // per delivery, the worker's, and nothing else per event at info
    // (CloudWatch Logs bills every line).
    let lines = logs.lines();
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        messages,
        [
            "event settled",
            "event settled",
            "event settled",
            "record rejected"
        ],
        "{lines:#?}"
    );
}

#[test]
fn the_runtimes_span_is_left_off_the_lines_unless_rust_log_names_it() {
    use super::without_runtime_span;
    let line = |named: bool| {
        let logs = Captured::default();
        let writer = logs.clone();
        let filter = without_runtime_span(tracing_subscriber::EnvFilter::new("info"), named);
        tracing::subscriber::with_default(json_logs(filter, move || writer.clone()), || {
            let span = tracing::info_span!(target: "lambda_runtime::layers::trace", "Lambda runtime invoke", requestId = "req-1");
            let _entered = span.enter();
            tracing::info!(correlation_id = "sync-acme-1-x", "webhook accepted");
        });
        logs.lines().remove(0)
    };
    let quiet = line(false);
    assert_eq!(quiet["correlation_id"], "sync-acme-1-x");
    assert!(quiet.get("span").is_none(), "{quiet}");
    assert_eq!(line(true)["span"]["requestId"], "req-1");
}
