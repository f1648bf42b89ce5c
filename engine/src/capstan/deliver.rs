//! Handing one event to one plugin: who subscribes, and one delivery
//! attempt within the plugin's grants and limits. The queueing, order,
//! retries and acknowledgements are [`crate::events`]'s.

use capstan_plugin_host::capability::Capability;
use capstan_plugin_host::plugin::Handled;
use capstan_remote::HostKeyPolicy;
use capstan_wire::events::{Event, EventKind};

use super::Capstan;
use crate::error::Result;

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventDelivery {
    /// The plugin handled the event.
    Acknowledged,
    /// It could not this time (it refused, crashed or hit a limit): try
    /// again later.
    Retry(String),
    /// It will never take this event (removed, unsubscribed, `events` not
    /// granted, no `handler`): stop trying.
    Drop(String),
}

impl Capstan {
    /// The installed plugins that subscribe to `kind`, by name. Whether
    /// each may receive it (the `events` grant) is checked per delivery.
    pub fn subscribers(&self, kind: EventKind) -> Result<Vec<String>> {
        Ok(self
            .plugins()?
            .into_iter()
            .filter(|p| p.manifest.subscriptions.contains(&kind))
            .map(|p| p.manifest.name)
            .collect())
    }

    /// Hands `event` to plugin `name` once, in a fresh instance, with its
    /// current grants (read now: a revoke applies to the next event) and
    /// the event's target, when it names one this Capstan knows.
    pub async fn deliver_event(&self, name: &str, event: &Event) -> Result<EventDelivery> {
        let Some(record) = self.store().plugin(name)? else {
            return Ok(EventDelivery::Drop(format!(
                "plugin `{name}` is not installed"
            )));
        };
        if !record.manifest.subscriptions.contains(&event.kind) {
            return Ok(EventDelivery::Drop(format!(
                "plugin `{name}` no longer subscribes to {}",
                event.kind
            )));
        }
        if !record.grants.contains(Capability::Events) {
            return Ok(EventDelivery::Drop(format!(
                "plugin `{name}` is not granted `events` (`capstan plugin grant {name} events`)"
            )));
        }
        let targets = match &event.target {
            Some(target) => self
                .resolve_targets(std::slice::from_ref(target), HostKeyPolicy::RequireKnown)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let host = self.host()?;
        let loaded = self.load_installed(&record)?;
        let setup = self.call_setup(&record, targets);
        Ok(match host.handle(&loaded, &setup, event).await {
            Ok(Handled::Acknowledged) => EventDelivery::Acknowledged,
            Ok(Handled::Refused(reason)) => EventDelivery::Retry(format!("it refused: {reason}")),
            Ok(Handled::NoHandler) => EventDelivery::Drop(format!(
                "plugin `{name}` (contract {}) does not export `handler`",
                record.api_version
            )),
            Err(failure) => EventDelivery::Retry(format!("{}: {}", failure.kind, failure.message)),
        })
    }
}
