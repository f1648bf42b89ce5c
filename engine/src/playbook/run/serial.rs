//! A play's hosts in `serial:` batches, and the limits that stop the play
//! (and the run) part way: `any_errors_fatal` and `max_fail_percentage`
//! after each task, and a batch whose every host failed.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Map, Value as Json};

use super::host_state::{HostState, PlayHosts};
use crate::playbook::PlaybookError;
use crate::playbook::model::{BatchSize, Play, Strategy};
use crate::playbook::template::{Origin, Scope, Templates};

/// The play's strategy, its template (if written as one) read with the
/// play's variables and the extra ones.
pub(super) fn strategy(
    play: &Play,
    templates: &Templates,
    extra: &Map<String, Json>,
) -> Result<Strategy, PlaybookError> {
    let Strategy::Template(text) = &play.strategy else {
        return Ok(play.strategy.clone());
    };
    let rendered = render_keyword(play, templates, extra, "strategy", text)?;
    Strategy::named(&rendered).map_err(|e| PlaybookError::at(&play.pos, e))
}

/// A play keyword written as a template (`serial`, `strategy`), read as
/// Ansible reads it: with the play's variables and the extra ones.
fn render_keyword(
    play: &Play,
    templates: &Templates,
    extra: &Map<String, Json>,
    keyword: &str,
    text: &str,
) -> Result<String, PlaybookError> {
    let play_vars: Map<String, Json> = play.vars.iter().cloned().collect();
    let scope = Scope::layered([(&play_vars, Origin::Written), (extra, Origin::Written)]);
    templates
        .render_text(text, &scope)
        .map_err(|e| PlaybookError::at(&play.pos, format!("{keyword} `{text}`: {e}")))
}

/// Splits `hosts` into batches of `sizes` (the last size repeats; a
/// percentage counts from all of `hosts`, at least one; 0 takes all that
/// are left). No sizes: one batch. Templated sizes are rendered with the
/// play's vars and the extra vars.
pub(super) fn batches(
    play: &Play,
    hosts: &[usize],
    templates: &Templates,
    extra: &Map<String, Json>,
) -> Result<Vec<Vec<usize>>, PlaybookError> {
    let mut sizes = Vec::new();
    for size in &play.serial {
        let counted = match size {
            BatchSize::Template(text) => {
                let rendered = render_keyword(play, templates, extra, "serial", text)?;
                BatchSize::parse(rendered.trim()).ok_or_else(|| {
                    PlaybookError::at(
                        &play.pos,
                        format!(
                            "serial `{text}` gave `{rendered}`, which is neither a number nor a \
                             percentage"
                        ),
                    )
                })?
            }
            other => other.clone(),
        };
        sizes.push(match counted {
            BatchSize::Count(n) => n,
            BatchSize::Percent(p) => ((p * hosts.len()) / 100).max(1),
            BatchSize::Template(_) => unreachable!("rendered above"),
        });
    }
    Ok(split(hosts, &sizes))
}

/// `hosts` cut into batches of `sizes`, the last size repeating.
fn split(hosts: &[usize], sizes: &[usize]) -> Vec<Vec<usize>> {
    if hosts.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut turn = 0;
    while !rest.is_empty() {
        let size = match sizes.get(turn).or(sizes.last()) {
            Some(0) | None => rest.len(),
            Some(&n) => n.min(rest.len()),
        };
        out.push(rest[..size].to_vec());
        rest = &rest[size..];
        turn += 1;
    }
    out
}

/// One batch of a play under way, with the limits that can stop it.
pub(super) struct Batch {
    /// Its hosts, as indices into the run's host states.
    pub hosts: Vec<usize>,
    /// `max_fail_percentage:` of the play.
    max_fail_percentage: Option<f64>,
    /// `any_errors_fatal:` of the play.
    any_errors_fatal: bool,
    /// Set once a limit stopped it: no later batch or play runs.
    broken: AtomicBool,
    /// Which limit, in words.
    reason: OnceLock<String>,
    /// Set by `meta: end_play`: no later batch of the play runs.
    play_ended: AtomicBool,
    /// How many blocks with a `rescue:` the batch is inside now: a host
    /// that fails there goes to its rescue.
    rescuable: AtomicUsize,
    /// How many `include_tasks` handlers the batch is inside now: the
    /// tasks they bring run as handlers.
    in_handlers: AtomicUsize,
    /// The play's hosts by name as the batch started (none under the
    /// `free` strategy, where each host runs alone).
    names: Option<PlayHosts>,
    /// How many of the batch's hosts the last refresh of the play's host
    /// lists left out (they had failed or been lost).
    left_out: AtomicUsize,
}

