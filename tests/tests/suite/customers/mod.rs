//! Customer registration fan-out end to end: Shopify webhook → ingest → queue
//! → worker → master record → POS (Square Customers API) and CRM (HubSpot
//! contacts batch upsert), served by local servers with the providers'
//! documented payload shapes; the flags, the ledger, isolation, retries and
//! the backfill.

use serde_json::{json, Value};
use synchub_core::app::customers::TargetFlags;
use synchub_lambda::Worker;
use synchub_tests::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod failures;
mod flags;
mod redaction;

const ALL_ON: TargetFlags = TargetFlags {
    pos: true,
    crm: true,
    updates: true,
};

fn square_customer(id: &str) -> Value {
    // Square's CreateCustomer response shape.
    json!({"customer": {"id": id, "created_at": "2026-06-01T10:00:01.000Z", "updated_at": "2026-06-01T10:00:01Z",
        "given_name": "Bob", "family_name": "Biller", "email_address": "bob@biller.com", "reference_id": "shopify-1",
        "preferences": {"email_unsubscribed": false}, "creation_source": "THIRD_PARTY", "version": 0}})
}

fn hubspot_ok() -> Value {
    // HubSpot's batch upsert response shape (200, COMPLETE).
    json!({"status": "COMPLETE", "results": [{"id": "512", "properties": {"email": "bob@biller.com", "firstname": "Bob"},
        "createdAt": "2026-06-01T10:00:01.000Z", "updatedAt": "2026-06-01T10:00:01.000Z", "archived": false, "new": true}],
        "startedAt": "2026-06-01T10:00:01.000Z", "completedAt": "2026-06-01T10:00:01.100Z"})
}

struct Targets {
    square: MockServer,
    hubspot: MockServer,
}

impl Targets {
    async fn start() -> Self {
        Self {
            square: MockServer::start().await,
            hubspot: MockServer::start().await,
        }
    }

    async fn square_creates(&self, id: &str, expected: u64) {
        Mock::given(method("POST"))
            .and(path("/v2/customers"))
            .and(header("authorization", "Bearer EAAA-square-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(square_customer(id)))
            .expect(expected)
            .mount(&self.square)
            .await;
    }

    async fn hubspot_upserts(&self, expected: u64) {
        Mock::given(method("POST"))
            .and(path("/crm/v3/objects/contacts/batch/upsert"))
            .and(header("authorization", "Bearer pat-na1-hubspot-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(hubspot_ok()))
            .expect(expected)
            .mount(&self.hubspot)
            .await;
    }

    fn worker(&self, stack: &TestStack, flags: TargetFlags) -> Worker {
        stack.worker_with_targets(flags, &self.square.uri(), &self.hubspot.uri())
    }
}

async fn register(
    stack: &TestStack,
    tenant: &ProviderTenant,
    topic: &str,
    event_id: &str,
    payload: &Value,
) {
    let body = payload.to_string();
    let (status, answer) = invoke_ingest(
        &stack.ingest(),
        &webhook_event(
            "shopify",
            &tenant.id,
            &shopify_headers(&tenant.shopify_secret, topic, event_id, &body),
            &body,
        ),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
}

async fn customer(stack: &TestStack, tenant: &ProviderTenant, shopify_id: u64) -> Value {
    stack
        .entity(&tenant.id, "customer", &format!("shopify-{shopify_id}"))
        .await
        .expect("master record")
}

/// Takes the one queued message, as the SQS event source would.
async fn take_one(stack: &TestStack) -> aws_sdk_sqs::types::Message {
    let out = stack
        .sqs()
        .receive_message()
        .queue_url(&stack.config.sync_queue_url)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    out.messages.unwrap().remove(0)
}

/// The message as a one-record SQS event on its `receive_count`th delivery.
fn as_delivered(
    message: &aws_sdk_sqs::types::Message,
    receive_count: u32,
) -> aws_lambda_events::sqs::SqsEvent {
    let mut m = aws_lambda_events::sqs::SqsMessage::default();
    m.message_id = message.message_id.clone();
    m.body = message.body.clone();
    m.attributes
        .insert("ApproximateReceiveCount".into(), receive_count.to_string());
    let mut e = aws_lambda_events::sqs::SqsEvent::default();
    e.records = vec![m];
    e
}

fn status(record: &Value, target: &str) -> String {
    record[format!("{target}Sync")]["status"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}
