//! ingest_supplier_webhook: 202 only once the event is on the queue; an
//! unknown tenant is answered exactly as a bad signature is; a broken
//! configuration is a 500 and an unavailable dependency a 503.

use super::support::{supplier_event, TENANT};
use crate::app::ingest::{ingest_supplier_webhook, IngestPorts, WebhookRequest, WebhookResponse};
use crate::app::{QueuedEvent, SUPPLIER};
use crate::domain::webhook_signature::{SignedHeaders, WebhookSecret};
use crate::ports::fakes::{tenant_settings, FakeQueue, FakeSecrets, FakeTenants, WEBHOOK_SECRET};
use crate::ports::TenantSettings;
use crate::ErrorClass;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/// 2025-06-15T15:06:40Z.
const NOW_MILLIS: i64 = 1_750_000_000_000;
const WEBHOOK_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";

struct Ingest {
    secrets: FakeSecrets,
    tenants: FakeTenants,
    queue: FakeQueue,
}

impl Ingest {
    fn new() -> Self {
        let secrets = FakeSecrets::new();
        secrets.put(TENANT, WEBHOOK_SECRET, SECRET);
        Self {
            secrets,
            tenants: FakeTenants::new([tenant_settings(TENANT)]),
            queue: FakeQueue::new(),
        }
    }

    /// Sends `body` to `tenant`'s route, signed with `secret`.
    async fn send(&self, tenant: &str, body: &[u8], secret: &str) -> WebhookResponse {
        let ts = NOW_MILLIS / 1000;
        let signature = WebhookSecret::parse(secret)
            .unwrap()
            .sign(WEBHOOK_ID, ts, body);
        let ts = ts.to_string();
        let request = WebhookRequest {
            tenant,
            headers: SignedHeaders {
                id: Some(WEBHOOK_ID),
                timestamp: Some(&ts),
                signature: Some(&signature),
            },
            body,
            now_millis: NOW_MILLIS,
        };
        let ports = IngestPorts {
            secrets: &self.secrets,
            tenants: &self.tenants,
            queue: &self.queue,
        };
        ingest_supplier_webhook(&ports, request).await
    }
}

