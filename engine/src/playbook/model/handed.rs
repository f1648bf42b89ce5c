//! What a block, an import or a role call hands down to every task it
//! holds.

use serde_json::Value as Json;

use super::scalars::{boolean, conditions, environment, string, strings, switch, throttle, vars};
use std::sync::Arc;

use super::{Include, RoleScope, Step, Switch, Task};
use crate::playbook::PlaybookError;
use capstan_yaml::{Key, Node};

/// The keywords [`HandedDown`] reads.
pub(super) const HANDED_KEYS: &[&str] = &[
    "when",
    "tags",
    "become",
    "become_user",
    "no_log",
    "ignore_errors",
    "any_errors_fatal",
    "run_once",
    "delegate_to",
    "delegate_facts",
    "check_mode",
    "diff",
    "environment",
    "ignore_unreachable",
    "throttle",
    "remote_user",
    "vars",
    "notify",
];

/// Keywords a block or an import hands down to every task it holds: its
/// conditions come first and its tags add up; its `become`, `no_log` and
/// `ignore_errors` hold where a task sets none; its vars sit under the
/// task's own.
#[derive(Debug, Default, Clone)]
pub struct HandedDown {
    pub(super) when: Vec<String>,
    pub(super) tags: Vec<String>,
    pub(super) become_: Option<bool>,
    pub(super) become_user: Option<String>,
    pub(super) no_log: Option<bool>,
    pub(super) ignore_errors: Option<bool>,
    pub(super) any_errors_fatal: Option<bool>,
    pub(super) run_once: Option<Switch>,
    pub(super) delegate_to: Option<String>,
    pub(super) delegate_facts: Option<bool>,
    pub(super) check_mode: Option<bool>,
    pub(super) diff: Option<bool>,
    pub(super) environment: Vec<Json>,
    pub(super) ignore_unreachable: Option<bool>,
    pub(super) throttle: Option<u32>,
    pub(super) remote_user: Option<String>,
    pub(super) vars: Vec<(String, Json)>,
    /// `notify:`, for the tasks that notify nothing themselves.
    pub(super) notify: Vec<String>,
    /// The variables of the `include_role` whose tasks these are.
    pub(super) role_scope: Option<Arc<RoleScope>>,
}

