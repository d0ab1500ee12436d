//! The CloudWatch Embedded Metric Format lines the functions flush: one
//! document per invocation or batch, valid against the EMF specification,
//! with the values of what the invocation did.
//!
//! One test in its own binary: the `metrics` recorder is process-global, so
//! nothing else may record between an act and its flush.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use synchub_core::domain::time::now_millis;
use synchub_lambda::emf::{flush_to, init_metrics, NAMESPACE};
use synchub_lambda::sqs::handle_sync_batch;
use synchub_tests::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The units CloudWatch accepts in a metric directive.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One EMF document, checked against the specification.
#[derive(Debug)]
struct Document {
    /// The dimension sets of its directive.
    dimensions: Vec<Vec<String>>,
    /// Each dimension's value.
    dimension_values: BTreeMap<String, String>,
    /// Each metric's value(s), and its unit.
    metrics: BTreeMap<String, (Vec<f64>, Option<String>)>,
}

impl Document {
    fn value(&self, name: &str) -> f64 {
        match self.metrics.get(name) {
            Some((values, _)) => values.iter().sum(),
            None => panic!("no metric {name} in {self:?}"),
        }
    }
}

/// Reads one line as an EMF document, panicking with the rule it breaks:
/// `_aws.Timestamp` in epoch milliseconds; `_aws.CloudWatchMetrics` a
/// non-empty array of directives, each with `Namespace`, `Dimensions` (arrays
/// of at most 30 dimension names, each a top-level string member) and
/// `Metrics` (at most 100, each with a `Name` and an optional known `Unit`,
/// each a top-level member holding a number or an array of at most 100).
fn parse_emf(line: &str) -> Document {
    let root: Map<String, Value> = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("an EMF line is one JSON object ({e}): {line}"));
    let aws = root["_aws"].as_object().expect("_aws is an object");
    let timestamp = aws["Timestamp"]
        .as_i64()
        .expect("_aws.Timestamp is an integer");
    assert!(
        (timestamp - now_millis()).abs() < 60_000,
        "_aws.Timestamp is now, in milliseconds: {timestamp}"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("_aws.CloudWatchMetrics is an array");
    assert_eq!(directives.len(), 1, "one directive per document: {line}");
    let directive = directives[0].as_object().expect("a directive is an object");
    assert_eq!(directive["Namespace"], NAMESPACE);
    assert_eq!(NAMESPACE, "synchub");

    let mut dimensions = Vec::new();
    let mut dimension_values = BTreeMap::new();
    for set in directive["Dimensions"]
        .as_array()
        .expect("Dimensions is an array")
    {
        let set = set.as_array().expect("a dimension set is an array");
        assert!(
            !set.is_empty() && set.len() <= 30,
            "1 to 30 dimensions: {line}"
        );
        let mut names = Vec::new();
        for name in set {
            let name = name.as_str().expect("a dimension name is a string");
            let value = root
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("dimension {name} is a top-level string: {line}"));
            dimension_values.insert(name.to_owned(), value.to_owned());
            names.push(name.to_owned());
        }
        dimensions.push(names);
    }

    let mut metrics = BTreeMap::new();
    let definitions = directive["Metrics"]
        .as_array()
        .expect("Metrics is an array");
    assert!(
        !definitions.is_empty() && definitions.len() <= 100,
        "1 to 100 metrics: {line}"
    );
    for definition in definitions {
        let name = definition["Name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .expect("a metric has a Name");
        let unit = definition.get("Unit").map(|u| {
            let unit = u.as_str().expect("a Unit is a string");
            assert!(UNITS.contains(&unit), "{unit} is a CloudWatch unit");
            unit.to_owned()
        });
        let values = match root.get(name) {
            Some(Value::Number(n)) => vec![n.as_f64().unwrap()],
            Some(Value::Array(values)) => {
                assert!(!values.is_empty() && values.len() <= 100, "1 to 100 values");
                values
                    .iter()
                    .map(|v| v.as_f64().expect("each value is a number"))
                    .collect()
            }
            _ => panic!("metric {name} is a top-level number or array of numbers: {line}"),
        };
        let previous = metrics.insert(name.to_owned(), (values, unit));
        assert!(previous.is_none(), "metric {name} defined twice: {line}");
    }
    Document {
        dimensions,
        dimension_values,
        metrics,
    }
}

/// Flushes what was recorded since the last flush, as checked documents.
fn flushed() -> Vec<Document> {
    let mut out = Vec::new();
    flush_to(&mut out).expect("flush to a buffer");
    let text = String::from_utf8(out).expect("UTF-8");
    text.lines().map(parse_emf).collect()
}

/// A record as the SQS event source hands it to the worker: first delivery,
/// the tenant as message group, sent `waited_ms` ago.
fn record(id: &str, tenant: &str, body: &str, waited_ms: i64) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body.into());
    for (k, v) in [
        ("ApproximateReceiveCount", "1".to_owned()),
        ("MessageGroupId", tenant.to_owned()),
        ("SentTimestamp", (now_millis() - waited_ms).to_string()),
    ] {
        m.attributes.insert(k.into(), v);
    }
    m
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

