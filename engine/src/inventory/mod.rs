//! The inventory: hosts Capstan can reach, with their connection settings,
//! environment (dev, preprod, prod) and groups.

mod check;
pub mod folders;
pub mod form;
pub mod ini;
pub mod pattern;
mod ranges;
mod raw;
pub mod yaml;

pub use check::{HostCheck, unknown_key_in};
pub use folders::VarFolders;

use crate::vault::Vault;
pub use raw::LineError;

use capstan_remote::SshAuth;

pub use capstan_wire::hosts::{Host, HostAuth};

/// `-i web1,web2,`: the hosts named, in no group but `all`, with the
/// `group_vars/` and `host_vars/` of the working and playbook folders.
fn load_host_list(
    list: &str,
    default_user: &str,
    playbook_dir: Option<&std::path::Path>,
    vault: &Vault,
) -> Result<Vec<Host>, InventoryError> {
    let mut text = String::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name.contains(|c: char| c.is_whitespace() || "=[]#;".contains(c)) {
            return Err(InventoryError::Read(format!(
                "-i {list}: `{name}` is not a host name (a list of hosts is names separated by \
                 commas)"
            )));
        }
        text.push_str(name);
        text.push('\n');
    }
    let dirs: Vec<std::path::PathBuf> = std::iter::once(std::path::Path::new("."))
        .chain(playbook_dir)
        .map(std::path::Path::to_path_buf)
        .collect();
    let folders = VarFolders::read(&dirs, vault)?;
    let hosts = parse_text(list, &text, "ini", default_user, &folders)?;
    open_host_vars(hosts, vault, list)
}

/// The SSH transport's view of how to log in to a host.
pub fn ssh_auth(auth: &HostAuth) -> SshAuth {
    match auth {
        HostAuth::KeyFile(path) => SshAuth::KeyFile(path.into()),
        HostAuth::Agent => SshAuth::Agent,
        HostAuth::PasswordEnv(var) => SshAuth::PasswordFromEnv(var.clone()),
    }
}

/// Reads an inventory file, INI or YAML (by its extension, or by its first
/// line when it has none), with the `group_vars/` and `host_vars/` folders
/// beside it and then beside `playbook_dir` (whose values win), and checks
/// every host. `default_user` fills a missing `ansible_user`. The error
/// names the file and line. As with Ansible's `-i web1,web2`, a name that
/// is no file and holds a comma is a list of hosts.
pub fn load_file(
    path: &std::path::Path,
    default_user: &str,
    playbook_dir: Option<&std::path::Path>,
    vault: &Vault,
) -> Result<Vec<Host>, InventoryError> {
    let written = path.display().to_string();
    if written.contains(',') && !path.exists() {
        return load_host_list(&written, default_user, playbook_dir, vault);
    }
    let text = capstan_yaml::read_file(path, "inventory").map_err(InventoryError::Read)?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let beside = path.parent().unwrap_or(std::path::Path::new("."));
    let dirs: Vec<std::path::PathBuf> = std::iter::once(beside)
        .chain(playbook_dir)
        .map(|d| {
            if d.as_os_str().is_empty() {
                ".".as_ref()
            } else {
                d
            }
        })
        .map(std::path::Path::to_path_buf)
        .collect();
    let folders = VarFolders::read(&dirs, vault)?;
    let hosts = parse_text(
        &path.display().to_string(),
        &text,
        extension,
        default_user,
        &folders,
    )?;
    open_host_vars(hosts, vault, &path.display().to_string())
}

/// Opens the `!vault` values of hosts' variables (a YAML inventory's).
fn open_host_vars(
    mut hosts: Vec<Host>,
    vault: &Vault,
    shown: &str,
) -> Result<Vec<Host>, InventoryError> {
    for host in &mut hosts {
        for (name, value) in host.vars.iter_mut() {
            open_json(value, vault).map_err(|e| {
                InventoryError::Read(format!("{shown}: host {}: `{name}`: {e}", host.name))
            })?;
        }
    }
    Ok(hosts)
}

