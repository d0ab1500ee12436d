//! Why a sync use case could not do what was asked, classified.

use crate::ports::PortError;
use crate::ErrorClass;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error("no Square access token in SSM for tenant {tenant}")]
    NoToken { tenant: String },
    #[error("invalid work: {0}")]
    Invalid(#[from] crate::domain::ValidationError),
    #[error("unreadable runs-queue message: {0}")]
    UnreadableWork(String),
    /// A run asked for by hand while the maintenance switch is on.
    #[error("maintenance is on: no run starts until it is switched off (synchub maintenance off)")]
    Maintenance,
}

impl crate::Classified for SyncError {
    fn class(&self) -> ErrorClass {
        match self {
            SyncError::Port(e) => e.class(),
            SyncError::NoToken { .. } => ErrorClass::AuthError,
            SyncError::Invalid(_) | SyncError::UnreadableWork(_) | SyncError::Maintenance => {
                ErrorClass::ValidationError
            }
        }
    }
}
