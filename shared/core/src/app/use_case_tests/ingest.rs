//! ingest_supplier_webhook: accepted only once the event is on the queue;
//! an unknown tenant is refused exactly as a bad signature is; a broken
//! configuration is ours (the glue's 500) and an unavailable dependency
//! retryable (its 503).

use super::support::{supplier_event, TENANT};
use crate::app::ingest::{
    ingest_supplier_webhook, Accepted, IngestError, IngestPorts, WebhookOutcome, WebhookRequest,
};
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
    async fn send(&self, tenant: &str, body: &[u8], secret: &str) -> WebhookOutcome {
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
        let ports: IngestPorts<(_, _, _)> = IngestPorts {
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

    assert_eq!(
        response.result.unwrap(),
        Accepted::Supplier {
            event_id: "evt-1".into(),
            message_id: "fake-msg-1".into()
        }
    );
    let sent = ingest.queue.sent();
    assert_eq!(sent.len(), 1);
    let message = &sent[0];
    assert_eq!(message.group_id, TENANT);
    let attributes: Vec<(&str, &str)> = message
        .attributes
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    assert!(attributes.contains(&("tenantId", TENANT)));
    assert!(attributes.contains(&("eventId", "evt-1")));
    let correlation_id = response.correlation_id.as_str();
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
async fn a_bad_signature_an_unknown_tenant_and_an_inactive_one_get_the_same_refusal() {
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

    let refusal = |r: &WebhookOutcome| match &r.result {
        Err(e @ IngestError::Unauthenticated(_)) => (e.class(), e.to_string()),
        other => panic!("not an authentication refusal: {other:?}"),
    };
    for response in [&bad_signature, &unknown, &inactive, &not_a_tenant] {
        assert_eq!(refusal(response), refusal(&bad_signature));
    }
    assert_eq!(refusal(&bad_signature).0, ErrorClass::AuthError);
    assert!(ingest.queue.sent().is_empty());
}

#[tokio::test]
async fn a_misconfigured_secret_is_ours_and_an_unavailable_store_retryable() {
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
    let e = response.result.unwrap_err();
    assert!(matches!(e, IngestError::Misconfigured(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::ValidationError);
    assert!(e.is_ours());
    for (ingest, class) in [
        (&secrets_down, ErrorClass::NetworkError),
        (&tenants_down, ErrorClass::DatabaseError),
        (&queue_down, ErrorClass::NetworkError),
    ] {
        let e = ingest
            .send(TENANT, &body(), SECRET)
            .await
            .result
            .unwrap_err();
        assert!(matches!(e, IngestError::Unavailable(_)), "{e:?}");
        assert_eq!(e.class(), class);
        assert!(ingest.queue.sent().is_empty(), "nothing accepted");
    }
}

#[tokio::test]
async fn a_signed_but_invalid_event_is_refused_naming_the_field() {
    let ingest = Ingest::new();
    let body = supplier_event("evt-1", "SKU-1", -5, "2025-06-15T15:00:00Z").to_string();

    let response = ingest.send(TENANT, body.as_bytes(), SECRET).await;
    let junk = ingest.send(TENANT, b"{not json", SECRET).await;

    let e = response.result.unwrap_err();
    assert_eq!(e.class(), ErrorClass::ValidationError);
    assert!(
        matches!(&e, IngestError::Invalid(v) if v.field == "quantity"),
        "{e:?}"
    );
    assert!(
        matches!(junk.result, Err(IngestError::InvalidJson(_))),
        "{:?}",
        junk.result
    );
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
    let ports: IngestPorts<(_, _, _)> = IngestPorts {
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

    assert!(
        matches!(response.result, Err(IngestError::Unauthenticated(_))),
        "not unavailable: the secret store was never asked ({:?})",
        response.result
    );
}
