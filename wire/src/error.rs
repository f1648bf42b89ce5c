//! The one error shape every face returns.

use serde::{Deserialize, Serialize};

named_enum! {
    /// What kind of failure an [`ApiError`] is, for a program to act on.
    pub enum ErrorCode {
        /// The request was wrong: a bad value, a missing field, a plugin
        /// or host that does not exist where one was needed.
        BadInput = "bad_input",
        /// What the request names does not exist.
        NotFound = "not_found",
        /// No valid token was presented.
        Unauthorized = "unauthorized",
        /// The token's scope does not allow this.
        Forbidden = "forbidden",
        /// Too many failed attempts: wait before trying again.
        RateLimited = "rate_limited",
        /// The request body is larger than allowed.
        TooLarge = "too_large",
        /// A host or a Docker engine the request needed could not be
        /// reached (answered 424: the request was fine, what it depends on
        /// failed).
        Unreachable = "unreachable",
        /// Capstan itself, or a host, failed.
        Failed = "failed",
    }
}

impl Default for ErrorCode {
    /// What errors from before codes existed were: the caller's input.
    fn default() -> Self {
        ErrorCode::BadInput
    }
}

/// A failed call: a code, a message a person can act on and, for a form,
/// the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// What kind of failure it is.
    #[serde(default)]
    pub code: ErrorCode,
    /// What went wrong and what to do next.
    pub message: String,
    /// The form field (`name`, `path`…) it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error about nothing in particular.
    pub fn new(message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::default(),
            message: message.into(),
            field: None,
        }
    }

    /// An error about one form field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::BadInput,
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    /// The same error with `code`.
    pub fn with_code(self, code: ErrorCode) -> Self {
        ApiError { code, ..self }
    }

    /// The message when it is about `field`.
    pub fn about(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ApiError {}
