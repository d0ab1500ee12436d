//! The synchub operator CLI's library: the local stack (resources named and
//! configured as in template.yaml), a stand-in for Lambda's SQS event source,
//! the demo, and `trace`.

pub mod backfill;
pub mod demo;
pub mod event_source;
pub mod local;
pub mod replay;
pub mod sync;
pub mod trace;