fn body() -> Vec<u8> {
    supplier_event("evt-1", "SKU-1", 5, "2025-06-15T15:00:00Z")
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn a_valid_signed_webhook_is_queued_once_with_its_tenant_as_group() {
    let ingest = Ingest::new();

    let response = ingest.send(TENANT, &body(), SECRET).await;

    assert_eq!(response.status, 202, "{:?}", response.body);
    assert_eq!(response.body["status"], "accepted");
    assert_eq!(response.body["eventId"], "evt-1");
    let sent = ingest.queue.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(response.body["messageId"], "fake-msg-1");
    let message = &sent[0];
    assert_eq!(message.group_id, TENANT);
    let attributes: Vec<(&str, &str)> = message
        .attributes
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    assert!(attributes.contains(&("tenantId", TENANT)));
    assert!(attributes.contains(&("eventId", "evt-1")));
    let correlation_id = response.body["correlationId"].as_str().unwrap();
    assert!(attributes.contains(&("correlationId", correlation_id)));
    let queued: QueuedEvent = serde_json::from_str(&message.body).unwrap();
    assert_eq!(
        (
            queued.tenant_id.as_str(),
            queued.source.as_str(),
            queued.event_id.as_str()
        ),
        (TENANT, SUPPLIER, "evt-1")
    );
    assert_eq!(queued.webhook_id.as_deref(), Some(WEBHOOK_ID));
    assert_eq!(
        queued.payload,
        serde_json::from_slice::<serde_json::Value>(&body()).unwrap(),
        "the payload travels as received"
    );
}

#[tokio::test]
async fn a_bad_signature_an_unknown_tenant_and_an_inactive_one_get_the_same_401() {
    let ingest = Ingest::new();
    ingest.secrets.put("inactive", WEBHOOK_SECRET, SECRET);
    ingest.tenants.put(TenantSettings {
        active: false,
        ..tenant_settings("inactive")
    });

    let bad_signature = ingest.send(TENANT, &body(), OTHER_SECRET).await;
    let unknown = ingest.send("nobody", &body(), SECRET).await;
    let inactive = ingest.send("inactive", &body(), SECRET).await;
    let not_a_tenant = ingest.send("../etc", &body(), SECRET).await;

    for response in [&bad_signature, &unknown, &inactive, &not_a_tenant] {
        assert_eq!(response.status, 401, "{:?}", response.body);
        assert_eq!(response.body["error"], bad_signature.body["error"]);
    }
    assert_eq!(bad_signature.body["error"]["class"], "AUTH_ERROR");
    assert!(ingest.queue.sent().is_empty());
}

#[tokio::test]
async fn a_misconfigured_secret_is_a_500_and_an_unavailable_store_a_503() {
    let misconfigured = Ingest::new();
    misconfigured
        .secrets
        .put(TENANT, WEBHOOK_SECRET, "not-a-whsec-secret");
    let secrets_down = Ingest::new();
    secrets_down
        .secrets
        .faults
        .fail_always(ErrorClass::NetworkError);
    let tenants_down = Ingest::new();
    tenants_down
        .tenants
        .faults
        .fail_always(ErrorClass::DatabaseError);
    let queue_down = Ingest::new();
    queue_down
        .queue
        .faults
        .fail_always(ErrorClass::NetworkError);

    let response = misconfigured.send(TENANT, &body(), SECRET).await;
    assert_eq!(response.status, 500, "{:?}", response.body);
    assert_eq!(response.body["error"]["class"], "VALIDATION_ERROR");
    for (ingest, class) in [
        (&secrets_down, "NETWORK_ERROR"),
        (&tenants_down, "DATABASE_ERROR"),
        (&queue_down, "NETWORK_ERROR"),
    ] {
        let response = ingest.send(TENANT, &body(), SECRET).await;
        assert_eq!(response.status, 503, "{:?}", response.body);
        assert_eq!(response.body["error"]["class"], class);
        assert!(ingest.queue.sent().is_empty(), "nothing accepted");
    }
}

#[tokio::test]
async fn a_signed_but_invalid_event_is_a_400_naming_the_field() {
    let ingest = Ingest::new();
    let body = supplier_event("evt-1", "SKU-1", -5, "2025-06-15T15:00:00Z").to_string();

    let response = ingest.send(TENANT, body.as_bytes(), SECRET).await;
    let junk = ingest.send(TENANT, b"{not json", SECRET).await;

    assert_eq!(response.status, 400);
    assert_eq!(response.body["error"]["field"], "quantity");
    assert_eq!(response.body["error"]["class"], "VALIDATION_ERROR");
    assert_eq!(junk.status, 400);
    assert_eq!(junk.body["error"]["field"], "body");
    assert!(ingest.queue.sent().is_empty());
}

#[tokio::test]
async fn a_stale_timestamp_is_refused_before_any_lookup() {
    let ingest = Ingest::new();
    ingest.secrets.faults.fail_always(ErrorClass::NetworkError);
    let body = body();
    let ts = (NOW_MILLIS / 1000 - 3_600).to_string();
    let signature =
        WebhookSecret::parse(SECRET)
            .unwrap()
            .sign(WEBHOOK_ID, NOW_MILLIS / 1000 - 3_600, &body);
    let ports = IngestPorts {
        secrets: &ingest.secrets,
        tenants: &ingest.tenants,
        queue: &ingest.queue,
    };

    let response = ingest_supplier_webhook(
        &ports,
        WebhookRequest {
            tenant: TENANT,
            headers: SignedHeaders {
                id: Some(WEBHOOK_ID),
                timestamp: Some(&ts),
                signature: Some(&signature),
            },
            body: &body,
            now_millis: NOW_MILLIS,
        },
    )
    .await;

    assert_eq!(
        response.status, 401,
        "not 503: the secret store was never asked"
    );
}
