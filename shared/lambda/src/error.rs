//! The Lambda glue's error: a whole invocation failed. It reaches Lambda as
//! a `Diagnostic` whose `error_type` is the class, so the function's
//! `Errors` metric (and the template's alarms on it) count it.

use lambda_runtime::Diagnostic;
use synchub_core::app::daily_sync::SyncError;
use synchub_core::error::chain;
use synchub_core::{Classified, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("unreadable invocation event: {0}")]
    UnreadableEvent(#[source] serde_json::Error),
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// Stopped before the invocation's deadline instead of running past it.
    #[error("{0} stopped before the invocation's deadline; running it again carries on")]
    DeadlineNear(&'static str),
}

impl Classified for HandlerError {
    fn class(&self) -> ErrorClass {
        match self {
            HandlerError::UnreadableEvent(_) => ErrorClass::ValidationError,
            HandlerError::Sync(e) => e.class(),
            HandlerError::DeadlineNear(_) => ErrorClass::TimeoutError,
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        tracing::error!(error.class = %e.class(), error = %chain(&e), "invocation failed");
        Diagnostic {
            error_type: e.class().to_string(),
            error_message: chain(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_invocation_reaches_lambda_as_its_class() {
        let e = HandlerError::UnreadableEvent(serde_json::from_str::<u8>("x").unwrap_err());
        let d = Diagnostic::from(e);
        assert_eq!(d.error_type, "VALIDATION_ERROR");
        assert!(d.error_message.starts_with("unreadable invocation event"));
    }
}
