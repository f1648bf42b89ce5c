//! Ansible's `wait_for`: waits on the target until a port opens, closes or
//! drains, a path appears or goes, or a file holds a pattern, or simply for
//! some seconds. Every probe is one command on the target, and the target's
//! own clock times the wait (as Ansible's module, which runs there): the
//! sandbox has no clock of its own.

mod connections;
mod probe;

use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, register_plugin,
};
use regex::bytes::Regex;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use probe::{Probe, Seen};

/// Parameters of `until`, Ansible's names and defaults.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WaitParams {
    /// The host to connect to or whose connections to count (default
    /// 127.0.0.1), as the target sees it.
    host: Option<String>,
    /// A TCP port to wait on.
    port: Option<Number>,
    /// A file to wait on.
    path: Option<String>,
    /// A regular expression the file must hold (Python's syntax for
    /// named groups works).
    search_regex: Option<String>,
    /// started/present (default), stopped/absent, or drained (no active
    /// connections on the port).
    state: Option<State>,
    /// Seconds to wait at most (default 300).
    timeout: Option<Number>,
    /// Seconds to wait before the first look (default 0).
    delay: Option<Number>,
    /// Seconds between looks (default 1).
    sleep: Option<Number>,
    /// Seconds one connection attempt may take (default 5).
    connect_timeout: Option<Number>,
    /// The failure message instead of Ansible's.
    msg: Option<String>,
    /// Hosts whose connections do not count (state=drained).
    exclude_hosts: Option<Vec<String>>,
    /// The connection states that count as active (state=drained).
    active_connection_states: Option<Vec<String>>,
}

/// A number given as a number or as text (a template renders to text).
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum Number {
    Float(f64),
    Text(String),
}

impl Number {
    /// The number, which must be 0 or more.
    fn value(&self, name: &str) -> Result<f64, Error> {
        let value = match self {
            Number::Float(f) => *f,
            Number::Text(text) => text.trim().parse().map_err(|_| {
                Error::InvalidParams(format!("{name} must be a number, not `{text}`"))
            })?,
        };
        if value.is_finite() && value >= 0.0 {
            Ok(value)
        } else {
            Err(Error::InvalidParams(format!(
                "{name} must be a number of 0 or more, not {value}"
            )))
        }
    }
}

/// A parameter's seconds, or its default.
fn seconds(number: &Option<Number>, name: &str, default: f64) -> Result<f64, Error> {
    number.as_ref().map_or(Ok(default), |n| n.value(name))
}

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum State {
    Started,
    Present,
    Stopped,
    Absent,
    Drained,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Started => "started",
            State::Present => "present",
            State::Stopped => "stopped",
            State::Absent => "absent",
            State::Drained => "drained",
        }
    }

    /// Waiting for something to go rather than to come.
    fn going(self) -> bool {
        matches!(self, State::Stopped | State::Absent)
    }
}

struct Wait;

impl Plugin for Wait {
    fn manifest() -> Manifest {
        Manifest::new(
            "wait",
            env!("CARGO_PKG_VERSION"),
            "Wait on the target for a port, a file or some seconds (Ansible's wait_for).",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::Local)
        .action(
            Action::new(
                "until",
                "Wait until the condition holds; fail when the timeout comes first.",
            )
            .run(until),
        )
    }
}

