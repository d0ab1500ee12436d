//! AWS and HTTP implementations of the [`synchub_core::ports`]. Errors from either
//! source are classified in one place, [`classify`].

pub mod alerts;
pub mod cache;
pub mod classify;
pub mod connector_http;
pub mod dynamodb;
pub mod http_retry;
pub mod maintenance;
pub mod pos_clients;
pub mod runs;
pub mod ses;
pub mod sqs;
pub mod square;
pub mod ssm;
pub mod storefront;
pub mod targets;
