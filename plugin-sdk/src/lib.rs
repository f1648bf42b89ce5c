//! Write a Capstan plugin: a small crate compiled to a `wasm32-wasip2`
//! component that Capstan runs in a sandbox.
//!
//! A plugin implements [`Plugin`] and registers itself with
//! [`register_plugin!`]. The host calls [`Plugin::manifest`] once at install
//! time and [`Plugin::run`] once per target of a run, which by default
//! hands the request to the action's handler. Each action's parameters are
//! a struct deriving `Deserialize` and [`JsonSchema`], so the schema the host
//! checks is the struct's own. The derive names the `schemars` crate, so a
//! plugin depends on `schemars = "1"` too. Everything the plugin
//! can touch outside its sandbox goes through [`log`], [`kv`], [`remote`], [`docker`]
//! and [`http`], each behind a capability the user granted.
//!
//! A plugin may also react to events while `capstan serve` runs (a job
//! finished, a container started): it subscribes in its manifest
//! ([`Manifest::subscribe`]) and implements [`Plugin::handle`].
//!
//! # Example
//!
//! ```no_run
//! use capstan_plugin_sdk::{
//!     register_plugin, remote, Action, Capability, Context, Error, JsonSchema, Manifest, Outcome,
//!     Plugin,
//! };
//! use serde::Deserialize;
//!
//! /// Parameters of `touch`: the schema the host checks is derived from
//! /// this struct, and its doc comments describe the fields.
//! #[derive(Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct Touch {
//!     /// The file to create.
//!     path: String,
//! }
//!
//! fn touch(params: Touch, ctx: &Context) -> Result<Outcome, Error> {
//!     if remote::stat(&ctx.target, &params.path)?.is_some() {
//!         return Ok(Outcome::ok(format!("{} exists", params.path)));
//!     }
//!     if !ctx.check {
//!         remote::write_file(&ctx.target, &params.path, b"", Some(0o644))?;
//!     }
//!     Ok(Outcome::changed(format!("created {}", params.path)))
//! }
//!
//! struct TouchPlugin;
//!
//! impl Plugin for TouchPlugin {
//!     fn manifest() -> Manifest {
//!         Manifest::new("touch", env!("CARGO_PKG_VERSION"), "Creates empty files.")
//!             .capability(Capability::RemoteFiles)
//!             .action(Action::new("touch", "Create an empty file if it is missing.").run(touch))
//!     }
//! }
//!
//! register_plugin!(TouchPlugin);
//! ```

mod error;
mod manifest;
mod outcome;

pub mod accounts;
pub mod diff;
pub mod docker;
pub mod http;
pub mod kv;
pub mod log;
pub mod mode;
mod pattern;
pub mod remote;
pub mod shell_words;

pub use capstan_wire::base64;
pub use capstan_wire::clock::civil_from_days;
pub use capstan_wire::events::{Event, EventKind};
pub use capstan_wire::plugins::Capability;
pub use error::Error;
pub use manifest::{Action, Manifest, NoParams, params_schema};
pub use outcome::{Outcome, Status};
pub use pattern::glob_match;
pub use schemars::{self, JsonSchema};

/// The raw bindings generated from the WIT contract. Plugins rarely need
/// them: the rest of this crate wraps them.
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit/v0.2.0",
        world: "reactor",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "capstan_plugin_sdk::bindings",
    });
}

/// The contract version this SDK builds plugins for.
pub const API_VERSION: &str = "0.2.0";

/// Where a call runs: the target, the run's other targets, and its modes.
#[derive(Debug, Clone)]
pub struct Context {
    /// The target this call acts on; pass it to [`remote`] functions.
    pub target: String,
    /// Every target of the run.
    pub targets: Vec<String>,
    /// Check mode: report what would change, change nothing.
    pub check: bool,
    /// The user asked to see a diff of what changes.
    pub diff: bool,
}

/// The action the host asked for and its parameters.
#[derive(Debug, Clone)]
pub struct Request {
    /// The action's name, one of those in the manifest.
    pub action: String,
    /// The parameters as the host sent them: a JSON object.
    pub params_json: String,
}

impl Request {
    /// Decodes the parameters into a typed struct; the error names the
    /// action and what did not fit, and the host reports it as failed.
    pub fn params<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(self.json())
            .map_err(|e| Error::InvalidParams(format!("action `{}`: {e}", self.action)))
    }

    /// The parameters as an untyped JSON value.
    pub fn raw_params(&self) -> Result<serde_json::Value, Error> {
        self.params()
    }

    fn json(&self) -> &str {
        if self.params_json.trim().is_empty() {
            "{}"
        } else {
            &self.params_json
        }
    }
}

/// What every plugin implements.
pub trait Plugin {
    /// Describes the plugin: its actions (each with the function that
    /// runs it, [`Action::run`]) and the capabilities it needs.
    fn manifest() -> Manifest;

