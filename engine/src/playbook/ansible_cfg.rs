//! `ansible.cfg`: the Ansible settings file a playbook's project keeps
//! beside it. The first found of `ANSIBLE_CONFIG`, the playbook's folder,
//! the working folder, `~/.ansible.cfg` and `/etc/ansible/ansible.cfg` is
//! read, as Ansible reads only the first it finds. Capstan honours what
//! changes what a run does (inventory, roles path, login user, become,
//! forks, host keys, vault passwords, fact gathering); settings that only
//! tune Ansible's own machinery are accepted quietly; any other is named
//! in a warning rather than silently ignored.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::fact_cache::{self, FactCache};

/// One setting as written: its section, key, value and line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    section: String,
    key: String,
    value: String,
    line: usize,
}

/// What a found `ansible.cfg` asks of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnsibleCfg {
    /// The file it was read from.
    pub file: PathBuf,
    /// `[defaults] inventory`: the inventory when `-i` is not given.
    pub inventory: Option<PathBuf>,
    /// `[defaults] roles_path`: where roles are looked for after the
    /// playbook's `roles/` (relative folders are the file's).
    pub roles_path: Vec<PathBuf>,
    /// `[defaults] remote_user`: the login of hosts that name none.
    pub remote_user: Option<String>,
    /// `[defaults] forks`: at most so many hosts run a task at once.
    pub forks: Option<usize>,
    /// `[defaults] host_key_checking = False`: host keys seen for the
    /// first time are recorded rather than refused (a changed key is still
    /// refused: Capstan never connects to a host whose key changed).
    pub trust_new_hosts: bool,
    /// `[defaults] vault_password_file`.
    pub vault_password_file: Option<PathBuf>,
    /// `[defaults] vault_identity_list`, as `ID@FILE` entries.
    pub vault_ids: Vec<String>,
    /// `[defaults] force_handlers`: handlers run on failed hosts too.
    pub force_handlers: bool,
    /// `[defaults] error_on_missing_handler = False`: a `notify:` naming
    /// no handler is a warning, not an error.
    pub missing_handler_warns: bool,
    /// `[defaults] gathering = explicit`: plays gather facts only when
    /// they say `gather_facts: true`.
    pub gather_explicitly: bool,
    /// `[privilege_escalation] become`: the plays' default.
    pub become_: Option<bool>,
    /// `[privilege_escalation] become_user`.
    pub become_user: Option<String>,
    /// `[defaults] fact_caching = jsonfile` with its folder, prefix and
    /// timeout: facts kept between runs (set by [`Self::with_environment`],
    /// as the environment may name them instead).
    pub fact_cache: Option<FactCache>,
    /// The `fact_caching*` settings as the file wrote them.
    fact_caching: FactCacheSettings,
    /// Settings it has that Capstan does not honour, each named with its
    /// section and line.
    pub not_honoured: Vec<String>,
}

/// The `fact_caching*` settings, from the file or the environment.
#[derive(Debug, Clone, Default, PartialEq)]
struct FactCacheSettings {
    plugin: Option<String>,
    connection: Option<PathBuf>,
    prefix: Option<String>,
    timeout: Option<u64>,
}

impl FactCacheSettings {
    /// Takes `ANSIBLE_CACHE_PLUGIN*`, which win over the file.
    fn with_environment(mut self) -> Result<FactCacheSettings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(plugin) = var("ANSIBLE_CACHE_PLUGIN") {
            self.plugin = Some(plugin);
        }
        if let Some(folder) = var("ANSIBLE_CACHE_PLUGIN_CONNECTION") {
            self.connection = Some(expand_home(&folder));
        }
        if let Ok(prefix) = std::env::var("ANSIBLE_CACHE_PLUGIN_PREFIX") {
            self.prefix = Some(prefix);
        }
        if let Some(timeout) = var("ANSIBLE_CACHE_PLUGIN_TIMEOUT") {
            self.timeout =
                Some(seconds(&timeout).map_err(|e| format!("ANSIBLE_CACHE_PLUGIN_TIMEOUT: {e}"))?);
        }
        Ok(self)
    }

    /// The cache they set up: none for Ansible's default `memory`, a
    /// folder of JSON files for `jsonfile`; any other kind is refused.
    fn cache(self) -> Result<Option<FactCache>, String> {
        match self.plugin.as_deref().map(str::trim) {
            None | Some("memory" | "ansible.builtin.memory") => Ok(None),
            Some("jsonfile" | "ansible.builtin.jsonfile") => {
                let dir = self.connection.ok_or(
                    "fact_caching = jsonfile needs fact_caching_connection (or \
                     ANSIBLE_CACHE_PLUGIN_CONNECTION): the folder facts are kept in",
                )?;
                Ok(Some(FactCache {
                    dir,
                    prefix: self.prefix.unwrap_or_default(),
                    timeout: self
                        .timeout
                        .map_or(fact_cache::DEFAULT_TIMEOUT, Duration::from_secs),
                }))
            }
            Some(other) => Err(format!(
                "fact_caching = {other}: Capstan keeps facts between runs in `jsonfile` (a \
                 folder of JSON files) or not at all (`memory`)"
            )),
        }
    }
}

