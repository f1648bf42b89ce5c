//! Secrets: the encrypted store's names and dates (a value is never shown
//! again), a value set from a password field, a secret removed.

use leptos::prelude::*;

use crate::api::{self, ApiError, SecretInfo};
use crate::components::field::{Notice, TextField};
use crate::components::listing::Listing;
use crate::components::remove::{RemoveButton, removal};
use crate::components::status::when;

/// The Secrets page.
#[component]
pub fn Secrets() -> impl IntoView {
    let reload = RwSignal::new(0_u32);
    let secrets = LocalResource::new(move || {
        reload.track();
        api::secrets()
    });
    let notice = RwSignal::new(None::<(bool, String)>);
    let refresh = move || reload.update(|n| *n += 1);
    view! {
        <header class="page-head"><h1>"Secrets"</h1></header>
        <p class="muted small">"Sealed with the key in secrets.key of the data folder (back it up with the database). Schedules, webhooks and notification channels name them; runs mask their values everywhere."</p>
        <Notice message=notice />
        <SecretForm on_done=Callback::new(move |message: String| {
            notice.set(Some((true, message)));
            refresh();
        }) />
        <Listing items=secrets empty=|| view! {
            <div class="empty"><p>"No secrets yet."</p></div>
        } rows=move |list| view! {
            <table class="secrets-table">
                <thead><tr><th>"Name"</th><th>"Set by"</th><th>"Updated"</th><th></th></tr></thead>
                <tbody>
                    {list.into_iter().map(|secret| view! {
                        <SecretRow secret=secret on_changed=Callback::new(move |message: (bool, String)| {
                            notice.set(Some(message));
                            refresh();
                        }) />
                    }).collect_view()}
                </tbody>
            </table>
        } />
    }
}

/// One secret: its name and dates, and remove (asked twice).
#[component]
fn SecretRow(secret: SecretInfo, on_changed: Callback<(bool, String)>) -> impl IntoView {
    let name = secret.name.clone();
    let remove = removal(name.clone(), api::remove_secret, "", on_changed);
    view! {
        <tr data-secret=name.clone()>
            <td><code>{name.clone()}</code></td>
            <td class="muted">{secret.updated_by.to_string()}</td>
            <td class="muted">{when(secret.updated_at_ms)}</td>
            <td class="row-actions">
                <RemoveButton on_remove=remove />
            </td>
        </tr>
    }
}

/// Sets a secret: its name, and its value typed into a password field
/// that is cleared once stored.
#[component]
fn SecretForm(on_done: Callback<String>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let about = move |field: &'static str| {
        Signal::derive(move || {
            error
                .get()
                .filter(|e| {
                    e.field.as_deref() == Some(field) || (field == "name" && e.field.is_none())
                })
                .map(|e| e.message)
        })
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (secret, typed) = (name.get().trim().to_string(), value.get());
        leptos::task::spawn_local(async move {
            match api::set_secret(secret.clone(), typed).await {
                Ok(()) => {
                    error.set(None);
                    name.set(String::new());
                    value.set(String::new());
                    on_done.run(format!("{secret} stored."));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="panel secret-form" on:submit=save>
            <div class="grid2">
                <TextField label="Name" name="secret-name" value=name error=about("name") placeholder="slack_url" />
                <div class="field" class:invalid=move || about("value").get().is_some()>
                    <label for="field-secret-value">"Value"</label>
                    <input id="field-secret-value" type="password" autocomplete="off" prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev)) />
                    {move || about("value").get().map(|m| view! { <div class="field-error">{m}</div> })}
                </div>
            </div>
            <div class="actions">
                <button type="submit" class="primary" id="save-secret">"Store"</button>
            </div>
        </form>
    }
}
