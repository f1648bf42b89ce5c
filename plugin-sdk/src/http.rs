//! Outbound HTTP (capability `http`, with each host granted as
//! `http:HOST`). The host connects, checks the host against the grant,
//! bounds bodies and time, and never follows a redirect.
//!
//! ```no_run
//! use capstan_plugin_sdk::{http, Error};
//!
//! fn notify(url: &str, text: &str) -> Result<(), Error> {
//!     let answer = http::post_json(url, &serde_json::json!({ "text": text }), &[])?;
//!     if !answer.is_success() {
//!         return Err(Error::msg(format!("{url} answered {}", answer.status)));
//!     }
//!     Ok(())
//! }
//! ```

use serde::Serialize;

use crate::Error;
use crate::bindings::capstan::plugin::http as wit;

pub use wit::{Method, Request, Response};

/// Sends a request and waits for the whole answer. An error status is an
/// answer, not an `Err`: only a request that got none (or was refused by
/// the host) is.
pub fn send(request: &Request) -> Result<Response, Error> {
    Ok(wit::send(request)?)
}

/// `POST`s `body` as JSON with these extra headers.
pub fn post_json<T: Serialize>(
    url: &str,
    body: &T,
    headers: &[(&str, &str)],
) -> Result<Response, Error> {
    let body = serde_json::to_vec(body)
        .map_err(|e| Error::msg(format!("the request body is not JSON: {e}")))?;
    let mut all = vec![("content-type".to_string(), "application/json".to_string())];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    send(&Request {
        method: Method::Post,
        url: url.to_string(),
        headers: all,
        body,
        timeout_ms: None,
    })
}

impl Response {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (names compare in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}
