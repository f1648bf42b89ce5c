//! Reads Ansible's YAML inventory format:
//!
//! ```yaml
//! all:
//!   vars: { ansible_user: deploy }
//!   children:
//!     web:
//!       hosts:
//!         web-1: { ansible_host: 10.0.0.11 }
//!     prod:
//!       children: { web: }
//! ```
//!
//! Groups nest through `children`; a host listed under several groups is
//! one host. Connection variables and environments work as in the INI form.

use serde_json::Value as Json;

use super::Host;
use super::folders::VarFolders;
use super::raw::{LineError, RawGroup, RawInventory, line_in};
use capstan_yaml::{self as yaml, Node, TopLevel, Yaml};

/// Parses a YAML inventory; `file` names it in errors and `default_user`
/// fills a missing `ansible_user`.
pub fn parse(file: &str, text: &str, default_user: &str) -> Result<Vec<Host>, LineError> {
    read(file, text)?.resolve(default_user, &VarFolders::default(), line_in(text))
}

/// Reads a YAML inventory's groups and hosts as written.
pub(crate) fn read(file: &str, text: &str) -> Result<RawInventory, LineError> {
    let root = yaml::parse(file, text, TopLevel::Mapping).map_err(|e| LineError {
        line: e.at.line,
        message: e.message,
    })?;
    let mut raw = RawInventory::default();
    for (key, group) in root.as_map().unwrap_or_default() {
        read_group(&mut raw, &key.name, group, 0)?;
    }
    Ok(raw)
}

fn error(node: &Node, message: String) -> LineError {
    LineError {
        line: node.pos.line,
        message,
    }
}

fn read_group(
    raw: &mut RawInventory,
    name: &str,
    node: &Node,
    depth: usize,
) -> Result<(), LineError> {
    if depth > 32 {
        return Err(error(node, format!("groups nest too deep at `{name}`")));
    }
    raw.groups.entry(name.to_string()).or_default();
    let fields = match &node.value {
        Yaml::Null => return Ok(()),
        Yaml::Map(fields) => fields,
        _ => {
            return Err(error(
                node,
                format!(
                    "group `{name}` must be a mapping of hosts, vars and children, not {}",
                    node.kind()
                ),
            ));
        }
    };
    for (key, value) in fields {
        match key.name.as_str() {
            "hosts" => {
                for (host, vars) in value.as_map().unwrap_or_default() {
                    let names =
                        super::ranges::expand(&host.name).map_err(|why| error(value, why))?;
                    for each in names {
                        let own = raw.host_vars.entry(each.clone()).or_default();
                        if let Json::Object(map) = vars.to_json() {
                            own.extend(map);
                        }
                        group_mut(raw, name).hosts.insert(each);
                    }
                }
            }
            "vars" => {
                if let Json::Object(map) = value.to_json() {
                    group_mut(raw, name).vars.extend(map);
                }
            }
            "children" => {
                for (child, body) in value.as_map().unwrap_or_default() {
                    group_mut(raw, name).children.insert(child.name.clone());
                    read_group(raw, &child.name, body, depth + 1)?;
                }
            }
            other => {
                return Err(LineError {
                    line: key.pos.line,
                    message: format!(
                        "unknown key `{other}` in group `{name}` (use hosts, vars or children)"
                    ),
                });
            }
        }
    }
    Ok(())
}

fn group_mut<'a>(raw: &'a mut RawInventory, name: &str) -> &'a mut RawGroup {
    raw.groups.entry(name.to_string()).or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_children_and_typed_vars() {
        let text = "all:\n  vars:\n    ansible_user: deploy\n  children:\n    web:\n      hosts:\n        web-1:\n          ansible_host: 10.0.0.11\n          ansible_port: 2222\n          http_port: 8080\n        web-2:\n      vars:\n        http_port: 80\n    prod:\n      children:\n        web:\n";
        let hosts = parse("inv.yml", text, "me").unwrap();
        assert_eq!(hosts.len(), 2);
        let web1 = &hosts[0];
        assert_eq!(
            (web1.address.as_str(), web1.port, web1.user.as_str()),
            ("10.0.0.11", 2222, "deploy")
        );
        assert_eq!(web1.vars["http_port"], 8080);
        assert_eq!(hosts[1].vars["http_port"], 80);
        assert_eq!(web1.environment.as_deref(), Some("prod"));
        assert_eq!(web1.groups, vec!["web".to_string()]);
    }

    #[test]
    fn mistakes_name_their_line() {
        let err = parse("inv.yml", "all:\n  hostz:\n    a:\n", "me").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("hostz"));
        let err = parse(
            "inv.yml",
            "all:\n  hosts:\n    a:\n      ansible_password: x\n",
            "me",
        )
        .unwrap_err();
        assert!(err.message.contains("never stores"), "{err}");
    }
}
