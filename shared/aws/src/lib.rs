//! The adapters: AWS and HTTP implementations of the
//! [`synchub_core::ports`]. This crate owns what is stored and how: the
//! DynamoDB row shapes, keys, TTLs and table layout ([`dynamodb`]), the SQS,
//! SSM and SES calls, and the Square and connector HTTP clients. Errors
//! from any source are classified in one place, [`classify`].

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
