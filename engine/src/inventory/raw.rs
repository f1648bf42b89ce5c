//! An inventory as its file describes it (groups with hosts, children and
//! vars; hosts with vars), before it is resolved into [`Host`]s. Both the
//! INI and the YAML readers fill one of these.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json};

use super::folders::VarFolders;
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
    /// Resolves every host: group vars from the file, then from `folders`
    /// (a parent group before its children, siblings by name; host vars
    /// last), connection variables, environment and groups, as Ansible
    /// ranks them. `line_of` finds the line of a variable for errors.
    pub fn resolve(
        mut self,
        default_user: &str,
        folders: &VarFolders,
        line_of: impl Fn(&str) -> usize,
    ) -> Result<Vec<Host>, LineError> {
        self.groups.entry("all".into()).or_default();
        let mut ranked: Vec<(usize, &String)> = self
            .groups
            .keys()
            .filter(|g| !matches!(g.as_str(), "ungrouped" | "all"))
            .map(|g| (self.depth(g, 0), g))
            .collect();
        ranked.sort();
        let mut hosts = Vec::new();
        for (name, own_vars) in &self.host_vars {
            let member_of: Vec<&String> = ranked
                .iter()
                .map(|(_, g)| *g)
                .filter(|g| self.contains(g, name, 0))
                .collect();
            let mut file_groups: Map<String, Json> =
                self.groups["all"].vars.clone().into_iter().collect();
            for group in &member_of {
                file_groups.extend(self.groups[*group].vars.clone());
            }
            let file_host: Map<String, Json> = own_vars.clone().into_iter().collect();
            let ranked_names: Vec<&str> = member_of.iter().map(|g| g.as_str()).collect();
            let mut vars: BTreeMap<String, Json> = folders
                .layer(name, &ranked_names, file_groups, &file_host)
                .into_iter()
                .collect();
            let mut groups: Vec<String> = member_of.into_iter().cloned().collect();
            groups.sort();
            let environment = groups
                .iter()
                .find(|g| ENVIRONMENTS.contains(&g.as_str()))
                .cloned();
            groups.retain(|g| !ENVIRONMENTS.contains(&g.as_str()));
            let mut host = Host {
                name: name.clone(),
                address: name.clone(),
                port: 22,
                user: default_user.to_string(),
                auth: HostAuth::Agent,
                environment,
                groups,
                vars: BTreeMap::new(),
            };
            take_connection(&mut host, &mut vars, &line_of)?;
            host.vars = vars;
            hosts.push(host);
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

    /// How deep `group` sits under `all`: a group nobody lists as a child
    /// is 1, a child one more than its deepest parent.
    fn depth(&self, group: &str, guard: usize) -> usize {
        let parents = self
            .groups
            .iter()
            .filter(|(name, g)| name.as_str() != "all" && g.children.contains(group));
        1 + parents
            .map(|(name, _)| {
                if guard < 32 {
                    self.depth(name, guard + 1)
                } else {
                    0
                }
            })
            .max()
            .unwrap_or(0)
    }
}

/// Applies `group_vars/` and `host_vars/` folders to a host Capstan already
/// knows (from its own inventory): the folders' `all`, then its groups by
/// name, then its own variables (ranked as an inventory file's host
/// variables), then its host folder; connection variables found there set
/// how Capstan reaches it.
pub(crate) fn apply_folders(host: &mut Host, folders: &VarFolders) -> Result<(), LineError> {
    let mut groups: Vec<&str> = host
        .groups
        .iter()
        .chain(&host.environment)
        .map(String::as_str)
        .collect();
    groups.sort();
    let own: Map<String, Json> = std::mem::take(&mut host.vars).into_iter().collect();
    let mut vars: BTreeMap<String, Json> = folders
        .layer(&host.name, &groups, Map::new(), &own)
        .into_iter()
        .collect();
    take_connection(host, &mut vars, &|_| 0)?;
    host.vars = vars;
    Ok(())
}

/// Moves the connection variables out of `vars` into the host's settings,
/// and refuses a password.
fn take_connection(
    host: &mut Host,
    vars: &mut BTreeMap<String, Json>,
    line_of: &impl Fn(&str) -> usize,
) -> Result<(), LineError> {
    let name = &host.name;
    if let Some(secret) = SECRETS.iter().find(|s| vars.contains_key(**s)) {
        return Err(LineError {
            line: line_of(secret),
            message: format!(
                "{secret} puts a password in the inventory; Capstan never stores one: \
                 use `capstan hosts add {name} --password-env VAR`"
            ),
        });
    }
    if let Some(p) = vars.remove("ansible_port") {
        host.port = text(&p).parse::<u16>().map_err(|_| LineError {
            line: line_of("ansible_port"),
            message: format!("ansible_port `{}` of {name} is not a port number", text(&p)),
        })?;
    }
    if let Some(address) = vars.remove("ansible_host") {
        host.address = text(&address);
    }
    // Kept among the variables as well: a login the inventory names wins
    // over a play's `remote_user`, as Ansible's connection variables do.
    if let Some(user) = vars.get("ansible_user") {
        host.user = text(user);
    }
    if let Some(path) = vars.remove("ansible_ssh_private_key_file") {
        host.auth = HostAuth::KeyFile(text(&path));
    }
    Ok(())
}

/// Finds the first line of `text` that holds a key, for errors (0 when
/// none does).
pub(crate) fn line_in(text: &str) -> impl Fn(&str) -> usize + '_ {
    move |key| {
        text.lines()
            .position(|l| l.contains(key))
            .map_or(0, |i| i + 1)
    }
}

fn text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
