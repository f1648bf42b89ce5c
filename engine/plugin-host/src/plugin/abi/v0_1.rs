//! Contract `capstan:plugin@0.1.0`: bindings, host imports and the
//! conversions to and from the engine's types.

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

use crate::plugin::call::{CallContext, PluginOutcome};
use crate::plugin::manifest::Manifest;
use crate::plugin::state::RunState;

wasmtime::component::bindgen!({
    path: "../../plugin-sdk/wit/v0.1.0",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

use capstan::plugin::{docker, kv, log, remote, types};
use exports::capstan::plugin::guest;

pub(super) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<RunState, HasSelf<RunState>>(linker, |state| state)
}

pub(super) async fn describe(
    plugin: &Plugin,
    store: &mut Store<RunState>,
) -> wasmtime::Result<Manifest> {
    let manifest = plugin
        .capstan_plugin_guest()
        .call_describe(&mut *store)
        .await?;
    manifest_from_wit(manifest)
}

pub(super) async fn run(
    plugin: &Plugin,
    store: &mut Store<RunState>,
    action: &str,
    params: &str,
    context: &CallContext,
) -> wasmtime::Result<PluginOutcome> {
    let outcome = plugin
        .capstan_plugin_guest()
        .call_run(&mut *store, action, params, &context_to_wit(context))
        .await?;
    Ok(outcome_from_wit(outcome))
}

shared_imports!();
