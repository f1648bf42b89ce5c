//! What a block, an import or a role call hands down to every task it
//! holds.

use serde_json::Value as Json;

use super::scalars::{boolean, conditions, string, strings, vars};
use super::{Step, Task};
use crate::playbook::PlaybookError;
use capstan_yaml::{Key, Node};

/// Keywords a block or an import hands down to every task it holds: its
/// conditions come first and its tags add up; its `become`, `no_log` and
/// `ignore_errors` hold where a task sets none; its vars sit under the
/// task's own.
#[derive(Debug, Default)]
pub(super) struct HandedDown {
    pub when: Vec<String>,
    pub tags: Vec<String>,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub no_log: Option<bool>,
    pub ignore_errors: Option<bool>,
    pub vars: Vec<(String, Json)>,
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
            "vars" => self.vars = vars(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub(super) fn hand_down(&self, steps: &mut [Step]) {
        for step in steps {
            match step {
                Step::Task(task) => self.hand_to(task),
                Step::Block(block) => {
                    for steps in [&mut block.body, &mut block.rescue, &mut block.always] {
                        self.hand_down(steps);
                    }
                }
            }
        }
    }

    pub(super) fn hand_to(&self, task: &mut Task) {
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
        task.ignore_errors = task.ignore_errors.or(self.ignore_errors);
        if !self.vars.is_empty() {
            task.vars = self.vars.iter().chain(&task.vars).cloned().collect();
        }
    }
}
