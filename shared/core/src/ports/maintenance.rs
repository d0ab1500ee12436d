//! The maintenance switch: while it is on, synchub sends nothing out (the
//! customer targets, the storefront publish, the daily schedule's runs)
//! but still accepts, queues and applies every webhook to its own store,
//! recording each skipped call as `skipped (maintenance)` so it can be
//! backfilled. The operator flips it without a deploy; the functions read
//! it through [`MaintenanceSwitch`].

use super::PortError;
use crate::domain::ValidationError;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// Why a target was skipped while the switch is on: its audit and ledger
/// status reads `skipped (maintenance)`.
pub const MAINTENANCE: &str = "maintenance";

/// The switch's position. Absent means off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Maintenance {
    #[default]
    Off,
    On,
}

impl Maintenance {
    pub fn is_on(self) -> bool {
        self == Maintenance::On
    }

    /// The stored word: `on` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            Maintenance::Off => "off",
            Maintenance::On => "on",
        }
    }

    /// Reads a stored value (`on` or `off`, any case, surrounding blanks
    /// ignored); `field` names where it came from.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "on" => Ok(Maintenance::On),
            "off" => Ok(Maintenance::Off),
            other => Err(ValidationError::new(
                field,
                format!("must be on or off, not {other:?}"),
            )),
        }
    }
}

impl std::fmt::Display for Maintenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the switch is read. Object-safe (a boxed future), so the ports
/// structs can hold it without another type parameter.
pub trait MaintenanceSwitch: Send + Sync {
    fn state(&self) -> BoxFuture<'_, Result<Maintenance, PortError>>;
}

/// A fixed position: what a use case sees when the caller already read the
/// switch (and in tests).
impl MaintenanceSwitch for Maintenance {
    fn state(&self) -> BoxFuture<'_, Result<Maintenance, PortError>> {
        Box::pin(std::future::ready(Ok(*self)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn on_and_off_are_read_in_any_case_and_anything_else_is_named() {
        assert_eq!(Maintenance::parse("p", " ON\n"), Ok(Maintenance::On));
        assert_eq!(Maintenance::parse("p", "off"), Ok(Maintenance::Off));
        let e = Maintenance::parse("/synchub/maintenance", "yes").unwrap_err();
        assert_eq!(e.field, "/synchub/maintenance");
        assert_eq!(e.rule, "must be on or off, not \"yes\"");
        assert_eq!(Maintenance::default(), Maintenance::Off);
    }

    proptest! {
        #[test]
        fn a_position_survives_its_stored_word(on in any::<bool>(), upper in any::<bool>()) {
            let state = if on { Maintenance::On } else { Maintenance::Off };
            let word = if upper { state.as_str().to_uppercase() } else { state.to_string() };
            prop_assert_eq!(Maintenance::parse("p", &word), Ok(state));
            prop_assert_eq!(state.is_on(), on);
        }

        #[test]
        fn no_other_word_is_taken_for_a_position(word in "[a-z]{0,6}") {
            prop_assume!(word != "on" && word != "off");
            prop_assert!(Maintenance::parse("p", &word).is_err());
        }
    }
}
