//! The Ansible modules a playbook may name, and how each maps onto a
//! plugin action: parameter aliases, free-form (`k=v`) arguments, and the
//! few that need the controller first (`template` and `copy src=` read
//! local files; `debug var=`, `assert` and `set_fact` read variables).

use serde_json::{Map, Value as Json};

use super::task_error::TaskError;

/// A module a task can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    /// `apt`.
    Apt,
    /// `assert`.
    Assert,
    /// `authorized_key`.
    AuthorizedKey,
    /// `tempfile`.
    Tempfile,
    /// One of ansible-core's modules Capstan does not run yet
    /// ([`NOT_YET`]): the task fails if it runs.
    NotYet,
    /// A module named by a template (`action: "{{ ansible_pkg_mgr }}"`),
    /// resolved on each host when the task runs.
    Templated,
    /// `ping`.
    Ping,
    /// `wait_for`.
    WaitFor,
    /// `script`.
    Script,
    /// `command`.
    Command,
    /// `copy`.
    Copy,
    /// `cron` (the system plugin's `cron`).
    Cron,
    /// `hostname` (the system plugin's `hostname`).
    Hostname,
    /// `sysctl` (the system plugin's `sysctl`).
    Sysctl,
    /// `apt_repository` (the apt plugin's `repository`).
    AptRepository,
    /// `apt_key` (the apt plugin's `key`).
    AptKey,
    /// `pip` (the apt plugin's `pip`).
    Pip,
    /// `async_status` (the command plugin's `async_status`).
    AsyncStatus,
    /// `find` (the find plugin's `find`).
    Find,
    /// `getent` (the user plugin's `getent`).
    Getent,
    /// `get_url` (the url plugin's `get`).
    GetUrl,
    /// `uri` (the url plugin's `request`).
    Uri,
    /// `debug`.
    Debug,
    /// `docker_container`.
    DockerContainer,
    /// `docker_image`.
    DockerImage,
    /// `docker_network`.
    DockerNetwork,
    /// `docker_node`.
    DockerNode,
    /// `docker_swarm_service` (and `docker_service`).
    DockerService,
    /// `docker_stack`.
    DockerStack,
    /// `docker_swarm`.
    DockerSwarm,
    /// `docker_volume`.
    DockerVolume,
    /// `fail` (run by the play: the host fails with its message).
    Fail,
    /// `fetch` (the copy plugin reads, the runner keeps the file here).
    Fetch,
    /// `file`.
    File,
    /// `git`.
    Git,
    /// `group`.
    Group,
    /// `include_vars` (read on the controller, like `set_fact`).
    IncludeVars,
    /// `lineinfile`.
    Lineinfile,
    /// `blockinfile` (the lineinfile plugin's `block`).
    Blockinfile,
    /// `replace` (the lineinfile plugin's `replace`).
    Replace,
    /// `meta` (run by the play itself: handlers, ending hosts or the play).
    Meta,
    /// `include_tasks` written as a handler (run by the play itself: the
    /// file's tasks in its place).
    IncludeTasks,
    /// `service` (and `systemd`).
    Service,
    /// `set_fact`.
    SetFact,
    /// `setup`.
    Setup,
    /// `pause` (run by the play, once for the batch, without prompting).
    Pause,
    /// `shell`.
    Shell,
    /// `raw`: a command line as written (but `executable=`), run by the
    /// target's shell (the command plugin's `shell`, as Ansible's runs it
    /// through the connection's shell).
    Raw,
    /// `stat`.
    Stat,
    /// `template`.
    Template,
    /// `unarchive` (the copy plugin's `unarchive`).
    Unarchive,
    /// `user`.
    User,
    /// An action of an installed plugin, written `capstan.PLUGIN.ACTION`
    /// (the task holds which): what third-party plugins bring.
    Plugin,
}

/// The plugin and action a `capstan.PLUGIN.ACTION` module name names.
pub fn plugin_module(written: &str) -> Option<(String, String)> {
    let rest = written.strip_prefix("capstan.")?;
    let (plugin, action) = rest.split_once('.')?;
    let fine = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    (fine(plugin) && fine(action)).then(|| (plugin.to_string(), action.to_string()))
}

