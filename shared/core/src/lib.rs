//! synchub's common crate.
//!
//! - [`domain`]: pure business rules (validated identifiers, supplier events,
//!   the ordering rule, audit outcomes, webhook signatures). No I/O.
//! - [`app`]: the use cases (ingest a webhook, apply a batch of queued events),
//!   as async functions that take their [`ports`] as arguments.
//! - [`adapters`]: DynamoDB, SQS, SSM and HTTP implementations of the ports,
//!   built from one SDK config so endpoints come from the standard
//!   `AWS_ENDPOINT_URL_*` variables and production code has no emulator branch.
//! - [`messages`]: the typed, versioned messages between functions.
//! - [`lambda`]: the Lambda glue written once (init, HTTP mapping, SQS partial
//!   batch responses).

pub mod app;
pub mod domain;
pub mod error;
pub mod messages;
pub mod ports;

pub use error::{Classified, ErrorClass};
