//! daily-sync's entry points: decode, call the use cases in
//! `app::daily_sync`, encode. An SQS batch answers which records to retry;
//! a plan answers what it started, or fails the invocation.
//!
//! Never past the invocation's deadline, like the worker: everything runs
//! within the time left less [`super::sqs::ANSWER_MARGIN`] (every AWS and HTTP call is
//! cut when that runs out), a run pauses at its checkpoint `margin` before
//! it, no new record is started once less than the margin is left, and
//! what is unfinished goes back to SQS as batch item failures (a run
//! resumes from its checkpoint). A plan or sweep cut short fails the
//! invocation naming why; both are safe to run again.

use super::error::HandlerError;
use super::sqs::{batch_response, budget_until};
use super::DailySync;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::Value;
use synchub_core::app::apply::BatchReport;
use synchub_core::app::daily_sync::{handle_work, PlanReport};
use synchub_core::domain::time::now_millis;
use synchub_core::Classified;
use tokio::time::{timeout, Instant};

pub use synchub_core::messages::{PlanRequest, RunMessage};

/// Dispatches an invocation: SQS records, or a plan request.
pub async fn handle(
    sync: &DailySync,
    event: Value,
    deadline_millis: u64,
) -> Result<Value, HandlerError> {
    let budget = budget_until(deadline_millis, now_millis());
    let answer = if event.get("sweep").and_then(Value::as_bool) == Some(true) {
        let ports = sync.ports();
        let sweeping = synchub_core::app::daily_sync::sweep(&ports, &sync.tenants, now_millis());
        let report = timeout(budget, sweeping)
            .await
            .map_err(|_| HandlerError::DeadlineNear("sweep"))??;
        serde_json::to_value(report)
    } else if event.get("Records").is_some() {
        let sqs: SqsEvent = serde_json::from_value(event).map_err(HandlerError::UnreadableEvent)?;
        serde_json::to_value(work(sync, sqs, deadline_millis).await)
    } else {
        let request: PlanRequest =
            serde_json::from_value(event).map_err(HandlerError::UnreadableEvent)?;
        let report = timeout(budget, plan(sync, &request))
            .await
            .map_err(|_| HandlerError::DeadlineNear("plan"))??;
        serde_json::to_value(report)
    };
    answer.map_err(HandlerError::UnreadableEvent)
}

/// Starts the runs a plan asks for and queues them.
pub async fn plan(sync: &DailySync, request: &PlanRequest) -> Result<PlanReport, HandlerError> {
    Ok(
        synchub_core::app::daily_sync::plan(&sync.ports(), &sync.tenants, request, now_millis)
            .await?,
    )
}

/// Works on each queued record until done or near the invocation's
/// deadline (`deadline_millis`, Unix millis). A retryable failure hands the
/// record back (the run resumes from its checkpoint); any other is logged
/// and not retried. The first record always starts (a run pulls at least a
/// page per invocation); later ones only with more than the policy's margin
/// left. A record cut by the deadline, and every one not started, is
/// handed back.
pub async fn work(sync: &DailySync, event: SqsEvent, deadline_millis: u64) -> SqsBatchResponse {
    let until = Instant::now() + budget_until(deadline_millis, now_millis());
    let remaining = move || until.saturating_duration_since(Instant::now());
    let ports = sync.ports();
    let mut report = BatchReport::default();
    let ids: Vec<String> = event
        .records
        .iter()
        .map(|r| r.message_id.clone().unwrap_or_default())
        .collect();
    for (n, record) in event.records.iter().enumerate() {
        let id = ids[n].clone();
        if n > 0 && remaining() < sync.policy.margin {
            tracing::warn!(
                handed_back = ids.len() - n,
                left_ms = remaining().as_millis() as u64,
                "deadline near: records not started are handed back to SQS"
            );
            report.retry.extend(ids[n..].iter().cloned());
            break;
        }
        let body = record.body.as_deref().unwrap_or_default();
        let working = handle_work(&ports, &sync.tenants, body, remaining, now_millis);
        match timeout(remaining(), working).await {
            Err(_) => {
                tracing::warn!(message_id = %id, handed_back = ids.len() - n, "deadline reached mid-record: it and the records after it are handed back to SQS; a run resumes from its checkpoint");
                ::metrics::counter!("RecordsHandedBack").increment((ids.len() - n) as u64);
                report.retry.extend(ids[n..].iter().cloned());
                break;
            }
            Ok(Ok(outcome)) => report.outcomes.push((id, outcome)),
            Ok(Err(e)) if e.is_retryable() => {
                tracing::warn!(message_id = %id, error.class = %e.class(), error = %e, "run will resume from its checkpoint");
                report.retry.push(id);
            }
            Ok(Err(e)) => {
                tracing::error!(message_id = %id, error.class = %e.class(), error = %e, "runs-queue record dropped: retrying cannot help");
                report.outcomes.push((id, format!("rejected ({e})")));
            }
        }
    }
    batch_response(&report)
}
