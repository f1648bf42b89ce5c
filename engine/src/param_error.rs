//! Why an action's parameters were refused: the parameter's path and what
//! is wrong with it. On the ground floor, so the facade's `Error` can carry
//! it without importing the plugin host above it.

/// A parameter the schema refuses, and where it is (`params.mode`,
/// `params.users[2]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct ParamError {
    /// The path to the value, from `params`.
    pub at: String,
    /// What is wrong with it.
    pub problem: ParamProblem,
}

/// What is wrong with one parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamProblem {
    /// Its JSON type is not one the schema allows.
    #[error("expected {expected}, got {got}")]
    WrongType {
        /// The allowed types, `string or integer`.
        expected: String,
        /// The value's type.
        got: &'static str,
    },
    /// It is not one of the schema's `enum` values.
    #[error("{value} is not one of {allowed}")]
    NotAllowed {
        /// The value, as JSON.
        value: String,
        /// The allowed values, as JSON, comma-separated.
        allowed: String,
    },
    /// A required field is missing.
    #[error("`{0}` is required")]
    Missing(String),
    /// A field the schema does not know, where unknown fields are refused.
    #[error("unknown field `{name}` (known: {known})")]
    Unknown {
        /// The field.
        name: String,
        /// The fields the schema knows, comma-separated.
        known: String,
    },
}
