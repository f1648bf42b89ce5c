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
    /// It is not the one value the schema allows (`const`; a tagged
    /// shape's tag).
    #[error("{value} is not {expected}")]
    Differs {
        /// The value, as JSON.
        value: String,
        /// The value allowed, as JSON.
        expected: String,
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
    /// A number outside the schema's bounds.
    #[error("{value} is out of range: it must be {bound}")]
    OutOfRange {
        /// The number.
        value: String,
        /// The bound it breaks (`at least 0`, `below 65536`).
        bound: String,
    },
    /// The schema allows no value here (`false`).
    #[error("no value is allowed here")]
    Forbidden,
    /// A text or list of the wrong length.
    #[error("has {len} {unit}, but must have {bound}")]
    Length {
        /// Its length.
        len: usize,
        /// `characters` or `items`.
        unit: &'static str,
        /// The bound it breaks (`at least 1`, `at most 64`).
        bound: String,
    },
    /// A text that does not match the schema's pattern.
    #[error("{value} does not match the pattern `{pattern}`")]
    Pattern {
        /// The text, as JSON.
        value: String,
        /// The regular expression.
        pattern: String,
    },
    /// A list whose items must differ has one twice.
    #[error("the items must all differ, but {0} appears more than once")]
    Repeated(String),
    /// A value that fits none of the shapes the schema allows (`oneOf`,
    /// `anyOf`): why each shape refused it.
    #[error("fits none of the allowed shapes: {}", .0.join("; or "))]
    NoShape(Vec<String>),
    /// A value that fits more than one shape where exactly one must fit.
    #[error("fits {0} of the allowed shapes, where exactly one must fit")]
    Ambiguous(usize),
    /// The plugin's schema cannot check the value (a `$ref` that leads
    /// nowhere, or references nested too deep).
    #[error("the plugin's schema cannot check it: {0}")]
    BadSchema(String),
}
