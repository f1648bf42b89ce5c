//! Ansible host patterns: `all`, host and group names, `*` wildcards,
//! unions (`web:db` or `web,db`), exclusions (`!old`) and intersections
//! (`&prod`). Environments (dev, preprod, prod) count as groups.

use super::Host;

/// Whether `host` is in the group (or environment) `group`.
pub fn in_group(host: &Host, group: &str) -> bool {
    group == "all"
        || host.groups.iter().any(|g| g == group)
        || host.environment.as_deref() == Some(group)
}

fn matches_word(host: &Host, word: &str) -> bool {
    if word == "all" || word == "*" {
        return true;
    }
    if word.contains('*') {
        return glob(word, &host.name)
            || host.groups.iter().any(|g| glob(word, g))
            || host.environment.as_deref().is_some_and(|e| glob(word, e));
    }
    host.name == word || in_group(host, word)
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

/// Why a host pattern selects nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern has no words.
    #[error("the host pattern is empty")]
    Empty,
    /// A word (not a glob, not `all`) names no host or group.
    #[error("no host or group is called `{0}`")]
    NoMatch(String),
}

/// The hosts `pattern` selects, in inventory order; `Err` names a word
/// that matches nothing.
pub fn select<'a>(pattern: &str, inventory: &'a [Host]) -> Result<Vec<&'a Host>, PatternError> {
    let words: Vec<&str> = pattern
        .split([':', ','])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err(PatternError::Empty);
    }
    let mut chosen = vec![false; inventory.len()];
    let mut any_positive = false;
    for word in words.iter().filter(|w| !w.starts_with(['!', '&'])) {
        any_positive = true;
        let mut found = false;
        for (i, host) in inventory.iter().enumerate() {
            if matches_word(host, word) {
                chosen[i] = true;
                found = true;
            }
        }
        if !found && !word.contains('*') && *word != "all" {
            return Err(PatternError::NoMatch(word.to_string()));
        }
    }
    if !any_positive {
        chosen.iter_mut().for_each(|c| *c = true);
    }
    for word in &words {
        if let Some(inner) = word.strip_prefix('&') {
            for (i, host) in inventory.iter().enumerate() {
                chosen[i] &= matches_word(host, inner);
            }
        } else if let Some(inner) = word.strip_prefix('!') {
            for (i, host) in inventory.iter().enumerate() {
                chosen[i] &= !matches_word(host, inner);
            }
        }
    }
    Ok(inventory
        .iter()
        .zip(chosen)
        .filter_map(|(h, c)| c.then_some(h))
        .collect())
}

/// The names a pattern gives, with Ansible's implicit localhost: when the
/// inventory has no host called `localhost`, the word `localhost` (or
/// `127.0.0.1`) names this machine as [`IMPLICIT_LOCALHOST`], which `all`,
/// groups and wildcards never include.
pub fn select_names(pattern: &str, inventory: &[Host]) -> Result<Vec<String>, PatternError> {
    let implicit = |word: &str| {
        matches!(word, "localhost" | "127.0.0.1") && !inventory.iter().any(|h| h.name == word)
    };
    let words: Vec<&str> = pattern
        .split([':', ','])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    let mut local = false;
    // `&localhost` keeps no host of the inventory.
    let mut only_local = false;
    let mut rest = Vec::new();
    for word in &words {
        match word.strip_prefix(['!', '&']) {
            Some(inner) if implicit(inner) => match word.starts_with('&') {
                true => only_local = true,
                false => local = false,
            },
            None if implicit(word) => local = true,
            _ => rest.push(*word),
        }
    }
    let from_inventory = !only_local && (rest.iter().any(|w| !w.starts_with(['!', '&'])) || !local);
    let mut names: Vec<String> = if from_inventory {
        select(&rest.join(":"), inventory)?
            .into_iter()
            .map(|h| h.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    if local {
        names.push(IMPLICIT_LOCALHOST.to_string());
    }
    Ok(names)
}

/// The name of the implicit localhost (see [`select_names`]).
pub const IMPLICIT_LOCALHOST: &str = "localhost";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::HostAuth;

    fn host(name: &str, groups: &[&str], env: Option<&str>) -> Host {
        Host {
            name: name.into(),
            address: "127.0.0.1".into(),
            port: 22,
            user: "root".into(),
            auth: HostAuth::Agent,
            environment: env.map(Into::into),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            vars: Default::default(),
        }
    }

    #[test]
    fn localhost_is_implicit_when_the_inventory_has_none() {
        let inv = vec![host("web-1", &["web"], None)];
        let names = |p: &str| select_names(p, &inv).unwrap();
        assert_eq!(names("localhost"), ["localhost"]);
        assert_eq!(names("127.0.0.1"), ["localhost"]);
        assert_eq!(names("all"), ["web-1"], "all never holds it");
        assert_eq!(names("*"), ["web-1"]);
        assert_eq!(names("web:localhost"), ["web-1", "localhost"]);
        assert_eq!(names("all:!localhost"), ["web-1"]);
        assert!(select_names("nowhere", &inv).is_err());
        // An inventory's own localhost is that host.
        let mut own = inv.clone();
        own.push(host("localhost", &["web"], None));
        assert_eq!(select_names("localhost", &own).unwrap(), ["localhost"]);
        assert_eq!(select_names("all", &own).unwrap(), ["web-1", "localhost"]);
    }

    #[test]
    fn patterns() {
        let inv = vec![
            host("web-1", &["web"], Some("prod")),
            host("web-2", &["web"], Some("dev")),
            host("db-1", &["db"], Some("prod")),
        ];
        let names = |p: &str| {
            select(p, &inv)
                .unwrap()
                .iter()
                .map(|h| h.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("all"), ["web-1", "web-2", "db-1"]);
        assert_eq!(names("web:db"), ["web-1", "web-2", "db-1"]);
        assert_eq!(names("web:&prod"), ["web-1"]);
        assert_eq!(names("all:!web-2"), ["web-1", "db-1"]);
        assert_eq!(names("web-*"), ["web-1", "web-2"]);
        assert_eq!(names("prod"), ["web-1", "db-1"]);
        assert_eq!(
            select("cache", &inv).unwrap_err(),
            PatternError::NoMatch("cache".into())
        );
        assert_eq!(select(" : ", &inv).unwrap_err(), PatternError::Empty);
    }
}
