//! daily-sync's entry points: decode, call the use cases in
//! `app::daily_sync`, encode. An SQS batch answers which records to retry;
//! a plan answers what it started, or fails the invocation.

use super::error::HandlerError;
use super::sqs::batch_response;
use super::DailySync;
use crate::app::apply::BatchReport;
use crate::app::daily_sync::{handle_work, PlanReport};
use crate::domain::time::now_millis;
use crate::Classified;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::messages::{PlanRequest, RunMessage};

/// Dispatches an invocation: SQS records, or a plan request.
pub async fn handle(
    sync: &DailySync,
    event: Value,
    deadline_millis: u64,
) -> Result<Value, HandlerError> {
    let answer = if event.get("sweep").and_then(Value::as_bool) == Some(true) {
        let report =
            crate::app::daily_sync::sweep(&sync.ports(), &sync.tenants, now_millis()).await?;
        serde_json::to_value(report)
    } else if event.get("Records").is_some() {
        let sqs: SqsEvent = serde_json::from_value(event).map_err(HandlerError::UnreadableEvent)?;
        serde_json::to_value(work(sync, sqs, deadline_millis).await)
    } else {
        let request: PlanRequest =
            serde_json::from_value(event).map_err(HandlerError::UnreadableEvent)?;
        serde_json::to_value(plan(sync, &request).await?)
    };
    answer.map_err(HandlerError::UnreadableEvent)
}

/// Starts the runs a plan asks for and queues them.
pub async fn plan(sync: &DailySync, request: &PlanRequest) -> Result<PlanReport, HandlerError> {
    Ok(crate::app::daily_sync::plan(&sync.ports(), &sync.tenants, request, now_millis).await?)
}

fn now_epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Works on each queued record until done or near the invocation's
/// deadline. A retryable failure hands the record back (the run resumes from
/// its checkpoint); any other is logged and not retried.
pub async fn work(sync: &DailySync, event: SqsEvent, deadline_millis: u64) -> SqsBatchResponse {
    let remaining = || Duration::from_millis(deadline_millis.saturating_sub(now_epoch_millis()));
    let mut report = BatchReport::default();
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        match handle_work(&sync.ports(), &sync.tenants, body, remaining, now_millis).await {
            Ok(outcome) => report.outcomes.push((id, outcome)),
            Err(e) if e.is_retryable() => {
                tracing::warn!(message_id = %id, error.class = %e.class(), error = %e, "run will resume from its checkpoint");
                report.retry.push(id);
            }
            Err(e) => {
                tracing::error!(message_id = %id, error.class = %e.class(), error = %e, "runs-queue record dropped: retrying cannot help");
                report.outcomes.push((id, format!("rejected ({e})")));
            }
        }
    }
    batch_response(&report)
}
