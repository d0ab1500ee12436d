//! Ingest a signed supplier webhook: authenticate, validate, enqueue, and only
//! then answer 202. Bad input gets a 4xx naming what was wrong, never a 5xx.

use super::{object_message, send_all, QueuedEvent, QUEUED_EVENT_SCHEMA};
use crate::domain::audit::AuditOutcome;
use crate::domain::correlation::new_correlation_id;
use crate::domain::limits::{check_header, WEBHOOK_HEADER_BYTES};
use crate::domain::provider_webhook::{
    check_signature_header, shopify_event, signed_parts, square_event, verify, Inbound,
    InboundEvent, Provider, ShopifyMeta,
};
use crate::domain::supplier::{parse_body, SupplierEvent};
use crate::domain::sync_run::Trigger;
use crate::domain::time::canonical_time;
use crate::domain::time::expiry_after;
use crate::domain::webhook_signature::{SignatureError, SignedHeaders};
use crate::domain::DataType;
use crate::domain::{
    AuditRow, EntityKey, EntityKind, EventId, PulledObject, TenantId, ValidationError,
};
use crate::messages::{EraseShop, PlanRequest, RunsWork};
use crate::ports::PortError;
use crate::ports::{AuditLog, MessageQueue, OutgoingMessage, SecretStore, TenantDirectory};
use crate::ErrorClass;
use serde_json::Value;
use std::time::Duration;
use tracing::Instrument;

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
    Misconfigured(#[source] PortError),
    #[error("the event could not be accepted right now; retry later")]
    Unavailable(#[source] PortError),
}

impl IngestError {
    pub fn class(&self) -> ErrorClass {
        match self {
            IngestError::TooLarge | IngestError::InvalidJson(_) | IngestError::Invalid(_) => {
                ErrorClass::ValidationError
            }
            IngestError::Unauthenticated(_) => ErrorClass::AuthError,
            IngestError::Misconfigured(e) | IngestError::Unavailable(e) => e.class(),
        }
    }

    /// Whether the failure is this side's (a misconfigured tenant, a
    /// service down), not the sender's: logged as an error, not a warning.
    pub fn is_ours(&self) -> bool {
        matches!(
            self,
            IngestError::Misconfigured(_) | IngestError::Unavailable(_)
        )
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

/// What a webhook came to, with the correlation id that finds everything
/// it caused; the glue answers it over HTTP.
#[derive(Debug)]
pub struct WebhookOutcome {
    pub correlation_id: String,
    pub result: Result<Accepted, IngestError>,
}

/// An accepted webhook: what was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// A supplier's event, on the sync queue as `message_id`.
    Supplier {
        event_id: String,
        message_id: String,
    },
    /// A provider's event and what was done with it (queued, recorded, a
    /// pull asked for).
    Provider {
        event_id: String,
        topic: String,
        outcome: String,
    },
}

impl Accepted {
    pub fn event_id(&self) -> &str {
        match self {
            Accepted::Supplier { event_id, .. } | Accepted::Provider { event_id, .. } => event_id,
        }
    }
}

crate::port_kinds! {
    /// The kinds of port the supplier route runs on, as one bound.
    pub trait IngestDeps {
        Secrets: SecretStore,
        Tenants: TenantDirectory,
        Queue: MessageQueue,
    }
}

/// The ports ingest needs.
pub struct IngestPorts<'a, Deps: IngestDeps> {
    pub secrets: &'a Deps::Secrets,
    pub tenants: &'a Deps::Tenants,
    pub queue: &'a Deps::Queue,
}

/// Authenticates, validates and enqueues one supplier webhook.
pub async fn ingest_supplier_webhook<Deps: IngestDeps>(
    ports: &IngestPorts<'_, Deps>,
    request: WebhookRequest<'_>,
) -> WebhookOutcome {
    let (tenant_label, correlation_id) = label_and_correlation(request.tenant, request.now_millis);
    let span = tracing::info_span!("webhook", correlation_id = %correlation_id);
    let result = accept(ports, &request, &correlation_id)
        .instrument(span)
        .await
        .map(|(event_id, message_id)| Accepted::Supplier {
            event_id,
            message_id,
        });
    settle(&tenant_label, "supplier", correlation_id, result)
}

/// The body as JSON; a value JSON cannot hold (`1e400`) is named like any bad field.
fn read_body(body: &[u8]) -> Result<Value, IngestError> {
    Ok(parse_body(body).map_err(|e| IngestError::InvalidJson(e.to_string()))??)
}

/// The tenant as logged (`unknown` when the path segment is not a tenant id)
/// and the delivery's correlation id.
fn label_and_correlation(tenant: &str, now_millis: i64) -> (String, String) {
    let label =
        TenantId::parse(tenant).unwrap_or_else(|_| TenantId::parse("unknown").expect("a valid id"));
    let correlation_id = new_correlation_id(&label, now_millis);
    (label.to_string(), correlation_id)
}

/// A webhook's outcome, logged and counted (accepted, or refused by error
/// class) once with its correlation id.
fn settle(
    tenant: &str,
    source: &str,
    correlation_id: String,
    result: Result<Accepted, IngestError>,
) -> WebhookOutcome {
    match &result {
        Ok(accepted) => {
            // Debug: at info a delivery's one line is the worker's `event
            // settled` (with this correlation id), and an accepted webhook
            // writes nothing here, no EMF document either: CloudWatch Logs
            // bills every byte (BENCHMARKS.md, cost). The dashboard counts
            // accepted webhooks as ingest's invocations less its refusals.
            let (topic, outcome) = match accepted {
                Accepted::Provider { topic, outcome, .. } => {
                    (Some(topic.as_str()), Some(outcome.as_str()))
                }
                Accepted::Supplier { .. } => (None, None),
            };
            tracing::debug!(
                tenant,
                source,
                event_id = accepted.event_id(),
                topic,
                outcome,
                correlation_id,
                "webhook accepted"
            );
        }
        Err(err) => {
            let class = err.class();
            ::metrics::counter!("WebhooksRefused", "class" => class.as_str()).increment(1);
            if err.is_ours() {
                tracing::error!(tenant, source, correlation_id, error.class = %class, error = %err, cause = ?std::error::Error::source(err).map(|s| s.to_string()), "webhook not accepted");
            } else {
                tracing::warn!(tenant, source, correlation_id, error.class = %class, error = %err, "webhook refused");
            }
        }
    }
    WebhookOutcome {
        correlation_id,
        result,
    }
}

async fn accept<Deps: IngestDeps>(
    ports: &IngestPorts<'_, Deps>,
    request: &WebhookRequest<'_>,
    correlation_id: &str,
) -> Result<(String, String), IngestError> {
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
        Err(e @ PortError::Misconfigured { .. }) => return Err(IngestError::Misconfigured(e)),
        Err(e) => return Err(IngestError::Unavailable(e)),
    };
    headers.verify(&secrets, request.body)?;
    match ports.tenants.settings(&tenant).await {
        Ok(Some(settings)) if settings.active => {}
        Ok(_) => return Err(SignatureError::NoValidSignature.into()),
        Err(e) => return Err(IngestError::Unavailable(e)),
    }

    let payload = read_body(request.body)?;
    let event = SupplierEvent::parse(&payload, request.now_millis)?;
    let received_at =
        time::OffsetDateTime::from_unix_timestamp_nanos(request.now_millis as i128 * 1_000_000)
            .map(canonical_time)
            .unwrap_or_default();
    let queued = QueuedEvent {
        schema: QUEUED_EVENT_SCHEMA,
        tenant_id: tenant.to_string(),
        source: super::EventSource::Supplier,
        event_id: event.event_id.to_string(),
        correlation_id: correlation_id.to_owned(),
        received_at,
        webhook_id: Some(headers.id.clone()),
        topic: None,
        payload,
        replay: None,
    };
    let message = super::event_message(&queued).map_err(IngestError::Unavailable)?;
    let message_id = ports
        .queue
        .send(&message)
        .await
        .map_err(IngestError::Unavailable)?;
    Ok((event.event_id.to_string(), message_id))
}

