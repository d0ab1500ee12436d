//! daily-sync's two entry points: the schedule (or a manual trigger) plans
//! one run per (active tenant, data type) and puts each on the runs queue;
//! a runs-queue record works on its run until done or near the deadline,
//! then queues its own continuation. A crash leaves the record on the queue,
//! so the run resumes from its last checkpoint.

use super::sqs::batch_response;
use super::DailySync;
use crate::adapters::AdapterError;
use crate::app::apply::BatchReport;
use crate::app::daily_sync::{continue_run, start_run, Progress, Start};
use crate::domain::alert::{Notice, RunSummary};
use crate::domain::square::DataType;
use crate::domain::sync_run::Trigger;
use crate::domain::time::now_millis;
use crate::ports::{MessageQueue, OutgoingMessage, RunStore};
use crate::ErrorClass;
use aws_lambda_events::sqs::SqsEvent;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A runs-queue message: work on this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunMessage {
    pub tenant_id: String,
    pub data_type: DataType,
    pub run_id: String,
}

/// What the schedule (or `synchub sync`) asks for. Every field is optional:
/// the schedule sends `{"trigger": "schedule"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanRequest {
    #[serde(default)]
    pub trigger: Option<Trigger>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub data_types: Option<Vec<DataType>>,
    #[serde(default)]
    pub force: bool,
}

/// Work webhook-ingest puts on the runs queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
enum WebhookWork {
    /// Pull now (Square's `catalog.version.updated`).
    Plan(PlanRequest),
    /// Erase the tenant's Shopify customers (Shopify's `shop/redact`).
    #[serde(rename_all = "camelCase")]
    EraseShop {
        tenant_id: String,
        event_id: String,
        correlation_id: String,
    },
}

/// Dispatches an invocation: SQS records, or a plan request.
pub async fn handle(sync: &DailySync, event: Value, deadline_millis: u64) -> Value {
    if event.get("Records").is_some() {
        let response = match serde_json::from_value::<SqsEvent>(event) {
            Ok(sqs) => work(sync, sqs, deadline_millis).await,
            Err(e) => {
                tracing::error!(error = %e, "unreadable SQS event");
                return json!({"error": format!("unreadable SQS event: {e}")});
            }
        };
        return serde_json::to_value(response).unwrap_or(Value::Null);
    }
    match serde_json::from_value::<PlanRequest>(event) {
        Ok(request) => plan(sync, &request).await,
        Err(e) => json!({"error": format!("not a plan request: {e}")}),
    }
}

/// Starts the runs a plan asks for and queues them; returns what happened per run.
pub async fn plan(sync: &DailySync, request: &PlanRequest) -> Value {
    let tenants: Vec<String> = match &request.tenant_id {
        Some(t) => vec![t.clone()],
        None => match sync.tenants.active().await {
            Ok(all) => {
                // The schedule also sends yesterday's report to tenants that want one.
                for settings in all.iter().filter(|t| t.daily_summary) {
                    if let Err(e) = send_summary(sync, &settings.tenant_id, now_millis()).await {
                        tracing::warn!(tenant_id = %settings.tenant_id, error = %e, "daily summary not queued");
                    }
                }
                all.into_iter().map(|t| t.tenant_id).collect()
            }
            Err(e) => return json!({"error": e.to_string()}),
        },
    };
    let data_types = request
        .data_types
        .clone()
        .unwrap_or_else(|| DataType::ALL.to_vec());
    let trigger = request.trigger.unwrap_or(Trigger::Schedule);
    let mut results = Vec::new();
    for tenant in &tenants {
        for &data_type in &data_types {
            let outcome = match start_run(
                &sync.ports(),
                tenant,
                data_type,
                trigger,
                request.force,
                now_millis(),
            )
            .await
            {
                Ok(Start::Started(run)) => match queue_run(
                    &sync.work,
                    &RunMessage {
                        tenant_id: tenant.clone(),
                        data_type,
                        run_id: run.run_id.clone(),
                    },
                    0,
                )
                .await
                {
                    Ok(()) => json!({"started": run.run_id}),
                    Err(e) => json!({"error": e.to_string(), "runId": run.run_id}),
                },
                Ok(Start::AlreadyRunning { run_id }) => json!({"alreadyRunning": run_id}),
                Ok(Start::DoneToday { run_id }) => json!({"doneToday": run_id}),
                Err(e) => json!({"error": e.to_string()}),
            };
            tracing::info!(tenant_id = %tenant, data_type = %data_type, outcome = %outcome, "sync run planned");
            results.push(json!({"tenantId": tenant, "dataType": data_type, "outcome": outcome}));
        }
    }
    json!({"runs": results})
}

