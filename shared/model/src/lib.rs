//! synchub's vocabulary: validated identifiers, times, the data types a POS
//! is pulled for and the normalized object a pull yields. Pure and small, so
//! both the connector engine and the core speak it.
#![warn(unreachable_pub)]

mod data_type;
pub mod ids;
mod pulled;
pub mod time;

pub use data_type::DataType;
pub use ids::{EntityKind, ValidationError};
pub use pulled::PulledObject;