/// One Shopify or Square webhook delivery as the HTTP layer received it.
#[derive(Debug, Clone, Copy)]
pub struct ProviderRequest<'a> {
    pub provider: Provider,
    /// The `{tenantId}` path segment, unvalidated.
    pub tenant: &'a str,
    /// The provider's signature header.
    pub signature: Option<&'a str>,
    /// Shopify's topic and id headers (unused for Square).
    pub shopify: ShopifyMeta<'a>,
    pub body: &'a [u8],
    pub now_millis: i64,
}

crate::port_kinds! {
    /// The kinds of port the provider routes run on, as one bound.
    pub trait ProviderDeps {
        Secrets: SecretStore,
        Tenants: TenantDirectory,
        Queue: MessageQueue,
        Audit: AuditLog,
    }
}

/// The ports the provider routes need beyond the supplier route's.
pub struct ProviderPorts<'a, Deps: ProviderDeps> {
    pub secrets: &'a Deps::Secrets,
    pub tenants: &'a Deps::Tenants,
    pub queue: &'a Deps::Queue,
    /// The daily sync's work queue: `catalog.version.updated` asks for a pull.
    pub pulls: &'a Deps::Queue,
    /// Events with nothing to apply (unsupported topics, data requests) are
    /// recorded here at once.
    pub audit: &'a Deps::Audit,
    pub audit_ttl: std::time::Duration,
}

