//! Reads Ansible's INI inventory format: hosts, `[group]` sections,
//! `[group:vars]` and `[group:children]`. Connection variables
//! (`ansible_host`, `ansible_port`, `ansible_user`,
//! `ansible_ssh_private_key_file`) fill the host's settings; groups named
//! dev, preprod or prod set its environment; other variables are kept.
//! Host ranges (`web[01:10]`) stand for every host they name. What is
//! not supported (passwords in the file) is refused with its line number.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::Host;
use super::folders::VarFolders;
use super::raw::{RawGroup, RawInventory, line_in};

pub use super::raw::LineError;

#[derive(Default)]
struct Group {
    hosts: BTreeSet<String>,
    children: BTreeSet<String>,
    vars: BTreeMap<String, String>,
}

/// Parses an INI inventory into hosts; `default_user` fills a missing
/// `ansible_user`.
pub fn parse(text: &str, default_user: &str) -> Result<Vec<Host>, LineError> {
    read(text)?.resolve(default_user, &VarFolders::default(), line_in(text))
}

/// Reads an INI inventory's groups and hosts as written.
pub(crate) fn read(text: &str) -> Result<RawInventory, LineError> {
    let mut host_vars: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut section = ("ungrouped".to_string(), "hosts");
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let err = |message: String| LineError {
            line: line_no,
            message,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header
                .strip_suffix(']')
                .ok_or_else(|| err(format!("section header `{line}` has no closing ]")))?;
            section = match header.split_once(':') {
                Some((group, "vars")) => (group.to_string(), "vars"),
                Some((group, "children")) => (group.to_string(), "children"),
                Some((_, kind)) => {
                    return Err(err(format!(
                        "unknown section kind `:{kind}` (use :vars or :children)"
                    )));
                }
                None => (header.to_string(), "hosts"),
            };
            groups.entry(section.0.clone()).or_default();
            continue;
        }
        let group = groups.entry(section.0.clone()).or_default();
        match section.1 {
            "vars" => {
                let (key, value) = line.split_once('=').ok_or_else(|| {
                    err(format!(
                        "expected key=value in [{}:vars], got `{line}`",
                        section.0
                    ))
                })?;
                group
                    .vars
                    .insert(key.trim().to_string(), unquote(value.trim()));
            }
            "children" => {
                group.children.insert(line.to_string());
            }
            _ => {
                let words = host_line_words(line).map_err(err)?;
                let mut words = words.iter().map(String::as_str);
                let written = words.next().unwrap_or_default();
                let mut vars = BTreeMap::new();
                for word in words {
                    let (key, value) = word.split_once('=').ok_or_else(|| {
                        err(format!(
                            "expected key=value after the host name, got `{word}`"
                        ))
                    })?;
                    vars.insert(key.to_string(), unquote(value));
                }
                for name in super::ranges::expand(written).map_err(err)? {
                    host_vars
                        .entry(name.clone())
                        .or_default()
                        .extend(vars.clone());
                    group.hosts.insert(name);
                }
            }
        }
    }

    Ok(RawInventory {
        host_vars: host_vars
            .into_iter()
            .map(|(host, vars)| {
                (
                    host,
                    vars.into_iter()
                        .map(|(k, v)| (k, Json::String(v)))
                        .collect(),
                )
            })
            .collect(),
        groups: groups
            .into_iter()
            .map(|(name, g)| {
                let group = RawGroup {
                    hosts: g.hosts,
                    children: g.children,
                    vars: g
                        .vars
                        .into_iter()
                        .map(|(k, v)| (k, Json::String(v)))
                        .collect(),
                };
                (name, group)
            })
            .collect(),
    })
}

