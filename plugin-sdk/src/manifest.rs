//! What a plugin says about itself, and which function runs each action.

use std::fmt;
use std::rc::Rc;

use capstan_wire::events::EventKind;
use capstan_wire::plugins::Capability;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::bindings::exports::capstan::plugin::guest as wit;
use crate::{Context, Error, Outcome, Request};

/// A plugin's self-description, built with a few chained calls; its
/// actions' handlers make it the plugin's dispatch table too.
#[derive(Debug, Clone)]
pub struct Manifest {
    name: String,
    version: String,
    summary: String,
    actions: Vec<Action>,
    capabilities: Vec<Capability>,
    subscriptions: Vec<EventKind>,
}

impl Manifest {
    /// Starts a manifest; use `env!("CARGO_PKG_VERSION")` for the version.
    pub fn new(name: &str, version: &str, summary: &str) -> Self {
        Manifest {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            actions: Vec::new(),
            capabilities: Vec::new(),
            subscriptions: Vec::new(),
        }
    }

    /// Asks for a capability; the user grants it at install.
    pub fn capability(mut self, capability: Capability) -> Self {
        if !self.capabilities.contains(&capability) {
            self.capabilities.push(capability);
        }
        self
    }

    /// Subscribes to an event kind: while `capstan serve` runs and the user
    /// grants `events`, [`crate::Plugin::handle`] is called with each such
    /// event. Asks for `events` too.
    pub fn subscribe(mut self, kind: EventKind) -> Self {
        if !self.subscriptions.contains(&kind) {
            self.subscriptions.push(kind);
        }
        self.capability(Capability::Events)
    }

    /// Adds an action the plugin offers.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// Runs the action `request` names through the handler it was given
    /// ([`Action::run`]).
    pub fn dispatch(&self, request: &Request, ctx: &Context) -> Result<Outcome, Error> {
        let action = self
            .actions
            .iter()
            .find(|a| a.name == request.action)
            .ok_or_else(|| Error::UnknownAction(request.action.clone()))?;
        match &action.handler {
            Some(handler) => handler(request, ctx),
            None => Err(Error::Failed(format!(
                "action `{}` has no handler: give it one with Action::run, or implement Plugin::run",
                action.name
            ))),
        }
    }

    pub(crate) fn into_wit(self) -> wit::Manifest {
        wit::Manifest {
            name: self.name,
            version: self.version,
            summary: self.summary,
            actions: self
                .actions
                .into_iter()
                .map(|a| wit::ActionInfo {
                    params_schema: a.schema.into_json().to_string(),
                    name: a.name,
                    summary: a.summary,
                })
                .collect(),
            capabilities: self
                .capabilities
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
            subscriptions: self
                .subscriptions
                .iter()
                .map(|k| k.name().to_string())
                .collect(),
        }
    }
}

/// Runs one action: decodes its parameters and acts.
type Handler = Rc<dyn Fn(&Request, &Context) -> Result<Outcome, Error>>;

/// Where an action's params schema comes from.
#[derive(Clone)]
enum Schema {
    /// Written out by hand.
    Written(serde_json::Value),
    /// Made when the manifest is sent (derived from the params type, or
    /// written by a function): never on a call, which only dispatches.
    Later(fn() -> serde_json::Value),
}

impl Schema {
    fn into_json(self) -> serde_json::Value {
        match self {
            Schema::Written(schema) => schema,
            Schema::Later(make) => make(),
        }
    }
}

/// The schema of an action without parameters: any field is refused.
fn no_params() -> serde_json::Value {
    serde_json::json!({ "type": "object", "properties": {}, "additionalProperties": false })
}

/// One action of a plugin: its name, what it does, the JSON Schema of its
/// parameters, and the function that runs it.
#[derive(Clone)]
pub struct Action {
    name: String,
    summary: String,
    schema: Schema,
    handler: Option<Handler>,
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Action")
            .field("name", &self.name)
            .field("summary", &self.summary)
            .field("handled", &self.handler.is_some())
            .finish()
    }
}

impl Action {
    /// An action that takes no parameters, until [`Action::run`] gives it
    /// a typed handler (or [`Action::params_schema`] a written schema).
    pub fn new(name: &str, summary: &str) -> Self {
        Action {
            name: name.into(),
            summary: summary.into(),
            schema: Schema::Later(no_params),
            handler: None,
        }
    }

    /// Runs the action with `handler`, whose parameter type `P` is also
    /// where the action's schema comes from: derive `Deserialize` and
    /// [`JsonSchema`] on it, and the schema the host checks, the form the
    /// window draws and the struct the handler gets cannot drift apart.
    /// Doc comments on its fields become the fields' descriptions.
    pub fn run<P>(mut self, handler: fn(P, &Context) -> Result<Outcome, Error>) -> Self
    where
        P: DeserializeOwned + JsonSchema + 'static,
    {
        self.schema = Schema::Later(params_schema::<P>);
        self.handler = Some(Rc::new(move |request: &Request, ctx: &Context| {
            handler(request.params()?, ctx)
        }));
        self
    }

    /// Runs the action with `handler`, keeping the schema written with
    /// [`Action::params_schema`]: for parameters whose shape a derive
    /// cannot say (a field that takes a map or a list, say).
    pub fn handle<P>(mut self, handler: fn(P, &Context) -> Result<Outcome, Error>) -> Self
    where
        P: DeserializeOwned + 'static,
    {
        self.handler = Some(Rc::new(move |request: &Request, ctx: &Context| {
            handler(request.params()?, ctx)
        }));
        self
    }

    /// Sets a schema written by hand (an object schema), for an action
    /// run by [`Action::handle`] or a plugin that decodes its parameters
    /// itself in [`crate::Plugin::run`].
    pub fn params_schema(mut self, schema: serde_json::Value) -> Self {
        self.schema = Schema::Written(schema);
        self
    }
}

/// The parameters of an action that takes none: any field given is
/// refused, never ignored.
#[derive(Debug, Clone, Copy, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The JSON Schema of `P`, with every type written in place: what the
/// host checks and the window draws, without references to follow.
pub fn params_schema<P: JsonSchema>() -> serde_json::Value {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let schema = settings.into_generator().into_root_schema_for::<P>();
    schema.to_value()
}
