//! The one error the window's commands return: the wire's [`ApiError`], a
//! message a person can act on and, for a form, the field it is about.

use capstan_wire::ApiError;
use serde::Serialize;

/// A command's failure as the UI reads it (serialised as an [`ApiError`]).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct UiError(pub ApiError);

impl UiError {
    /// An error about one form field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        UiError(ApiError::field(field, message))
    }

    /// An error about nothing in particular.
    pub fn message(message: impl Into<String>) -> Self {
        UiError(ApiError::new(message))
    }
}

impl From<capstan_engine::Error> for UiError {
    fn from(error: capstan_engine::Error) -> Self {
        UiError(error.to_api())
    }
}

impl From<capstan_engine::docker::DockerError> for UiError {
    fn from(error: capstan_engine::docker::DockerError) -> Self {
        UiError::message(error.to_string())
    }
}

/// What every command returns.
pub type UiResult<T> = Result<T, UiError>;