/// A whole number of seconds.
fn seconds(value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a whole number of seconds"))
}

/// Settings that only tune how Ansible itself works or prints (its
/// Python, its SSH multiplexing, its callbacks, retry files): a run does
/// the same without them, so they are accepted without a word.
const NO_EFFECT: &[(&str, &str)] = &[
    ("defaults", "retry_files_enabled"),
    ("defaults", "retry_files_save_path"),
    ("defaults", "stdout_callback"),
    ("defaults", "callbacks_enabled"),
    ("defaults", "callback_whitelist"),
    ("defaults", "callbacks_whitelist"),
    ("defaults", "bin_ansible_callbacks"),
    ("defaults", "nocows"),
    ("defaults", "nocolor"),
    ("defaults", "deprecation_warnings"),
    ("defaults", "command_warnings"),
    ("defaults", "system_warnings"),
    ("defaults", "localhost_warning"),
    ("defaults", "interpreter_python"),
    ("defaults", "ansible_python_interpreter"),
    ("defaults", "display_skipped_hosts"),
    ("defaults", "display_ok_hosts"),
    ("defaults", "show_custom_stats"),
    ("defaults", "timeout"),
    ("defaults", "log_path"),
    ("defaults", "local_tmp"),
    ("defaults", "remote_tmp"),
    ("defaults", "internal_poll_interval"),
    ("defaults", "collections_path"),
    ("defaults", "collections_paths"),
    ("ssh_connection", "pipelining"),
    ("ssh_connection", "ssh_args"),
    ("ssh_connection", "control_path"),
    ("ssh_connection", "control_path_dir"),
    ("ssh_connection", "scp_if_ssh"),
    ("ssh_connection", "transfer_method"),
    ("ssh_connection", "retries"),
    ("connection", "pipelining"),
    ("persistent_connection", "connect_timeout"),
    ("persistent_connection", "command_timeout"),
    ("colors", "*"),
    ("diff", "context"),
    ("galaxy", "*"),
    ("inventory", "enable_plugins"),
];

