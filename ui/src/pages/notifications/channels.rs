//! The channels section: where messages go, added and removed.

use leptos::prelude::*;

use crate::api::{self, ApiError, Channel, ChannelKind, ChannelSpec};
use crate::components::field::{Notice, TextField, error_about, given};
use crate::components::listing::Listing;
use crate::components::remove::{RemoveButton, removal};
use crate::components::status::when;

/// The channels: a table, and a form to add one.
#[component]
pub fn Channels(reload: RwSignal<u32>, on_changed: Callback<(bool, String)>) -> impl IntoView {
    let channels = LocalResource::new(move || {
        reload.track();
        api::channels()
    });
    let adding = RwSignal::new(false);
    view! {
        <section class="channels">
            <div class="section-head">
                <h2>"Channels"</h2>
                <button id="add-channel" on:click=move |_| adding.set(true)>"Add channel"</button>
            </div>
            {move || adding.get().then(|| view! {
                <ChannelForm on_done=Callback::new(move |message: Option<String>| {
                    adding.set(false);
                    if let Some(m) = message { on_changed.run((true, m)); }
                }) />
            })}
            <Listing items=channels empty=|| view! {
                <div class="empty"><p>"No channels yet."</p></div>
            } rows=move |list| view! {
                <table class="channels-table">
                    <thead><tr><th>"Channel"</th><th>"Kind"</th><th>"Sends to"</th><th>"Added"</th><th></th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|channel| view! {
                            <ChannelRow channel=channel on_changed=on_changed />
                        }).collect_view()}
                    </tbody>
                </table>
            } />
        </section>
    }
}

/// Where a channel sends, in words (secrets by name only).
fn sends_to(channel: &Channel) -> String {
    let spec = &channel.spec;
    match spec.kind {
        ChannelKind::Slack => format!(
            "the URL in secret {}",
            spec.url_secret.as_deref().unwrap_or("?")
        ),
        ChannelKind::Webhook => match &spec.signing_secret {
            Some(key) => format!("{} (signed with {key})", spec.url.as_deref().unwrap_or("?")),
            None => spec.url.clone().unwrap_or_default(),
        },
        ChannelKind::Email => spec.to.join(", "),
        ChannelKind::Desktop => "the desktop of the user the service runs as".to_string(),
    }
}

/// One channel with remove (asked twice; refused while a rule uses it).
#[component]
fn ChannelRow(channel: Channel, on_changed: Callback<(bool, String)>) -> impl IntoView {
    let name = channel.spec.name.clone();
    let remove = removal(name.clone(), api::remove_channel, "", on_changed);
    view! {
        <tr data-channel=name.clone()>
            <td><strong>{name.clone()}</strong></td>
            <td>{channel.spec.kind.to_string()}</td>
            <td class="ellipsis">{sends_to(&channel)}</td>
            <td class="muted">{when(channel.created_at_ms)}</td>
            <td class="row-actions"><RemoveButton on_remove=remove /></td>
        </tr>
    }
}

/// The form adding a channel; the fields shown follow its kind.
#[component]
fn ChannelForm(on_done: Callback<Option<String>>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("slack".to_string());
    let url = RwSignal::new(String::new());
    let url_secret = RwSignal::new(String::new());
    let signing_secret = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let about = move |field: &'static str| error_about(error, field);
    let general = Signal::derive(move || error.get().map(|e| (false, e.message)));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let kind = kind
            .get()
            .parse::<ChannelKind>()
            .unwrap_or(ChannelKind::Slack);
        let spec = ChannelSpec {
            name: name.get().trim().to_string(),
            kind,
            url: given(url).filter(|_| kind == ChannelKind::Webhook),
            url_secret: given(url_secret).filter(|_| kind == ChannelKind::Slack),
            signing_secret: given(signing_secret).filter(|_| kind == ChannelKind::Webhook),
            to: match kind {
                ChannelKind::Email => to
                    .get()
                    .split([',', ' '])
                    .filter(|a| !a.is_empty())
                    .map(String::from)
                    .collect(),
                _ => Vec::new(),
            },
        };
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::add_channel(spec).await {
                Ok(added) => on_done.run(Some(format!(
                    "Added channel {} ({}).",
                    added.spec.name, added.host
                ))),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="panel channel-form" on:submit=save>
            <div class="grid2">
                <TextField label="Name" name="channel-name" value=name error=about("name") placeholder="ops-slack" />
                <div class="field">
                    <label for="field-channel-kind">"Kind"</label>
                    <select id="field-channel-kind" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="slack">"Slack incoming webhook"</option>
                        <option value="webhook">"Webhook (JSON, signed)"</option>
                        <option value="email">"E-mail"</option>
                        <option value="desktop">"Desktop notification"</option>
                    </select>
                </div>
                {move || match kind.get().as_str() {
                    "slack" => view! {
                        <TextField label="Secret holding the URL" name="url-secret" value=url_secret error=about("url_secret") placeholder="slack_url"
                            hint="The URL is the credential: store it on the Secrets page." />
                    }.into_any(),
                    "webhook" => view! {
                        <TextField label="URL" name="url" value=url error=about("url") placeholder="https://hooks.example.org/capstan" />
                        <TextField label="Signing secret (optional)" name="signing-secret" value=signing_secret error=about("signing_secret") placeholder="hook_key" />
                    }.into_any(),
                    "email" => view! {
                        <TextField label="To" name="to" value=to error=about("to") placeholder="ops@example.org"
                            hint="Sent through the SMTP server below." />
                    }.into_any(),
                    _ => ().into_any(),
                }}
            </div>
            <Notice message=general />
            <div class="actions">
                <button type="submit" class="primary" id="save-channel">"Add"</button>
                <button type="button" on:click=move |_| on_done.run(None)>"Cancel"</button>
            </div>
        </form>
    }
}
