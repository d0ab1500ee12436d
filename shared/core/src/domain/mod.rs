//! Pure domain: validated identifiers, supplier events, the ordering rule,
//! audit outcomes, correlation ids and webhook signatures. No I/O here.

pub mod alert;
pub mod audit;
pub mod change;
pub mod correlation;
pub mod drift;
pub mod ensure;
pub mod layout;
pub mod limits;
pub mod metrics;
pub mod ordering;
pub mod provider_webhook;
pub mod replay;
pub mod square;
pub mod supplier;
pub mod sync_run;
pub mod webhook_signature;

pub use synchub_model::{ids, time, DataType};

pub use audit::{AuditRow, Outcome, TargetStatus};
pub use change::{ChangeBody, EntityChange, PulledObject};
pub use ids::{EntityKey, EntityKind, EventId, Sku, TenantId, ValidationError};
pub use ordering::Version;
pub use supplier::SupplierEvent;