/// A problem reading `ansible.cfg`, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CfgError {
    /// The file.
    pub file: String,
    /// The 1-based line (0 when the file could not be read at all).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl AnsibleCfg {
    /// The settings file for a playbook in `playbook_dir`, if there is one.
    pub fn find(playbook_dir: &Path) -> Result<Option<AnsibleCfg>, CfgError> {
        match locate(playbook_dir) {
            Some(file) => AnsibleCfg::read(&file).map(Some),
            None => Ok(None),
        }
    }

    /// Reads the settings file at `file`.
    pub fn read(file: &Path) -> Result<AnsibleCfg, CfgError> {
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|e| CfgError {
            file: shown.clone(),
            line: 0,
            message: format!("cannot read it: {e}"),
        })?;
        let settings = parse(&text).map_err(|(line, message)| CfgError {
            file: shown.clone(),
            line,
            message,
        })?;
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut cfg = AnsibleCfg {
            file: file.to_path_buf(),
            ..AnsibleCfg::default()
        };
        for setting in settings {
            cfg.take(&setting, &dir).map_err(|message| CfgError {
                file: shown.clone(),
                line: setting.line,
                message: format!("[{}] {}: {message}", setting.section, setting.key),
            })?;
        }
        Ok(cfg)
    }

    /// Applies one setting.
    fn take(&mut self, setting: &Setting, dir: &Path) -> Result<(), String> {
        let value = setting.value.as_str();
        let path = |v: &str| {
            let expanded = expand_home(v);
            if expanded.is_absolute() {
                expanded
            } else {
                dir.join(expanded)
            }
        };
        match (setting.section.as_str(), setting.key.as_str()) {
            ("defaults", "inventory" | "hostfile") => {
                let sources: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                match sources.as_slice() {
                    [one] => self.inventory = Some(path(one)),
                    [] => {}
                    _ => {
                        return Err("Capstan reads one inventory; name one file (or use -i)".into());
                    }
                }
            }
            ("defaults", "roles_path") => {
                self.roles_path = value
                    .split(':')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(path)
                    .collect();
            }
            ("defaults", "remote_user") => self.remote_user = Some(value.to_string()),
            ("defaults", "forks") => {
                let forks: usize = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or("takes a whole number from 1 to 10000")?;
                self.forks = Some(forks);
            }
            ("defaults", "host_key_checking") => self.trust_new_hosts = !truth(value)?,
            ("defaults", "vault_password_file") => self.vault_password_file = Some(path(value)),
            ("defaults", "vault_identity_list") => {
                self.vault_ids = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|entry| match entry.split_once('@') {
                        Some((id, file)) => format!("{id}@{}", path(file).display()),
                        None => path(entry).display().to_string(),
                    })
                    .collect();
            }
            ("defaults", "force_handlers") => self.force_handlers = truth(value)?,
            ("defaults", "error_on_missing_handler") => {
                self.missing_handler_warns = !truth(value)?;
            }
            ("defaults", "gathering") => match value.to_ascii_lowercase().as_str() {
                "explicit" => self.gather_explicitly = true,
                "implicit" | "smart" => self.gather_explicitly = false,
                _ => return Err("takes implicit, explicit or smart".into()),
            },
            ("defaults", "fact_caching") => self.fact_caching.plugin = Some(value.to_string()),
            ("defaults", "fact_caching_connection") => {
                self.fact_caching.connection = Some(path(value));
            }
            ("defaults", "fact_caching_prefix") => {
                self.fact_caching.prefix = Some(value.to_string());
            }
            ("defaults", "fact_caching_timeout") => {
                self.fact_caching.timeout = Some(seconds(value)?);
            }
            ("privilege_escalation", "become") => self.become_ = Some(truth(value)?),
            ("privilege_escalation", "become_user") => self.become_user = Some(value.to_string()),
            ("privilege_escalation", "become_method") => {
                if value != "sudo" {
                    return Err(format!(
                        "Capstan becomes another user with sudo only, not `{value}`"
                    ));
                }
            }
            ("privilege_escalation", "become_ask_pass") => {
                if truth(value)? {
                    return Err("Capstan does not prompt; give the sudo password with \
                                --become-password-env or --become-password-secret"
                        .into());
                }
            }
            (section, key) => {
                let quiet = NO_EFFECT
                    .iter()
                    .any(|(s, k)| *s == section && (*k == key || *k == "*"));
                if !quiet {
                    self.not_honoured.push(format!(
                        "{}:{}: [{section}] {key} is not honoured by Capstan",
                        self.file.display(),
                        setting.line
                    ));
                }
            }
        }
        Ok(())
    }
}

impl AnsibleCfg {
    /// Fills what `options` leave open: the inventory, vault passwords,
    /// and trust in new host keys.
    pub fn apply_to_options(&self, options: &mut super::PlaybookOptions) {
        if options.inventory.is_none() {
            options.inventory = self.inventory.clone();
        }
        if options.vault_password_files.is_empty() && options.vault_ids.is_empty() {
            options
                .vault_password_files
                .extend(self.vault_password_file.clone());
            options.vault_ids.extend(self.vault_ids.iter().cloned());
        }
        options.trust_new_hosts |= self.trust_new_hosts;
        options.force_handlers |= self.force_handlers;
    }