/// Opens every vaulted string inside a value, in place.
fn open_json(value: &mut serde_json::Value, vault: &Vault) -> Result<(), crate::vault::VaultError> {
    match value {
        serde_json::Value::String(text) if Vault::is_vaulted(text) => {
            *text = vault.open(text)?;
        }
        serde_json::Value::Array(items) => {
            for item in items {
                open_json(item, vault)?;
            }
        }
        serde_json::Value::Object(map) => {
            for item in map.values_mut() {
                open_json(item, vault)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Applies the `group_vars/` and `host_vars/` folders beside a playbook
/// to hosts Capstan keeps itself (a run without `-i`).
pub fn apply_folders(
    hosts: &mut [Host],
    playbook_dir: &std::path::Path,
    vault: &Vault,
) -> Result<(), InventoryError> {
    let folders = VarFolders::read(&[playbook_dir.to_path_buf()], vault)?;
    if folders.is_empty() {
        return Ok(());
    }
    for host in hosts {
        raw::apply_folders(host, &folders).map_err(|e| {
            InventoryError::Read(format!(
                "{}: host {}: {}",
                playbook_dir.display(),
                host.name,
                e.message
            ))
        })?;
    }
    Ok(())
}

/// Parses an inventory's text, INI or YAML (by `extension`: `yml` or
/// `yaml`; or, when it is empty, by its first line), and checks every host.
/// `shown` names the text in errors, with the line at fault; `folders`
/// adds group and host variables from `group_vars/` and `host_vars/`.
pub fn parse_text(
    shown: &str,
    text: &str,
    extension: &str,
    default_user: &str,
    folders: &VarFolders,
) -> Result<Vec<Host>, InventoryError> {
    let first_line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .unwrap_or("");
    let is_yaml = matches!(extension, "yml" | "yaml")
        || (extension.is_empty() && first_line.ends_with(':') && !first_line.starts_with('['))
        || first_line == "---";
    let raw = if is_yaml {
        yaml::read(shown, text)
    } else {
        ini::read(text)
    };
    let hosts = raw
        .and_then(|raw| raw.resolve(default_user, folders, raw::line_in(text)))
        .map_err(|e| InventoryError::Syntax {
            file: shown.to_string(),
            line: e.line,
            message: e.message,
        })?;
    for host in &hosts {
        host.validate().map_err(|error| InventoryError::BadHost {
            file: shown.to_string(),
            host: host.name.clone(),
            error,
        })?;
    }
    Ok(hosts)
}

/// Why an inventory file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// The file could not be read as text.
    #[error("{0}")]
    Read(String),
    /// A line is not valid INI or YAML inventory.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file, as the user named it.
        file: String,
        /// Its 1-based line.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// A host's fields are wrong.
    #[error("{file}: host {host}: {error}")]
    BadHost {
        /// The file, as the user named it.
        file: String,
        /// The host, by the name the file gives it.
        host: String,
        /// Its first wrong field.
        #[source]
        error: HostFieldError,
    },
}

impl From<InventoryError> for crate::Error {
    fn from(e: InventoryError) -> Self {
        crate::Error::BadInput(e.to_string())
    }
}

/// A host field a user typed that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HostFieldError {
    /// The field: `name`, `address`, `port`, `user`, `environment`, `vars`.
    pub field: &'static str,
    /// What is wrong with it and what to do.
    pub message: String,
}

impl From<HostFieldError> for crate::Error {
    fn from(e: HostFieldError) -> Self {
        crate::Error::BadField {
            field: e.field,
            message: e.message,
        }
    }
}

/// The user Capstan logs in as when the inventory names none: `$USER`.
pub fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "root".into())
}

/// This machine's host name (from `/etc/hostname`), read once; `None`
/// where there is no such file.
pub fn this_host_name() -> Option<&'static str> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
    })
    .as_deref()
}

/// The environments a host can belong to.
pub const ENVIRONMENTS: [&str; 3] = ["dev", "preprod", "prod"];

