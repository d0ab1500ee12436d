//! Ingest a signed supplier webhook: authenticate, validate, enqueue, and only
//! then answer 202. Bad input gets a 4xx naming what was wrong, never a 5xx.

use super::{QueuedEvent, QUEUED_EVENT_SCHEMA};
use crate::adapters::AdapterError;
use crate::domain::correlation::new_correlation_id;
use crate::domain::supplier::{canonical_time, SupplierEvent};
use crate::domain::webhook_signature::{SignatureError, SignedHeaders};
use crate::domain::{TenantId, ValidationError};
use crate::ports::{MessageQueue, OutgoingMessage, SecretStore, TenantDirectory};
use crate::ErrorClass;
use serde_json::{json, Value};

/// Larger bodies are refused with 413 before anything else is done.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why a webhook was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Unauthenticated(#[from] SignatureError),
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("the tenant's signing configuration is invalid; operators have been alerted")]
    Misconfigured(#[source] AdapterError),
    #[error("the event could not be accepted right now; retry later")]
    Unavailable(#[source] AdapterError),
}

impl IngestError {
    pub fn class(&self) -> ErrorClass {
        match self {
            IngestError::TooLarge | IngestError::InvalidJson(_) | IngestError::Invalid(_) => ErrorClass::ValidationError,
            IngestError::Unauthenticated(_) => ErrorClass::AuthError,
            IngestError::Misconfigured(e) | IngestError::Unavailable(e) => e.class(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            IngestError::TooLarge => 413,
            IngestError::Unauthenticated(_) => 401,
            IngestError::InvalidJson(_) | IngestError::Invalid(_) => 400,
            IngestError::Misconfigured(_) => 500,
            IngestError::Unavailable(_) => 503,
        }
    }

    fn body(&self) -> Value {
        let mut error = json!({"class": self.class(), "message": self.to_string()});
        match self {
            IngestError::Invalid(v) => {
                error["field"] = json!(v.field);
                error["rule"] = json!(v.rule);
            }
            IngestError::InvalidJson(_) => error["field"] = json!("body"),
            IngestError::TooLarge => {
                error["field"] = json!("body");
                error["rule"] = json!(format!("must be at most {MAX_BODY_BYTES} bytes"));
            }
            _ => {}
        }
        json!({ "error": error })
    }
}

/// One webhook delivery as the HTTP layer received it.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The `{tenantId}` path segment, unvalidated.
    pub tenant: &'a str,
    pub headers: SignedHeaders<'a>,
    pub body: &'a [u8],
    pub now_millis: i64,
}

/// The HTTP answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookResponse {
    pub status: u16,
    pub body: Value,
}

/// The ports ingest needs.
pub struct IngestPorts<'a, S, T, Q> {
    pub secrets: &'a S,
    pub tenants: &'a T,
    pub queue: &'a Q,
}

/// Authenticates, validates and enqueues one supplier webhook.
pub async fn ingest_supplier_webhook<S, T, Q>(ports: &IngestPorts<'_, S, T, Q>, request: WebhookRequest<'_>) -> WebhookResponse
where
    S: SecretStore,
    T: TenantDirectory,
    Q: MessageQueue,
{
    let tenant_label = TenantId::parse(request.tenant).map(|t| t.to_string()).unwrap_or_else(|_| "unknown".into());
    let correlation_id = new_correlation_id(&TenantId::parse(&tenant_label).expect("a known-valid id"), request.now_millis);
    let result = accept(ports, &request, &correlation_id).await;
    let (status, mut body) = match &result {
        Ok((event_id, message_id)) => {
            tracing::info!(tenant = %tenant_label, event_id, correlation_id, "webhook accepted");
            (202, json!({"status": "accepted", "eventId": event_id, "messageId": message_id}))
        }
        Err(err) => {
            let class = err.class();
            if err.status() >= 500 {
                tracing::error!(tenant = %tenant_label, correlation_id, error.class = %class, error = %err, cause = ?std::error::Error::source(err).map(|s| s.to_string()), "webhook not accepted");
            } else {
                tracing::warn!(tenant = %tenant_label, correlation_id, error.class = %class, error = %err, "webhook refused");
            }
            (err.status(), err.body())
        }
    };
    body["correlationId"] = json!(correlation_id);
    WebhookResponse { status, body }
}

async fn accept<S, T, Q>(ports: &IngestPorts<'_, S, T, Q>, request: &WebhookRequest<'_>, correlation_id: &str) -> Result<(String, String), IngestError>
where
    S: SecretStore,
    T: TenantDirectory,
    Q: MessageQueue,
{
    if request.body.len() > MAX_BODY_BYTES {
        return Err(IngestError::TooLarge);
    }
    // The header shape and the clock are checked before any lookup, so junk costs nothing.
    let headers = request.headers.check(request.now_millis.div_euclid(1000))?;
    // An unknown tenant gets exactly the answer a bad signature gets.
    let tenant = TenantId::parse(request.tenant).map_err(|_| SignatureError::NoValidSignature)?;
    let secrets = match ports.secrets.webhook_secrets(&tenant).await {
        Ok(Some(secrets)) => secrets,
        Ok(None) => return Err(SignatureError::NoValidSignature.into()),
        Err(e) if e.class() == ErrorClass::UnknownError => return Err(IngestError::Misconfigured(e)),
        Err(e) => return Err(IngestError::Unavailable(e)),
    };
    headers.verify(&secrets, request.body)?;
    match ports.tenants.settings(&tenant).await {
        Ok(Some(settings)) if settings.active => {}
        Ok(_) => return Err(SignatureError::NoValidSignature.into()),
        Err(e) => return Err(IngestError::Unavailable(e)),
    }

    let payload: Value = serde_json::from_slice(request.body).map_err(|e| IngestError::InvalidJson(e.to_string()))?;
    let event = SupplierEvent::parse(&payload, request.now_millis)?;
    let received_at = time::OffsetDateTime::from_unix_timestamp_nanos(request.now_millis as i128 * 1_000_000)
        .map(canonical_time)
        .unwrap_or_default();
    let queued = QueuedEvent {
        schema: QUEUED_EVENT_SCHEMA,
        tenant_id: tenant.to_string(),
        source: "supplier".into(),
        event_id: event.event_id.to_string(),
        correlation_id: correlation_id.to_owned(),
        received_at,
        webhook_id: Some(headers.id.clone()),
        payload,
    };
    let message = OutgoingMessage {
        // The tenant as message group: the queue runs as an SQS fair queue.
        group_id: tenant.to_string(),
        body: serde_json::to_string(&queued).map_err(|e| IngestError::InvalidJson(e.to_string()))?,
        attributes: vec![
            ("tenantId", tenant.to_string()),
            ("eventId", event.event_id.to_string()),
            ("correlationId", correlation_id.to_owned()),
        ],
        delay_seconds: 0,
    };
    let message_id = ports.queue.send(&message).await.map_err(IngestError::Unavailable)?;
    Ok((event.event_id.to_string(), message_id))
}