    /// The settings Ansible also takes from its environment, which
    /// override the file's: `ANSIBLE_FORCE_HANDLERS`,
    /// `ANSIBLE_ERROR_ON_MISSING_HANDLER` and the fact cache's
    /// `ANSIBLE_CACHE_PLUGIN`, `_CONNECTION`, `_PREFIX` and `_TIMEOUT`.
    pub fn with_environment(mut self) -> Result<AnsibleCfg, String> {
        if let Some(value) = std::env::var_os("ANSIBLE_FORCE_HANDLERS") {
            self.force_handlers = truth(&value.to_string_lossy())
                .map_err(|e| format!("ANSIBLE_FORCE_HANDLERS: {e}"))?;
        }
        if let Some(value) = std::env::var_os("ANSIBLE_ERROR_ON_MISSING_HANDLER") {
            self.missing_handler_warns = !truth(&value.to_string_lossy())
                .map_err(|e| format!("ANSIBLE_ERROR_ON_MISSING_HANDLER: {e}"))?;
        }
        self.fact_cache = self
            .fact_caching
            .clone()
            .with_environment()?
            .cache()
            .map_err(|e| match self.file.as_os_str().is_empty() {
                true => e,
                false => format!("{}: {e}", self.file.display()),
            })?;
        Ok(self)
    }

    /// Gives each play the defaults the file sets where the play sets
    /// none: `become`, `become_user`, and no fact gathering with
    /// `gathering = explicit`.
    pub fn apply_to_plays(&self, plays: &mut [super::model::Play]) {
        for play in plays {
            if self.gather_explicitly {
                play.gather_facts.get_or_insert(false);
            }
            play.become_ = play.become_.or(self.become_);
            if play.become_user.is_none() {
                play.become_user = self.become_user.clone();
            }
        }
    }
}

/// The settings file Ansible would read for a playbook in `playbook_dir`.
fn locate(playbook_dir: &Path) -> Option<PathBuf> {
    if let Some(named) = std::env::var_os("ANSIBLE_CONFIG").filter(|v| !v.is_empty()) {
        let named = PathBuf::from(named);
        // Ansible accepts a folder holding an ansible.cfg as well.
        return Some(if named.is_dir() {
            named.join("ansible.cfg")
        } else {
            named
        });
    }
    let mut places = vec![playbook_dir.join("ansible.cfg")];
    if let Ok(cwd) = std::env::current_dir() {
        places.push(cwd.join("ansible.cfg"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        places.push(PathBuf::from(home).join(".ansible.cfg"));
    }
    places.push(PathBuf::from("/etc/ansible/ansible.cfg"));
    places.into_iter().find(|p| p.is_file())
}

/// `~/...` with the home folder put in.
fn expand_home(value: &str) -> PathBuf {
    match (value.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(value),
    }
}

/// An INI boolean as Ansible reads one.
fn truth(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "y" | "t" => Ok(true),
        "0" | "false" | "no" | "off" | "n" | "f" | "" => Ok(false),
        _ => Err(format!("`{value}` is not true or false")),
    }
}

/// The settings of an INI text in order: `[section]` headers, `key = value`
/// (or `key: value`) lines, indented lines continuing the value before
/// them, `#` and `;` comments (inline ones after a space).
fn parse(text: &str) -> Result<Vec<Setting>, (usize, String)> {
    let mut settings: Vec<Setting> = Vec::new();
    let mut section: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if raw.starts_with([' ', '\t'])
            && let Some(last) = settings.last_mut()
        {
            if !last.value.is_empty() {
                last.value.push('\n');
            }
            last.value.push_str(strip_inline_comment(trimmed));
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[') {
            let name = name.strip_suffix(']').ok_or_else(|| {
                (
                    line,
                    format!("`{trimmed}` opens a section it does not close"),
                )
            })?;
            section = Some(name.trim().to_ascii_lowercase());
            continue;
        }
        let Some(section) = &section else {
            return Err((line, "a setting before any [section]".into()));
        };
        let split = trimmed
            .find(['=', ':'])
            .ok_or_else(|| (line, format!("`{trimmed}` is not `key = value`")))?;
        let key = trimmed[..split].trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err((line, "a setting with no name".into()));
        }
        let value = strip_inline_comment(trimmed[split + 1..].trim()).to_string();
        settings.push(Setting {
            section: section.clone(),
            key,
            value,
            line,
        });
    }
    Ok(settings)
}