/// The engine's rules for a [`Host`] (the type itself is a wire type).
pub trait HostRules {
    /// Checks the fields a user typed; the error names the field.
    fn validate(&self) -> Result<(), HostFieldError> {
        self.invalid_field().map_or(Ok(()), |(field, message)| {
            Err(HostFieldError { field, message })
        })
    }

    /// The first field a user typed that is wrong, as `(field, message)`:
    /// a form marks that field (`name`, `address`, `port`, `user`,
    /// `environment`, `vars`) and shows the message beside it.
    fn invalid_field(&self) -> Option<(&'static str, String)>;

    /// The socket of this host's Docker engine when its `docker_host`
    /// variable names one (`unix:///path`).
    fn docker_socket(&self) -> Option<String>;
}

impl HostRules for Host {
    fn invalid_field(&self) -> Option<(&'static str, String)> {
        check_fields(self).err()
    }

    fn docker_socket(&self) -> Option<String> {
        let value = self.vars.get("docker_host")?.as_str()?;
        capstan_docker::socket_from_docker_host(value).ok()
    }
}

fn check_fields(host: &Host) -> Result<(), (&'static str, String)> {
    let name_ok = !host.name.is_empty()
        && host.name.len() <= 253
        && host
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        && !host.name.starts_with(['-', '.']);
    if !name_ok {
        return Err((
            "name",
            format!(
                "host name `{}` must be 1-253 characters of letters, digits, '.', '-' or '_'",
                host.name.escape_debug()
            ),
        ));
    }
    let connects_locally =
        host.vars.get("ansible_connection").and_then(|v| v.as_str()) == Some("local");
    if matches!(host.name.as_str(), "local" | "localhost") && !connects_locally {
        return Err((
            "name",
            format!(
                "`{}` is reserved for this machine (give it `ansible_connection=local`, or \
                 another name)",
                host.name
            ),
        ));
    }
    if host.address.is_empty()
        || host
            .address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err((
            "address",
            format!(
                "address `{}` is empty or has spaces",
                host.address.escape_debug()
            ),
        ));
    }
    if host.port == 0 {
        return Err(("port", "port must be 1-65535".into()));
    }
    if host.user.is_empty()
        || host
            .user
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@')
    {
        return Err((
            "user",
            format!(
                "user `{}` is empty or has spaces or '@'",
                host.user.escape_debug()
            ),
        ));
    }
    if let Some(env) = &host.environment
        && !ENVIRONMENTS.contains(&env.as_str())
    {
        return Err((
            "environment",
            format!(
                "environment `{env}` must be one of {}",
                ENVIRONMENTS.join(", ")
            ),
        ));
    }
    if let Some(value) = host.vars.get("docker_host") {
        let text = value.as_str().unwrap_or_default();
        capstan_docker::socket_from_docker_host(text)
            .map_err(|e| ("vars", format!("host `{}`: {e}", host.name)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            name: "web-1".into(),
            address: "127.0.0.1".into(),
            port: 22,
            user: "deploy".into(),
            auth: HostAuth::Agent,
            environment: Some("prod".into()),
            groups: vec!["web".into()],
            vars: Default::default(),
        }
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(host().validate().is_ok());
        let with = |f: fn(&mut Host)| {
            let mut h = host();
            f(&mut h);
            h.validate().unwrap_err().to_string()
        };
        assert!(with(|h| h.name = "web 1".into()).contains("host name"));
        assert!(with(|h| h.name = "local".into()).contains("reserved"));
        assert!(with(|h| h.address = "a b".into()).contains("address"));
        assert!(with(|h| h.port = 0).contains("port"));
        assert!(with(|h| h.user = "a@b".into()).contains("user"));
        assert!(with(|h| h.environment = Some("staging".into())).contains("dev, preprod, prod"));
        let mut h = host();
        h.port = 0;
        assert_eq!(h.invalid_field().map(|(field, _)| field), Some("port"));
    }

    #[test]
    fn a_wrong_host_field_is_a_field_error() {
        let error = crate::Error::from(HostFieldError {
            field: "port",
            message: "port must be 1-65535".into(),
        });
        assert_eq!(error.to_api().field.as_deref(), Some("port"));
    }
}
