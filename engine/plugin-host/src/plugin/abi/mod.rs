//! Contract versions side by side. Each released WIT version has a module
//! here with its own bindings; it converts its types to the engine's at the
//! boundary, so nothing past this folder knows which version a plugin uses.
//!
//! Adding a version: its WIT folder under `plugin-sdk/wit/`, a module here
//! beside `v0_1.rs` and `v0_2.rs` (bindgen, `shared_imports!()`, and its
//! calls), a `ContractVersion` variant, and a line in each `match` below.
//! Older plugins keep loading.

#[macro_use]
mod imports;
mod v0_1;
mod v0_2;

use wasmtime::Store;
use wasmtime::component::{Component, InstancePre, Linker};

use super::call::{CallContext, PluginOutcome};
use super::manifest::Manifest;
use super::state::RunState;
use capstan_wire::events::Event;

/// The contract versions this host runs, as `major.minor` prefixes.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1", "0.2"];

/// The export every plugin has; its version suffix picks the bindings.
const GUEST_EXPORT: &str = "capstan:plugin/guest@";

/// A contract version this host supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractVersion {
    /// `capstan:plugin@0.1.x`.
    V0_1,
    /// `capstan:plugin@0.2.x`: adds `http` and the `handler` export.
    V0_2,
}

impl ContractVersion {
    /// The version as written in the WIT package.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1.0",
            ContractVersion::V0_2 => "0.2.0",
        }
    }

    /// Reads the contract version from a component's exports, or says why
    /// the component is not a plugin this host can run.
    pub fn detect(engine: &wasmtime::Engine, component: &Component) -> Result<Self, String> {
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let Some(version) = exports
            .iter()
            .find_map(|name| name.strip_prefix(GUEST_EXPORT))
        else {
            return Err(format!(
                "it exports [{}] instead of `{GUEST_EXPORT}…`: it was not built with capstan-plugin-sdk",
                exports.join(", ")
            ));
        };
        if version.starts_with("0.1.") {
            return Ok(ContractVersion::V0_1);
        }
        if version.starts_with("0.2.") {
            return Ok(ContractVersion::V0_2);
        }
        Err(format!(
            "it was built for contract capstan:plugin@{version}, and this Capstan runs {}; \
             update Capstan or rebuild the plugin with a supported SDK",
            SUPPORTED_VERSIONS
                .iter()
                .map(|v| format!("{v}.x"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Adds every supported version's imports (and WASI) to the linker.
pub(super) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    v0_1::add_to_linker(linker)?;
    v0_2::add_to_linker(linker)
}

/// A component linked against its version's imports, ready to instantiate.
pub(super) enum PreLinked {
    V0_1(v0_1::PluginPre<RunState>),
    V0_2(v0_2::Pre),
}

/// A live instance of a plugin, of whichever version.
pub(super) enum Instance {
    V0_1(v0_1::Plugin),
    V0_2(v0_2::Live),
}

impl PreLinked {
    /// Checks the component's exports against its version's world.
    pub(super) fn new(
        version: ContractVersion,
        pre: InstancePre<RunState>,
    ) -> wasmtime::Result<Self> {
        match version {
            ContractVersion::V0_1 => Ok(PreLinked::V0_1(v0_1::PluginPre::new(pre)?)),
            ContractVersion::V0_2 => Ok(PreLinked::V0_2(v0_2::Pre::new(pre)?)),
        }
    }

    /// Instantiates the component in `store`.
    pub(super) async fn instantiate(
        &self,
        store: &mut Store<RunState>,
    ) -> wasmtime::Result<Instance> {
        match self {
            PreLinked::V0_1(pre) => Ok(Instance::V0_1(pre.instantiate_async(store).await?)),
            PreLinked::V0_2(pre) => Ok(Instance::V0_2(pre.instantiate(store).await?)),
        }
    }
}

impl Instance {
    /// Calls `describe`.
    pub(super) async fn describe(&self, store: &mut Store<RunState>) -> wasmtime::Result<Manifest> {
        match self {
            Instance::V0_1(plugin) => v0_1::describe(plugin, store).await,
            Instance::V0_2(live) => v0_2::describe(live, store).await,
        }
    }

    /// Calls `run`.
    pub(super) async fn run(
        &self,
        store: &mut Store<RunState>,
        action: &str,
        params: &str,
        context: &CallContext,
    ) -> wasmtime::Result<PluginOutcome> {
        match self {
            Instance::V0_1(plugin) => v0_1::run(plugin, store, action, params, context).await,
            Instance::V0_2(live) => v0_2::run(live, store, action, params, context).await,
        }
    }

    /// Calls `handle`: `Ok(None)` when the plugin cannot handle events (0.1,
    /// or 0.2 without the `handler` export), else its acknowledgement or
    /// its reason for refusing.
    pub(super) async fn handle(
        &self,
        store: &mut Store<RunState>,
        event: &Event,
    ) -> wasmtime::Result<Option<Result<(), String>>> {
        match self {
            Instance::V0_1(_) => Ok(None),
            Instance::V0_2(live) => v0_2::handle(live, store, event).await,
        }
    }
}