#[tokio::test]
async fn each_invocation_flushes_one_valid_emf_document_with_what_it_did() {
    let stack = TestStack::new().await;
    let storefront = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bust"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&storefront)
        .await;
    let tenant = stack
        .tenant(Some(format!("{}/bust", storefront.uri())))
        .await;
    let (ingest, worker) = (stack.ingest(), stack.worker());
    init_metrics("synchub-tests");

    // An accepted webhook: its log line is the WebhooksAccepted metric (the
    // template's metric filter), so only the cold start makes a document.
    let body = supplier_event("evt-1", "SKU-1", 12, &at_minute(1)).to_string();
    let event = apigw_event(
        &tenant.id,
        &signed_headers(&tenant.secret, "msg_1", &body),
        &body,
    );
    let (status, answer) = invoke_ingest(&ingest, &event).await;
    assert_eq!(status, 202, "{answer}");
    let docs = flushed();
    assert_eq!(docs.len(), 1, "one document per invocation: {docs:?}");
    let doc = &docs[0];
    assert_eq!(doc.dimensions, vec![vec!["function".to_owned()]]);
    assert_eq!(doc.dimension_values["function"], "synchub-tests");
    assert_eq!(doc.value("ColdStart"), 1.0, "the first invocation's line");
    assert_eq!(doc.metrics["ColdStart"].1.as_deref(), Some("Count"));
    assert_eq!(doc.metrics.len(), 1, "{doc:?}");

    // A second accepted webhook writes no document at all.
    let body = supplier_event("evt-1b", "SKU-1", 13, &at_minute(2)).to_string();
    let event = apigw_event(
        &tenant.id,
        &signed_headers(&tenant.secret, "msg_1b", &body),
        &body,
    );
    let (status, answer) = invoke_ingest(&ingest, &event).await;
    assert_eq!(status, 202, "{answer}");
    assert!(flushed().is_empty(), "no EMF line for an accepted webhook");

    // A refused webhook: counted by its error class, and no cold start again.
    let forged = apigw_event(
        &tenant.id,
        &signed_headers(&tenant.secret, "msg_2", "{}"),
        &body,
    );
    let (status, _) = invoke_ingest(&ingest, &forged).await;
    assert_eq!(status, 401);
    let docs = flushed();
    assert_eq!(docs.len(), 1, "{docs:?}");
    let doc = &docs[0];
    assert_eq!(
        doc.dimensions,
        vec![vec!["function".to_owned(), "class".to_owned()]]
    );
    assert_eq!(doc.dimension_values["class"], "AUTH_ERROR");
    assert_eq!(doc.value("WebhooksRefused"), 1.0);
    assert_eq!(doc.metrics.len(), 1, "{doc:?}");

    // A worker batch: its sums over the batch in one document. SKU-1 is
    // applied first, so the batch has one of each outcome.
    let newest = queued(
        &tenant.id,
        &supplier_event("evt-3", "SKU-1", 3, &at_minute(3)),
    );
    let older = queued(
        &tenant.id,
        &supplier_event("evt-2", "SKU-1", 2, &at_minute(2)),
    );
    let other = queued(
        &tenant.id,
        &supplier_event("evt-9", "SKU-2", 9, &at_minute(1)),
    );
    handle_sync_batch(&worker, batch(vec![record("m1", &tenant.id, &newest, 0)])).await;
    assert_eq!(flushed().len(), 1, "the first batch's line");
    let response = handle_sync_batch(
        &worker,
        batch(vec![
            record("m2", &tenant.id, &newest, 1_000),
            record("m3", &tenant.id, &older, 5_000),
            record("m4", &tenant.id, &other, 2_000),
            record("m5", &tenant.id, "this is not json", 3_000),
        ]),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    let docs = flushed();
    assert_eq!(docs.len(), 1, "one document per batch: {docs:?}");
    let doc = &docs[0];
    assert_eq!(doc.dimensions, vec![vec!["function".to_owned()]]);
    assert_eq!(doc.value("BatchRecords"), 4.0);
    assert_eq!(doc.value("EventsApplied"), 1.0);
    assert_eq!(doc.value("EventsStale"), 1.0);
    assert_eq!(doc.value("EventsDuplicate"), 1.0);
    assert_eq!(doc.value("EventsRejected"), 1.0);
    assert_eq!(doc.value("PublishOk"), 1.0);
    let (lag, unit) = &doc.metrics["QueueLagMaxMs"];
    assert_eq!(lag.len(), 1, "one lag per batch: {lag:?}");
    assert!(
        (5_000.0..60_000.0).contains(&lag[0]),
        "the longest wait: {lag:?}"
    );
    assert_eq!(unit.as_deref(), Some("Milliseconds"));
    for zero in [
        "PublishFailed",
        "RecordsRetried",
        "TargetsFailed",
        "ColdStart",
    ] {
        assert!(!doc.metrics.contains_key(zero), "{zero} stayed 0: {doc:?}");
    }

    assert!(flushed().is_empty(), "nothing recorded, nothing written");
}
