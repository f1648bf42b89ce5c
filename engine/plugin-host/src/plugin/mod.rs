//! The plugin host: loads untrusted components, checks their contract
//! version, caches their compiled code, and calls them inside limits with
//! only the capabilities the user granted.

mod abi;
mod cache;
mod call;
mod host;
mod manifest;
mod schema;
mod state;

pub use crate::limits::{
    LimitBreach, LimitKind, LimitOverrides, Limits, MAX_MEMORY_BYTES, human_bytes,
};
pub use abi::{ContractVersion, SUPPORTED_VERSIONS};
pub use cache::{ArtifactCache, sha256_hex as sha256_of};
pub use call::{CallContext, Handled, PluginOutcome};
pub use host::{
    Allocation, CallFailure, CallSetup, HostConfig, HostStart, LoadedPlugin, PluginHost, Session,
};
pub use manifest::{ActionInfo, Manifest, ManifestRules, printable};
pub use schema::{ParamError, ParamProblem, coerce_params, validate_params};