fn until(params: WaitParams, ctx: &Context) -> Result<Outcome, Error> {
    let timeout = seconds(&params.timeout, "timeout", 300.0)?;
    let delay = seconds(&params.delay, "delay", 0.0)?;
    let sleep = seconds(&params.sleep, "sleep", 1.0)?;
    let connect_timeout = seconds(&params.connect_timeout, "connect_timeout", 5.0)?;
    let port = params
        .port
        .as_ref()
        .map(|p| {
            let n = p.value("port")?;
            if n.fract() == 0.0 && (1.0..=65535.0).contains(&n) {
                Ok(n as u16)
            } else {
                Err(Error::InvalidParams(format!(
                    "port must be 1 to 65535, not {n}"
                )))
            }
        })
        .transpose()?;
    let state = params.state.unwrap_or(State::Started);
    let host = params.host.clone().unwrap_or_else(|| "127.0.0.1".into());
    let refuse = |msg: &str| Err(Error::msg(msg.to_string()));
    if port.is_some() && params.path.is_some() {
        return refuse("port and path parameter can not both be passed to wait_for");
    }
    if params.path.is_some() && state == State::Stopped {
        return refuse(
            "state=stopped should only be used for checking a port in the wait_for module",
        );
    }
    if params.path.is_some() && state == State::Drained {
        return refuse(
            "state=drained should only be used for checking a port in the wait_for module",
        );
    }
    if params.exclude_hosts.is_some() && state != State::Drained {
        return refuse("exclude_hosts should only be with state=drained");
    }
    let pattern = params
        .search_regex
        .as_deref()
        .map(|re| {
            Regex::new(&format!("(?m){re}"))
                .map_err(|e| Error::InvalidParams(format!("search_regex `{re}`: {e}")))
        })
        .transpose()?;
    if pattern.is_some() && port.is_some() {
        return refuse(
            "search_regex on a port is not supported yet: wait for the port, then read it with another task",
        );
    }
    let counting = if state == State::Drained {
        let port = port.ok_or_else(|| Error::msg("state=drained needs a port"))?;
        let states = params.active_connection_states.clone().unwrap_or_else(|| {
            [
                "ESTABLISHED",
                "FIN_WAIT1",
                "FIN_WAIT2",
                "SYN_RECV",
                "SYN_SENT",
                "TIME_WAIT",
            ]
            .map(String::from)
            .to_vec()
        });
        Some(connections::Counting::new(
            port,
            &host,
            params.exclude_hosts.as_deref().unwrap_or_default(),
            &states,
        )?)
    } else {
        None
    };

    let probe = match (&params.path, port, &counting) {
        (_, _, Some(_)) => Probe::Connections,
        (Some(path), _, _) => Probe::Path {
            path,
            read: pattern.is_some() && !state.going(),
        },
        (None, Some(port), None) => Probe::Port {
            host: &host,
            port,
            connect_timeout,
        },
        (None, None, None) => Probe::Nothing,
    };

    // The first command notes the start and sleeps the delay; each later
    // one sleeps `sleep`, then looks.
    let mut pause = delay;
    let mut start = None;
    let mut matched = None;
    if probe == Probe::Nothing {
        pause += timeout;
    }
    let end_seen = loop {
        let seen = probe::run(ctx, &probe, pause)?;
        let begun = *start.get_or_insert(seen.before);
        let elapsed = seen.after - begun;
        if probe == Probe::Nothing {
            break elapsed;
        }
        if elapsed >= timeout {
            let seconds = elapsed.floor() as u64;
            let message = params
                .msg
                .clone()
                .unwrap_or_else(|| timeout_message(&params, &host, port, state));
            return Ok(Outcome::failed(message.clone())
                .with_data(json!({ "elapsed": seconds, "msg": message })));
        }
        if holds(
            &seen,
            state,
            pattern.as_ref(),
            counting.as_ref(),
            &mut matched,
        )? {
            break elapsed;
        }
        pause = sleep;
    };

    let (groups, named) = matched.unwrap_or_default();
    let data = json!({
        "state": state.name(),
        "port": port,
        "path": params.path,
        "search_regex": params.search_regex,
        "match_groups": groups,
        "match_groupdict": named,
        "elapsed": end_seen.floor() as u64,
        "changed": false,
    });
    Ok(Outcome::ok(format!("waited {} s", end_seen.floor() as u64)).with_data(data))
}

/// The match's groups and named groups, as Ansible reports them.
type Matched = (Vec<Json>, Map<String, Json>);

/// Whether what was seen is what the task waits for; a pattern's groups
/// go into `matched`.
fn holds(
    seen: &Seen,
    state: State,
    pattern: Option<&Regex>,
    counting: Option<&connections::Counting>,
    matched: &mut Option<Matched>,
) -> Result<bool, Error> {
    if let Some(counting) = counting {
        return Ok(counting.active(&seen.output) == 0);
    }
    if state.going() {
        return Ok(!seen.present);
    }
    if !seen.present {
        return Ok(false);
    }
    let Some(pattern) = pattern else {
        return Ok(true);
    };
    let Some(found) = pattern.captures(&seen.output) else {
        return Ok(false);
    };
    let text = |m: Option<regex::bytes::Match<'_>>| {
        m.map_or(Json::Null, |m| {
            Json::String(String::from_utf8_lossy(m.as_bytes()).into_owned())
        })
    };
    let groups = (1..found.len()).map(|i| text(found.get(i))).collect();
    let named = pattern
        .capture_names()
        .flatten()
        .map(|name| (name.to_string(), text(found.name(name))))
        .collect();
    *matched = Some((groups, named));
    Ok(true)
}

/// Ansible's words for a wait that ran out of time.
fn timeout_message(params: &WaitParams, host: &str, port: Option<u16>, state: State) -> String {
    let port = port.map(|p| p.to_string()).unwrap_or_default();
    let path = params.path.as_deref().unwrap_or_default();
    match (state, params.path.is_some(), &params.search_regex) {
        (State::Drained, _, _) => format!("Timeout when waiting for {host}:{port} to drain"),
        (State::Stopped | State::Absent, false, _) => {
            format!("Timeout when waiting for {host}:{port} to stop.")
        }
        (State::Stopped | State::Absent, true, _) => {
            format!("Timeout when waiting for {path} to be absent.")
        }
        (_, true, Some(re)) => format!("Timeout when waiting for search string {re} in {path}"),
        (_, true, None) => format!("Timeout when waiting for file {path}"),
        (_, false, _) => format!("Timeout when waiting for {host}:{port}"),
    }
}

register_plugin!(Wait);
