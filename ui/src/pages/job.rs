//! One job, live: a grid of hosts by tasks in Ansible's colours, the
//! output as it streams, diffs, the recap, and re-run. A job started from
//! this window is drawn from its events; any other (one the CLI runs, or
//! one from before the window opened) from the store, read again every
//! second while it runs.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::api::{self, JobDetail, JobState, LogLine, ResultStatus};
use crate::components::field::Notice;
use crate::components::status::{Status, duration, when};
use crate::components::virtual_list::VirtualList;
use crate::live::{LiveJob, ShownLine, live, result_line, task_line};
use crate::{Route, go};

const LINE_HEIGHT: f64 = 20.0;

/// A grid of hosts by columns (an action, or a playbook's tasks).
#[derive(Debug, Clone, Default, PartialEq)]
struct Grid {
    hosts: Vec<String>,
    columns: Vec<String>,
    /// `(host, column)` → `(status, summary, diff)`.
    cells: HashMap<(String, usize), (String, String, Option<String>)>,
}

impl Grid {
    fn of_action(action: &str, targets: &[String], results: &[api::TargetResult]) -> Grid {
        let mut grid = Grid {
            hosts: targets.to_vec(),
            columns: vec![action.to_string()],
            cells: HashMap::new(),
        };
        for r in results {
            if !grid.hosts.contains(&r.target) {
                grid.hosts.push(r.target.clone());
            }
            let summary = match &r.failure {
                Some(kind) => format!("[{kind}] {}", r.summary),
                None => r.summary.clone(),
            };
            grid.cells.insert(
                (r.target.clone(), 0),
                (r.status.name().to_string(), summary, r.diff.clone()),
            );
        }
        grid
    }

    fn of_playbook(hosts: &[String], tasks: &[api::TaskOutcome]) -> Grid {
        let mut grid = Grid {
            hosts: hosts.to_vec(),
            ..Grid::default()
        };
        // A task name can come back in another play: a column per run of it.
        let mut column_of: HashMap<(String, String), usize> = HashMap::new();
        let mut seen: HashMap<(String, usize), ()> = HashMap::new();
        for t in tasks {
            let key = (t.play.clone(), t.task.clone());
            let mut column = *column_of.entry(key.clone()).or_insert_with(|| {
                grid.columns.push(t.task.clone());
                grid.columns.len() - 1
            });
            if seen.contains_key(&(t.host.clone(), column)) {
                grid.columns.push(t.task.clone());
                column = grid.columns.len() - 1;
                column_of.insert(key, column);
            }
            seen.insert((t.host.clone(), column), ());
            if !grid.hosts.contains(&t.host) {
                grid.hosts.push(t.host.clone());
            }
            let status = if t.ignored {
                "ignored".to_string()
            } else {
                t.status.name().to_string()
            };
            grid.cells.insert(
                (t.host.clone(), column),
                (status, t.summary.clone(), t.diff.clone()),
            );
        }
        grid
    }
}

/// What the page draws, from the live events or from the store.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    playbook: bool,
    grid: Grid,
    finished: bool,
    state: JobState,
    overall: Option<ResultStatus>,
    recap: Vec<api::Recap>,
}

fn shown_from_live(job: &LiveJob, detail: Option<&JobDetail>) -> Shown {
    let (playbook, action) = detail.map_or((job.targets.is_empty(), String::new()), |d| {
        (d.job.is_playbook(), d.job.action.clone())
    });
    let grid = if playbook {
        Grid::of_playbook(&job.targets, &job.tasks)
    } else {
        Grid::of_action(&action, &job.targets, &job.results)
    };
    Shown {
        playbook,
        grid,
        finished: job.finished,
        // How it ended (finished, cancelled) is the store's word, read
        // again once it ends.
        state: match detail.map(|d| d.job.state) {
            Some(state) if job.finished && state != JobState::Running => state,
            _ if job.finished => JobState::Finished,
            _ => JobState::Running,
        },
        overall: job.overall,
        recap: job.recap.clone(),
    }
}

fn shown_from_store(detail: &JobDetail) -> Shown {
    let job = &detail.job;
    let playbook = job.is_playbook();
    let grid = if playbook {
        Grid::of_playbook(&job.targets, &detail.tasks)
    } else {
        Grid::of_action(&job.action, &job.targets, &job.results)
    };
    Shown {
        playbook,
        grid,
        finished: job.state != JobState::Running,
        state: job.state,
        overall: detail.overall,
        recap: detail.recap.clone(),
    }
}

/// Lines of a job read from the store: its log, and a playbook's tasks.
fn stored_lines(detail: &JobDetail, logs: Vec<LogLine>) -> Vec<ShownLine> {
    let mut lines: Vec<ShownLine> = logs.into_iter().map(ShownLine::from).collect();
    lines.extend(detail.tasks.iter().map(task_line));
    if !detail.job.is_playbook() {
        lines.extend(detail.job.results.iter().map(result_line));
    }
    lines
}

