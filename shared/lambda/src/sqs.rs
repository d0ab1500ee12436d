//! SQS events in, partial batch responses out (`ReportBatchItemFailures`).

use super::Worker;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use std::time::Duration;
use synchub_core::app::apply::{apply_batch, BatchReport, Delivery};
use synchub_core::domain::metrics::hour_of;
use synchub_core::domain::time::{now_millis, now_rfc3339};
use synchub_core::ports::maintenance::{Maintenance, MaintenanceSwitch};
use synchub_core::ports::MetricsLedger;

pub fn delivery_from(message: &SqsMessage) -> Delivery {
    Delivery {
        message_id: message.message_id.clone().unwrap_or_default(),
        body: message.body.clone().unwrap_or_default(),
        receive_count: message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1),
    }
}

pub fn batch_response<O>(report: &BatchReport<O>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = report
        .retry
        .iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id.clone();
            failure
        })
        .collect();
    response
}

/// Handles one SQS batch; a failed record never fails the rest. Its sums
/// are recorded for the invocation's EMF line (see [`super::emf`]).
pub async fn handle_sync_batch(worker: &Worker, event: SqsEvent) -> SqsBatchResponse {
    handle_sync_batch_within(worker, event, Duration::from_secs(900)).await
}

/// What the worker keeps back from its invocation's time to answer: the
/// counters, the metrics flush and the response itself.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(1_200);

/// A record whose write or audit row still failed after the SDK's retries
/// (not one whose target is down: SQS paces those) is tried once more in
/// the same invocation when more than this is left of the budget: each receive it spares is one step further from the DLQ
/// (with `maxReceiveCount` 2, a crash and one unlucky write were enough to
/// dead-letter a valid event).
pub const RETRY_IN_PLACE_MARGIN: Duration = Duration::from_millis(1_500);

/// The time a handler may spend before `deadline_ms` (Unix millis, the
/// Lambda context's deadline), keeping [`ANSWER_MARGIN`] to answer.
/// Never more than a day (a Lambda runs at most 15 minutes), so a caller
/// without a deadline (`u64::MAX`) gets a budget an `Instant` can hold.
pub fn budget_until(deadline_ms: u64, now_ms: i64) -> Duration {
    let left = i128::from(deadline_ms) - i128::from(now_ms);
    Duration::from_millis(u64::try_from(left).unwrap_or(0))
        .min(Duration::from_secs(86_400))
        .saturating_sub(ANSWER_MARGIN)
}

