//! The operator's questions, answered once for every door (the sync API,
//! the CLI, the dashboard): is the sync healthy, what did a tenant's runs
//! do, which flags are in effect and why, why does an entity hold what it
//! holds. Each answer is a `Serialize` type: the API and `--json` print the
//! same JSON.

pub mod cost;
pub mod cost_documents;
pub mod ensure;
pub mod fleet;
pub mod gate;
pub mod metrics;
pub mod replay;
pub mod runs;
pub mod status;
pub mod tenants;
pub mod trace;

pub use synchub_core::app::{flags, health};

use synchub_core::domain::ValidationError;
use synchub_core::ports::PortError;
use synchub_core::{Classified, ErrorClass};

pub use flags::{effective_flags, FlagPolicy, FlagSource, FlagValue};
pub use fleet::{failures, tenants, RecentFailures, TenantsPage};
pub use gate::{gate, GateReport, TenantGate};
pub use health::{health, Check, Health, HealthStatus, HealthThresholds, Queues};
pub use metrics::{metrics, MetricsReport, TenantMetrics, WindowMetrics};
pub use replay::{replay, ReplayItem, ReplayPorts, ReplayReport, ReplayRequest};
pub use runs::{runs, RunsPage, DEFAULT_RUNS_LIMIT, MAX_RUNS_LIMIT};
pub use status::{status, RunLine, TenantStatus};
pub use trace::{trace, Trace, TraceEntry, Winner};

/// Why an operator's question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("tenant {0} is not known")]
    UnknownTenant(String),
}

impl Classified for OpsError {
    fn class(&self) -> ErrorClass {
        match self {
            OpsError::Port(e) => e.class(),
            OpsError::Invalid(_) | OpsError::UnknownTenant(_) => ErrorClass::ValidationError,
        }
    }
}
