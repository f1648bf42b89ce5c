//! The plugin's own persistent key-value store (capability `kv`).

use crate::bindings::capstan::plugin::kv as wit;
use crate::bindings::capstan::plugin::types::HostError;

/// Reads a key; `None` when it was never set.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, HostError> {
    wit::get(key)
}

/// Writes a key.
pub fn set(key: &str, value: &[u8]) -> Result<(), HostError> {
    wit::set(key, value)
}

/// Removes a key (missing keys are fine).
pub fn delete(key: &str) -> Result<(), HostError> {
    wit::delete(key)
}

/// Lists keys starting with `prefix`, sorted.
pub fn list_keys(prefix: &str) -> Result<Vec<String>, HostError> {
    wit::list_keys(prefix)
}
