//! The one declaration of each use-case family's port kinds.

/// Declares a use-case family's port kinds: a trait naming each kind as an
/// associated type, so a use case takes one `Deps` type parameter instead
/// of one per port with their bounds; and its impl for any tuple of ports
/// of those kinds, in that order, so no marker type is needed.
#[macro_export]
macro_rules! port_kinds {
    (
        $(#[$doc:meta])*
        $vis:vis trait $name:ident {
            $($(#[$kind_doc:meta])* $kind:ident: $first:ident $(+ $rest:ident)*),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        $vis trait $name {
            $($(#[$kind_doc])* type $kind: $first $(+ $rest)*;)+
        }

        impl<$($kind: $first $(+ $rest)*),+> $name for ($($kind,)+) {
            $(type $kind = $kind;)+
        }
    };
}