/// The live job view.
#[component]
pub fn Job(id: i64) -> impl IntoView {
    let live = live();
    let reload = RwSignal::new(0_u32);
    let detail = LocalResource::new(move || {
        reload.track();
        api::job(id, false)
    });
    let complete = Memo::new(move |_| {
        live.jobs
            .with(|jobs| jobs.get(&id).is_some_and(|j| j.complete))
    });
    // The stored log, only for a job whose lines its events do not bring.
    let stored_log = LocalResource::new(move || {
        reload.track();
        let live = complete.get();
        async move {
            if live {
                Vec::new()
            } else {
                api::job(id, true).await.map(|d| d.logs).unwrap_or_default()
            }
        }
    });
    let live_finished = Memo::new(move |_| {
        live.jobs
            .with(|jobs| jobs.get(&id).is_some_and(|j| j.finished))
    });
    // Read the store again when the live job ends (durations, saved results).
    Effect::new(move |previous: Option<bool>| {
        let finished = live_finished.get();
        if previous == Some(false) && finished {
            reload.update(|n| *n += 1);
        }
        finished
    });
    let detail_value = Signal::derive(move || detail.get().and_then(Result::ok));
    // A job this window did not start is read again while it runs.
    let poll = set_interval_with_handle(
        move || {
            let running = detail_value
                .with_untracked(|d| d.as_ref().is_some_and(|d| d.job.state == JobState::Running));
            if running && !complete.get_untracked() {
                reload.update(|n| *n += 1);
            }
        },
        std::time::Duration::from_secs(1),
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = poll {
            handle.clear();
        }
    });

    let shown = Memo::new(move |_| {
        let stored = detail_value.get();
        if complete.get() {
            live.jobs
                .with(|jobs| jobs.get(&id).map(|j| shown_from_live(j, stored.as_ref())))
        } else {
            stored.as_ref().map(shown_from_store)
        }
    });
    let stored_lines = Memo::new(move |_| {
        let logs = stored_log.get().unwrap_or_default();
        detail_value
            .get()
            .map(|d| stored_lines(&d, logs))
            .unwrap_or_default()
    });
    let line_count = Signal::derive(move || {
        if complete.get() {
            live.jobs
                .with(|jobs| jobs.get(&id).map_or(0, |j| j.lines.len()))
        } else {
            stored_lines.with(Vec::len)
        }
    });
    let line = Callback::new(move |i: usize| {
        let line = if complete.get_untracked() {
            live.jobs
                .with_untracked(|jobs| jobs.get(&id).and_then(|j| j.lines.get(i).cloned()))
        } else {
            stored_lines.with_untracked(|lines| lines.get(i).cloned())
        };
        match line {
            Some(l) => view! {
                <div class=format!("line level-{}", l.class) role="listitem">
                    <span class="line-target">{l.target}</span>
                    <span class="line-text">{l.message}</span>
                </div>
            }
            .into_any(),
            None => ().into_any(),
        }
    });
    let selected = RwSignal::new(None::<(String, usize)>);
    let notice = RwSignal::new(None::<(bool, String)>);
    let cancel = move |_| {
        leptos::task::spawn_local(async move {
            match api::cancel_job(id).await {
                Ok(said) => notice.set(Some((true, said))),
                Err(e) => notice.set(Some((false, e.message))),
            }
        });
    };
    let rerun = move |_| {
        leptos::task::spawn_local(async move {
            match api::rerun(id).await {
                Ok(new) => go(Route::Job(new)),
                Err(e) => notice.set(Some((false, e.message))),
            }
        });
    };

    view! {
        // `data-live`: drawn from the job's events (this window started it),
        // not from the store.
        <div class="job-page" data-live=move || complete.get().to_string()>
        <header class="page-head">
            <div>
                <button class="back linklike" on:click=move |_| go(Route::Jobs)>"← Jobs"</button>
                <h1 id="job-title">
                    {format!("Job #{id}")}
                    {move || detail_value.get().map(|d| view! { <span class="job-what">{what(&d)}</span> })}
                </h1>
                {move || detail_value.get().map(|d| view! {
                    <div class="muted small">
                        {format!("started {} · targets: {}", when(d.job.started_at_ms), d.job.targets.join(", "))}
                        {d.job.check.then(|| view! { <span class="tag">"check mode"</span> })}
                        {d.job.finished_at_ms.map(|end| format!(" · took {}", duration(end - d.job.started_at_ms)))}
                    </div>
                })}
            </div>
            <div class="actions">
                <span id="job-state">{move || shown.get().map(|s| view! { <Status status=s.state /> })}</span>
                <span id="job-overall">{move || shown.get().and_then(|s| s.overall).map(|o| view! { <Status status=o /> })}</span>
                <button id="cancel" on:click=cancel hidden=move || shown.get().is_none_or(|s| s.finished)>"Cancel"</button>
                <button id="rerun" on:click=rerun disabled=move || !shown.get().is_some_and(|s| s.finished)>"Re-run"</button>
            </div>
        </header>
        <Notice message=notice />
        {move || detail.get().and_then(|r| r.err()).map(|e| view! { <div class="notice error" role="alert">{e.message}</div> })}
        {move || detail_value.get().and_then(|d| d.job.error).map(|e| view! { <div class="notice error" id="job-error" role="alert">{e}</div> })}
        {move || shown.get().map(|s| view! { <GridView shown=s selected=selected /> })}
        {move || {
            let cell = selected.get()?;
            let s = shown.get()?;
            let (status, summary, diff) = s.grid.cells.get(&cell)?.clone();
            let column = s.grid.columns.get(cell.1).cloned().unwrap_or_default();
            Some(view! {
                <section class="cell-detail">
                    <h3>{format!("{} · {}", cell.0, column)}" "<Status status=status /></h3>
                    <p>{summary}</p>
                    {diff.map(|d| view! { <DiffView diff=d /> })}
                </section>
            })
        }}
        {move || shown.get().filter(|s| !s.recap.is_empty()).map(|s| view! { <RecapView recap=s.recap.clone() /> })}
        <section class="output">
            <h2>"Output" <span class="muted small">{move || {
                let n = line_count.get();
                format!(" {n} {}", if n == 1 { "line" } else { "lines" })
            }}</span></h2>
            <VirtualList len=line_count row_height=LINE_HEIGHT row=line follow=true class="log" label="Job output" />
        </section>
        {move || shown.get().map(|s| {
            let diffs: Vec<(String, String)> = s.grid.cells.iter()
                .filter_map(|((host, col), (_, _, diff))| diff.clone().map(|d| (format!("{host} · {}", s.grid.columns.get(*col).cloned().unwrap_or_default()), d)))
                .collect();
            (!diffs.is_empty()).then(|| view! {
                <section class="diffs">
                    <h2>"Diffs"</h2>
                    {diffs.into_iter().map(|(title, d)| view! { <h3>{title}</h3><DiffView diff=d /> }).collect_view()}
                </section>
            })
        })}
        </div>
    }
}

