//! Queues.

use super::{lock, Faults};
use crate::ports::{MessageQueue, OutgoingMessage, PortError};
use crate::ErrorClass;
use std::sync::Mutex;

/// A queue that keeps what was sent to it. Each message (alone or in a
/// batch) counts as one call for [`Faults`].
#[derive(Debug, Default)]
pub struct FakeQueue {
    sent: Mutex<Vec<OutgoingMessage>>,
    pub faults: Faults,
}

/// SQS's limits on one request.
const MAX_BATCH: usize = 10;
const MAX_DELAY_SECONDS: i32 = 900;

impl FakeQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<OutgoingMessage> {
        lock(&self.sent).clone()
    }

    /// The bodies sent, parsed as JSON.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        lock(&self.sent)
            .iter()
            .map(|m| serde_json::from_str(&m.body).expect("queued bodies are JSON"))
            .collect()
    }

    fn accept(
        &self,
        message: &OutgoingMessage,
        operation: &'static str,
    ) -> Result<usize, PortError> {
        self.faults.check("SQS", operation)?;
        if !(0..=MAX_DELAY_SECONDS).contains(&message.delay_seconds) {
            return Err(PortError::new(
                "SQS",
                operation,
                ErrorClass::ValidationError,
                "InvalidParameterValue: DelaySeconds must be 0 to 900",
            ));
        }
        let mut sent = lock(&self.sent);
        sent.push(message.clone());
        Ok(sent.len())
    }
}

impl MessageQueue for FakeQueue {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, PortError> {
        self.accept(message, "SendMessage")
            .map(|n| format!("fake-msg-{n}"))
    }

    async fn send_batch(&self, messages: &[OutgoingMessage]) -> Vec<Result<(), PortError>> {
        if messages.len() > MAX_BATCH {
            return messages
                .iter()
                .map(|_| {
                    Err(PortError::new(
                        "SQS",
                        "SendMessageBatch",
                        ErrorClass::ValidationError,
                        "TooManyEntriesInBatchRequest",
                    ))
                })
                .collect();
        }
        messages
            .iter()
            .map(|m| self.accept(m, "SendMessageBatch").map(|_| ()))
            .collect()
    }
}
