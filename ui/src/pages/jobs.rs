//! Jobs: the history, filtered by text, state and result; a long history
//! scrolls without building every row.

use leptos::prelude::*;

use crate::api::{self, JobFilter, JobRow, JobState, ResultStatus};
use crate::components::status::{Status, duration, when};
use crate::components::virtual_list::VirtualList;
use crate::live::live;
use crate::{Route, go};

const ROW_HEIGHT: f64 = 40.0;

/// The Jobs page.
#[component]
pub fn Jobs() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let state = RwSignal::new(String::new());
    let result = RwSignal::new(String::new());
    let changed = live().jobs_changed;
    let jobs = LocalResource::new(move || {
        changed.track();
        let pick = |s: String| Some(s).filter(|s| !s.is_empty());
        api::jobs(JobFilter {
            state: JobState::from_name(&state.get()),
            result: ResultStatus::from_name(&result.get()),
            text: pick(text.get()),
            limit: 2_000,
        })
    });
    let rows = Signal::derive(move || jobs.get().and_then(Result::ok).unwrap_or_default());
    let filter_box = NodeRef::<leptos::html::Input>::new();
    // "/" jumps to the filter, as in a browser's find.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if ev.key() == "/" && !typing {
            ev.prevent_default();
            if let Some(input) = filter_box.get() {
                let _ = input.focus();
            }
        }
    });
    on_cleanup(move || keys.remove());

    let row = Callback::new(move |i: usize| {
        rows.with(|rows| rows.get(i).cloned())
            .map(|job| job_row(job).into_any())
            .unwrap_or_else(|| ().into_any())
    });
    view! {
        <header class="page-head">
            <h1>"Jobs"</h1>
            <div class="filters" role="search">
                <input node_ref=filter_box id="jobs-filter" type="search" placeholder="Filter: plugin, action, host  ( / )"
                    prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
                <select id="jobs-state" aria-label="State" prop:value=move || state.get() on:change=move |ev| state.set(event_target_value(&ev))>
                    <option value="">"Any state"</option>
                    <option value="running">"running"</option>
                    <option value="finished">"finished"</option>
                    <option value="interrupted">"interrupted"</option>
                    <option value="cancelled">"cancelled"</option>
                </select>
                <select id="jobs-result" aria-label="Result" prop:value=move || result.get() on:change=move |ev| result.set(event_target_value(&ev))>
                    <option value="">"Any result"</option>
                    <option value="ok">"ok"</option>
                    <option value="changed">"changed"</option>
                    <option value="failed">"failed"</option>
                    <option value="unreachable">"unreachable"</option>
                    <option value="skipped">"skipped"</option>
                </select>
            </div>
        </header>
        {move || jobs.get().and_then(|r| r.err()).map(|e| view! { <div class="notice error" role="alert">{e.message}</div> })}
        <div class="grid-table jobs-grid">
            <div class="grid-head">
                <span>"Job"</span><span>"What"</span><span>"Targets"</span><span>"State"</span><span>"Result"</span><span>"Started"</span><span>"Took"</span>
            </div>
            <Show when=move || !rows.with(Vec::is_empty) fallback=|| view! { <div class="empty">"No job matches."</div> }>
                <VirtualList len=Signal::derive(move || rows.with(Vec::len)) row_height=ROW_HEIGHT row=row class="jobs-list" label="Jobs" />
            </Show>
        </div>
        <p class="muted small">{move || format!("{} jobs shown", rows.with(Vec::len))}</p>
    }
}

fn job_row(job: JobRow) -> impl IntoView {
    let id = job.id;
    view! {
        <div class="grid-row clickable" role="listitem" tabindex="0" data-job=id
            on:click=move |_| go(Route::Job(id))
            on:keydown=move |ev| if ev.key() == "Enter" { go(Route::Job(id)) }>
            <span>{format!("#{id}")}</span>
            <span class="ellipsis">{job.what.clone()}{job.check.then(|| view! { <span class="tag">"check"</span> })}</span>
            <span class="ellipsis muted">{job.targets.clone()}</span>
            <span><Status status=job.state /></span>
            <span>{job.overall.map(|o| view! { <Status status=o /> })}</span>
            <span class="muted">{when(job.started_at_ms)}</span>
            <span class="muted">{job.duration_ms.map(duration)}</span>
        </div>
    }
}