/// Authenticates a Shopify or Square webhook with the provider's scheme,
/// normalizes it and enqueues its changes; answers 202 only once they are
/// on the queue. Providers retry anything but 2xx, so an unsupported topic
/// is accepted and recorded as ignored, never refused.
pub async fn ingest_provider_webhook<Deps: ProviderDeps>(
    ports: &ProviderPorts<'_, Deps>,
    request: ProviderRequest<'_>,
) -> WebhookOutcome {
    let (tenant_label, correlation_id) = label_and_correlation(request.tenant, request.now_millis);
    let span = tracing::info_span!("webhook", correlation_id = %correlation_id);
    let result = accept_provider(ports, &request, &correlation_id)
        .instrument(span)
        .await
        .map(|(event, what)| Accepted::Provider {
            event_id: event.event_id,
            topic: event.topic,
            outcome: what,
        });
    settle(
        &tenant_label,
        request.provider.as_str(),
        correlation_id,
        result,
    )
}

async fn accept_provider<Deps: ProviderDeps>(
    ports: &ProviderPorts<'_, Deps>,
    request: &ProviderRequest<'_>,
    correlation_id: &str,
) -> Result<(InboundEvent, String), IngestError> {
    let tenant = authenticate_provider(ports.secrets, ports.tenants, request).await?;
    let event = parse_provider_event(request)?;
    let what = match &event.inbound {
        Inbound::Objects(objects) => {
            queue_objects(
                ports.queue,
                &tenant,
                request,
                &event,
                objects,
                correlation_id,
            )
            .await?
        }
        // Work for daily-sync (it reads the store and pulls the source): on its queue.
        Inbound::CatalogPull | Inbound::EraseShop => {
            queue_runs_work(ports.pulls, &tenant, &event, correlation_id).await?
        }
        Inbound::Record {
            outcome,
            reason,
            entity,
        } => {
            let row = notice_row(ports.audit_ttl, &tenant, request, &event, correlation_id);
            let row = AuditRow {
                entity: entity
                    .as_ref()
                    .map(|id| customer_key(&tenant, id).to_string()),
                reason: Some(reason.clone()),
                outcome: AuditOutcome::parse(outcome).unwrap_or(AuditOutcome::Ignored),
                pk: entity.as_ref().map_or(row.pk.clone(), |id| {
                    customer_key(&tenant, id).audit_partition()
                }),
                ..row
            };
            ports
                .audit
                .record_once(&row)
                .await
                .map_err(IngestError::Unavailable)?;
            format!("{outcome} ({reason})")
        }
    };
    Ok((event, what))
}

/// The provider's signature over the body (and, for Square, the URL it was
/// configured with) under the tenant's keys; the tenant, once verified.
async fn authenticate_provider<S: SecretStore, T: TenantDirectory>(
    secrets: &S,
    tenants: &T,
    request: &ProviderRequest<'_>,
) -> Result<TenantId, IngestError> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(IngestError::TooLarge);
    }
    let meta = request.shopify;
    for (name, value) in [
        ("X-Shopify-Topic", meta.topic),
        ("X-Shopify-Event-Id", meta.event_id),
        ("X-Shopify-Webhook-Id", meta.webhook_id),
        ("X-Shopify-Triggered-At", meta.triggered_at),
    ] {
        check_header(name, value, WEBHOOK_HEADER_BYTES)?;
    }
    let tag = check_signature_header(request.provider, request.signature)?;
    let tenant = TenantId::parse(request.tenant).map_err(|_| SignatureError::NoValidSignature)?;
    let keys = match secrets.provider_keys(&tenant, request.provider).await {
        Ok(Some(keys)) => keys,
        Ok(None) => return Err(SignatureError::NoValidSignature.into()),
        Err(e @ PortError::Misconfigured { .. }) => return Err(IngestError::Misconfigured(e)),
        Err(e) => return Err(IngestError::Unavailable(e)),
    };
    let settings = match tenants.settings(&tenant).await {
        Ok(Some(settings)) if settings.active => settings,
        Ok(_) => return Err(SignatureError::NoValidSignature.into()),
        Err(e) => return Err(IngestError::Unavailable(e)),
    };
    // Square signs the URL it was configured with, which API Gateway may not show us.
    let url = settings
        .square_notification_url
        .as_deref()
        .unwrap_or_default();
    if request.provider == Provider::Square && url.is_empty() {
        tracing::error!(tenant = %tenant, "tenant has no squareNotificationUrl: Square webhooks cannot be verified");
    }
    verify(
        &keys,
        &signed_parts(request.provider, url, request.body),
        &tag,
    )?;
    Ok(tenant)
}

