//! The error classes every layer maps its errors to (see DESIGN.md "Errors").
//!
//! Each layer has its own error enum (`ports::PortError` for what adapters
//! report, one per use case in `app`, `lambda::HandlerError` for the glue),
//! each [`Classified`], converting at the boundary with `#[from]` so the
//! cause is kept as the source.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How an error is handled: retried or not, and how it is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorClass {
    AuthError,
    ValidationError,
    NetworkError,
    DatabaseError,
    TimeoutError,
    UnknownError,
}

impl ErrorClass {
    /// Retryable errors are retried with backoff, then left to SQS redelivery,
    /// then the DLQ. Non-retryable ones are recorded and never retried.
    pub fn is_retryable(self) -> bool {
        !matches!(self, ErrorClass::AuthError | ErrorClass::ValidationError)
    }

    pub const ALL: [ErrorClass; 6] = [
        ErrorClass::AuthError,
        ErrorClass::ValidationError,
        ErrorClass::NetworkError,
        ErrorClass::DatabaseError,
        ErrorClass::TimeoutError,
        ErrorClass::UnknownError,
    ];

    /// The class named by its documented name (`AUTH_ERROR`, ...).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::AuthError => "AUTH_ERROR",
            ErrorClass::ValidationError => "VALIDATION_ERROR",
            ErrorClass::NetworkError => "NETWORK_ERROR",
            ErrorClass::DatabaseError => "DATABASE_ERROR",
            ErrorClass::TimeoutError => "TIMEOUT_ERROR",
            ErrorClass::UnknownError => "UNKNOWN_ERROR",
        }
    }
}

/// An error that knows its class. Every layer's error implements it, and
/// every batch loop asks [`Classified::is_retryable`] (the one retry verdict)
/// whether to hand a record back for redelivery.
pub trait Classified: std::error::Error {
    fn class(&self) -> ErrorClass;

    fn is_retryable(&self) -> bool {
        self.class().is_retryable()
    }
}

/// The error and every source under it, `: `-separated, for logs and
/// terminals that show one line.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = e.source();
    }
    text
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_auth_and_validation_errors_are_not_retried() {
        use ErrorClass::*;
        let retried: Vec<_> = [
            AuthError,
            ValidationError,
            NetworkError,
            DatabaseError,
            TimeoutError,
            UnknownError,
        ]
        .into_iter()
        .filter(|c| c.is_retryable())
        .collect();
        assert_eq!(
            retried,
            vec![NetworkError, DatabaseError, TimeoutError, UnknownError]
        );
    }

    #[test]
    fn class_serializes_as_its_documented_name() {
        assert_eq!(
            serde_json::to_string(&ErrorClass::DatabaseError).unwrap(),
            "\"DATABASE_ERROR\""
        );
        assert_eq!(ErrorClass::TimeoutError.to_string(), "TIMEOUT_ERROR");
        for c in ErrorClass::ALL {
            assert_eq!(ErrorClass::parse(c.as_str()), Some(c));
        }
        assert_eq!(ErrorClass::parse("auth_error"), None);
    }
}
