//! What the Containers and Swarm pages share: the host whose engine they
//! show (a live view that follows it, stopped when the page closes) and
//! the changes they start, as plugin jobs whose outcome shows live.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{self, DockerView, RunRequest};
use crate::components::status::Status;
use crate::live::live;
use crate::{Route, go};

/// The engine of a chosen host, kept live.
#[derive(Clone, Copy)]
pub struct EngineView {
    /// The host (`local` or an inventory host).
    pub host: RwSignal<String>,
    /// Its rows, once the first list arrived.
    pub view: Signal<Option<DockerView>>,
    /// Why the view could not start.
    pub error: RwSignal<Option<String>>,
    /// Changes started from the page: `(job id, what)`.
    pub actions: RwSignal<Vec<(i64, String)>>,
}

impl EngineView {
    /// Follows the chosen host's engine while the page is open.
    pub fn follow() -> EngineView {
        let host = RwSignal::new("local".to_string());
        let stream = RwSignal::new(None::<u64>);
        let error = RwSignal::new(None::<String>);
        Effect::new(move |_| {
            let chosen = host.get();
            let old = stream.get_untracked();
            stream.set(None);
            error.set(None);
            leptos::task::spawn_local(async move {
                if let Some(old) = old {
                    api::stop_stream(old).await;
                }
                match api::watch_docker(chosen).await {
                    Ok(id) => stream.set(Some(id)),
                    Err(e) => error.set(Some(e.message)),
                }
            });
        });
        on_cleanup(move || {
            if let Some(id) = stream.get_untracked() {
                leptos::task::spawn_local(api::stop_stream(id));
            }
        });
        let docker = live().docker;
        let view = Signal::derive(move || {
            let id = stream.get()?;
            docker.with(|views| views.get(&id).cloned())
        });
        EngineView {
            host,
            view,
            error,
            actions: RwSignal::new(Vec::new()),
        }
    }

    /// Starts a `docker` plugin action on the chosen host.
    pub fn change(&self, action: &str, params: Value, what: String) {
        let request = RunRequest::new("docker", action, params, [self.host.get_untracked()]);
        let (actions, error) = (self.actions, self.error);
        leptos::task::spawn_local(async move {
            match api::run_action(request).await {
                Ok(job) => actions.update(|a| {
                    a.insert(0, (job, what));
                    a.truncate(5);
                }),
                Err(e) => error.set(Some(e.message)),
            }
        });
    }
}

/// The host picker.
#[component]
pub fn HostPicker(host: RwSignal<String>) -> impl IntoView {
    let hosts = LocalResource::new(api::hosts);
    view! {
        <label class="host-picker">
            "Engine of "
            <select id="engine-host" prop:value=move || host.get() on:change=move |ev| host.set(event_target_value(&ev))>
                <option value="local">"local (this machine)"</option>
                {move || hosts.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|h| view! {
                    <option value=h.host.name.clone()>{h.host.name.clone()}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// The changes started from the page, each with its live result.
#[component]
pub fn RecentActions(actions: RwSignal<Vec<(i64, String)>>) -> impl IntoView {
    let jobs = live().jobs;
    move || {
        let list = actions.get();
        (!list.is_empty()).then(|| {
            view! {
                <ul class="recent-actions" aria-live="polite">
                    {list.into_iter().map(|(id, what)| {
                        let state = move || jobs.with(|j| j.get(&id).map(|job| {
                            let summary = job.results.first().map(|r| r.summary.clone()).unwrap_or_default();
                            (job.finished, job.overall, summary)
                        }));
                        view! {
                            <li>
                                <button class="linklike" on:click=move |_| go(Route::Job(id))>{format!("#{id}")}</button>
                                " " {what} " "
                                {move || match state() {
                                    Some((true, overall, summary)) => view! {
                                        <Status status=overall.map_or("", |o| o.name()) />
                                        <span class="muted">{format!(" {summary}")}</span>
                                    }.into_any(),
                                    _ => view! { <span class="pulse">"running…"</span> }.into_any(),
                                }}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
        })
    }
}
