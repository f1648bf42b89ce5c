//! Contract `capstan:plugin@0.2.0`: everything 0.1 has, the `http` import
//! and the optional `handler` export. The bindings are generated for the
//! `reactor` world (which has both); a component built for the `plugin`
//! world, without `handler`, loads too and is simply never handed events.

use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

use crate::capability::http::{HttpMethod, HttpRequest};
use crate::plugin::call::{CallContext, PluginOutcome};
use crate::plugin::manifest::Manifest;
use crate::plugin::state::RunState;
use capstan_wire::events::{Event, EventKind};

wasmtime::component::bindgen!({
    path: "../../plugin-sdk/wit/v0.2.0",
    world: "reactor",
    imports: { default: async | trappable },
    exports: { default: async },
});

use capstan::plugin::{docker, events, http, kv, log, remote, types};
use exports::capstan::plugin::{guest, handler};

pub(super) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    Reactor::add_to_linker::<RunState, HasSelf<RunState>>(linker, |state| state)
}

/// A 0.2 component linked, with where its exports are.
pub(crate) struct Pre {
    pre: InstancePre<RunState>,
    guest: guest::GuestIndices,
    handler: Option<handler::GuestIndices>,
}

/// A live 0.2 instance.
pub(crate) struct Live {
    guest: guest::Guest,
    handler: Option<handler::Guest>,
}

impl Pre {
    /// Finds `guest` (required) and `handler` (optional) in the component.
    pub(super) fn new(pre: InstancePre<RunState>) -> wasmtime::Result<Self> {
        let guest = guest::GuestIndices::new(&pre)?;
        let exports_handler = pre
            .component()
            .get_export_index(None, HANDLER_EXPORT)
            .is_some();
        let handler = if exports_handler {
            Some(handler::GuestIndices::new(&pre)?)
        } else {
            None
        };
        Ok(Pre {
            pre,
            guest,
            handler,
        })
    }

    /// Instantiates the component in `store`.
    pub(super) async fn instantiate(&self, store: &mut Store<RunState>) -> wasmtime::Result<Live> {
        let instance = self.pre.instantiate_async(&mut *store).await?;
        let guest = self.guest.load(&mut *store, &instance)?;
        let handler = match &self.handler {
            Some(indices) => Some(indices.load(&mut *store, &instance)?),
            None => None,
        };
        Ok(Live { guest, handler })
    }
}

/// The export a component that reacts to events has.
const HANDLER_EXPORT: &str = "capstan:plugin/handler@0.2.0";

pub(super) async fn describe(
    live: &Live,
    store: &mut Store<RunState>,
) -> wasmtime::Result<Manifest> {
    let mut wit = live.guest.call_describe(&mut *store).await?;
    let subscriptions = std::mem::take(&mut wit.subscriptions);
    let mut manifest = manifest_from_wit(wit)?;
    for name in subscriptions {
        let kind = name
            .parse::<EventKind>()
            .map_err(|e| wasmtime::Error::msg(format!("its manifest subscribes to an {e}")))?;
        if !manifest.subscriptions.contains(&kind) {
            manifest.subscriptions.push(kind);
        }
    }
    if !manifest.subscriptions.is_empty() && live.handler.is_none() {
        return Err(wasmtime::Error::msg(
            "its manifest subscribes to events, but it does not export `handler` to receive them",
        ));
    }
    Ok(manifest)
}

pub(super) async fn run(
    live: &Live,
    store: &mut Store<RunState>,
    action: &str,
    params: &str,
    context: &CallContext,
) -> wasmtime::Result<PluginOutcome> {
    let outcome = live
        .guest
        .call_run(&mut *store, action, params, &context_to_wit(context))
        .await?;
    Ok(outcome_from_wit(outcome))
}

/// Calls `handle`; `None` when the component does not export `handler`.
pub(super) async fn handle(
    live: &Live,
    store: &mut Store<RunState>,
    event: &Event,
) -> wasmtime::Result<Option<Result<(), String>>> {
    let Some(handler) = &live.handler else {
        return Ok(None);
    };
    let event = events::Event {
        id: event.id,
        kind: kind_to_wit(event.kind),
        at_ms: u64::try_from(event.at_ms).unwrap_or(0),
        target: event.target.clone(),
        data: event.data.to_string(),
    };
    let handled = handler.call_handle(&mut *store, &event).await?;
    Ok(Some(handled.map_err(|reason| {
        crate::plugin::manifest::printable(&reason, false)
    })))
}

fn kind_to_wit(kind: EventKind) -> events::EventKind {
    match kind {
        EventKind::JobFinished => events::EventKind::JobFinished,
        EventKind::ScheduleFired => events::EventKind::ScheduleFired,
        EventKind::WebhookReceived => events::EventKind::WebhookReceived,
        EventKind::ContainerChanged => events::EventKind::ContainerChanged,
        EventKind::ServiceChanged => events::EventKind::ServiceChanged,
        EventKind::NodeChanged => events::EventKind::NodeChanged,
        EventKind::Announcement => events::EventKind::Announcement,
    }
}

shared_imports!();

impl events::Host for RunState {}

impl http::Host for RunState {
    async fn send(&mut self, request: http::Request) -> HostResult<http::Response> {
        let request = HttpRequest {
            method: match request.method {
                http::Method::Get => HttpMethod::Get,
                http::Method::Head => HttpMethod::Head,
                http::Method::Post => HttpMethod::Post,
                http::Method::Put => HttpMethod::Put,
                http::Method::Patch => HttpMethod::Patch,
                http::Method::Delete => HttpMethod::Delete,
            },
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout_ms: request.timeout_ms,
        };
        let started = Instant::now();
        let result = self.http.send(request).await;
        self.clock.add_host_time(started.elapsed());
        Ok(self
            .note(result)
            .map_err(to_wit)
            .map(|response| http::Response {
                status: response.status,
                headers: response.headers,
                body: response.body,
            }))
    }
}