/// [`handle_sync_batch`] that never runs past `budget`: when the batch is
/// not done by then, every record is handed back to SQS as a batch item
/// failure instead of the invocation timing out (which would fail the whole
/// batch and spend a receive of every record anyway). Nothing is lost or
/// done twice: a record already recorded is found by its redelivery and only
/// finished, and one whose write landed without its row is completed then.
pub async fn handle_sync_batch_within(
    worker: &Worker,
    event: SqsEvent,
    budget: Duration,
) -> SqsBatchResponse {
    let deliveries: Vec<Delivery> = event.records.iter().map(delivery_from).collect();
    let started = tokio::time::Instant::now();
    let work = async {
        let maintenance = maintenance(worker).await;
        let ports = worker.ports_with(maintenance);
        // Boxed: the batch's future is deep, and would push the function's
        // own future past the compiler's layout depth limit.
        let mut report = Box::pin(apply_batch(&ports, &deliveries)).await;
        if !report.store_failed.is_empty()
            && budget.saturating_sub(started.elapsed()) > RETRY_IN_PLACE_MARGIN
        {
            // As their redelivery would, so what the first try did is found
            // and finished, never done twice.
            let again = redelivered(&deliveries, &report.store_failed);
            tracing::info!(
                records = again.len(),
                "records that failed are tried once more before being handed back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            let second = Box::pin(apply_batch(&ports, &again)).await;
            merge_second_try(&mut report, second);
        }
        (maintenance, report)
    };
    let Ok((maintenance, mut report)) = tokio::time::timeout(budget, work).await else {
        return hand_back_all(&deliveries, budget);
    };
    // Best effort, and within the margin kept to answer: never past the deadline.
    let counting = count_batch(&worker.metrics, &event, &mut report);
    if tokio::time::timeout(ANSWER_MARGIN / 2, counting)
        .await
        .is_err()
    {
        tracing::warn!("batch counters not recorded before the deadline");
    }
    super::emf::count_sync_batch(deliveries.len(), &report);
    tracing::info!(
        records = deliveries.len(),
        retry = report.retry.len(),
        maintenance = %maintenance,
        "batch done"
    );
    batch_response(&report)
}

/// The records whose write or audit row failed, as their redelivery would
/// bring them (one receive more), so what the first try did is found and
/// finished.
fn redelivered(deliveries: &[Delivery], store_failed: &[String]) -> Vec<Delivery> {
    deliveries
        .iter()
        .filter(|d| store_failed.contains(&d.message_id))
        .map(|d| Delivery {
            receive_count: d.receive_count + 1,
            ..d.clone()
        })
        .collect()
}

/// The batch's report with the second try of its failed records in place of
/// their first: what still fails is retried, and the second try's outcomes,
/// tallies and target counts are added.
fn merge_second_try(report: &mut BatchReport, second: BatchReport) {
    report.retry.retain(|id| !report.store_failed.contains(id));
    report.retry.extend(second.retry);
    report.store_failed = second.store_failed;
    report.outcomes.extend(second.outcomes);
    for (tenant, tally) in &second.tallies {
        report.tally(tenant).add(tally);
    }
    report.targets.add(&second.targets);
}

/// The deadline came first: every record of the batch goes back to SQS as a
/// batch item failure.
fn hand_back_all(deliveries: &[Delivery], budget: Duration) -> SqsBatchResponse {
    tracing::warn!(
        records = deliveries.len(),
        budget_ms = budget.as_millis() as u64,
        "deadline near: the unfinished batch is handed back to SQS"
    );
    ::metrics::counter!("BatchesHandedBack").increment(1);
    let report: BatchReport = BatchReport {
        retry: deliveries.iter().map(|d| d.message_id.clone()).collect(),
        ..BatchReport::default()
    };
    batch_response(&report)
}

/// The maintenance switch for this batch. Never read at all (SSM down
/// since a cold start) counts as off: every outbound call then goes ahead,
/// and one that fails is recorded failed, retried and backfillable as ever.
async fn maintenance(worker: &Worker) -> Maintenance {
    match worker.maintenance.state().await {
        Ok(state) => state,
        Err(e) => {
            tracing::error!(error.class = %e.class(), error = %e, "maintenance switch unreadable; taken as off");
            Maintenance::Off
        }
    }
}

/// Adds the batch to each tenant's counters for this hour, with the longest
/// any of its records waited on the queue (now − `SentTimestamp`; the tenant
/// is the message group). Counters are best effort: a failure is logged and
/// never fails the batch.
async fn count_batch<M: MetricsLedger>(metrics: &M, event: &SqsEvent, report: &mut BatchReport) {
    let now = now_millis();
    for message in &event.records {
        let attribute = |k: &str| message.attributes.get(k);
        let (Some(tenant), Some(sent)) = (
            attribute("MessageGroupId"),
            attribute("SentTimestamp").and_then(|t| t.parse::<i64>().ok()),
        ) else {
            continue;
        };
        let lag = u64::try_from(now - sent).unwrap_or(0);
        let tally = report.tally(tenant);
        tally.lag_max_ms = tally.lag_max_ms.max(lag);
    }
    let hour = hour_of(&now_rfc3339());
    for (tenant, tally) in &report.tallies {
        if let Err(e) = metrics.add(tenant, &hour, tally).await {
            tracing::warn!(tenant = %tenant, error.class = %e.class(), error = %e, "batch counters not recorded");
        }
    }
}
