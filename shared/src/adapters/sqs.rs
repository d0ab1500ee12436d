//! SQS adapter for the sync queue and its dead-letter queue.

use crate::ports::PortError;
use crate::ports::{MessageQueue, OutgoingMessage};
use crate::ErrorClass;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;
use std::collections::HashMap;

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
        let entries: Result<Vec<_>, _> = messages
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
            })
            .collect();
        let entries = match entries {
            Ok(e) => e,
            Err(e) => {
                return messages
                    .iter()
                    .map(|_| {
                        Err(PortError::new(
                            "SQS",
                            "SendMessageBatch",
                            ErrorClass::UnknownError,
                            e.to_string(),
                        ))
                    })
                    .collect()
            }
        };
        match self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => {
                let mut results: Vec<Result<(), PortError>> =
                    messages.iter().map(|_| Ok(())).collect();
                for failed in out.failed() {
                    if let Ok(i) = failed.id().parse::<usize>() {
                        let class = if failed.sender_fault() {
                            ErrorClass::ValidationError
                        } else {
                            NET
                        };
                        let message =
                            format!("{}: {}", failed.code(), failed.message().unwrap_or(""));
                        if let Some(slot) = results.get_mut(i) {
                            *slot = Err(PortError::new("SQS", "SendMessageBatch", class, message));
                        }
                    }
                }
                results
            }
            Err(err) => {
                let err = super::classify::sdk_error("SQS", "SendMessageBatch", NET, err);
                messages
                    .iter()
                    .map(|_| {
                        Err(PortError::new(
                            "SQS",
                            "SendMessageBatch",
                            err.class(),
                            err.message(),
                        ))
                    })
                    .collect()
            }
        }
    }
}
