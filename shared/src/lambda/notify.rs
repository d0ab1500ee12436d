//! The failure notifier's SQS handler: records from the sync DLQ and from the
//! notifications queue, told apart by the queue they came from.

use super::sqs::batch_response;
use super::Notifier;
use crate::app::notify::{notify_batch, Incoming};
use crate::domain::time::now_millis;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

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
    let records: Vec<Incoming> = event
        .records
        .iter()
        .map(|m| incoming_from(m, notify_queue_url))
        .collect();
    let report = notify_batch(&notifier.ports(), &records, now_millis()).await;
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