    /// Runs one action for one target. Returning `Err` reports the target
    /// as failed with the error's message. By default the manifest's
    /// table picks the action's handler; a plugin that decodes requests
    /// itself overrides this.
    fn run(request: Request, ctx: &Context) -> Result<Outcome, Error> {
        Self::manifest().dispatch(&request, ctx)
    }

    /// Handles one event of a kind the manifest subscribes to. `Ok`
    /// acknowledges it; `Err` has it delivered again later (delivery is at
    /// least once, so a handler acts idempotently, keyed on
    /// [`Event::id`]). By default it acknowledges and does nothing.
    fn handle(event: Event) -> Result<(), Error> {
        let _ = event;
        Ok(())
    }
}

/// Makes a type implementing [`Plugin`] the component's export.
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        struct __CapstanGuest;

        impl $crate::bindings::exports::capstan::plugin::guest::Guest for __CapstanGuest {
            fn describe() -> $crate::bindings::exports::capstan::plugin::guest::Manifest {
                $crate::__private::describe::<$plugin>()
            }

            fn run(
                action: ::std::string::String,
                params: ::std::string::String,
                context: $crate::bindings::exports::capstan::plugin::guest::Context,
            ) -> $crate::bindings::exports::capstan::plugin::guest::Outcome {
                $crate::__private::run::<$plugin>(action, params, context)
            }
        }

        impl $crate::bindings::exports::capstan::plugin::handler::Guest for __CapstanGuest {
            fn handle(
                event: $crate::bindings::capstan::plugin::events::Event,
            ) -> ::std::result::Result<(), ::std::string::String> {
                $crate::__private::handle::<$plugin>(event)
            }
        }

        // Exported only in the component: a host build (clippy, unit
        // tests) links the crate as a cdylib, whose export list cannot
        // hold the contract's names.
        #[cfg(target_family = "wasm")]
        $crate::bindings::__export_plugin_world!(__CapstanGuest with_types_in $crate::bindings);

        /// On the host, one plain export keeps the plugin reachable, so
        /// the compiler still reports code nothing uses.
        #[cfg(not(target_family = "wasm"))]
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn capstan_plugin_host_build() -> usize {
            use $crate::bindings::exports::capstan::plugin::guest::Guest;
            let describe: fn() -> $crate::bindings::exports::capstan::plugin::guest::Manifest =
                <__CapstanGuest as Guest>::describe;
            let run: fn(
                ::std::string::String,
                ::std::string::String,
                $crate::bindings::exports::capstan::plugin::guest::Context,
            ) -> $crate::bindings::exports::capstan::plugin::guest::Outcome =
                <__CapstanGuest as Guest>::run;
            let handle: fn(
                $crate::bindings::capstan::plugin::events::Event,
            ) -> ::std::result::Result<(), ::std::string::String> = <__CapstanGuest as $crate::bindings::exports::capstan::plugin::handler::Guest>::handle;
            describe as usize ^ run as usize ^ handle as usize
        }
    };
}

#[doc(hidden)]
pub mod __private {
    use super::*;
    use crate::bindings::exports::capstan::plugin::guest as wit;

    pub fn describe<P: Plugin>() -> wit::Manifest {
        P::manifest().into_wit()
    }

    pub fn run<P: Plugin>(action: String, params: String, context: wit::Context) -> wit::Outcome {
        let ctx = Context {
            target: context.target,
            targets: context.targets,
            check: context.check,
            diff: context.diff,
        };
        let request = Request {
            action,
            params_json: params,
        };
        match P::run(request, &ctx) {
            Ok(outcome) => outcome.into_wit(),
            Err(error) => Outcome::failed(error.to_string()).into_wit(),
        }
    }

    pub fn handle<P: Plugin>(
        event: crate::bindings::capstan::plugin::events::Event,
    ) -> Result<(), String> {
        let event = event_from_wit(event)?;
        P::handle(event).map_err(|e| e.to_string())
    }

    /// The SDK's event from the contract's; an event whose data is not
    /// JSON is refused (and so delivered again, which a host bug would
    /// show in the delivery record).
    fn event_from_wit(
        event: crate::bindings::capstan::plugin::events::Event,
    ) -> Result<Event, String> {
        use crate::bindings::capstan::plugin::events::EventKind as Wit;
        let kind = match event.kind {
            Wit::JobFinished => EventKind::JobFinished,
            Wit::ScheduleFired => EventKind::ScheduleFired,
            Wit::WebhookReceived => EventKind::WebhookReceived,
            Wit::ContainerChanged => EventKind::ContainerChanged,
            Wit::ServiceChanged => EventKind::ServiceChanged,
            Wit::NodeChanged => EventKind::NodeChanged,
            Wit::Announcement => EventKind::Announcement,
        };
        Ok(Event {
            id: event.id,
            kind,
            at_ms: i64::try_from(event.at_ms).unwrap_or(i64::MAX),
            target: event.target,
            data: serde_json::from_str(&event.data)
                .map_err(|e| format!("event {}: its data is not JSON: {e}", event.id))?,
        })
    }
}