/// Queues the report of the UTC day before `now` for the failure notifier.
pub async fn send_summary(sync: &DailySync, tenant: &str, now: i64) -> Result<(), AdapterError> {
    let yesterday =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now - 86_400_000) * 1_000_000)
            .map(|t| t.date().to_string())
            .unwrap_or_default();
    let runs: Vec<RunSummary> = sync
        .runs
        .runs(tenant)
        .await?
        .into_iter()
        .filter(|r| r.started_at.starts_with(&yesterday))
        .map(|r| RunSummary {
            duration_seconds: r
                .finished_at
                .as_deref()
                .and_then(|f| crate::domain::time::parse_rfc3339_millis(f).ok())
                .map_or(0, |(_, end)| (end - r.started_millis) / 1000),
            run_id: r.run_id,
            data_type: r.data_type.to_string(),
            status: format!("{:?}", r.status).to_lowercase(),
            fetched: r.fetched,
            enqueued: r.enqueued,
            rejected: r.rejected,
            started_at: r.started_at,
        })
        .collect();
    let notice = Notice::DailySummary {
        tenant_id: tenant.to_owned(),
        day: yesterday,
        runs,
    };
    let body = serde_json::to_string(&notice).map_err(|e| {
        AdapterError::new(
            "daily-sync",
            "encode",
            ErrorClass::UnknownError,
            e.to_string(),
        )
    })?;
    sync.notices
        .send(&OutgoingMessage {
            group_id: tenant.to_owned(),
            body,
            attributes: vec![("tenantId", tenant.to_owned())],
            delay_seconds: 0,
        })
        .await
        .map(|_| ())
}

pub async fn queue_run<Q: MessageQueue>(
    queue: &Q,
    message: &RunMessage,
    delay_seconds: i32,
) -> Result<(), AdapterError> {
    let body = serde_json::to_string(message).map_err(|e| {
        AdapterError::new(
            "daily-sync",
            "encode",
            ErrorClass::UnknownError,
            e.to_string(),
        )
    })?;
    queue
        .send(&OutgoingMessage {
            group_id: message.tenant_id.clone(),
            body,
            attributes: vec![("tenantId", message.tenant_id.clone())],
            delay_seconds,
        })
        .await
        .map(|_| ())
}

fn now_epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Works on each queued run until done or near the invocation's deadline.
pub async fn work(
    sync: &DailySync,
    event: SqsEvent,
    deadline_millis: u64,
) -> aws_lambda_events::sqs::SqsBatchResponse {
    let mut report = BatchReport::default();
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let result: Result<String, AdapterError> = async {
            // Webhooks' requests arrive here too: a pull (as a plan) or a shop erasure.
            match serde_json::from_str(record.body.as_deref().unwrap_or_default()) {
                // Boxed: planning inside the runs consumer would otherwise nest its future too deep.
                Ok(WebhookWork::Plan(request)) => {
                    return Ok(Box::pin(plan(sync, &request)).await.to_string())
                }
                Ok(WebhookWork::EraseShop {
                    tenant_id,
                    event_id,
                    correlation_id,
                }) => {
                    let tenant = crate::domain::TenantId::parse(&tenant_id).map_err(|e| {
                        AdapterError::new(
                            "daily-sync",
                            "erase shop",
                            ErrorClass::ValidationError,
                            e.to_string(),
                        )
                    })?;
                    let n = crate::app::daily_sync::erase_shop(
                        &sync.queue,
                        &sync.index,
                        &tenant,
                        &event_id,
                        &correlation_id,
                        now_millis(),
                    )
                    .await?;
                    return Ok(format!("shop erasure: {n} customer(s) queued"));
                }
                Err(_) => {}
            }
            let message: RunMessage =
                serde_json::from_str(record.body.as_deref().unwrap_or_default()).map_err(|e| {
                    AdapterError::new(
                        "daily-sync",
                        "read run message",
                        ErrorClass::ValidationError,
                        e.to_string(),
                    )
                })?;
            let Some(run) = sync
                .runs
                .load(&message.tenant_id, message.data_type, &message.run_id)
                .await?
            else {
                return Ok(format!("run {} not found", message.run_id));
            };
            let remaining =
                || Duration::from_millis(deadline_millis.saturating_sub(now_epoch_millis()));
            match continue_run(&sync.ports(), run, remaining, now_millis, |_| {}).await? {
                Progress::Finished(run) => Ok(format!("{:?}", run.status).to_lowercase()),
                Progress::Paused(run) => {
                    queue_run(&sync.work, &message, 0).await?;
                    Ok(format!(
                        "paused after {} pages; continuation queued",
                        run.pages
                    ))
                }
            }
        }
        .await;
        match result {
            Ok(outcome) => report.outcomes.push((id, outcome)),
            Err(e) => {
                tracing::warn!(message_id = %id, error.class = %e.class(), error = %e, "run will resume from its checkpoint");
                report.retry.push(id);
            }
        }
    }
    batch_response(&report)
}