/// A host line's words as a shell splits them (Ansible reads it with
/// `shlex`): quotes keep spaces in a value, `#` after a space starts a
/// comment.
fn host_line_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => word.extend(chars.next()),
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#') if !in_word => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("unclosed {q} quote in `{line}`"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::HostAuth;

    #[test]
    fn host_lines_split_as_a_shell_with_comments() {
        let words = host_line_words(r#"web1 a=1 b="two words" c='x y' # a comment"#).unwrap();
        assert_eq!(words, ["web1", "a=1", "b=two words", "c=x y"]);
        assert!(
            host_line_words(r#"web1 a="open"#)
                .unwrap_err()
                .contains("unclosed")
        );
    }

    const SAMPLE: &str = "
# a comment
bastion ansible_host=192.0.2.1

[web]
web-1 ansible_host=10.0.0.11 ansible_port=2222
web-2 ansible_host=10.0.0.12 http_port=8080

[db]
db-1 ansible_user=postgres ansible_ssh_private_key_file=/keys/db

[web:vars]
ansible_user=www
http_port=80

[prod:children]
web
db
";

    #[test]
    fn hosts_groups_vars_and_environments() {
        let hosts = parse(SAMPLE, "me").unwrap();
        let by_name: BTreeMap<_, _> = hosts.iter().map(|h| (h.name.as_str(), h)).collect();
        assert_eq!(hosts.len(), 4);
        let web1 = by_name["web-1"];
        assert_eq!(
            (web1.address.as_str(), web1.port, web1.user.as_str()),
            ("10.0.0.11", 2222, "www")
        );
        assert_eq!(web1.environment.as_deref(), Some("prod"));
        assert_eq!(web1.groups, ["web"]);
        assert_eq!(
            by_name["web-2"].vars["http_port"], "8080",
            "host vars win over group vars"
        );
        assert_eq!(by_name["web-1"].vars["http_port"], "80");
        let db1 = by_name["db-1"];
        assert_eq!(db1.auth, HostAuth::KeyFile("/keys/db".into()));
        assert_eq!(db1.user, "postgres");
        let bastion = by_name["bastion"];
        assert_eq!(
            (bastion.user.as_str(), bastion.environment.as_deref()),
            ("me", None)
        );
        assert!(bastion.groups.is_empty());
    }

    #[test]
    fn a_child_group_outranks_its_parent_whatever_their_names() {
        let text = "[web]\nw1\n[zone:children]\nweb\n[zone:vars]\nx=zone\ny=zone\n\
                    [web:vars]\nx=web\n[aaa]\nw1\n[aaa:vars]\ny=aaa\n";
        let hosts = parse(text, "me").unwrap();
        assert_eq!(hosts[0].vars["x"], "web", "the child beats its parent");
        assert_eq!(
            hosts[0].vars["y"], "zone",
            "same depth: by name, later wins"
        );
        assert_eq!(hosts[0].groups, ["aaa", "web", "zone"]);
    }

    #[test]
    fn a_host_range_stands_for_each_host_with_the_lines_variables() {
        let hosts = parse("[web]\nweb[01:03] http_port=81\n[web:vars]\nx=1\n", "me").unwrap();
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["web01", "web02", "web03"]);
        assert!(
            hosts
                .iter()
                .all(|h| h.vars["http_port"] == "81" && h.groups == ["web"])
        );
    }

    #[test]
    fn unsupported_lines_are_refused_with_their_number() {
        let err = parse("[web]\nweb-[3:1].example.com\n", "me").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains("host range `web-[3:1].example.com`"),
            "{err}"
        );
        let err = parse("[web]\nweb-1 ansible_password=hunter2\n", "me").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("--password-env"), "{err}");
        for alias in [
            "ansible_ssh_password",
            "ansible_sudo_pass",
            "ansible_sudo_password",
        ] {
            let err = parse(
                &format!("[web]\nweb-1\n[web:vars]\n{alias}=hunter2\n"),
                "me",
            )
            .unwrap_err();
            assert!(err.message.starts_with(alias), "{alias}: {err}");
        }
        let err = parse("[web:hosts]\n", "me").unwrap_err();
        assert!(err.message.contains(":vars or :children"), "{err}");
        let err = parse("[web]\nweb-1 ansible_port=http\n", "me").unwrap_err();
        assert!(err.message.contains("not a port number"), "{err}");
    }
}
