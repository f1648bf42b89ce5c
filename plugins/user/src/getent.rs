//! Ansible's `getent`: entries of one of the host's name databases
//! (`passwd`, `group`, `shadow`, `hosts`, ...) as facts,
//! `getent_DATABASE: {KEY: [the other fields]}`.

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

/// Parameters of the `getent` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetentParams {
    /// The database (`passwd`, `group`, `shadow`, `hosts`, `services`, ...).
    database: String,
    /// One key to look up (default: every entry).
    key: Option<String>,
    /// The field separator (default `:`, or white space for the
    /// databases that use it).
    split: Option<String>,
    /// Fail when the key is missing (default true).
    fail_key: Option<bool>,
    /// `getent -s SERVICE`.
    service: Option<String>,
}

/// Databases whose entries are separated by white space, not `:`.
const SPACED: &[&str] = &[
    "hosts",
    "ahosts",
    "ahostsv4",
    "ahostsv6",
    "networks",
    "protocols",
    "services",
    "rpc",
];

fn plain(word: &str) -> bool {
    !word.is_empty() && !word.starts_with('-') && !word.contains(char::is_whitespace)
}

/// Looks the entries up.
pub fn getent(p: GetentParams, ctx: &Context) -> Result<Outcome, Error> {
    if !plain(&p.database) || p.key.as_deref().is_some_and(|k| !plain(k)) {
        return Err(Error::msg(
            "database and key are single words, not starting with `-`",
        ));
    }
    let mut argv = vec!["getent".to_string()];
    if let Some(service) = &p.service {
        argv.extend(["-s".into(), service.clone()]);
    }
    argv.push(p.database.clone());
    argv.extend(p.key.clone());
    let out = Command::new(argv.iter().map(String::as_str)).run(&ctx.target)?;
    match out.exit_code {
        Some(0) => {}
        Some(1) => return Err(Error::msg("Missing arguments, or database unknown.")),
        Some(2) if p.fail_key.unwrap_or(true) => {
            return Err(Error::msg(
                "One or more supplied key could not be found in the database.",
            ));
        }
        Some(2) => {}
        Some(3) => return Err(Error::msg("Enumeration not supported on this database.")),
        _ => {
            return Err(Error::msg(format!(
                "getent failed: {}",
                out.stderr_text().trim()
            )));
        }
    }
    let spaced = SPACED.contains(&p.database.as_str());
    let mut entries = Map::new();
    for line in out.stdout_text().lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = match p.split.as_deref() {
            Some(sep) => line.split(sep).collect(),
            None if spaced => line.split_whitespace().collect(),
            None => line.split(':').collect(),
        };
        let Some((first, rest)) = fields.split_first() else {
            continue;
        };
        let value = Json::Array(rest.iter().map(|f| json!(f)).collect());
        entries.entry(first.to_string()).or_insert(value);
    }
    if let (Some(key), false) = (&p.key, entries.is_empty()) {
        // A key looked up is the key asked for, whatever the entry's
        // first field (a number for a passwd entry asked by uid).
        if !entries.contains_key(key) && entries.len() == 1 {
            let value = entries.values().next().cloned().unwrap_or(Json::Null);
            entries = Map::from_iter([(key.clone(), value)]);
        }
    }
    let count = entries.len();
    let name = format!("getent_{}", p.database);
    Ok(
        Outcome::ok(format!("{count} entries of {}", p.database)).with_data(json!({
            "ansible_facts": { name: entries },
            "changed": false,
        })),
    )
}