/// Every module name a task may use (with or without `ansible.builtin.`).
pub const NAMES: &[&str] = &[
    "apt",
    "apt_key",
    "apt_repository",
    "assert",
    "async_status",
    "authorized_key",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "debug",
    "docker_container",
    "docker_image",
    "docker_network",
    "docker_node",
    "docker_service",
    "docker_stack",
    "docker_swarm",
    "docker_swarm_service",
    "docker_volume",
    "fail",
    "fetch",
    "file",
    "find",
    "get_url",
    "getent",
    "git",
    "group",
    "hostname",
    "include_vars",
    "lineinfile",
    "meta",
    "package",
    "pause",
    "ping",
    "pip",
    "raw",
    "replace",
    "service",
    "set_fact",
    "setup",
    "shell",
    "stat",
    "sysctl",
    "systemd",
    "tempfile",
    "template",
    "unarchive",
    "uri",
    "user",
];

/// ansible-core's own modules that Capstan does not run yet. A task naming
/// one is read like any other and fails, saying so, only if it runs: a
/// playbook that skips it (`when: ansible_os_family == 'RedHat'` around
/// `dnf`) runs unchanged.
pub const NOT_YET: &[&str] = &[
    "add_host",
    "assemble",
    "deb822_repository",
    "debconf",
    "dnf",
    "dnf5",
    "dpkg_selections",
    "expect",
    "group_by",
    "iptables",
    "known_hosts",
    "mount_facts",
    "package_facts",
    "reboot",
    "rpm_key",
    "service_facts",
    "set_stats",
    "slurp",
    "subversion",
    "sysvinit",
    "validate_argument_spec",
    "wait_for_connection",
    "yum",
    "yum_repository",
];

/// The module a task key names, if Capstan has it.
pub fn resolve(written: &str) -> Option<Module> {
    let name = written
        .strip_prefix("ansible.builtin.")
        .or_else(|| written.strip_prefix("ansible.legacy."))
        .or_else(|| written.strip_prefix("community.docker."))
        .or_else(|| written.strip_prefix("community.general."))
        .or_else(|| written.strip_prefix("ansible.posix."))
        .unwrap_or(written);
    Some(match name {
        // On the Debian family Ansible's `package` is `apt`.
        "apt" | "package" => Module::Apt,
        "apt_repository" => Module::AptRepository,
        "apt_key" => Module::AptKey,
        "pip" => Module::Pip,
        "async_status" => Module::AsyncStatus,
        "find" => Module::Find,
        "assert" => Module::Assert,
        "authorized_key" => Module::AuthorizedKey,
        "command" => Module::Command,
        "copy" => Module::Copy,
        "cron" => Module::Cron,
        "hostname" => Module::Hostname,
        "sysctl" => Module::Sysctl,
        "get_url" => Module::GetUrl,
        "getent" => Module::Getent,
        "uri" => Module::Uri,
        "debug" => Module::Debug,
        "docker_container" => Module::DockerContainer,
        "docker_image" => Module::DockerImage,
        "docker_network" => Module::DockerNetwork,
        "docker_node" => Module::DockerNode,
        "docker_swarm_service" | "docker_service" => Module::DockerService,
        "docker_stack" => Module::DockerStack,
        "docker_swarm" => Module::DockerSwarm,
        "docker_volume" => Module::DockerVolume,
        "fail" => Module::Fail,
        "file" => Module::File,
        "git" => Module::Git,
        "group" => Module::Group,
        "include_vars" => Module::IncludeVars,
        "lineinfile" => Module::Lineinfile,
        "blockinfile" => Module::Blockinfile,
        "replace" => Module::Replace,
        "meta" => Module::Meta,
        "pause" => Module::Pause,
        "service" | "systemd" | "systemd_service" => Module::Service,
        "set_fact" => Module::SetFact,
        "setup" | "gather_facts" => Module::Setup,
        "shell" => Module::Shell,
        "raw" => Module::Raw,
        "stat" => Module::Stat,
        "template" => Module::Template,
        "unarchive" => Module::Unarchive,
        "fetch" => Module::Fetch,
        "tempfile" => Module::Tempfile,
        "ping" => Module::Ping,
        "wait_for" => Module::WaitFor,
        "script" => Module::Script,
        "user" => Module::User,
        other if NOT_YET.contains(&other) => Module::NotYet,
        _ => return None,
    })
}

