//! The one classification of each error source into the [`ErrorClass`]es:
//! AWS SDK errors (by service error code, then by HTTP status) and HTTP
//! answers of provider APIs (by status, then by the provider's category).
//! Both share [`status_class`], so an unknown 4xx is the same class whether
//! an AWS service or a provider sent it.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use synchub_core::ports::PortError;
use synchub_core::ErrorClass;

/// The class of an HTTP error status. `busy` is the class of throttling and
/// server-side trouble (DATABASE_ERROR for DynamoDB, NETWORK_ERROR otherwise).
/// Any other 4xx means the request is refused as it is: retrying it cannot help.
pub fn status_class(status: u16, busy: ErrorClass) -> ErrorClass {
    match status {
        401 | 403 => ErrorClass::AuthError,
        408 => ErrorClass::TimeoutError,
        429 | 500..=599 => busy,
        400..=499 => ErrorClass::ValidationError,
        _ => ErrorClass::UnknownError,
    }
}

/// Classifies an AWS SDK error, keeping it as the source.
pub fn sdk_error<E>(
    service: &'static str,
    operation: &'static str,
    busy: ErrorClass,
    err: SdkError<E, HttpResponse>,
) -> PortError
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
        SdkError::ResponseError(_) => (ErrorClass::NetworkError, "unreadable response".to_owned()),
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let status = se.raw().status().as_u16();
            let message = format!(
                "{code} (HTTP {status}): {}",
                se.err().message().unwrap_or("")
            );
            (service_code_class(code, status, busy), message)
        }
        _ => (ErrorClass::UnknownError, err.to_string()),
    };
    PortError::Call {
        service,
        operation,
        class,
        message,
        source: Some(Box::new(err)),
    }
}

fn service_code_class(code: &str, status: u16, busy: ErrorClass) -> ErrorClass {
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
        _ => status_class(status, busy),
    }
}

/// The class of a provider's error answer: its status, refined by the
/// provider's own category where it has one (HubSpot's `category`, Square's
/// `errors[].category`).
pub fn provider_error_class(status: u16, category: &str) -> ErrorClass {
    match category {
        "RATE_LIMITS" | "RATE_LIMIT_ERROR" => ErrorClass::NetworkError,
        "INVALID_AUTHENTICATION" | "MISSING_SCOPES" | "AUTHENTICATION_ERROR" => {
            ErrorClass::AuthError
        }
        "VALIDATION_ERROR" | "INVALID_REQUEST_ERROR" | "INVALID_EMAIL" | "OBJECT_NOT_FOUND" => {
            ErrorClass::ValidationError
        }
        _ => status_class(status, ErrorClass::NetworkError),
    }
}

/// The class of a request that got no answer.
pub fn send_error_class(e: &reqwest::Error) -> ErrorClass {
    if e.is_timeout() {
        ErrorClass::TimeoutError
    } else {
        ErrorClass::NetworkError
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn throttling_is_the_callers_busy_class_and_auth_is_never_retried() {
        use ErrorClass::*;
        let db = DatabaseError;
        assert_eq!(
            service_code_class("ProvisionedThroughputExceededException", 400, db),
            DatabaseError
        );
        assert_eq!(
            service_code_class("UnrecognizedClientException", 400, db),
            AuthError
        );
        assert_eq!(service_code_class("", 503, NetworkError), NetworkError);
        assert_eq!(
            service_code_class("ValidationException", 400, db),
            ValidationError
        );
        assert_eq!(
            service_code_class("ResourceNotFoundException", 400, db),
            ValidationError
        );
    }

    #[test]
    fn provider_categories_refine_the_status() {
        use ErrorClass::*;
        assert_eq!(provider_error_class(400, "RATE_LIMITS"), NetworkError);
        assert_eq!(provider_error_class(400, "MISSING_SCOPES"), AuthError);
        assert_eq!(provider_error_class(409, "CONFLICT"), ValidationError);
        assert_eq!(provider_error_class(502, ""), NetworkError);
    }

    proptest! {
        /// An AWS service and a provider API that answer the same status
        /// with nothing more specific get the same class.
        #[test]
        fn one_status_one_class_whichever_source(status in 100u16..600) {
            prop_assert_eq!(
                service_code_class("SomethingNew", status, ErrorClass::NetworkError),
                provider_error_class(status, "SOMETHING_NEW")
            );
        }
    }
}
