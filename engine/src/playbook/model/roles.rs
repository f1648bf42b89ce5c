//! A role's folder as files: its `defaults/` and `vars/` mappings, its
//! `meta/` dependencies, and its task and handler files; and what the
//! roles of a play bring to it. Reading the task lists is `tasks`' job.

use std::sync::Arc;

use crate::vault::Vault;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::Task;
use super::scalars::{boolean, entries, vars};
use crate::playbook::PlaybookError;
use capstan_yaml::{Node, Pos, TopLevel, Yaml};

/// What the roles of one play bring to it besides their tasks: their
/// defaults (under every other variable) and vars (over the play's), in
/// the order the roles were read, their handlers, and which role ran with
/// which parameters (a role runs once per play for the same ones).
#[derive(Debug, Default)]
pub(crate) struct PlayRoles {
    pub defaults: Vec<(String, Json)>,
    pub vars: Vec<(String, Json)>,
    pub handlers: Vec<Task>,
    /// Handlers of roles an `include_role` brings: after the play's own,
    /// as Ansible adds them when the include runs (so of two handlers
    /// with one name, the included role's answers).
    pub included_handlers: Vec<Task>,
    pub ran: Vec<(PathBuf, String)>,
}

/// A role's folder.
#[derive(Debug)]
pub(super) struct RoleFolder {
    pub name: String,
    pub path: PathBuf,
    /// Opens its vault-encrypted vars files and values.
    pub vault: Arc<Vault>,
}

/// What `meta/main.yml` says: the roles to run first, and whether the
/// role may run more than once with the same parameters.
#[derive(Debug, Default)]
pub(super) struct RoleMeta {
    pub dependencies: Vec<Node>,
    pub allow_duplicates: bool,
}

impl RoleFolder {
    /// `SUB/main.yml` (or `main.yaml`, or `main`) of the role, if it has one.
    fn main_file(&self, sub: &str) -> Option<PathBuf> {
        self.file(sub, "main")
    }

    /// `SUB/NAME.yml` (or `.yaml`, or bare) of the role, if it has one.
    fn file(&self, sub: &str, name: &str) -> Option<PathBuf> {
        ["yml", "yaml", ""]
            .iter()
            .map(|ext| {
                let file = self.path.join(sub).join(name);
                if ext.is_empty() {
                    file
                } else {
                    file.with_extension(ext)
                }
            })
            .find(|p| p.is_file())
    }

    /// The file of `sub` to read: `SUB/main.yml`, or `SUB/FROM.yml` for a
    /// `*_from` option (which must exist); `None` when the role has no
    /// main file there.
    pub fn chosen_file(
        &self,
        sub: &str,
        from: Option<&str>,
        at: &Pos,
    ) -> Result<Option<PathBuf>, PlaybookError> {
        match from {
            None => Ok(self.main_file(sub)),
            Some(name) => {
                let stem = name.trim_end_matches(".yml").trim_end_matches(".yaml");
                self.file(sub, stem).map(Some).ok_or_else(|| {
                    PlaybookError::at(
                        at,
                        format!(
                            "role `{}` has no {sub} file `{name}` in {}",
                            self.name,
                            self.path.join(sub).display()
                        ),
                    )
                })
            }
        }
    }

    /// The mapping in the role's `defaults/` or `vars/` file (`sub`; its
    /// `main.yml` unless `from` names another), in file order; nothing
    /// when the role has none.
    pub fn vars(
        &self,
        sub: &str,
        from: Option<&str>,
        at: &Pos,
    ) -> Result<Vec<(String, Json)>, PlaybookError> {
        let Some(path) = self.chosen_file(sub, from, at)? else {
            return Ok(Vec::new());
        };
        let node = read(&self.vault, &path, TopLevel::Mapping, "role variables")?;
        vars(&node)
    }

    /// What `meta/main.yml` says (nothing when the role has none).
    pub fn meta(&self) -> Result<RoleMeta, PlaybookError> {
        let Some(path) = self.main_file("meta") else {
            return Ok(RoleMeta::default());
        };
        let node = read(&self.vault, &path, TopLevel::Mapping, "role meta")?;
        let mut meta = RoleMeta::default();
        if matches!(node.value, Yaml::Null) {
            return Ok(meta);
        }
        for (key, value) in entries(&node, "a role's meta")? {
            match key.name.as_str() {
                "dependencies" => {
                    meta.dependencies = match &value.value {
                        Yaml::Seq(items) => items.clone(),
                        Yaml::Null => Vec::new(),
                        _ => {
                            return Err(PlaybookError::at(
                                &value.pos,
                                "`dependencies` must be a list of roles",
                            ));
                        }
                    }
                }
                "allow_duplicates" => meta.allow_duplicates = boolean(value, "allow_duplicates")?,
                // galaxy_info and the rest describe the role; they run nothing.
                _ => {}
            }
        }
        Ok(meta)
    }
}

fn read(vault: &Vault, path: &Path, top: TopLevel, what: &str) -> Result<Node, PlaybookError> {
    Ok(vault.read_yaml(path, top, what)?)
}