/// The known module name closest to a misspelt one.
pub fn nearest(written: &str) -> Option<&'static str> {
    let name = written.rsplit('.').next().unwrap_or(written);
    NAMES
        .iter()
        .map(|n| (edit_distance(name, n), *n))
        .filter(|(d, n)| *d <= (n.len() / 3).max(2))
        .min()
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

impl Module {
    /// The plugin and action that do this module's work on a host; `None`
    /// for those the run does itself (`set_fact`, `include_vars`, `meta`)
    /// and for an installed plugin's action (the task names it).
    pub fn plugin_action(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Module::Apt => ("apt", "apply"),
            Module::AptRepository => ("apt", "repository"),
            Module::AptKey => ("apt", "key"),
            Module::Pip => ("apt", "pip"),
            Module::AsyncStatus => ("command", "async_status"),
            Module::Find => ("find", "find"),
            Module::Assert => ("assert", "check"),
            Module::Command => ("command", "exec"),
            Module::Shell | Module::Raw => ("command", "shell"),
            Module::Copy | Module::Template => ("copy", "apply"),
            Module::Cron => ("system", "cron"),
            Module::Hostname => ("system", "hostname"),
            Module::Sysctl => ("system", "sysctl"),
            Module::GetUrl => ("url", "get"),
            Module::Getent => ("user", "getent"),
            Module::Uri => ("url", "request"),
            Module::Unarchive => ("copy", "unarchive"),
            Module::Fetch => ("copy", "fetch"),
            Module::Debug => ("debug", "msg"),
            Module::DockerContainer => ("docker", "container"),
            Module::DockerImage => ("docker", "image"),
            Module::DockerNetwork => ("docker", "network"),
            Module::DockerNode => ("docker", "node"),
            Module::DockerService => ("docker", "service"),
            Module::DockerStack => ("docker", "stack"),
            Module::DockerSwarm => ("docker", "swarm"),
            Module::DockerVolume => ("docker", "volume"),
            Module::File => ("file", "apply"),
            Module::Stat => ("file", "stat"),
            Module::Tempfile => ("file", "tempfile"),
            Module::Ping => ("command", "ping"),
            Module::WaitFor => ("wait", "until"),
            Module::Script => ("command", "script"),
            Module::Git => ("git", "apply"),
            Module::Group => ("user", "group"),
            Module::User => ("user", "user"),
            Module::AuthorizedKey => ("user", "authorized_key"),
            Module::Lineinfile => ("lineinfile", "apply"),
            Module::Blockinfile => ("lineinfile", "block"),
            Module::Replace => ("lineinfile", "replace"),
            Module::Service => ("service", "apply"),
            Module::Setup => ("setup", "gather"),
            Module::SetFact
            | Module::IncludeVars
            | Module::Meta
            | Module::IncludeTasks
            | Module::Fail
            | Module::Pause
            | Module::Plugin
            | Module::NotYet
            | Module::Templated => return None,
        })
    }

    /// Whether it runs once for the batch, on its first host, with no
    /// part for the others (Ansible runs `pause` outside its host loop).
    pub fn once_per_batch(self) -> bool {
        self == Module::Pause
    }

    /// Ansible's parameter aliases: (alias, canonical name).
    fn aliases(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Module::Find => &[
                ("name", "paths"),
                ("path", "paths"),
                ("pattern", "patterns"),
                ("exclude", "excludes"),
                ("checksum", "checksum_algorithm"),
                ("checksum_algo", "checksum_algorithm"),
            ],
            Module::File | Module::Lineinfile | Module::Stat | Module::Replace => {
                &[("dest", "path"), ("name", "path"), ("destfile", "path")]
            }
            Module::Blockinfile => &[
                ("dest", "path"),
                ("name", "path"),
                ("destfile", "path"),
                ("content", "block"),
            ],
            Module::Apt => &[
                ("pkg", "name"),
                ("package", "name"),
                ("update-cache", "update_cache"),
            ],
            Module::Git => &[("name", "repo")],
            Module::User => &[("createhome", "create_home"), ("user", "name")],
            Module::Cron => &[("value", "job"), ("dom", "day"), ("dow", "weekday")],
            Module::Sysctl => &[("key", "name"), ("val", "value")],
            Module::AptRepository => &[("update-cache", "update_cache")],
            Module::GetUrl => &[("username", "url_username"), ("password", "url_password")],
            Module::Uri => &[("user", "url_username"), ("password", "url_password")],
            Module::Service => &[
                ("service", "name"),
                ("unit", "name"),
                ("daemon-reload", "daemon_reload"),
                ("daemon-reexec", "daemon_reexec"),
            ],
            Module::Command | Module::Shell | Module::Script | Module::Raw => {
                &[("_raw_params", "cmd")]
            }
            Module::DockerContainer => &[("ports", "published_ports")],
            Module::DockerNetwork => &[("network_name", "name")],
            Module::DockerVolume => &[("volume_name", "name")],
            _ => &[],
        }
    }

    /// Whether `k=v` text is a command line with a few options in it.
    pub(crate) fn free_form(self) -> bool {
        matches!(
            self,
            Module::Command | Module::Shell | Module::Script | Module::Raw
        )
    }
}

