//! SES adapter for alert emails (`SendEmail`, text and HTML parts).

use aws_sdk_ses::error::ProvideErrorMetadata;
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use aws_sdk_ses::Client;
use synchub_core::ports::PortError;
use synchub_core::ports::{Email, Mailer};
use synchub_core::ErrorClass;

pub struct SesMailer {
    client: Client,
    sender: String,
}

impl SesMailer {
    /// `sender` must be an SES-verified identity.
    pub fn new(client: Client, sender: impl Into<String>) -> Self {
        Self {
            client,
            sender: sender.into(),
        }
    }
}

fn content(text: &str) -> Result<Content, PortError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| {
            PortError::new(
                "SES",
                "SendEmail",
                ErrorClass::ValidationError,
                e.to_string(),
            )
        })
}

/// SES answers that no retry can change: the address or sender is refused.
fn permanent(code: &str) -> bool {
    matches!(
        code,
        "MessageRejected"
            | "MailFromDomainNotVerifiedException"
            | "ConfigurationSetDoesNotExistException"
            | "InvalidParameterValue"
    )
}

impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, PortError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .text(content(&email.text)?)
                    .html(content(&email.html)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .source(&self.sender)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.clone()))
                    .build(),
            )
            .message(message)
            .send()
            .await
            .map_err(|e| {
                let code = e.code().unwrap_or_default().to_owned();
                let err =
                    super::classify::sdk_error("SES", "SendEmail", ErrorClass::NetworkError, e);
                if permanent(&code) {
                    err.reclassified(ErrorClass::ValidationError)
                } else {
                    err
                }
            })?;
        Ok(out.message_id)
    }
}
