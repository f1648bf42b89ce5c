//! Overview: hosts by environment with their reachability, jobs running
//! and failing, containers and services on this machine.

use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::*;

use crate::api;
use crate::components::status::{Status, when};
use crate::live::live;
use crate::{Route, go};

/// Set once the first page has been painted with its data.
static READY_SENT: AtomicBool = AtomicBool::new(false);

/// The Overview page.
#[component]
pub fn Overview() -> impl IntoView {
    let changed = live().jobs_changed;
    let data = LocalResource::new(move || {
        changed.track();
        api::overview()
    });
    view! {
        <header class="page-head"><h1>"Overview"</h1></header>
        <Transition fallback=|| view! { <div class="cards skeleton"></div> }>
            {move || data.get().map(|result| match result {
                Ok(o) => {
                    if !READY_SENT.swap(true, Ordering::Relaxed) {
                        let data_ms = crate::page_ms();
                        after_paint(move || {
                            let painted_ms = crate::page_ms();
                            leptos::task::spawn_local(api::ui_ready(
                                crate::code_started_ms(),
                                data_ms,
                                painted_ms,
                            ))
                        });
                    }
                    view! { <Cards overview=o /> }.into_any()
                }
                Err(e) => view! {
                    <div class="notice error" role="alert">{e.message}</div>
                }.into_any(),
            })}
        </Transition>
    }
}

/// Runs `f` once the next frame has been painted.
fn after_paint(f: impl FnOnce() + 'static) {
    use wasm_bindgen::prelude::*;
    let Some(window) = web_sys::window() else {
        return;
    };
    let outer = Closure::once_into_js(move || {
        // The frame after the one that painted the page.
        if let Some(window) = web_sys::window() {
            let inner = Closure::once_into_js(f);
            let _ = window.request_animation_frame(inner.unchecked_ref());
        }
    });
    let _ = window.request_animation_frame(outer.unchecked_ref());
}

#[component]
fn Cards(overview: api::Overview) -> impl IntoView {
    let hosts: usize = overview.environments.iter().map(|e| e.hosts).sum();
    let environments = overview.environments.clone();
    let (containers, containers_detail) = match (overview.containers, &overview.docker_error) {
        (Some(counts), _) => (
            counts.running.to_string(),
            format!("running of {}", counts.total),
        ),
        (None, Some(e)) => ("—".to_string(), e.clone()),
        (None, None) => ("—".to_string(), "no engine".to_string()),
    };
    let services = overview.services.map_or("—".to_string(), |n| n.to_string());
    let services_detail = if overview.services.is_some() {
        "swarm services on this machine"
    } else {
        "not a swarm manager"
    };
    let failures = overview.recent_failures.clone();
    let jobs = overview.recent_jobs.clone();
    view! {
        <div class="cards">
            <button class="card link" on:click=move |_| go(Route::Hosts)>
                <div class="label">"Hosts"</div>
                <div class="value">{hosts}</div>
                <div class="envs">
                    {environments.into_iter().map(|e| {
                        let unchecked = e.hosts - e.reachable - e.unreachable;
                        view! {
                            <div class="env">
                                <span class=format!("env-name env-{}", e.name)>{e.name.clone()}</span>
                                <span>{format!("{}", e.hosts)}</span>
                                <span class="dots" title="reachable · unreachable · not checked">
                                    <span class="dot ok">{e.reachable}</span>
                                    <span class="dot unreachable">{e.unreachable}</span>
                                    <span class="dot unknown">{unchecked}</span>
                                </span>
                            </div>
                        }
                    }).collect_view()}
                </div>
            </button>
            <button class="card link" on:click=move |_| go(Route::Jobs)>
                <div class="label">"Running jobs"</div>
                <div class="value">{overview.running_jobs}</div>
                <div class="detail">"right now"</div>
            </button>
            <button class="card link" on:click=move |_| go(Route::Jobs)>
                <div class="label">"Recent failures"</div>
                <div class="value" class:bad=!failures.is_empty()>{failures.len()}</div>
                <div class="detail">"of the last 50 jobs"</div>
            </button>
            <button class="card link" on:click=move |_| go(Route::Containers)>
                <div class="label">"Containers"</div>
                <div class="value">{containers}</div>
                <div class="detail">{containers_detail}</div>
            </button>
            <button class="card link" on:click=move |_| go(Route::Swarm)>
                <div class="label">"Services"</div>
                <div class="value">{services}</div>
                <div class="detail">{services_detail}</div>
            </button>
        </div>
        <section>
            <h2>"Latest jobs"</h2>
            {if jobs.is_empty() {
                view! {
                    <div class="empty">
                        "No job yet. "
                        <button class="linklike" on:click=move |_| go(Route::Run)>"Run something"</button>
                    </div>
                }.into_any()
            } else {
                view! {
                    <table class="jobs-table">
                        <thead><tr><th>"Job"</th><th>"What"</th><th>"Targets"</th><th>"State"</th><th>"Result"</th><th>"Started"</th></tr></thead>
                        <tbody>
                            {jobs.into_iter().map(|j| {
                                let id = j.id;
                                view! {
                                    <tr class="clickable" tabindex="0"
                                        on:click=move |_| go(Route::Job(id))
                                        on:keydown=move |ev| if ev.key() == "Enter" { go(Route::Job(id)) }>
                                        <td>{format!("#{}", j.id)}</td>
                                        <td>{j.what.clone()}</td>
                                        <td class="muted">{j.targets.clone()}</td>
                                        <td><Status status=j.state /></td>
                                        <td>{j.overall.map(|o| view! { <Status status=o /> })}</td>
                                        <td class="muted">{when(j.started_at_ms)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
