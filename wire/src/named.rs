//! `named_enum!`: an enum of fixed names (a status, a kind, a capability)
//! that is one word on the wire, in the store and on the command line.

/// Declares a fieldless enum whose variants each have one name, with
/// `ALL`, `name()`, `from_name()`, `Display`, and serde as that name.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $ty {
            $( $(#[$vmeta])* #[serde(rename = $name)] $variant, )+
        }

        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// Its one-word name, as stored, printed and sent.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// The value called `name`, if there is one.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }

            /// Every name, comma-separated, for an error that lists them.
            pub fn names() -> String {
                [$($name),+].join(", ")
            }
        }

        // Written out rather than derived: the derive does not see the
        // names through this macro and would list the variants' own.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($name),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $ty {}

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

/// Parses a [`named_enum!`] from its name, refusing any other word with
/// one that lists the names there are: `unknown WHAT `x` (known: a, b)`.
macro_rules! named_from_str {
    ($ty:ident, $what:literal) => {
        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::from_name(s).ok_or_else(|| {
                    format!(
                        concat!("unknown ", $what, " `{}` (known: {})"),
                        s,
                        $ty::names()
                    )
                })
            }
        }
    };
}