/// Options a free-form command line may carry as `k=v` words.
const COMMAND_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "stdin",
    "stdin_add_newline",
    "executable",
];

/// Turns written arguments (after templating) into the plugin's
/// parameters: `k=v` text split, aliases renamed.
pub fn params(module: Module, inline: Option<&str>, map: Option<&Json>) -> Result<Json, TaskError> {
    // A command line written beside `args:` is read as one written alone.
    if module.free_form()
        && inline.is_none()
        && let Some(Json::Object(map)) = map
        && let Some(Json::String(text)) = map.get("_raw_params")
    {
        let mut rest = map.clone();
        rest.remove("_raw_params");
        return params(module, Some(text), Some(&Json::Object(rest)));
    }
    let mut params = Map::new();
    if let Some(text) = inline {
        let words = split_words(text)?;
        if module.free_form() {
            // The command is the text as written (its lines, quotes and
            // spacing kept), less the option words and `\` line
            // continuations, as Ansible's argument splitter leaves it.
            let mut command = text.to_string();
            // `raw` takes only `executable=`; the rest is its command.
            let options = if module == Module::Raw {
                &["executable"][..]
            } else {
                COMMAND_OPTIONS
            };
            for (raw, unquoted) in words {
                if let Some((key, value)) = unquoted.split_once('=')
                    && options.contains(&key)
                    && raw.starts_with(&format!("{key}="))
                {
                    params.insert(key.to_string(), Json::String(value.to_string()));
                    remove_word(&mut command, &raw);
                }
            }
            let command = without_continuations(&command);
            let command = command.trim_matches(' ');
            if !command.trim().is_empty() {
                params.insert("cmd".into(), Json::String(command.to_string()));
            }
        } else if matches!(module, Module::Debug | Module::Fail) && !text.contains('=') {
            params.insert("msg".into(), Json::String(text.to_string()));
        } else if module == Module::IncludeVars && !text.contains('=') {
            params.insert("file".into(), Json::String(text.trim().to_string()));
        } else {
            for (raw, word) in words {
                let (key, value) = key_value(&raw, &word).ok_or_else(|| {
                    TaskError::Args(format!("expected key=value, got `{word}` (write the arguments as a mapping to pass text with spaces)"))
                })?;
                params.insert(key.to_string(), Json::String(value.to_string()));
            }
        }
    }
    if let Some(Json::Object(map)) = map {
        for (k, v) in map {
            params.insert(k.clone(), v.clone());
        }
    }
    for (alias, canonical) in module.aliases() {
        if let Some(value) = params.remove(*alias) {
            if params.contains_key(*canonical) {
                return Err(TaskError::Args(format!(
                    "give `{canonical}` or its alias `{alias}`, not both"
                )));
            }
            params.insert(canonical.to_string(), value);
        }
    }
    Ok(Json::Object(params))
}

