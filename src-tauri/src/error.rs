//! The one error the window's commands return: a message a person can act
//! on and, for a form, the field it is about.

use serde::Serialize;

/// A command's failure as the UI shows it.
#[derive(Debug, Serialize)]
pub struct UiError {
    /// What went wrong and what to do next.
    pub message: String,
    /// The form field it is about (`name`, `address`, `path`…), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl UiError {
    /// An error about one form field.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        UiError {
            message: message.into(),
            field: Some(field),
        }
    }
}

impl From<capstan_engine::Error> for UiError {
    fn from(error: capstan_engine::Error) -> Self {
        UiError {
            message: error.to_string(),
            field: None,
        }
    }
}

impl From<capstan_engine::docker::DockerError> for UiError {
    fn from(error: capstan_engine::docker::DockerError) -> Self {
        UiError {
            message: error.to_string(),
            field: None,
        }
    }
}

/// What every command returns.
pub type UiResult<T> = Result<T, UiError>;
