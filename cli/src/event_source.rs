//! A stand-in for Lambda's SQS event source mapping, for the local stack:
//! receive a batch, hand it to the real worker handler as an `SqsEvent`,
//! delete what it did not report as a batch item failure. Failed records stay
//! on the queue and come back after the visibility timeout, as in AWS.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use aws_sdk_sqs::Client;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone)]
pub struct LocalEventSource {
    sqs: Client,
    queue_url: String,
    pub wait: Duration,
}

/// What one poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    pub received: usize,
    pub failed: usize,
}

impl LocalEventSource {
    pub fn new(sqs: Client, queue_url: impl Into<String>) -> Self {
        Self {
            sqs,
            queue_url: queue_url.into(),
            wait: Duration::from_secs(1),
        }
    }

    /// Receives up to ten messages and runs `handler` on them.
    pub async fn poll_once<F, Fut>(&self, handler: F) -> Result<PollStats, Error>
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        self.poll_batch(10, Duration::ZERO, handler).await
    }

    /// Gathers up to `batch_size` messages within `window` (Lambda's BatchSize and
    /// MaximumBatchingWindowInSeconds) and runs `handler` on them as one event.
    pub async fn poll_batch<F, Fut>(
        &self,
        batch_size: usize,
        window: Duration,
        handler: F,
    ) -> Result<PollStats, Error>
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let messages = self.gather(batch_size, window).await?;
        if messages.is_empty() {
            return Ok(PollStats::default());
        }
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| to_lambda(m, &self.queue_url))
            .collect();
        let response = handler(event).await;
        let failed: HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        self.delete_all_but(&messages, &failed).await?;
        Ok(PollStats {
            received: messages.len(),
            failed: failed.len(),
        })
    }

    /// Receives until `batch_size` messages are in hand, `window` has passed,
    /// or the queue has nothing more to give.
    async fn gather(&self, batch_size: usize, window: Duration) -> Result<Vec<Message>, Error> {
        let started = std::time::Instant::now();
        let mut messages: Vec<Message> = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages((batch_size - messages.len()).min(10) as i32)
                .wait_time_seconds(self.wait.as_secs() as i32)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await?;
            let received = out.messages.unwrap_or_default();
            let empty = received.is_empty();
            messages.extend(received);
            if messages.len() >= batch_size
                || started.elapsed() >= window
                || (empty && !messages.is_empty())
            {
                return Ok(messages);
            }
            if empty {
                if window.is_zero() {
                    return Ok(messages);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Deletes the handled messages: all but the reported batch item failures.
    async fn delete_all_but(
        &self,
        messages: &[Message],
        failed: &HashSet<&str>,
    ) -> Result<(), Error> {
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !failed.contains(m.message_id().unwrap_or_default()))
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle.clone())
                    .build()
                    .ok()
            })
            .collect();
        for chunk in entries.chunks(10) {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(chunk.to_vec()))
                .send()
                .await?;
        }
        Ok(())
    }

    /// Messages still on the queue, visible or in flight.
    pub async fn depth(&self) -> Result<usize, Error> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .send()
            .await?
            .attributes
            .unwrap_or_default();
        Ok(attrs.values().filter_map(|v| v.parse::<usize>().ok()).sum())
    }
}

/// The shape Lambda gives the function for one received message.
fn to_lambda(m: &Message, queue_url: &str) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = m.message_id.clone();
    message.receipt_handle = m.receipt_handle.clone();
    message.body = m.body.clone();
    message.md5_of_body = m.md5_of_body.clone();
    message.attributes = m
        .attributes
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
        .collect::<HashMap<_, _>>();
    message.message_attributes = m
        .message_attributes
        .iter()
        .flatten()
        .map(|(k, v)| {
            let mut attribute = SqsMessageAttribute::default();
            attribute.string_value = v.string_value.clone();
            attribute.data_type = Some(v.data_type.clone());
            (k.clone(), attribute)
        })
        .collect();
    message.event_source = Some("aws:sqs".into());
    message.event_source_arn = Some(format!(
        "arn:aws:sqs:us-east-1:000000000000:{}",
        queue_url.rsplit('/').next().unwrap_or_default()
    ));
    message.aws_region = Some("us-east-1".into());
    message
}
