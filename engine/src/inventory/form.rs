//! The host form as a person fills it in (every field a string) turned
//! into a [`Host`], or the first field that is wrong and why.

use super::{Host, HostAuth, HostRules, current_user};
use crate::{Error, Result};

pub use capstan_wire::hosts::HostForm;

/// The host `form` describes. An edit passes the host as it was, whose
/// variables (which the form does not show) are kept.
pub fn host_from_form(form: &HostForm, before: Option<&Host>) -> Result<Host> {
    let port = form.port.trim().parse::<u16>().map_err(|_| {
        Error::field(
            "port",
            format!(
                "port `{}` must be a number from 1 to 65535",
                form.port.trim()
            ),
        )
    })?;
    let value = form.auth_value.trim();
    let auth = match form.auth.as_str() {
        "agent" => HostAuth::Agent,
        "key" => {
            if value.is_empty() {
                return Err(Error::field(
                    "auth_value",
                    "give the private key file's path",
                ));
            }
            let path = std::path::absolute(value).unwrap_or_else(|_| value.into());
            if !path.is_file() {
                return Err(Error::field(
                    "auth_value",
                    format!("key file {} does not exist", path.display()),
                ));
            }
            HostAuth::KeyFile(path.to_string_lossy().into_owned())
        }
        "password-env" => {
            let valid =
                !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(Error::field(
                    "auth_value",
                    "give the name of an environment variable holding the password \
                     (letters, digits, _); the password itself is never stored",
                ));
            }
            HostAuth::PasswordEnv(value.to_string())
        }
        other => {
            return Err(Error::field(
                "auth",
                format!("unknown login method `{}`", other.escape_debug()),
            ));
        }
    };
    let user = match form.user.trim() {
        "" => current_user(),
        user => user.to_string(),
    };
    let host = Host {
        name: form.name.trim().to_string(),
        address: form.address.trim().to_string(),
        port,
        user,
        auth,
        environment: Some(form.environment.trim().to_string()).filter(|e| !e.is_empty()),
        groups: form
            .groups
            .split([',', ' '])
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(String::from)
            .collect(),
        vars: before.map(|h| h.vars.clone()).unwrap_or_default(),
    };
    if let Some((field, message)) = host.invalid_field() {
        return Err(Error::field(field, message));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> HostForm {
        HostForm {
            name: " web-1 ".into(),
            address: "10.0.0.5".into(),
            port: "2222".into(),
            user: "deploy".into(),
            auth: "agent".into(),
            environment: "prod".into(),
            groups: "web, eu  db".into(),
            ..Default::default()
        }
    }

    fn field_of(form: &HostForm) -> &'static str {
        match host_from_form(form, None).unwrap_err() {
            Error::BadField { field, .. } => field,
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn a_filled_form_is_a_host_and_an_edit_keeps_its_variables() {
        let host = host_from_form(&form(), None).unwrap();
        assert_eq!((host.name.as_str(), host.port), ("web-1", 2222));
        assert_eq!(host.groups, ["web", "eu", "db"]);
        let mut before = host.clone();
        before.vars.insert("http_port".into(), 8080.into());
        let edited = host_from_form(&form(), Some(&before)).unwrap();
        assert_eq!(edited.vars["http_port"], 8080);
    }

    #[test]
    fn each_mistake_is_named_by_its_field() {
        assert_eq!(
            field_of(&HostForm {
                port: "99999".into(),
                ..form()
            }),
            "port"
        );
        assert_eq!(
            field_of(&HostForm {
                auth: "telnet".into(),
                ..form()
            }),
            "auth"
        );
        assert_eq!(
            field_of(&HostForm {
                auth: "key".into(),
                auth_value: "/no/such/key".into(),
                ..form()
            }),
            "auth_value"
        );
        assert_eq!(
            field_of(&HostForm {
                auth: "password-env".into(),
                auth_value: "hunter2!".into(),
                ..form()
            }),
            "auth_value"
        );
        assert_eq!(
            field_of(&HostForm {
                name: "local".into(),
                ..form()
            }),
            "name"
        );
        assert_eq!(
            field_of(&HostForm {
                environment: "qa".into(),
                ..form()
            }),
            "environment"
        );
    }
}
