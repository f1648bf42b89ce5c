//! Compiling plugins ahead of their first run (`capstan plugin prepare`),
//! so a fresh data folder's first job does not wait for the compiler.

use std::time::{Duration, Instant};

use super::Capstan;
use crate::{Error, Result};

/// What preparing one plugin did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareOutcome {
    /// Its compiled code was in the cache already.
    Ready,
    /// It was compiled now, and the cache holds it.
    Compiled(Duration),
    /// It could not be loaded; the reason.
    Failed(String),
}

/// One plugin's line in a prepare report.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The plugin's name.
    pub name: String,
    /// What happened.
    pub outcome: PrepareOutcome,
}

impl Capstan {
    /// Compiles every bundled plugin (from the binary's own bytes) and
    /// every other installed plugin into the compiled-code cache, which a
    /// user's data folders share. A plugin that fails is reported, and
    /// the rest are still prepared.
    pub fn prepare_plugins(&self) -> Result<Vec<Prepared>> {
        let host = self.host()?;
        let mut report = Vec::new();
        for shipped in &self.bundled {
            let started = Instant::now();
            let loaded = host.load_hashed(
                shipped.wasm,
                shipped.sha256.to_string(),
                &format!("bundled plugin {}", shipped.name),
            );
            report.push(Prepared {
                name: shipped.name.to_string(),
                outcome: outcome(loaded.map(|l| l.from_cache).map_err(Error::from), started),
            });
        }
        for record in self.store.plugins()? {
            if self.bundled.iter().any(|b| b.name == record.manifest.name) && record.bundled {
                continue;
            }
            let started = Instant::now();
            let loaded = self.load_installed(&record);
            report.push(Prepared {
                name: record.manifest.name.clone(),
                outcome: outcome(loaded.map(|l| l.from_cache), started),
            });
        }
        Ok(report)
    }
}

fn outcome(from_cache: Result<bool>, started: Instant) -> PrepareOutcome {
    match from_cache {
        Ok(true) => PrepareOutcome::Ready,
        Ok(false) => PrepareOutcome::Compiled(started.elapsed()),
        Err(e) => PrepareOutcome::Failed(e.to_string()),
    }
}
