//! Schedules: jobs run at the times a cron expression names, with their
//! next times, what they fired and skipped; added from a form (a plugin
//! action or a playbook), paused, resumed and removed. `capstan serve`
//! fires them; the page says so.

use leptos::prelude::*;

use crate::api::{self, ApiError, Misfire, Overlap, Schedule, ScheduleSpec};
use crate::components::field::{Notice, TextField, error_about};
use crate::components::job_fields::{JobDraft, JobFields, form_error};
use crate::components::listing::Listing;
use crate::components::remove::{RemoveButton, removal};
use crate::components::status::when;
use crate::{Route, go};

/// The Schedules page.
#[component]
pub fn Schedules() -> impl IntoView {
    let reload = RwSignal::new(0_u32);
    let schedules = LocalResource::new(move || {
        reload.track();
        api::schedules()
    });
    let adding = RwSignal::new(false);
    let notice = RwSignal::new(None::<(bool, String)>);
    let refresh = move || reload.update(|n| *n += 1);
    view! {
        <header class="page-head">
            <h1>"Schedules"</h1>
            <div class="actions">
                <button id="add-schedule" class="primary" on:click=move |_| { notice.set(None); adding.set(true) }>"Add schedule"</button>
            </div>
        </header>
        <p class="muted small">"Schedules fire while " <code>"capstan serve"</code> " runs on this data folder; each firing is a job launched by the schedule."</p>
        <Notice message=notice />
        {move || adding.get().then(|| view! {
            <ScheduleForm on_done=Callback::new(move |message: Option<String>| {
                adding.set(false);
                if let Some(m) = message { notice.set(Some((true, m))); }
                refresh();
            }) />
        })}
        <Listing items=schedules empty=|| view! {
            <div class="empty">
                <p>"No schedules yet."</p>
                <p class="muted">"Add one to run an action or a playbook at set times: nightly patches, hourly checks."</p>
            </div>
        } rows=move |list| view! {
            <table class="schedules-table">
                <thead><tr>
                    <th>"Schedule"</th><th>"When"</th><th>"Runs"</th><th>"Next"</th><th>"Fired / skipped"</th><th>"Last job"</th><th></th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|schedule| view! {
                        <ScheduleRow schedule=schedule on_changed=Callback::new(move |message: Option<(bool, String)>| {
                            if message.is_some() { notice.set(message); }
                            refresh();
                        }) />
                    }).collect_view()}
                </tbody>
            </table>
        } />
    }
}

/// One schedule with pause or resume, and remove (asked twice).
#[component]
fn ScheduleRow(schedule: Schedule, on_changed: Callback<Option<(bool, String)>>) -> impl IntoView {
    let name = schedule.spec.name.clone();
    let paused = schedule.paused;
    let toggle = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            leptos::task::spawn_local(async move {
                match api::pause_schedule(name.clone(), !paused).await {
                    Ok(_) => on_changed.run(Some((
                        true,
                        format!("{name} {}.", if paused { "resumed" } else { "paused" }),
                    ))),
                    Err(e) => on_changed.run(Some((false, e.message))),
                }
            });
        }
    };
    let remove = removal(
        name.clone(),
        api::remove_schedule,
        "; its jobs stay in the history",
        Callback::new(move |message| on_changed.run(Some(message))),
    );
    let next = if paused {
        "paused".to_string()
    } else {
        schedule
            .next_runs_ms
            .iter()
            .take(3)
            .map(|at| when(*at))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let zone = schedule.spec.tz.clone().unwrap_or_else(|| "UTC".into());
    view! {
        <tr data-schedule=name.clone() class:paused=paused>
            <td><strong>{name.clone()}</strong></td>
            <td><code>{schedule.spec.cron.clone()}</code><span class="muted small">{format!(" {zone}")}</span></td>
            <td class="ellipsis">{schedule.spec.job.describe()}</td>
            <td class="next-runs muted">{next}</td>
            <td class="counts">{format!("{} / {}", schedule.fired, schedule.skipped)}</td>
            <td>{schedule.last_job_id.map(|id| view! {
                <a href="#" on:click=move |ev| { ev.prevent_default(); go(Route::Job(id)) }>{format!("#{id}")}</a>
            })}</td>
            <td class="row-actions">
                <button class="pause" on:click=toggle>{if paused { "Resume" } else { "Pause" }}</button>
                <RemoveButton on_remove=remove />
            </td>
        </tr>
    }
}

/// The form adding a schedule: a name, a cron expression and time zone,
/// and the job (a plugin action on targets, or a playbook file).
#[component]
fn ScheduleForm(on_done: Callback<Option<String>>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let cron = RwSignal::new(String::new());
    let tz = RwSignal::new(String::new());
    let draft = JobDraft::new();
    let overlap = RwSignal::new(false);
    let skip_missed = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let saving = RwSignal::new(false);
    let about = move |field: &'static str| error_about(error, field);
    let general = form_error(error);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(job) = draft.job_or_error(error) else {
            return;
        };
        let spec = ScheduleSpec {
            name: name.get().trim().to_string(),
            cron: cron.get().trim().to_string(),
            tz: Some(tz.get().trim().to_string()).filter(|t| !t.is_empty()),
            job,
            overlap: if overlap.get() {
                Overlap::Allow
            } else {
                Overlap::Skip
            },
            misfire: if skip_missed.get() {
                Misfire::Skip
            } else {
                Misfire::RunOnce
            },
        };
        saving.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::add_schedule(spec).await {
                Ok(added) => on_done.run(Some(format!(
                    "Added {}: next at {}.",
                    added.spec.name,
                    added
                        .next_runs_ms
                        .first()
                        .map(|at| when(*at))
                        .unwrap_or_default()
                ))),
                Err(e) => error.set(Some(e)),
            }
            saving.set(false);
        });
    };
    view! {
        <form class="panel schedule-form" on:submit=save>
            <h2>"Add a schedule"</h2>
            <div class="grid2">
                <TextField label="Name" name="schedule-name" value=name error=about("name") placeholder="nightly-patch" />
                <TextField label="Cron" name="cron" value=cron error=about("cron") placeholder="0 3 * * *"
                    hint="5 fields, or 6 with seconds first (*/10 * * * * *)." />
                <TextField label="Time zone" name="tz" value=tz error=about("tz") placeholder="UTC, or Europe/Paris" />
                <JobFields draft=draft error=error />
                <label class="check"><input type="checkbox" id="field-overlap" prop:checked=move || overlap.get()
                    on:change=move |ev| overlap.set(event_target_checked(&ev)) />" Start even while its last job runs"</label>
                <label class="check"><input type="checkbox" id="field-skip-missed" prop:checked=move || skip_missed.get()
                    on:change=move |ev| skip_missed.set(event_target_checked(&ev)) />" Skip times missed while the service was down"</label>
            </div>
            <Notice message=general />
            <div class="actions">
                <button type="submit" class="primary" id="save-schedule" disabled=move || saving.get()>
                    {move || if saving.get() { "Adding…" } else { "Add" }}
                </button>
                <button type="button" on:click=move |_| on_done.run(None)>"Cancel"</button>
            </div>
        </form>
    }
}
