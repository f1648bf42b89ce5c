//! Compiled components on disk, keyed by the component's content hash and
//! the engine's compatibility hash. An entry is checked against the digest
//! recorded beside it before use, so a corrupt (half-written, truncated) or
//! stale entry is recompiled. That digest only detects corruption: whoever
//! can write Capstan's data folder can replace both files, so the folder
//! itself must be the user's alone (see SECURITY.md).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::{PluginError as Error, Result};

/// Where compiled components are kept.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

/// How a component was obtained, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a verified cache entry.
    Hit,
    /// Compiled (no entry, or the entry was unusable) and stored.
    Compiled,
}

impl ArtifactCache {
    /// A cache in `dir` (the data folder's, or `CAPSTAN_CACHE`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ArtifactCache { dir: dir.into() }
    }

    /// The component for `wasm` (whose SHA-256 is `sha256`), from the cache
    /// when a verified entry exists, else compiled and stored.
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
    ) -> Result<(Component, CacheOutcome)> {
        let key = format!("{sha256}-{}", engine_fingerprint(engine));
        let artifact = self.dir.join(format!("{key}.cwasm"));
        let digest = self.dir.join(format!("{key}.sha256"));

        if let Some(component) = self.try_load(engine, &artifact, &digest) {
            return Ok((component, CacheOutcome::Hit));
        }

        let component = Component::new(engine, wasm).map_err(|e| Error::NotAPlugin {
            path: format!("component {}", &sha256[..12]),
            reason: format!("{e:#}"),
        })?;
        let bytes = component.serialize()?;
        // A cache we cannot write is a slower start, not a failure.
        if let Err(e) = write_atomically(&artifact, &bytes)
            .and_then(|_| write_atomically(&digest, hex(&Sha256::digest(&bytes)).as_bytes()))
        {
            tracing::warn!(path = %artifact.display(), error = %e, "could not write the compiled-component cache");
        }
        self.remove_stale(sha256, &key);
        Ok((component, CacheOutcome::Compiled))
    }

    /// Loads an entry if its digest matches; anything off means `None`.
    fn try_load(&self, engine: &Engine, artifact: &Path, digest: &Path) -> Option<Component> {
        let bytes = std::fs::read(artifact).ok()?;
        let recorded = std::fs::read_to_string(digest).ok()?;
        if hex(&Sha256::digest(&bytes)) != recorded.trim() {
            tracing::warn!(path = %artifact.display(), "cached component does not match its digest; recompiling");
            return None;
        }
        // SAFETY: `Component::deserialize` trusts its input to be a
        // component serialised by a compatible wasmtime. The key includes
        // the engine's compatibility hash, wasmtime re-checks version and
        // settings in the header, and the bytes were just verified against
        // the digest written beside them when we compiled them ourselves.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize(engine, &bytes) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %artifact.display(), error = %e, "cached component unusable; recompiling");
                None
            }
        }
    }

    /// Deletes entries of the same component for other engines.
    fn remove_stale(&self, sha256: &str, keep: &str) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(sha256) && !name.starts_with(keep) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Identifies the engine build and settings that compiled artifacts depend on.
fn engine_fingerprint(engine: &Engine) -> String {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    capstan_remote::private_file::write_private(&temp, bytes)?;
    std::fs::rename(&temp, path)
}
