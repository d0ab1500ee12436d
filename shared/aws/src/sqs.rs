//! SQS adapter for the sync queue and its dead-letter queue.

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;
use std::collections::HashMap;
use synchub_core::ports::PortError;
use synchub_core::ports::{MessageQueue, OutgoingMessage, QueueDepth, QueueStats};
use synchub_core::ErrorClass;

const NET: ErrorClass = ErrorClass::NetworkError;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl QueueStats for SqsQueue {
    async fn depth(&self) -> Result<QueueDepth, PortError> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("SQS", "GetQueueAttributes", NET, e))?;
        let count = |name: A| {
            out.attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(QueueDepth {
            visible: count(A::ApproximateNumberOfMessages),
            in_flight: count(A::ApproximateNumberOfMessagesNotVisible),
        })
    }
}

fn attributes(message: &OutgoingMessage) -> HashMap<String, MessageAttributeValue> {
    message
        .attributes
        .iter()
        .filter_map(|(k, v)| {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .ok()?;
            Some(((*k).to_owned(), value))
        })
        .collect()
}

impl MessageQueue for SqsQueue {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, PortError> {
        let out = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(&message.body)
            .message_group_id(&message.group_id)
            .set_message_attributes(Some(attributes(message)))
            .set_delay_seconds((message.delay_seconds > 0).then_some(message.delay_seconds))
            .send()
            .await
            .map_err(|e| super::classify::sdk_error("SQS", "SendMessage", NET, e))?;
        Ok(out.message_id.unwrap_or_default())
    }

    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Vec<Result<(), PortError>> {
        if messages.is_empty() {
            return Vec::new();
        }
        // Every entry fails alike when the request as a whole does.
        let all_failed = |e: &PortError| -> Vec<Result<(), PortError>> {
            let each = || PortError::new("SQS", "SendMessageBatch", e.class(), e.message());
            messages.iter().map(|_| Err(each())).collect()
        };
        let entries = match batch_entries(messages) {
            Ok(e) => e,
            Err(e) => return all_failed(&e),
        };
        match self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => entry_results(messages.len(), out.failed()),
            Err(err) => all_failed(&super::classify::sdk_error(
                "SQS",
                "SendMessageBatch",
                NET,
                err,
            )),
        }
    }
}

fn batch_entries(
    messages: &[OutgoingMessage],
) -> Result<Vec<SendMessageBatchRequestEntry>, PortError> {
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(&m.body)
                .message_group_id(&m.group_id)
                .set_message_attributes(Some(attributes(m)))
                .set_delay_seconds((m.delay_seconds > 0).then_some(m.delay_seconds))
                .build()
                .map_err(|e| PortError::encode("SQS batch entry", e))
        })
        .collect()
}

/// One result per message, in order: the entries SQS reports as failed
/// (the sender's fault is not retried), the rest sent.
fn entry_results(
    count: usize,
    failed: &[aws_sdk_sqs::types::BatchResultErrorEntry],
) -> Vec<Result<(), PortError>> {
    let mut results: Vec<Result<(), PortError>> = (0..count).map(|_| Ok(())).collect();
    for f in failed {
        let class = if f.sender_fault() {
            ErrorClass::ValidationError
        } else {
            NET
        };
        let message = format!("{}: {}", f.code(), f.message().unwrap_or(""));
        if let Some(slot) = f
            .id()
            .parse::<usize>()
            .ok()
            .and_then(|i| results.get_mut(i))
        {
            *slot = Err(PortError::new("SQS", "SendMessageBatch", class, message));
        }
    }
    results
}
