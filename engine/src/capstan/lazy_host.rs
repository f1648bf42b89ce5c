//! The plugin host, built only when something needs it: a command that
//! only reads the store (or a window showing its lists) never reserves the
//! instance pool or starts the epoch ticker. A one-shot command that will
//! call a plugin starts building it on another thread at once, while the
//! store opens.

use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use crate::{Error, Result};
use capstan_plugin_host::plugin::{ArtifactCache, HostConfig, HostStart, PluginHost};

/// A [`PluginHost`] built on first use, or in the background from the start.
pub(crate) struct LazyHost {
    built: OnceLock<std::result::Result<Arc<PluginHost>, String>>,
    pending: Mutex<Option<Pending>>,
}

enum Pending {
    /// Not started: built by the first caller.
    Waiting(HostConfig, ArtifactCache),
    /// Being built on its own thread.
    Building(JoinHandle<capstan_plugin_host::Result<PluginHost>>),
}

impl LazyHost {
    /// A host to be built as `config.start` says.
    pub fn new(config: HostConfig, cache: ArtifactCache) -> LazyHost {
        let pending = match config.start {
            HostStart::OnFirstUse => Pending::Waiting(config, cache),
            HostStart::Background => {
                let for_thread = cache.clone();
                let building = std::thread::Builder::new()
                    .name("capstan-plugin-host".into())
                    .spawn(move || PluginHost::new(config, for_thread));
                match building {
                    Ok(handle) => Pending::Building(handle),
                    // No thread to spare: build it when it is needed.
                    Err(_) => Pending::Waiting(config, cache),
                }
            }
        };
        LazyHost {
            built: OnceLock::new(),
            pending: Mutex::new(Some(pending)),
        }
    }

    /// The host, building it (or waiting for it) the first time. A host
    /// that could not be built says why on every call.
    pub fn get(&self) -> Result<&Arc<PluginHost>> {
        let built = self.built.get_or_init(|| {
            let pending = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            let host = match pending {
                Some(Pending::Waiting(config, cache)) => {
                    PluginHost::new(config, cache).map_err(Error::from)
                }
                Some(Pending::Building(handle)) => match handle.join() {
                    Ok(built) => built.map_err(Error::from),
                    Err(_) => Err(Error::Runtime("building the plugin host panicked".into())),
                },
                None => Err(Error::Runtime(
                    "the plugin host was never configured".into(),
                )),
            };
            host.map(Arc::new).map_err(|e| e.to_string())
        });
        built
            .as_ref()
            .map_err(|message| Error::Runtime(message.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_plugin_host::plugin::Allocation;

    fn config(start: HostStart) -> HostConfig {
        HostConfig {
            allocation: Allocation::OnDemand,
            start,
        }
    }

    #[test]
    fn both_starts_give_one_host() {
        let dir = tempfile::tempdir().unwrap();
        for start in [HostStart::OnFirstUse, HostStart::Background] {
            let lazy = LazyHost::new(config(start), ArtifactCache::new(dir.path()));
            let first = Arc::as_ptr(lazy.get().unwrap());
            assert_eq!(first, Arc::as_ptr(lazy.get().unwrap()));
        }
    }

    #[test]
    fn a_host_not_yet_needed_is_not_built() {
        let dir = tempfile::tempdir().unwrap();
        let lazy = LazyHost::new(
            config(HostStart::OnFirstUse),
            ArtifactCache::new(dir.path()),
        );
        assert!(lazy.built.get().is_none());
        lazy.get().unwrap();
        assert!(lazy.built.get().is_some());
    }
}
