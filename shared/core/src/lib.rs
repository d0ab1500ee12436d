//! synchub's core: the spine of the system, with no AWS, Lambda or HTTP
//! crate in its dependency tree (ARCHITECTURE.md; `scripts/check-layers.py`
//! holds it to that).
//!
//! - [`domain`]: pure business rules: the ordering rule, audit outcomes,
//!   supplier events, provider webhooks and their signatures, alerts, sync
//!   runs; the vocabulary of `synchub_model` re-exported. No I/O.
//! - [`messages`]: the typed, versioned messages between functions.
//! - [`ports`]: the small traits the use cases depend on; in-memory fakes
//!   of each behind the `test-util` feature.
//! - [`app`]: the spine's use cases (ingest a webhook, apply a batch, sync
//!   customers, the daily sync, notify, health), as async functions that
//!   take their ports.
//! - [`ErrorClass`]: the one classification every error maps to.
pub mod app;
pub mod domain;
pub mod error;
pub mod messages;
pub mod ports;

pub use error::{Classified, ErrorClass};
