//! The rules section: which job ends send to which channel.

use leptos::prelude::*;

use crate::api::{self, ApiError, NotifyOn, Rule, RuleSpec};
use crate::components::field::{Notice, TextField, error_about, given};
use crate::components::listing::Listing;
use crate::components::remove::{RemoveButton, removal};

/// The rules: a table, and a form to add one.
#[component]
pub fn Rules(reload: RwSignal<u32>, on_changed: Callback<(bool, String)>) -> impl IntoView {
    let rules = LocalResource::new(move || {
        reload.track();
        api::rules()
    });
    let adding = RwSignal::new(false);
    view! {
        <section class="rules">
            <div class="section-head">
                <h2>"Rules"</h2>
                <button id="add-rule" on:click=move |_| adding.set(true)>"Add rule"</button>
            </div>
            {move || adding.get().then(|| view! {
                <RuleForm on_done=Callback::new(move |message: Option<String>| {
                    adding.set(false);
                    if let Some(m) = message { on_changed.run((true, m)); }
                }) />
            })}
            <Listing items=rules empty=|| view! {
                <div class="empty"><p>"No rules yet: nothing is sent."</p></div>
            } rows=move |list| view! {
                <table class="rules-table">
                    <thead><tr><th>"Rule"</th><th>"When a job"</th><th>"Of"</th><th>"Sends to"</th><th></th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|rule| view! {
                            <RuleRow rule=rule on_changed=on_changed />
                        }).collect_view()}
                    </tbody>
                </table>
            } />
        </section>
    }
}

/// A rule's filters in words: `every job` when it has none.
fn filters(spec: &RuleSpec) -> String {
    let named = [
        ("plugin", &spec.plugin),
        ("playbook", &spec.playbook),
        ("schedule", &spec.schedule),
        ("group", &spec.group),
    ];
    let parts: Vec<String> = named
        .iter()
        .filter_map(|(what, value)| value.as_ref().map(|v| format!("{what} {v}")))
        .collect();
    if parts.is_empty() {
        "every job".to_string()
    } else {
        parts.join(", ")
    }
}

/// One rule with remove (asked twice).
#[component]
fn RuleRow(rule: Rule, on_changed: Callback<(bool, String)>) -> impl IntoView {
    let name = rule.spec.name.clone();
    let remove = removal(
        name.clone(),
        api::remove_rule,
        "; its deliveries stay recorded",
        on_changed,
    );
    let on = match rule.spec.on {
        NotifyOn::Finished => "finishes",
        NotifyOn::Failed => "fails",
        NotifyOn::Changed => "changes something",
    };
    view! {
        <tr data-rule=name.clone()>
            <td><strong>{name.clone()}</strong></td>
            <td>{on}</td>
            <td>{filters(&rule.spec)}</td>
            <td>{rule.spec.channel.clone()}</td>
            <td class="row-actions"><RemoveButton on_remove=remove /></td>
        </tr>
    }
}

/// The form adding a rule: which ends, the channel (one of those
/// added), and the optional filters.
#[component]
fn RuleForm(on_done: Callback<Option<String>>) -> impl IntoView {
    let channels = LocalResource::new(api::channels);
    let name = RwSignal::new(String::new());
    let on = RwSignal::new("failed".to_string());
    let channel = RwSignal::new(String::new());
    let plugin = RwSignal::new(String::new());
    let playbook = RwSignal::new(String::new());
    let schedule = RwSignal::new(String::new());
    let group = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let about = move |field: &'static str| error_about(error, field);
    let general = Signal::derive(move || error.get().map(|e| (false, e.message)));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let spec = RuleSpec {
            name: name.get().trim().to_string(),
            on: on.get().parse().unwrap_or(NotifyOn::Failed),
            channel: channel.get(),
            plugin: given(plugin),
            playbook: given(playbook),
            schedule: given(schedule),
            group: given(group),
        };
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::add_rule(spec).await {
                Ok(added) => on_done.run(Some(format!(
                    "Added rule {}: sends to {}.",
                    added.spec.name, added.spec.channel
                ))),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="panel rule-form" on:submit=save>
            <div class="grid2">
                <TextField label="Name" name="rule-name" value=name error=about("name") placeholder="failures-to-ops" />
                <div class="field">
                    <label for="field-on">"When a job"</label>
                    <select id="field-on" prop:value=move || on.get() on:change=move |ev| on.set(event_target_value(&ev))>
                        <option value="failed">"fails"</option>
                        <option value="changed">"changes something"</option>
                        <option value="finished">"finishes"</option>
                    </select>
                </div>
                <div class="field" class:invalid=move || about("channel").get().is_some()>
                    <label for="field-channel">"Sends to"</label>
                    <select id="field-channel" prop:value=move || channel.get() on:change=move |ev| channel.set(event_target_value(&ev))>
                        <option value="">"choose a channel"</option>
                        {move || channels.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|c| {
                            let name = c.spec.name;
                            view! { <option value=name.clone()>{name.clone()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <TextField label="Only this plugin" name="rule-plugin" value=plugin error=about("plugin") placeholder="apt" />
                <TextField label="Only this playbook" name="rule-playbook" value=playbook error=about("playbook") placeholder="site.yml" />
                <TextField label="Only this schedule" name="rule-schedule" value=schedule error=about("schedule") placeholder="nightly-patch" />
                <TextField label="Only hosts of this group" name="rule-group" value=group error=about("group") placeholder="web" />
            </div>
            <Notice message=general />
            <div class="actions">
                <button type="submit" class="primary" id="save-rule">"Add"</button>
                <button type="button" on:click=move |_| on_done.run(None)>"Cancel"</button>
            </div>
        </form>
    }
}