/// `value` without a trailing ` # comment` or ` ; comment`.
fn strip_inline_comment(value: &str) -> &str {
    let cut = [" #", " ;", "\t#", "\t;"]
        .iter()
        .filter_map(|marker| value.find(marker))
        .min();
    match cut {
        Some(at) => value[..at].trim_end(),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (tempfile::TempDir, Result<AnsibleCfg, CfgError>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ansible.cfg");
        std::fs::write(&file, text).unwrap();
        let cfg = AnsibleCfg::read(&file);
        (dir, cfg)
    }

    #[test]
    fn the_settings_a_run_honours_are_read_with_paths_from_the_files_folder() {
        let (dir, cfg) = read(
            "# a project's settings\n[defaults]\ninventory = hosts.ini\nroles_path = roles:/opt/roles ; two places\n\
             remote_user = deploy\nforks = 7\nhost_key_checking = False\nretry_files_enabled = False\n\
             gathering = explicit\nvault_password_file = .vault-pass\n\n[privilege_escalation]\nbecome = True\n\
             become_user = admin\nbecome_method = sudo\n[ssh_connection]\npipelining = True\n",
        );
        let cfg = cfg.unwrap();
        assert_eq!(cfg.inventory, Some(dir.path().join("hosts.ini")));
        assert_eq!(
            cfg.roles_path,
            [dir.path().join("roles"), PathBuf::from("/opt/roles")]
        );
        assert_eq!(cfg.remote_user.as_deref(), Some("deploy"));
        assert_eq!(cfg.forks, Some(7));
        assert!(cfg.trust_new_hosts);
        assert!(cfg.gather_explicitly);
        assert_eq!(
            cfg.vault_password_file,
            Some(dir.path().join(".vault-pass"))
        );
        assert_eq!(cfg.become_, Some(true));
        assert_eq!(cfg.become_user.as_deref(), Some("admin"));
        assert!(cfg.not_honoured.is_empty(), "{:?}", cfg.not_honoured);
    }

    #[test]
    fn a_setting_capstan_does_not_honour_is_named_with_its_line() {
        let (_dir, cfg) = read("[defaults]\nforks = 5\nstrategy_plugins = ./plugins\n");
        let cfg = cfg.unwrap();
        assert_eq!(cfg.not_honoured.len(), 1);
        assert!(
            cfg.not_honoured[0]
                .ends_with("ansible.cfg:3: [defaults] strategy_plugins is not honoured by Capstan"),
            "{:?}",
            cfg.not_honoured
        );
    }

    #[test]
    fn bad_values_and_bad_lines_are_refused_at_their_line() {
        for (text, line, says) in [
            (
                "[defaults]\nforks = many\n",
                2,
                "forks: takes a whole number",
            ),
            ("forks = 5\n", 1, "before any [section]"),
            ("[defaults\n", 1, "does not close"),
            ("[defaults]\njust words\n", 2, "is not `key = value`"),
            (
                "[defaults]\nhost_key_checking = maybe\n",
                2,
                "is not true or false",
            ),
            (
                "[privilege_escalation]\nbecome_method = su\n",
                2,
                "sudo only",
            ),
            (
                "[privilege_escalation]\nbecome_ask_pass = yes\n",
                2,
                "does not prompt",
            ),
            ("[defaults]\ninventory = a.ini,b.ini\n", 2, "one inventory"),
        ] {
            let (_dir, cfg) = read(text);
            let error = cfg.unwrap_err();
            assert_eq!(error.line, line, "{text}: {error}");
            assert!(error.to_string().contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn the_files_defaults_fill_only_what_a_play_leaves_open() {
        let pos = capstan_yaml::Pos {
            file: "site.yml".into(),
            line: 1,
            column: 1,
        };
        let mut plays = [
            crate::playbook::model::Play::new("all".into(), pos.clone()),
            crate::playbook::model::Play::new("all".into(), pos),
        ];
        plays[1].gather_facts = Some(true);
        plays[1].become_ = Some(false);
        let cfg = AnsibleCfg {
            gather_explicitly: true,
            become_: Some(true),
            become_user: Some("admin".into()),
            ..AnsibleCfg::default()
        };
        cfg.apply_to_plays(&mut plays);
        assert!(!plays[0].gathers_facts(), "gathering = explicit");
        assert_eq!(plays[0].become_, Some(true));
        assert_eq!(plays[0].become_user.as_deref(), Some("admin"));
        assert!(plays[1].gathers_facts(), "the play's own word wins");
        assert_eq!(plays[1].become_, Some(false));
    }

    #[test]
    fn indented_lines_continue_a_value() {
        let settings = parse("[defaults]\nroles_path = a\n  :b\n").unwrap();
        assert_eq!(settings[0].value, "a\n:b");
    }
}
