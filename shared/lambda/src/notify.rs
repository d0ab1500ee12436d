//! The failure notifier's SQS handler: records from the sync DLQ and from the
//! notifications queue, told apart by the queue they came from.

use super::sqs::batch_response;
use super::Notifier;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use std::time::Duration;
use synchub_core::app::notify::{notify_batch, BatchReport, Incoming};
use synchub_core::domain::time::now_millis;
use tokio::time::{timeout, Instant};

/// The queue name at the end of an ARN or a queue URL.
fn queue_name(arn_or_url: &str) -> &str {
    arn_or_url.rsplit([':', '/']).next().unwrap_or_default()
}

/// Reads one record; `notify_queue_url` names the notifications queue, any
/// other source is the sync DLQ.
pub fn incoming_from(message: &SqsMessage, notify_queue_url: &str) -> Incoming {
    let message_id = message.message_id.clone().unwrap_or_default();
    let body = message.body.clone().unwrap_or_default();
    let from_notices = message
        .event_source_arn
        .as_deref()
        .is_some_and(|arn| queue_name(arn) == queue_name(notify_queue_url));
    if from_notices {
        return Incoming::Notice { message_id, body };
    }
    let attributes = message
        .message_attributes
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.string_value.clone()?)))
        .collect();
    let sent_millis = message
        .attributes
        .get("SentTimestamp")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    Incoming::DeadLetter {
        message_id,
        body,
        attributes,
        sent_millis,
    }
}

/// Handles one SQS batch; a failed record never fails the rest.
pub async fn handle_failures(
    notifier: &Notifier,
    notify_queue_url: &str,
    event: SqsEvent,
) -> SqsBatchResponse {
    handle_failures_within(notifier, notify_queue_url, event, Duration::from_secs(900)).await
}

/// No record is started with less than this left of the budget: one
/// record's work (a few DynamoDB calls and perhaps an email) takes well
/// under it even when the SDK retries.
pub const RECORD_MARGIN: Duration = Duration::from_secs(2);

/// [`handle_failures`] that never runs past `budget` (see
/// [`super::sqs::budget_until`]): records are handled one at a time, each
/// cut (every call in it) when the budget runs out; from the first record
/// cut, or not started because less than [`RECORD_MARGIN`] was left, every
/// record goes back to SQS as a batch item failure. Redoing one is safe:
/// the failure log keys each failure, and an alert window already claimed
/// is not claimed again.
pub async fn handle_failures_within(
    notifier: &Notifier,
    notify_queue_url: &str,
    event: SqsEvent,
    budget: Duration,
) -> SqsBatchResponse {
    let until = Instant::now() + budget;
    let records: Vec<Incoming> = event
        .records
        .iter()
        .map(|m| incoming_from(m, notify_queue_url))
        .collect();
    let ports = notifier.ports();
    let mut report = BatchReport::default();
    for (n, record) in records.iter().enumerate() {
        let left = until.saturating_duration_since(Instant::now());
        let unfinished = || records[n..].iter().map(|r| r.message_id().to_owned());
        if n > 0 && left < RECORD_MARGIN {
            tracing::warn!(
                handed_back = records.len() - n,
                left_ms = left.as_millis() as u64,
                "deadline near: records not started are handed back to SQS"
            );
            report.retry.extend(unfinished());
            break;
        }
        let handling = notify_batch(&ports, std::slice::from_ref(record), now_millis());
        match timeout(left, handling).await {
            Ok(done) => {
                report.outcomes.extend(done.outcomes);
                report.retry.extend(done.retry);
            }
            Err(_) => {
                tracing::warn!(message_id = %record.message_id(), handed_back = records.len() - n, "deadline reached mid-record: it and the records after it are handed back to SQS");
                report.retry.extend(unfinished());
                break;
            }
        }
    }
    tracing::info!(
        records = records.len(),
        retry = report.retry.len(),
        "notification batch done"
    );
    batch_response(&report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_told_apart_by_their_queue() {
        let mut m = SqsMessage::default();
        m.event_source_arn =
            Some("arn:aws:sqs:us-east-1:123456789012:synchub-notifications".into());
        assert!(matches!(
            incoming_from(
                &m,
                "https://sqs.us-east-1.amazonaws.com/123456789012/synchub-notifications"
            ),
            Incoming::Notice { .. }
        ));
        m.event_source_arn =
            Some("arn:aws:sqs:us-east-1:123456789012:synchub-sync-events-dlq".into());
        m.attributes
            .insert("SentTimestamp".into(), "1780308000000".into());
        let Incoming::DeadLetter { sent_millis, .. } = incoming_from(
            &m,
            "https://sqs.us-east-1.amazonaws.com/123456789012/synchub-notifications",
        ) else {
            panic!("a DLQ record")
        };
        assert_eq!(sent_millis, 1_780_308_000_000);
    }
}