/// Removes the word `raw` (the first place it stands as a whole word)
/// from `text`, with the space before it, or the line's end after it when
/// it starts a line.
fn remove_word(text: &mut String, raw: &str) {
    let bytes = text.as_bytes();
    let whole = |at: usize| {
        let before = at == 0 || bytes[at - 1].is_ascii_whitespace();
        let end = at + raw.len();
        before && (end == bytes.len() || bytes[end].is_ascii_whitespace())
    };
    if let Some(at) = text.match_indices(raw).map(|(i, _)| i).find(|&i| whole(i)) {
        let bytes = text.as_bytes();
        let mut end = at + raw.len();
        let from = if at > 0 && bytes[at - 1] == b' ' {
            at - 1
        } else {
            if at == 0 || bytes[at - 1] == b'\n' {
                while end < bytes.len() && bytes[end] == b' ' {
                    end += 1;
                }
                if end < bytes.len() && bytes[end] == b'\n' {
                    end += 1;
                }
            }
            at
        };
        text.replace_range(from..end, "");
    }
}

/// `text` without its line continuations: a `\` word that ends a line
/// outside quotes joins that line to the next.
fn without_continuations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\\')
                if chars.peek() == Some(&'\n')
                    && (out.is_empty() || out.ends_with([' ', '\n'])) =>
            {
                chars.next();
                continue;
            }
            (Some('"'), '\\') => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
                continue;
            }
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A `k=v` word's key and value, from the word as written (`raw`) and
/// with its quotes removed (`plain`), as Ansible reads it: a value quoted
/// whole loses its quotes, one with quotes inside keeps them
/// (`that=x=="y"` compares with the text `y`).
pub fn key_value<'w>(raw: &'w str, plain: &'w str) -> Option<(&'w str, &'w str)> {
    let (key, plain_value) = plain.split_once('=')?;
    let Some((_, raw_value)) = raw.split_once('=') else {
        return Some((key, plain_value));
    };
    let quoted_whole = raw_value.len() >= 2
        && ['"', '\''].iter().any(|q| {
            raw_value.starts_with(*q)
                && raw_value.ends_with(*q)
                && !unescaped(&raw_value[1..raw_value.len() - 1]).contains(*q)
        });
    let quotes_inside = raw_value.contains(['"', '\'']);
    Some(match (quoted_whole, quotes_inside) {
        (false, true) => (key, raw_value),
        _ => (key, plain_value),
    })
}

