//! The one error shape every face returns.

use serde::{Deserialize, Serialize};

/// A failed call: a message a person can act on and, for a form, the
/// field it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
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
            message: message.into(),
            field: None,
        }
    }

    /// An error about one form field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            message: message.into(),
            field: Some(field.to_string()),
        }
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
