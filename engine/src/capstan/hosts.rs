//! The inventory as the CLI and the window edit it: add, import, remove,
//! and check a host's login (recording what the check found).

use std::path::Path;

use super::Capstan;
use crate::inventory::form::{HostForm, host_from_form};
use crate::inventory::{self, Host, HostCheck, HostRules};
use crate::jobs::{ResultStatus, RunRequest};
use crate::{Error, Result};
use capstan_remote::{ExecRequest, HostKeyPolicy};
use capstan_wire::clock::now_ms;
use capstan_wire::hosts::Facts;

impl Capstan {
    /// Adds or replaces a host in the inventory.
    pub fn add_host(&self, host: &Host) -> Result<()> {
        host.validate()?;
        Ok(self.store.save_host(host)?)
    }

    /// Adds the host a form describes, or saves the edit of host `editing`
    /// (a rename is one atomic replace). A wrong field is named
    /// ([`Error::BadField`]), a name taken by another host too.
    pub fn save_host_form(&self, form: &HostForm, editing: Option<&str>) -> Result<Host> {
        let before = match editing {
            Some(name) => Some(self.store.host(name)?.ok_or_else(|| no_such_host(name))?),
            None => None,
        };
        let host = host_from_form(form, before.as_ref())?;
        match editing {
            Some(old) => self.update_host(old, &host)?,
            // Adding never replaces a host of that name.
            None if self.store.host(&host.name)?.is_some() => return Err(name_taken(&host.name)),
            None => self.add_host(&host)?,
        }
        Ok(host)
    }

    /// Gathers a host's facts with the `setup` plugin (a recorded job).
    pub async fn facts(&self, name: &str) -> Result<Facts> {
        self.require_host(name)?;
        let request = RunRequest::new("setup", "gather", serde_json::json!({}), [name]);
        let report = self.run(request, std::sync::Arc::new(|_| {})).await?;
        let job_id = report.job_id;
        Ok(match report.results.into_iter().next() {
            Some(r) if matches!(r.status, ResultStatus::Ok | ResultStatus::Changed) => Facts {
                job_id,
                facts: r.data,
                error: None,
            },
            Some(r) => Facts {
                job_id,
                facts: None,
                error: Some(r.summary),
            },
            None => Facts {
                job_id,
                facts: None,
                error: Some("the host gave no result".into()),
            },
        })
    }

    /// Refuses a name that is neither an inventory host nor `local` (a
    /// group or a pattern is a target, not a host).
    fn require_host(&self, name: &str) -> Result<()> {
        if name == "local" || self.store.host(name)?.is_some() {
            Ok(())
        } else {
            Err(no_such_host(name))
        }
    }

    /// Every host in the inventory.
    pub fn hosts(&self) -> Result<Vec<Host>> {
        Ok(self.store.hosts()?)
    }

    /// Saves `host` in place of the host called `old` (an edit, perhaps a
    /// rename), atomically. The new name must not belong to another host.
    pub fn update_host(&self, old: &str, host: &Host) -> Result<()> {
        host.validate()?;
        if self.store.host(old)?.is_none() {
            return Err(no_such_host(old));
        }
        if host.name != old && self.store.host(&host.name)?.is_some() {
            return Err(name_taken(&host.name));
        }
        Ok(self.store.replace_host(old, host)?)
    }

    /// Renames a host, keeping everything else about it.
    pub fn rename_host(&self, old: &str, new: &str) -> Result<Host> {
        let mut host = self.store.host(old)?.ok_or_else(|| no_such_host(old))?;
        host.name = new.to_string();
        self.update_host(old, &host)?;
        Ok(host)
    }

    /// Removes a host from the inventory.
    pub fn remove_host(&self, name: &str) -> Result<()> {
        if !self.store.remove_host(name)? {
            return Err(no_such_host(name));
        }
        Ok(())
    }

    /// Imports an Ansible inventory (INI or YAML), replacing hosts of the
    /// same name. Every host is checked before any is saved, so a bad line
    /// saves nothing; the error names the file and line.
    pub fn import_inventory(&self, path: &Path) -> Result<Vec<Host>> {
        let hosts = inventory::load_file(
            path,
            &inventory::current_user(),
            None,
            &crate::vault::Vault::default(),
        )?;
        self.save_imported(&hosts)?;
        Ok(hosts)
    }

    /// Imports an inventory sent as text (INI or YAML, told apart as a
    /// file without an extension is), as [`Capstan::import_inventory`]
    /// does; `shown` names it in errors.
    pub fn import_inventory_text(&self, shown: &str, text: &str) -> Result<Vec<Host>> {
        let hosts = inventory::parse_text(
            shown,
            text,
            "",
            &inventory::current_user(),
            &inventory::VarFolders::default(),
        )?;
        self.save_imported(&hosts)?;
        Ok(hosts)
    }

    fn save_imported(&self, hosts: &[Host]) -> Result<()> {
        Ok(self.store.save_hosts(hosts)?)
    }

    /// Each host's latest check.
    pub fn host_checks(&self) -> Result<Vec<HostCheck>> {
        Ok(self.store.host_checks()?)
    }

    /// Connects to a host and runs `uname -srm` there: proves the address,
    /// the host key and the login, and records the result as the host's
    /// latest check. With `TrustNew`, an unknown host key is recorded (the
    /// CLI and the window show its fingerprint and ask the user first).
    pub async fn check_host(&self, name: &str, policy: HostKeyPolicy) -> Result<HostCheck> {
        self.require_host(name)?;
        let target = self.resolve_targets(&[name.to_string()], policy)?.remove(0);
        let started = std::time::Instant::now();
        let request = ExecRequest {
            argv: vec!["uname".into(), "-srm".into()],
            ..Default::default()
        };
        let result = target.transport.exec(&request, 64 << 10).await;
        target.close().await;
        let (reachable, message) = match result {
            Ok(out) if out.exit_code == Some(0) => (
                true,
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
            ),
            Ok(out) => (
                true,
                format!(
                    "logged in, but `uname` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ),
            Err(e) => (false, e.to_string()),
        };
        let check = HostCheck {
            name: target.name,
            reachable,
            unknown_key: inventory::unknown_key_in(&message).filter(|_| !reachable),
            message,
            elapsed_ms: started.elapsed().as_millis() as u64,
            checked_at_ms: now_ms(),
        };
        self.store.save_host_check(&check)?;
        Ok(check)
    }
}

/// A host name another host has, named at the form's `name` field.
/// A host the inventory does not hold, where one was named.
fn no_such_host(name: &str) -> Error {
    Error::NotFound(format!(
        "no host called `{name}` in the inventory (`capstan hosts list` shows them)"
    ))
}

fn name_taken(name: &str) -> Error {
    Error::field("name", format!("a host called `{name}` already exists"))
}