impl Batch {
    /// A batch of `play` over `hosts`.
    pub fn new(play: &Play, hosts: Vec<usize>) -> Batch {
        Batch {
            hosts,
            max_fail_percentage: play.max_fail_percentage,
            any_errors_fatal: play.any_errors_fatal,
            broken: AtomicBool::new(false),
            reason: OnceLock::new(),
            play_ended: AtomicBool::new(false),
            rescuable: AtomicUsize::new(0),
            in_handlers: AtomicUsize::new(0),
            names: None,
            left_out: AtomicUsize::new(0),
        }
    }

    /// How many of its hosts have failed or been lost.
    pub fn failed(&self, states: &[Option<HostState>]) -> usize {
        self.hosts
            .iter()
            .filter(|i| {
                states[**i]
                    .as_ref()
                    .is_some_and(|s| s.failed || s.unreachable)
            })
            .count()
    }

    /// After a task that left `failed_before` of its hosts failed: whether
    /// a limit is crossed (a new failure where errors are fatal —
    /// `fatal` is the task's own `any_errors_fatal` — or more than
    /// `max_fail_percentage` of the batch failed). Then every host of the
    /// batch still going ends the play (a failed one may yet run its
    /// block's `rescue:` and `always:`) and the batch is broken.
    pub fn check(
        &self,
        states: &mut [Option<HostState>],
        failed_before: usize,
        fatal: Option<bool>,
    ) -> bool {
        let failed = self.failed(states);
        // As Ansible's: a fatal failure stops the hosts still going; when
        // there are none and the failed hosts go to a rescue, it stops
        // nothing.
        let still_going = self
            .hosts
            .iter()
            .any(|i| states[*i].as_ref().is_some_and(HostState::active));
        let rescued = self.rescuable.load(Ordering::Relaxed) > 0;
        let fatal_failure = fatal.unwrap_or(self.any_errors_fatal)
            && failed > failed_before
            && (still_going || !rescued);
        let too_many = self
            .max_fail_percentage
            .is_some_and(|limit| failed as f64 / self.hosts.len() as f64 > limit / 100.0);
        if !(fatal_failure || too_many) {
            return self.is_broken();
        }
        let reason = if fatal_failure {
            "a host failed where any_errors_fatal holds".to_string()
        } else {
            format!(
                "{failed} of the batch's {} hosts failed, more than max_fail_percentage {}",
                self.hosts.len(),
                self.max_fail_percentage.unwrap_or_default()
            )
        };
        let _ = self.reason.set(reason);
        self.end(states);
        true
    }

    /// Ends the play for every host of the batch still going, and marks
    /// the batch broken.
    pub fn end(&self, states: &mut [Option<HostState>]) {
        self.end_batch(states);
        self.broken.store(true, Ordering::Relaxed);
    }

    /// Ends the play for every host of the batch still going
    /// (`meta: end_batch`).
    pub fn end_batch(&self, states: &mut [Option<HostState>]) {
        for &i in &self.hosts {
            if let Some(state) = states[i].as_mut().filter(|s| s.active()) {
                state.ended = true;
            }
        }
    }

    /// Ends the play: this batch's hosts and every later batch
    /// (`meta: end_play`).
    pub fn end_play(&self, states: &mut [Option<HostState>]) {
        self.end_batch(states);
        self.play_ended.store(true, Ordering::Relaxed);
    }