/// `text` without its backslash escapes (an escaped quote is no quote).
fn unescaped(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits `k=v` text into words, honouring quotes and keeping Jinja
/// blocks (`{{ a }}`) whole; each word comes back as written and with its
/// quotes removed. (`-e` on the command line is split so too.)
pub fn split_words(text: &str) -> Result<Vec<(String, String)>, TaskError> {
    let mut words = Vec::new();
    let mut raw = String::new();
    let mut plain = String::new();
    let mut quote: Option<char> = None;
    let mut jinja = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '{' | '%' | '}') {
            match (c, chars.peek()) {
                ('{', Some('{' | '%')) => jinja += 1,
                ('}' | '%', Some('}')) => jinja = jinja.saturating_sub(1),
                _ => {}
            }
        }
        match (quote, c) {
            (None, c) if c.is_whitespace() && jinja > 0 => {
                raw.push(c);
                plain.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !raw.is_empty() {
                    words.push((std::mem::take(&mut raw), std::mem::take(&mut plain)));
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                raw.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                raw.push(c);
            }
            (_, '\\') => {
                // Escapes are decoded as Ansible's k=v parser does: the
                // ones Python knows; any other (`\w` in a regex) stays.
                raw.push(c);
                if let Some(next) = chars.next() {
                    raw.push(next);
                    match next {
                        'n' => plain.push('\n'),
                        't' => plain.push('\t'),
                        'r' => plain.push('\r'),
                        'a' => plain.push('\x07'),
                        'b' => plain.push('\x08'),
                        'f' => plain.push('\x0c'),
                        'v' => plain.push('\x0b'),
                        '\\' | '\'' | '"' => plain.push(next),
                        other => {
                            plain.push('\\');
                            plain.push(other);
                        }
                    }
                }
            }
            (_, c) => {
                raw.push(c);
                plain.push(c);
            }
        }
    }
    if let Some(q) = quote {
        return Err(TaskError::Args(format!("unbalanced {q} quote in `{text}`")));
    }
    if !raw.is_empty() {
        words.push((raw, plain));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_resolve_and_typos_get_a_suggestion() {
        assert_eq!(resolve("ansible.builtin.copy"), Some(Module::Copy));
        assert_eq!(resolve("systemd"), Some(Module::Service));
        assert_eq!(resolve("coppy"), None);
        assert_eq!(nearest("coppy"), Some("copy"));
        assert_eq!(nearest("lineinfle"), Some("lineinfile"));
        assert_eq!(nearest("zzzzzzzz"), None);
    }

    #[test]
    fn a_value_keeps_the_quotes_inside_it_as_ansible_reads_it() {
        let read = |text: &str| {
            let p = params(Module::Assert, Some(text), None).unwrap();
            p["that"].as_str().unwrap().to_string()
        };
        assert_eq!(read(r#"that=var3=="accessme""#), r#"var3=="accessme""#);
        assert_eq!(read(r#"that="a == b""#), "a == b");
        assert_eq!(read(r#"that='x == "y"'"#), r#"x == "y""#);
    }

    #[test]
    fn inline_arguments() {
        assert_eq!(
            params(
                Module::File,
                Some("dest=/tmp/a state=directory mode=0755"),
                None
            )
            .unwrap(),
            json!({"path": "/tmp/a", "state": "directory", "mode": "0755"})
        );
        assert_eq!(
            params(
                Module::Shell,
                Some("echo \"a b\" > /tmp/x creates=/tmp/x"),
                None
            )
            .unwrap(),
            json!({"cmd": "echo \"a b\" > /tmp/x", "creates": "/tmp/x"})
        );
        // A shell block keeps its lines; `\` continues one outside quotes.
        assert_eq!(
            params(
                Module::Shell,
                Some("chdir=/srv echo a \\\n\"b\n c\" \\\n| cat\necho  two\n"),
                None
            )
            .unwrap(),
            json!({"cmd": "echo a \"b\n c\" | cat\necho  two\n", "chdir": "/srv"})
        );
        assert_eq!(
            params(
                Module::Shell,
                Some("executable=\"/bin/bash\"\ncreates=/x\necho \"test\"\n"),
                None
            )
            .unwrap(),
            json!({"cmd": "echo \"test\"\n", "creates": "/x", "executable": "/bin/bash"})
        );
        // `raw` takes only `executable=`: the rest is its command.
        assert_eq!(
            params(
                Module::Raw,
                Some("executable=/bin/bash echo a creates=/x"),
                None
            )
            .unwrap(),
            json!({"cmd": "echo a creates=/x", "executable": "/bin/bash"})
        );
        assert_eq!(
            params(Module::File, Some("path={{ root }}/x state=touch"), None).unwrap(),
            json!({"path": "{{ root }}/x", "state": "touch"})
        );
        assert_eq!(
            params(Module::Lineinfile, Some("path=/a line='x = 1'"), None).unwrap(),
            json!({"path": "/a", "line": "x = 1"})
        );
        // Python's escapes are decoded; a regex's `\w` is kept.
        assert_eq!(
            params(
                Module::Lineinfile,
                Some(r"path=/a line='a\tb \'q\'' regexp='^x\w+\s'"),
                None
            )
            .unwrap(),
            json!({"path": "/a", "line": "a\tb 'q'", "regexp": r"^x\w+\s"})
        );
        assert!(
            params(Module::File, Some("path=/a oops"), None)
                .unwrap_err()
                .to_string()
                .contains("key=value")
        );
        assert!(
            params(Module::File, Some("path='/a"), None)
                .unwrap_err()
                .to_string()
                .contains("unbalanced")
        );
        assert!(
            params(
                Module::File,
                None,
                Some(&json!({"path": "/a", "dest": "/b"}))
            )
            .unwrap_err()
            .to_string()
            .contains("not both")
        );
        // The docker plugin's schema names only canonical fields.
        assert_eq!(
            params(
                Module::DockerContainer,
                None,
                Some(&json!({"name": "web", "ports": ["8080:80"]}))
            )
            .unwrap(),
            json!({"name": "web", "published_ports": ["8080:80"]})
        );
    }
}
