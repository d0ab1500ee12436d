//! Use-case rules against in-memory fakes of the ports: fast, no engines.

mod apply;
mod customers;
mod daily_sync;
mod ingest;
mod notify;
mod support;
