//! An inventory as its file describes it (groups with hosts, children and
//! vars; hosts with vars), before it is resolved into [`Host`]s. Both the
//! INI and the YAML readers fill one of these.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::{ENVIRONMENTS, Host, HostAuth};

/// A line the parser refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number (0 when unknown).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One group as written.
#[derive(Debug, Default)]
pub(crate) struct RawGroup {
    pub hosts: BTreeSet<String>,
    pub children: BTreeSet<String>,
    pub vars: BTreeMap<String, Json>,
}

/// Groups and hosts as written.
#[derive(Debug, Default)]
pub(crate) struct RawInventory {
    pub host_vars: BTreeMap<String, BTreeMap<String, Json>>,
    pub groups: BTreeMap<String, RawGroup>,
}

/// Every variable Ansible reads a login or sudo password from.
const SECRETS: [&str; 7] = [
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
    "ansible_sudo_password",
];

impl RawInventory {
    /// Resolves every host: group vars (host vars win), connection
    /// variables, environment and groups. `line_of` finds the line of a
    /// variable for errors.
    pub fn resolve(
        self,
        default_user: &str,
        line_of: impl Fn(&str) -> usize,
    ) -> Result<Vec<Host>, LineError> {
        let mut hosts = Vec::new();
        for (name, own_vars) in &self.host_vars {
            let member_of: Vec<&String> = self
                .groups
                .keys()
                .filter(|g| !matches!(g.as_str(), "ungrouped" | "all") && self.contains(g, name, 0))
                .collect();
            let mut vars = BTreeMap::new();
            if let Some(all) = self.groups.get("all") {
                vars.extend(all.vars.clone());
            }
            for group in &member_of {
                vars.extend(self.groups[*group].vars.clone());
            }
            vars.extend(own_vars.clone());
            if let Some(secret) = SECRETS.iter().find(|s| vars.contains_key(**s)) {
                return Err(LineError {
                    line: line_of(secret),
                    message: format!(
                        "{secret} puts a password in the inventory; Capstan never stores one: \
                         use `capstan hosts add {name} --password-env VAR`"
                    ),
                });
            }
            let port = match vars.remove("ansible_port") {
                Some(p) => text(&p).parse::<u16>().map_err(|_| LineError {
                    line: line_of("ansible_port"),
                    message: format!("ansible_port `{}` of {name} is not a port number", text(&p)),
                })?,
                None => 22,
            };
            let environment = member_of
                .iter()
                .find(|g| ENVIRONMENTS.contains(&g.as_str()))
                .map(|g| g.to_string());
            hosts.push(Host {
                name: name.clone(),
                address: vars
                    .remove("ansible_host")
                    .map(|v| text(&v))
                    .unwrap_or_else(|| name.clone()),
                port,
                user: vars
                    .remove("ansible_user")
                    .map(|v| text(&v))
                    .unwrap_or_else(|| default_user.to_string()),
                auth: match vars.remove("ansible_ssh_private_key_file") {
                    Some(path) => HostAuth::KeyFile(text(&path)),
                    None => HostAuth::Agent,
                },
                environment,
                groups: member_of
                    .into_iter()
                    .filter(|g| !ENVIRONMENTS.contains(&g.as_str()))
                    .cloned()
                    .collect(),
                vars,
            });
        }
        Ok(hosts)
    }

    /// True when `group` holds `host` directly or through its children.
    fn contains(&self, group: &str, host: &str, depth: usize) -> bool {
        let Some(g) = self.groups.get(group) else {
            return false;
        };
        depth < 32
            && (g.hosts.contains(host)
                || g.children
                    .iter()
                    .any(|child| self.contains(child, host, depth + 1)))
    }
}

fn text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