    /// Marks the batch inside (or out of) a block body with a `rescue:`.
    pub fn enter_rescuable(&self, inside: bool) {
        if inside {
            self.rescuable.fetch_add(1, Ordering::Relaxed);
        } else {
            self.rescuable.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The same batch, knowing the play's hosts by name (`enter_play`'s).
    pub fn naming(self, names: PlayHosts) -> Batch {
        Batch {
            names: Some(names),
            ..self
        }
    }

    /// Brings `ansible_play_hosts`, `ansible_play_batch` and `play_hosts`
    /// up to date on the chosen hosts: as Ansible's, they leave out the
    /// hosts that failed or were lost since the batch started (and take
    /// back those `meta: clear_host_errors` brought back).
    pub fn refresh_play_hosts(&self, states: &mut [Option<HostState>], chosen: &[usize]) {
        let Some(names) = &self.names else {
            return;
        };
        let out: Vec<String> = self
            .hosts
            .iter()
            .filter_map(|&i| states[i].as_ref())
            .filter(|s| !s.in_run())
            .map(|s| s.name.clone())
            .collect();
        if out.is_empty() && self.left_out.load(Ordering::Relaxed) == 0 {
            return;
        }
        self.left_out.store(out.len(), Ordering::Relaxed);
        let kept = |list: &[String]| -> Json {
            Json::from(
                list.iter()
                    .filter(|n| !out.contains(n))
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        };
        let (left, batch) = (kept(&names.left), kept(&names.batch));
        for &i in chosen {
            if let Some(state) = states[i].as_mut() {
                state
                    .play_vars
                    .insert("ansible_play_hosts".into(), left.clone());
                state
                    .play_vars
                    .insert("ansible_play_batch".into(), batch.clone());
                state.play_vars.insert("play_hosts".into(), batch.clone());
            }
        }
    }

    /// Counts the batch into (or out of) an `include_tasks` handler.
    pub fn enter_handler_include(&self, inside: bool) {
        if inside {
            self.in_handlers.fetch_add(1, Ordering::Relaxed);
        } else {
            self.in_handlers.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Whether the tasks running now are handlers an include brought.
    pub fn running_handlers(&self) -> bool {
        self.in_handlers.load(Ordering::Relaxed) > 0
    }

    /// Whether `meta: end_play` ended the play.
    pub fn play_ended(&self) -> bool {
        self.play_ended.load(Ordering::Relaxed)
    }

    /// Whether a limit stopped it.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Why the run stops after it, if it does: a limit broke it, or every
    /// one of its hosts failed.
    pub fn stop_reason(&self, states: &[Option<HostState>]) -> Option<String> {
        if let Some(reason) = self.reason.get() {
            return Some(reason.clone());
        }
        (self.failed(states) == self.hosts.len())
            .then(|| "every host of the batch failed".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::super::host_state::tests::empty_play;
    use super::*;

    #[test]
    fn batches_follow_their_sizes_and_the_last_repeats() {
        let hosts: Vec<usize> = (0..10).collect();
        let lens =
            |sizes: &[usize]| -> Vec<usize> { split(&hosts, sizes).iter().map(Vec::len).collect() };
        assert_eq!(lens(&[]), [10]);
        assert_eq!(lens(&[4]), [4, 4, 2]);
        assert_eq!(lens(&[1, 3]), [1, 3, 3, 3]);
        assert_eq!(lens(&[0]), [10]);
        assert_eq!(lens(&[20]), [10]);
        assert!(split(&[], &[2]).is_empty());
    }

    #[test]
    fn percentages_count_from_the_whole_play() {
        let play = Play {
            serial: vec![BatchSize::Count(1), BatchSize::Percent(30)],
            ..empty_play()
        };
        let hosts: Vec<usize> = (0..10).collect();
        let got = batches(&play, &hosts, &Templates::new(), &Map::new()).unwrap();
        let lens: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(lens, [1, 3, 3, 3]);
        let tiny = Play {
            serial: vec![BatchSize::Percent(1)],
            ..play
        };
        assert_eq!(
            batches(&tiny, &hosts, &Templates::new(), &Map::new()).unwrap()[0].len(),
            1
        );
    }

    #[test]
    fn a_templated_size_is_rendered_and_checked() {
        let mut extra = Map::new();
        extra.insert("step".into(), Json::from("50%"));
        let play = Play {
            serial: vec![BatchSize::Template("{{ step }}".into())],
            ..empty_play()
        };
        let hosts: Vec<usize> = (0..4).collect();
        let got = batches(&play, &hosts, &Templates::new(), &extra).unwrap();
        assert_eq!(got, [vec![0, 1], vec![2, 3]]);
        extra.insert("step".into(), Json::from("half"));
        let err = batches(&play, &hosts, &Templates::new(), &extra).unwrap_err();
        assert!(err.to_string().contains("gave `half`"), "{err}");
    }
}
