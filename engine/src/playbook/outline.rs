//! What a playbook would do, read without running it: each play's hosts
//! and the tasks the run's tags select (`--list-hosts`, `--list-tasks`).

use serde::Serialize;

use super::PlaybookOptions;
use super::model::{Playbook, Step};
use super::selection::{glob_matches, rendered_tags, selected_by_tags, task_names};
use super::template::Templates;
use crate::inventory::{Host, pattern};

/// A playbook's plays, as a run of its options would take them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlaybookOutline {
    /// The playbook file.
    pub playbook: String,
    /// Its plays, in order (those of imported playbooks in their place).
    pub plays: Vec<PlayOutline>,
}

/// One play of a [`PlaybookOutline`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlayOutline {
    /// Its name.
    pub name: String,
    /// Its `hosts:` pattern, as written.
    pub pattern: String,
    /// The play's own tags.
    pub tags: Vec<String>,
    /// The hosts it would run on (after `--limit`), in inventory order;
    /// empty when the pattern is a template, known only during the run.
    pub hosts: Vec<String>,
    /// The tasks the run's tags select, in order (a role's as
    /// `ROLE : NAME`; an include as itself, since what it brings is
    /// known only when a host reaches it).
    pub tasks: Vec<TaskOutline>,
}

/// One task of a [`PlayOutline`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaskOutline {
    /// Its name as shown.
    pub name: String,
    /// Its tags (with those handed down to it).
    pub tags: Vec<String>,
}

/// The outline of `playbook` on `inventory` for a run of `options`.
pub(crate) fn outline(
    playbook: &Playbook,
    inventory: &[Host],
    options: &PlaybookOptions,
) -> PlaybookOutline {
    let limited: Option<Vec<String>> = options
        .limit
        .as_ref()
        .and_then(|limit| pattern::select_names(limit, inventory).ok());
    let plays = playbook
        .plays
        .iter()
        .map(|play| {
            let hosts = pattern::select_names(&play.hosts, inventory)
                .unwrap_or_default()
                .into_iter()
                .filter(|h| limited.as_ref().is_none_or(|l| l.contains(h)))
                .collect();
            let mut tasks = Vec::new();
            let listing = Listing {
                play,
                options,
                templates: Templates::new(),
            };
            for steps in play.sections() {
                listing.tasks(steps, &mut tasks);
            }
            PlayOutline {
                name: play.name.clone(),
                pattern: play.hosts.clone(),
                tags: play.tags.clone(),
                hosts,
                tasks,
            }
        })
        .collect();
    PlaybookOutline {
        playbook: playbook.path.display().to_string(),
        plays,
    }
}

/// What `--list-tasks` lists a play's tasks with.
struct Listing<'a> {
    play: &'a super::model::Play,
    options: &'a PlaybookOptions,
    templates: Templates,
}

impl Listing<'_> {
    /// The play's own tags, rendered.
    fn play_tags(&self) -> Vec<String> {
        rendered_tags(&self.play.tags, self.play, &self.templates, self.options).into_owned()
    }

    /// The tasks of `steps` the run's tags select (`meta` tasks too, as
    /// Ansible lists them), each with its tags as the run reads them.
    fn tasks(&self, steps: &[Step], out: &mut Vec<TaskOutline>) {
        // Sorted and each once, as Ansible lists them.
        let tags = |written: &[String]| -> Vec<String> {
            let mut tags =
                rendered_tags(written, self.play, &self.templates, self.options).into_owned();
            tags.sort();
            tags.dedup();
            tags
        };
        for step in steps {
            match step {
                Step::Task(task) => {
                    let tags = tags(&task.tags);
                    if selected_by_tags(&tags, &self.play_tags(), self.options) {
                        out.push(TaskOutline {
                            name: task_names(task).swap_remove(0),
                            tags,
                        });
                    }
                }
                Step::Block(block) => {
                    for steps in [&block.body, &block.rescue, &block.always] {
                        self.tasks(steps, out);
                    }
                }
                Step::Include(include) => {
                    let tags = tags(&include.tags);
                    if selected_by_tags(&tags, &self.play_tags(), self.options) {
                        out.push(TaskOutline {
                            name: include.name.clone().unwrap_or_else(|| {
                                format!("{} : {}", include.module_name(), include.file)
                            }),
                            tags,
                        });
                    }
                }
            }
        }
    }
}

/// Whether a task of `playbook` that is read as it loads matches
/// `--start-at-task PATTERN` (one inside a task file read during the run
/// cannot be started at, as in Ansible).
pub(crate) fn has_start(playbook: &Playbook, pattern: &str) -> bool {
    playbook.plays.iter().any(|play| {
        play.all_tasks()
            .into_iter()
            .any(|task| task_names(task).iter().any(|n| glob_matches(pattern, n)))
    })
}