fn parse_provider_event(request: &ProviderRequest<'_>) -> Result<InboundEvent, IngestError> {
    let payload = read_body(request.body)?;
    let event = match request.provider {
        Provider::Shopify => shopify_event(request.shopify, &payload, request.now_millis)?,
        Provider::Square => square_event(&payload, request.now_millis)?,
    };
    let field = if request.provider == Provider::Shopify {
        "X-Shopify-Event-Id"
    } else {
        "event_id"
    };
    EventId::parse(&event.event_id).map_err(|e| ValidationError::new(field, e.rule))?;
    Ok(event)
}

/// The changes a webhook carries, on the sync queue. The provider retries a
/// failure; what did go out is applied once by the ordering rule.
async fn queue_objects<Q: MessageQueue>(
    queue: &Q,
    tenant: &TenantId,
    request: &ProviderRequest<'_>,
    event: &InboundEvent,
    objects: &[PulledObject],
    correlation_id: &str,
) -> Result<String, IngestError> {
    let messages = objects
        .iter()
        .map(|object| {
            object_message(
                tenant.as_str(),
                request.provider.as_str(),
                correlation_id,
                Some(event.event_id.clone()),
                Some(event.topic.clone()),
                object,
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(IngestError::Unavailable)?;
    send_all(queue, &messages)
        .await
        .map_err(IngestError::Unavailable)?;
    Ok(format!("queued {} change(s)", messages.len()))
}

/// A catalog pull or a shop erasure, on daily-sync's runs queue.
async fn queue_runs_work<Q: MessageQueue>(
    pulls: &Q,
    tenant: &TenantId,
    event: &InboundEvent,
    correlation_id: &str,
) -> Result<String, IngestError> {
    let (work, what) = match event.inbound {
        Inbound::CatalogPull => (
            RunsWork::Plan(PlanRequest {
                trigger: Some(Trigger::Webhook),
                tenant_id: Some(tenant.to_string()),
                data_types: Some(vec![DataType::Catalog, DataType::Categories]),
                force: true,
                ..PlanRequest::default()
            }),
            "catalog pull requested",
        ),
        _ => (
            RunsWork::EraseShop(EraseShop {
                schema: crate::messages::SCHEMA,
                tenant_id: tenant.to_string(),
                event_id: event.event_id.clone(),
                correlation_id: correlation_id.to_owned(),
            }),
            "shop erasure requested",
        ),
    };
    let message = OutgoingMessage::json(tenant.as_str(), &work)
        .map_err(IngestError::Unavailable)?
        .with_attribute("correlationId", correlation_id);
    pulls
        .send(&message)
        .await
        .map_err(IngestError::Unavailable)?;
    Ok(what.to_owned())
}

fn customer_key(tenant: &TenantId, id: &str) -> EntityKey {
    EntityKey {
        tenant: tenant.clone(),
        kind: EntityKind::Customer,
        id: id.to_owned(),
    }
}

/// The audit row of a webhook recorded for the operator (not applied),
/// under the provider's partition until the caller ties it to an entity.
fn notice_row(
    ttl: Duration,
    tenant: &TenantId,
    request: &ProviderRequest<'_>,
    event: &InboundEvent,
    correlation_id: &str,
) -> AuditRow {
    let received_at =
        time::OffsetDateTime::from_unix_timestamp_nanos(request.now_millis as i128 * 1_000_000)
            .map(canonical_time)
            .unwrap_or_default();
    AuditRow {
        event_id: Some(event.event_id.clone()),
        message_id: "webhook".into(),
        correlation_id: correlation_id.to_owned(),
        ..AuditRow::new(
            format!("{tenant}#{}", request.provider.as_str()),
            AuditRow::sort_key(Some(&event.event_id), "webhook"),
            tenant.to_string(),
            AuditOutcome::Ignored,
            received_at,
            expiry_after(ttl),
        )
    }
}