fn what(detail: &JobDetail) -> String {
    if detail.job.is_playbook() {
        format!(" playbook {}", detail.job.action)
    } else {
        format!(" {} {}", detail.job.plugin, detail.job.action)
    }
}

#[component]
fn GridView(shown: Shown, selected: RwSignal<Option<(String, usize)>>) -> impl IntoView {
    let grid = shown.grid;
    let finished = shown.finished;
    let columns = grid.columns.clone();
    view! {
        <div class="task-grid-wrap">
            <table class="task-grid" aria-label="Results by host and task">
                <thead><tr>
                    <th>"Host"</th>
                    {columns.iter().enumerate().map(|(i, c)| view! { <th title=c.clone()><span>{format!("{}. {c}", i + 1)}</span></th> }).collect_view()}
                    {(!finished && shown.playbook).then(|| view! { <th class="muted">"…"</th> })}
                </tr></thead>
                <tbody>
                    {grid.hosts.iter().map(|host| {
                        let host = host.clone();
                        view! {
                            <tr data-host=host.clone()>
                                <th>{host.clone()}</th>
                                {(0..columns.len()).map(|col| {
                                    let key = (host.clone(), col);
                                    match grid.cells.get(&key).cloned() {
                                        Some((status, summary, _)) => {
                                            let key2 = key.clone();
                                            view! {
                                                <td class=format!("cell status-bg-{status}")
                                                    class:selected=move || selected.get().as_ref() == Some(&key2)
                                                    title=summary tabindex="0"
                                                    on:click=move |_| selected.set(Some(key.clone()))>
                                                    {status.clone()}
                                                </td>
                                            }.into_any()
                                        }
                                        None if finished => view! { <td class="cell none">"—"</td> }.into_any(),
                                        None => view! { <td class="cell pending"><span class="pulse">"running"</span></td> }.into_any(),
                                    }
                                }).collect_view()}
                                {(!finished && shown.playbook).then(|| view! { <td class="cell pending"><span class="pulse">"…"</span></td> })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn RecapView(recap: Vec<api::Recap>) -> impl IntoView {
    view! {
        <section class="recap">
            <h2>"Play recap"</h2>
            <table>
                <thead><tr><th>"Host"</th><th>"ok"</th><th>"changed"</th><th>"unreachable"</th><th>"failed"</th><th>"skipped"</th></tr></thead>
                <tbody>
                    {recap.into_iter().map(|r| view! {
                        <tr>
                            <th>{r.host}</th>
                            <td class="status-ok">{r.ok}</td>
                            <td class:status-changed={r.changed > 0}>{r.changed}</td>
                            <td class:status-unreachable={r.unreachable > 0}>{r.unreachable}</td>
                            <td class:status-failed={r.failed > 0}>{r.failed}</td>
                            <td class="muted">{r.skipped}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// A unified diff with added lines green and removed lines red.
#[component]
fn DiffView(diff: String) -> impl IntoView {
    view! {
        <pre class="diff">
            {diff.lines().map(|l| {
                let class = match l.chars().next() {
                    Some('+') if !l.starts_with("+++") => "add",
                    Some('-') if !l.starts_with("---") => "del",
                    Some('@') => "hunk",
                    _ => "",
                };
                view! { <span class=class>{l.to_string()}"\n"</span> }
            }).collect_view()}
        </pre>
    }
}
