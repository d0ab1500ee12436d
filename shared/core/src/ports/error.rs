//! The one error every port returns: a dependency (an AWS service, a
//! provider's API, stored configuration) did not do what was asked.
//! Adapters classify their SDK and HTTP errors into it once
//! (`adapters::classify`); use cases wrap it in their own errors with
//! `#[from]`, keeping it as the source.

use crate::error::{Classified, ErrorClass};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// A call to a dependency failed; `source` keeps the SDK or HTTP error.
    #[error("{service} {operation} failed ({class}): {message}")]
    Call {
        service: &'static str,
        operation: &'static str,
        class: ErrorClass,
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    /// Stored configuration exists but cannot be used as it is (a malformed
    /// signing secret, an unreadable settings item): an operator must fix it.
    #[error("{what} is misconfigured: {detail}")]
    Misconfigured { what: String, detail: String },
    /// A value could not be encoded for or decoded from a dependency.
    #[error("could not {action} {what}: {source}")]
    Codec {
        action: &'static str,
        what: &'static str,
        #[source]
        source: BoxError,
    },
}

impl PortError {
    /// A failed call, without an underlying error to keep.
    pub fn new(
        service: &'static str,
        operation: &'static str,
        class: ErrorClass,
        message: impl Into<String>,
    ) -> Self {
        Self::Call {
            service,
            operation,
            class,
            message: message.into(),
            source: None,
        }
    }

    pub fn encode(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Codec {
            action: "encode",
            what,
            source: Box::new(source),
        }
    }

    pub fn decode(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Codec {
            action: "decode",
            what,
            source: Box::new(source),
        }
    }

    /// The failure's words without its class, for ledgers that show the class apart.
    pub fn message(&self) -> String {
        match self {
            Self::Call { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

impl PortError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Call { class, .. } => *class,
            Self::Misconfigured { .. } => ErrorClass::ValidationError,
            Self::Codec { .. } => ErrorClass::UnknownError,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.class().is_retryable()
    }

    /// The same failure under another class (a refusal the caller knows more about).
    pub fn reclassified(self, to: ErrorClass) -> Self {
        match self {
            Self::Call {
                service,
                operation,
                message,
                source,
                ..
            } => Self::Call {
                service,
                operation,
                class: to,
                message,
                source,
            },
            other => other,
        }
    }
}

impl Classified for PortError {
    fn class(&self) -> ErrorClass {
        PortError::class(self)
    }
}
