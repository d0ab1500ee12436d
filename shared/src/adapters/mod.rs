//! AWS and HTTP implementations of the [`crate::ports`], and the one place
//! where SDK and HTTP errors are classified.

pub mod alerts;
pub mod cache;
pub mod dynamodb;
pub mod http_retry;
pub mod runs;
pub mod ses;
pub mod sqs;
pub mod square;
pub mod ssm;
pub mod storefront;
pub mod targets;

use crate::ErrorClass;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failed call to a dependency, classified.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} failed ({class}): {message}")]
pub struct AdapterError {
    pub service: &'static str,
    pub operation: &'static str,
    pub class: ErrorClass,
    pub message: String,
    #[source]
    pub source: Option<BoxError>,
}

impl AdapterError {
    pub fn new(
        service: &'static str,
        operation: &'static str,
        class: ErrorClass,
        message: impl Into<String>,
    ) -> Self {
        Self {
            service,
            operation,
            class,
            message: message.into(),
            source: None,
        }
    }

    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// Classifies an AWS SDK error. `busy` is the class for throttling and
    /// server-side trouble (DATABASE_ERROR for DynamoDB, NETWORK_ERROR otherwise).
    pub fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        busy: ErrorClass,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (class, message) = match &err {
            SdkError::TimeoutError(_) => (ErrorClass::TimeoutError, "request timed out".to_owned()),
            SdkError::DispatchFailure(d) if d.is_timeout() => {
                (ErrorClass::TimeoutError, "connection timed out".to_owned())
            }
            SdkError::DispatchFailure(_) => (
                ErrorClass::NetworkError,
                "could not reach the service".to_owned(),
            ),
            SdkError::ResponseError(_) => {
                (ErrorClass::NetworkError, "unreadable response".to_owned())
            }
            SdkError::ServiceError(se) => {
                let code = se.err().code().unwrap_or("");
                let status = se.raw().status().as_u16();
                let message = format!(
                    "{code} (HTTP {status}): {}",
                    se.err().message().unwrap_or("")
                );
                (classify_service_code(code, status, busy), message)
            }
            _ => (ErrorClass::UnknownError, err.to_string()),
        };
        Self {
            service,
            operation,
            class,
            message,
            source: Some(Box::new(err)),
        }
    }
}

fn classify_service_code(code: &str, status: u16, busy: ErrorClass) -> ErrorClass {
    match code {
        "ThrottlingException"
        | "ProvisionedThroughputExceededException"
        | "RequestLimitExceeded"
        | "TransactionConflictException"
        | "InternalServerError"
        | "ServiceUnavailable"
        | "Throttling"
        | "LimitExceededException"
        | "RequestThrottled" => busy,
        "AccessDeniedException"
        | "AccessDenied"
        | "UnrecognizedClientException"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken"
        | "KMSAccessDeniedException" => ErrorClass::AuthError,
        "ValidationException" | "InvalidParameterValue" | "SerializationException" => {
            ErrorClass::ValidationError
        }
        _ if status >= 500 || status == 429 => busy,
        _ => ErrorClass::UnknownError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_the_callers_busy_class_and_auth_is_never_retried() {
        assert_eq!(
            classify_service_code(
                "ProvisionedThroughputExceededException",
                400,
                ErrorClass::DatabaseError
            ),
            ErrorClass::DatabaseError
        );
        assert_eq!(
            classify_service_code(
                "UnrecognizedClientException",
                400,
                ErrorClass::DatabaseError
            ),
            ErrorClass::AuthError
        );
        assert_eq!(
            classify_service_code("", 503, ErrorClass::NetworkError),
            ErrorClass::NetworkError
        );
        assert_eq!(
            classify_service_code("ValidationException", 400, ErrorClass::DatabaseError),
            ErrorClass::ValidationError
        );
        assert_eq!(
            classify_service_code("Whatever", 400, ErrorClass::DatabaseError),
            ErrorClass::UnknownError
        );
    }
}
