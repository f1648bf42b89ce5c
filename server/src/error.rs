//! The one error shape every route answers with: the wire's `ApiError`
//! (a code, a message, the field at fault) and the HTTP status its code
//! means.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use capstan_wire::{ApiError, ErrorCode};

/// A route's failure.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl HttpError {
    /// A failure of `code` saying `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HttpError(ApiError::new(message).with_code(code))
    }

    /// The HTTP status the code means.
    pub fn status(&self) -> StatusCode {
        match self.0.code {
            ErrorCode::BadInput => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unreachable => StatusCode::FAILED_DEPENDENCY,
            ErrorCode::Failed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<capstan_engine::Error> for HttpError {
    fn from(error: capstan_engine::Error) -> Self {
        if !error.is_bad_input() {
            tracing::error!(%error, "a request failed");
        }
        HttpError(error.to_api())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.0)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// What routes return.
pub type HttpResult<T> = Result<T, HttpError>;

/// A JSON answer written into a buffer reserved for about `.1` bytes up
/// front. For a long list: axum's [`Json`] starts at 128 bytes and grows,
/// copying the page each time (a page of 50 jobs is about 19 KiB).
#[derive(Debug)]
pub struct SizedJson<T>(pub T, pub usize);

impl<T: serde::Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(self.1);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(error) => HttpError::new(
                ErrorCode::Failed,
                format!("the answer could not be written as JSON: {error}"),
            )
            .into_response(),
        }
    }
}

/// A JSON body; a malformed or oversized one is answered in the API's
/// error shape.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(HttpError))]
pub struct Body<T>(pub T);

/// Query parameters, refused in the API's error shape.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(HttpError))]
pub struct Params<T>(pub T);

/// Path parameters, refused in the API's error shape.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(HttpError))]
pub struct PathOf<T>(pub T);

impl From<axum::extract::rejection::JsonRejection> for HttpError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
            _ => ErrorCode::BadInput,
        };
        HttpError::new(code, rejection.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for HttpError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        HttpError::new(ErrorCode::BadInput, rejection.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for HttpError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        HttpError::new(ErrorCode::BadInput, rejection.body_text())
    }
}

/// A body taken as bytes (an uploaded component); an oversized one is
/// answered in the API's error shape.
#[derive(Debug)]
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for RawBody {
    type Rejection = HttpError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, HttpError> {
        Ok(RawBody(
            axum::body::Bytes::from_request(request, state).await?,
        ))
    }
}

impl From<axum::extract::rejection::BytesRejection> for HttpError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> Self {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
            _ => ErrorCode::BadInput,
        };
        HttpError::new(code, rejection.body_text())
    }
}