impl HandedDown {
    /// Reads `key` if it is one it hands down; false if it is not.
    pub(super) fn read(&mut self, key: &Key, value: &Node) -> Result<bool, PlaybookError> {
        match key.name.as_str() {
            "when" => self.when = conditions(value)?,
            "tags" => self.tags = strings(value, "tags")?,
            "become" => self.become_ = Some(boolean(value, "become")?),
            "become_user" => self.become_user = Some(string(value, "become_user")?),
            "no_log" => self.no_log = Some(boolean(value, "no_log")?),
            "ignore_errors" => self.ignore_errors = Some(boolean(value, "ignore_errors")?),
            "any_errors_fatal" => {
                self.any_errors_fatal = Some(boolean(value, "any_errors_fatal")?);
            }
            "run_once" => self.run_once = Some(switch(value, "run_once")?),
            "delegate_to" => self.delegate_to = Some(string(value, "delegate_to")?),
            "delegate_facts" => self.delegate_facts = Some(boolean(value, "delegate_facts")?),
            "check_mode" => self.check_mode = Some(boolean(value, "check_mode")?),
            "diff" => self.diff = Some(boolean(value, "diff")?),
            "environment" => self.environment = vec![environment(value)?],
            "ignore_unreachable" => {
                self.ignore_unreachable = Some(boolean(value, "ignore_unreachable")?);
            }
            "throttle" => self.throttle = Some(throttle(value)?),
            "remote_user" => self.remote_user = Some(string(value, "remote_user")?),
            "vars" => self.vars = vars(value)?,
            "notify" => self.notify = strings(value, "notify")?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Hands these keywords down to every task in `steps`.
    pub fn hand_down(&self, steps: &mut [Step]) {
        for step in steps {
            match step {
                Step::Task(task) => self.hand_to(task),
                Step::Block(block) => {
                    for steps in [&mut block.body, &mut block.rescue, &mut block.always] {
                        self.hand_down(steps);
                    }
                }
                // The include is run or not by the conditions and tags
                // around it; the rest reaches the tasks it brings.
                Step::Include(include) => self.hand_to_include(include),
            }
        }
    }

    /// Hands these keywords to an include: its conditions and tags decide
    /// whether it runs; the rest reaches the tasks it brings.
    fn hand_to_include(&self, include: &mut Include) {
        include.when = self.when.iter().chain(&include.when).cloned().collect();
        for tag in &self.tags {
            if !include.tags.contains(tag) {
                include.tags.push(tag.clone());
            }
        }
        include.handed.absorb(self);
        if let Some(steps) = &mut include.steps {
            self.without_when_and_tags().hand_down(steps);
        }
    }

    /// Only variables, handed under each task's own (an include's `vars`
    /// and loop item).
    pub fn with_vars(vars: Vec<(String, Json)>) -> HandedDown {
        HandedDown {
            vars,
            ..HandedDown::default()
        }
    }

    /// Takes what an enclosing `outer` hands down, under its own.
    fn absorb(&mut self, outer: &HandedDown) {
        self.become_ = self.become_.or(outer.become_);
        if self.become_user.is_none() {
            self.become_user = outer.become_user.clone();
        }
        self.no_log = self.no_log.or(outer.no_log);
        if self.notify.is_empty() {
            self.notify = outer.notify.clone();
        }
        self.ignore_errors = self.ignore_errors.or(outer.ignore_errors);
        self.any_errors_fatal = self.any_errors_fatal.or(outer.any_errors_fatal);
        if self.run_once.is_none() {
            self.run_once = outer.run_once.clone();
        }
        if self.delegate_to.is_none() {
            self.delegate_to = outer.delegate_to.clone();
        }
        self.delegate_facts = self.delegate_facts.or(outer.delegate_facts);
        self.check_mode = self.check_mode.or(outer.check_mode);
        self.diff = self.diff.or(outer.diff);
        self.environment = outer
            .environment
            .iter()
            .chain(&self.environment)
            .cloned()
            .collect();
        self.ignore_unreachable = self.ignore_unreachable.or(outer.ignore_unreachable);
        self.throttle = self.throttle.or(outer.throttle);
        self.remote_user = self
            .remote_user
            .clone()
            .or_else(|| outer.remote_user.clone());
        self.vars = outer.vars.iter().chain(&self.vars).cloned().collect();
        if self.role_scope.is_none() {
            self.role_scope = outer.role_scope.clone();
        }
    }

    /// The tags it adds.
    pub(super) fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The same without its tags (a play took them).
    pub(super) fn without_tags(&self) -> HandedDown {
        HandedDown {
            tags: Vec::new(),
            ..self.clone()
        }
    }

    /// The same, without conditions or tags (an include checked those).
    pub fn without_when_and_tags(&self) -> HandedDown {
        HandedDown {
            when: Vec::new(),
            ..self.without_tags()
        }
    }

    pub(super) fn hand_to(&self, task: &mut Task) {
        if let Some(include) = &mut task.include {
            // An `include_tasks` among handlers.
            self.hand_to_include(Arc::make_mut(include));
        }
        if !self.when.is_empty() {
            task.when = self.when.iter().chain(&task.when).cloned().collect();
        }
        for tag in &self.tags {
            if !task.tags.contains(tag) {
                task.tags.push(tag.clone());
            }
        }
        task.become_ = task.become_.or(self.become_);
        if task.become_user.is_none() {
            task.become_user = self.become_user.clone();
        }
        task.no_log = task.no_log.or(self.no_log);
        if task.notify.is_empty() {
            task.notify = self.notify.clone();
        }
        task.ignore_errors = task.ignore_errors.or(self.ignore_errors);
        task.any_errors_fatal = task.any_errors_fatal.or(self.any_errors_fatal);
        if task.run_once.is_none() {
            task.run_once = self.run_once.clone();
        }
        if task.delegate_to.is_none() {
            task.delegate_to = self.delegate_to.clone();
        }
        task.delegate_facts = task.delegate_facts.or(self.delegate_facts);
        task.check_mode = task.check_mode.or(self.check_mode);
        task.diff = task.diff.or(self.diff);
        if !self.environment.is_empty() {
            task.environment = self
                .environment
                .iter()
                .chain(&task.environment)
                .cloned()
                .collect();
        }
        task.ignore_unreachable = task.ignore_unreachable.or(self.ignore_unreachable);
        task.throttle = task.throttle.or(self.throttle);
        task.remote_user = task
            .remote_user
            .clone()
            .or_else(|| self.remote_user.clone());
        if !self.vars.is_empty() {
            task.vars = self.vars.iter().chain(&task.vars).cloned().collect();
        }
        if task.role_scope.is_none() {
            task.role_scope = self.role_scope.clone();
        }
    }

    /// Only an `include_role`'s variables, for the tasks it brings.
    pub(super) fn with_role_scope(scope: Arc<RoleScope>) -> HandedDown {
        HandedDown {
            role_scope: Some(scope),
            ..HandedDown::default()
        }
    }

    /// The variables it hands down, outermost first.
    pub fn vars(&self) -> &[(String, Json)] {
        &self.vars
    }

    /// The `include_role` variables it hands down, if any.
    pub fn role_scope(&self) -> Option<&RoleScope> {
        self.role_scope.as_deref()
    }

    /// The same, shared.
    pub fn role_scope_shared(&self) -> Option<&Arc<RoleScope>> {
        self.role_scope.as_ref()
    }
}

/// Gives every task and include in `steps` that sees the role variables
/// `own` the variables `chained` instead (`own` within the role that
/// included it).
pub fn rescope(steps: &mut [Step], own: &Arc<RoleScope>, chained: &Arc<RoleScope>) {
    for step in steps {
        match step {
            Step::Task(task) => rescope_task(task, own, chained),
            Step::Block(block) => {
                for steps in [&mut block.body, &mut block.rescue, &mut block.always] {
                    rescope(steps, own, chained);
                }
            }
            Step::Include(include) => rescope_include(include, own, chained),
        }
    }
}

/// [`rescope`] for one task (or handler).
pub fn rescope_task(task: &mut Task, own: &Arc<RoleScope>, chained: &Arc<RoleScope>) {
    if task
        .role_scope
        .as_ref()
        .is_some_and(|s| Arc::ptr_eq(s, own))
    {
        task.role_scope = Some(chained.clone());
    }
    if let Some(include) = &mut task.include {
        rescope_include(Arc::make_mut(include), own, chained);
    }
}

/// [`rescope`] for an include and the steps it already holds.
fn rescope_include(include: &mut Include, own: &Arc<RoleScope>, chained: &Arc<RoleScope>) {
    if let Some(scope) = &include.handed.role_scope
        && Arc::ptr_eq(scope, own)
    {
        include.handed.role_scope = Some(chained.clone());
    }
    if let Some(steps) = &mut include.steps {
        rescope(steps, own, chained);
    }
}
