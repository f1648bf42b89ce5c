//! Capstan's wire types: everything a face shows or sends — jobs and their
//! results, statuses, hosts, plugins and grants, Docker rows, the
//! Overview — defined once for the CLI's `--json`, the window and the HTTP
//! API. The engine produces these types; the faces only pass them on.
//!
//! This crate holds data and the small rules that read it (a job's overall
//! status, a recap's counts, the natural order rows are listed in, the
//! clock records are stamped with), nothing that does I/O, so it builds for
//! the host and for `wasm32-unknown-unknown`. With the `openapi` feature
//! every type also derives utoipa's `ToSchema`.

#[macro_use]
mod named;

pub mod actor;
pub mod base64;
pub mod clock;
pub mod docker;
pub mod error;
pub mod events;
pub mod grants;
pub mod hosts;
pub mod jobs;
pub mod natural;
pub mod notifications;
pub mod overview;
pub mod plugins;
pub mod raw_json;
pub mod schedules;
pub mod secrets;
pub mod status;
pub mod tokens;
pub mod webhooks;

pub use actor::Actor;
pub use error::{ApiError, ErrorCode};
pub use raw_json::RawJson;

/// The version of the JSON shapes in this crate, carried by the CLI's
/// `--json` output (`"format": 1`). It goes up when a field is renamed or
/// removed, or its meaning changes; adding a field keeps it.
pub const FORMAT_VERSION: u32 = 1;

/// A `--json` document: the format version beside the data.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Versioned<T> {
    /// [`FORMAT_VERSION`] of the program that wrote it.
    pub format: u32,
    /// What was asked for.
    pub data: T,
}

impl<T> Versioned<T> {
    /// `data` stamped with this build's format version.
    pub fn new(data: T) -> Self {
        Versioned {
            format: FORMAT_VERSION,
            data,
        }
    }
}
