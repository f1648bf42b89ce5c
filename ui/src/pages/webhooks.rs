//! Webhooks: each one a URL of `capstan serve` that starts a job when a
//! delivery proves it knows the hook's secret (GitHub and Gitea HMAC
//! signatures, or a token with a timestamp). Listed with their deliveries
//! and last job; added from a form and removed.

use leptos::prelude::*;

use crate::api::{self, ApiError, Hook, HookAuth, HookSpec};
use crate::components::field::{Notice, TextField, error_about};
use crate::components::job_fields::{JobDraft, JobFields, form_error};
use crate::components::listing::Listing;
use crate::components::remove::{RemoveButton, removal};
use crate::components::status::when;
use crate::{Route, go};

/// The Webhooks page.
#[component]
pub fn Webhooks() -> impl IntoView {
    let reload = RwSignal::new(0_u32);
    let hooks = LocalResource::new(move || {
        reload.track();
        api::webhooks()
    });
    let adding = RwSignal::new(false);
    let notice = RwSignal::new(None::<(bool, String)>);
    let refresh = move || reload.update(|n| *n += 1);
    view! {
        <header class="page-head">
            <h1>"Webhooks"</h1>
            <div class="actions">
                <button id="add-webhook" class="primary" on:click=move |_| { notice.set(None); adding.set(true) }>"Add webhook"</button>
            </div>
        </header>
        <p class="muted small">
            "A push, or any sender that knows the hook's secret, posts to " <code>"/api/v1/hooks/NAME"</code>
            " on " <code>"capstan serve"</code> ". Each delivery id starts one job; a playbook gets the delivery as the variable " <code>"webhook"</code> "."
        </p>
        <Notice message=notice />
        {move || adding.get().then(|| view! {
            <WebhookForm on_done=Callback::new(move |message: Option<String>| {
                adding.set(false);
                if let Some(m) = message { notice.set(Some((true, m))); }
                refresh();
            }) />
        })}
        <Listing items=hooks empty=|| view! {
            <div class="empty">
                <p>"No webhooks yet."</p>
                <p class="muted">"Add one to deploy on a push: point the repository's webhook at the service with the hook's secret."</p>
            </div>
        } rows=move |list| view! {
            <table class="webhooks-table">
                <thead><tr>
                    <th>"Webhook"</th><th>"Checked by"</th><th>"Runs"</th><th>"Deliveries"</th><th>"Last"</th><th>"Last job"</th><th></th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|hook| view! {
                        <WebhookRow hook=hook on_changed=Callback::new(move |message: (bool, String)| {
                            notice.set(Some(message));
                            refresh();
                        }) />
                    }).collect_view()}
                </tbody>
            </table>
        } />
    }
}

/// How a hook's deliveries are checked, in words.
fn checked_by(auth: HookAuth) -> &'static str {
    match auth {
        HookAuth::Hmac => "HMAC signature (GitHub, Gitea)",
        HookAuth::Token => "token and timestamp",
    }
}

/// One webhook with remove (asked twice).
#[component]
fn WebhookRow(hook: Hook, on_changed: Callback<(bool, String)>) -> impl IntoView {
    let name = hook.spec.name.clone();
    let remove = removal(
        name.clone(),
        api::remove_webhook,
        "; its jobs stay in the history",
        on_changed,
    );
    view! {
        <tr data-webhook=name.clone()>
            <td><strong>{name.clone()}</strong><div class="muted small"><code>{format!("/api/v1/hooks/{name}")}</code></div></td>
            <td>{checked_by(hook.spec.auth)}<div class="muted small">"secret " <code>{hook.spec.secret.clone()}</code></div></td>
            <td class="ellipsis">{hook.spec.job.describe()}</td>
            <td class="counts">{hook.deliveries.to_string()}</td>
            <td class="muted">{hook.last_delivery_ms.map(when).unwrap_or_default()}</td>
            <td>{hook.last_job_id.map(|id| view! {
                <a href="#" on:click=move |ev| { ev.prevent_default(); go(Route::Job(id)) }>{format!("#{id}")}</a>
            })}</td>
            <td class="row-actions"><RemoveButton on_remove=remove /></td>
        </tr>
    }
}

/// The form adding a webhook: its name, how deliveries prove themselves
/// and the secret holding the key, and the job it runs.
#[component]
fn WebhookForm(on_done: Callback<Option<String>>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let auth = RwSignal::new("hmac".to_string());
    let secret = RwSignal::new(String::new());
    let draft = JobDraft::new();
    let error = RwSignal::new(None::<ApiError>);
    let saving = RwSignal::new(false);
    let about = move |field: &'static str| error_about(error, field);
    let general = form_error(error);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(job) = draft.job_or_error(error) else {
            return;
        };
        let spec = HookSpec {
            name: name.get().trim().to_string(),
            auth: if auth.get() == "token" {
                HookAuth::Token
            } else {
                HookAuth::Hmac
            },
            secret: secret.get().trim().to_string(),
            job,
        };
        saving.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::add_webhook(spec).await {
                Ok(added) => on_done.run(Some(format!(
                    "Added {}: deliveries go to /api/v1/hooks/{}.",
                    added.spec.name, added.spec.name
                ))),
                Err(e) => error.set(Some(e)),
            }
            saving.set(false);
        });
    };
    view! {
        <form class="panel webhook-form" on:submit=save>
            <h2>"Add a webhook"</h2>
            <div class="grid2">
                <TextField label="Name" name="webhook-name" value=name error=about("name") placeholder="deploy-on-push" />
                <div class="field">
                    <label for="field-auth">"Deliveries prove themselves by"</label>
                    <select id="field-auth" prop:value=move || auth.get() on:change=move |ev| auth.set(event_target_value(&ev))>
                        <option value="hmac">{checked_by(HookAuth::Hmac)}</option>
                        <option value="token">{checked_by(HookAuth::Token)}</option>
                    </select>
                </div>
                <TextField label="Secret" name="webhook-secret" value=secret error=about("secret") placeholder="deploy_hook_key"
                    hint="The name of a secret (Secrets page) holding the key or token." />
                <JobFields draft=draft error=error />
            </div>
            <Notice message=general />
            <div class="actions">
                <button type="submit" class="primary" id="save-webhook" disabled=move || saving.get()>
                    {move || if saving.get() { "Adding…" } else { "Add" }}
                </button>
                <button type="button" on:click=move |_| on_done.run(None)>"Cancel"</button>
            </div>
        </form>
    }
}
