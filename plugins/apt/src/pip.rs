//! Ansible's `pip`: Python packages installed, upgraded or removed by the
//! host's pip, into a virtualenv made first when one is named. Whether
//! anything changed is read from `pip list` before and after, as
//! Ansible's module compares `pip freeze`.

use std::collections::BTreeMap;

use capstan_plugin_sdk::remote::{Command, ExecOutput};
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;
use serde_json::json;

/// Parameters of `pip` (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipParams {
    /// Packages, each a name with an optional version specifier
    /// (`flask`, `flask==3.0.0`, `flask>=3`).
    #[serde(default)]
    name: Vec<String>,
    /// The version of the one package named.
    version: Option<String>,
    /// A requirements file on the host (relative to `chdir`).
    requirements: Option<String>,
    /// The virtualenv to install into, made when missing.
    virtualenv: Option<String>,
    /// What makes the virtualenv (default `virtualenv`; `python3 -m venv`
    /// uses Python's own).
    virtualenv_command: Option<String>,
    /// The Python a `virtualenv` is made for (not with `venv`).
    virtualenv_python: Option<String>,
    /// Let the virtualenv see the system's packages.
    #[serde(default)]
    virtualenv_site_packages: bool,
    /// present (default), absent, latest or forcereinstall.
    state: Option<PipState>,
    /// More pip options, as one string of words.
    extra_args: Option<String>,
    /// The folder pip runs in.
    chdir: Option<String>,
    /// The pip to run (default: the virtualenv's, else `pip3`).
    executable: Option<String>,
    /// Pass `--break-system-packages` (a distribution's own Python).
    #[serde(default)]
    break_system_packages: bool,
}

/// What the packages should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PipState {
    /// Installed (any version unless one is given).
    Present,
    /// Not installed.
    Absent,
    /// Installed and upgraded to the newest.
    Latest,
    /// Installed again, whatever is there.
    Forcereinstall,
}

impl PipState {
    fn name(self) -> &'static str {
        match self {
            PipState::Present => "present",
            PipState::Absent => "absent",
            PipState::Latest => "latest",
            PipState::Forcereinstall => "forcereinstall",
        }
    }
}

/// One requested package: its name and version specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    name: String,
    spec: String,
    /// As pip is given it.
    written: String,
}

impl Wanted {
    /// Splits `name[extras]SPEC` (`flask>=3`, `requests[socks]==2.31`).
    fn parse(text: &str) -> Result<Wanted, Error> {
        let text = text.trim();
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .unwrap_or(text.len());
        let name = &text[..end];
        if name.is_empty() || name.starts_with(['-', '.', '_']) {
            return Err(Error::InvalidParams(format!(
                "name: `{text}` is not a Python package name (with an optional version \
                 specifier such as `flask>=3`)"
            )));
        }
        let rest = text[end..].trim();
        let spec = match rest.strip_prefix('[') {
            Some(extras) => extras.split_once(']').map_or("", |(_, s)| s.trim()),
            None => rest,
        };
        Ok(Wanted {
            name: name.to_string(),
            spec: spec.to_string(),
            written: text.to_string(),
        })
    }

    /// Whether `installed` (normalised name -> version) satisfies it, when
    /// that can be told without pip: no specifier, or `==VERSION`.
    fn satisfied_by(&self, installed: &BTreeMap<String, String>) -> Option<bool> {
        let have = installed.get(&normalised(&self.name));
        match self.spec.strip_prefix("==") {
            _ if self.spec.is_empty() => Some(have.is_some()),
            Some(version) if !version.contains([',', '*']) => {
                Some(have.is_some_and(|v| v == version.trim()))
            }
            _ => None,
        }
    }
}

/// A package name as pip compares them: lowercase, runs of `-_.` as `-`.
fn normalised(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if "-_.".contains(c) {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// `pip list --format=freeze`'s lines as normalised name -> version.
fn parse_list(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once("=="))
        .map(|(name, version)| (normalised(name.trim()), version.trim().to_string()))
        .collect()
}

/// Splits `extra_args` and `virtualenv_command` into words, as a shell
/// would.
fn words(text: &str) -> Result<Vec<String>, Error> {
    capstan_plugin_sdk::shell_words::words(text).map_err(Error::InvalidParams)
}

/// Runs `argv` in `chdir`.
fn run(ctx: &Context, argv: &[String], chdir: Option<&str>) -> Result<ExecOutput, Error> {
    let mut command = Command::new(argv.iter().cloned());
    if let Some(dir) = chdir {
        command = command.cwd(dir);
    }
    Ok(command.run(&ctx.target)?)
}

/// A failed command as Ansible's pip words it: the command, then what it
/// printed.
fn failed(argv: &[String], out: &ExecOutput) -> Error {
    Error::msg(format!(
        "`{}` failed: {}\n:stderr: {}",
        argv.join(" "),
        out.stdout_text().trim(),
        out.stderr_text().trim()
    ))
}

/// Makes the virtualenv when it has no `bin/activate` yet; whether it did.
fn ensure_virtualenv(ctx: &Context, p: &PipParams, env: &str) -> Result<bool, Error> {
    let activate = format!("{}/bin/activate", env.trim_end_matches('/'));
    if Command::new(["test", "-f", activate.as_str()])
        .run(&ctx.target)?
        .success()
    {
        return Ok(false);
    }
    if ctx.check {
        return Ok(true);
    }
    let mut argv = words(p.virtualenv_command.as_deref().unwrap_or("virtualenv"))?;
    if argv.is_empty() {
        return Err(Error::InvalidParams("virtualenv_command is empty".into()));
    }
    let is_venv = argv.iter().any(|w| w == "venv" || w.ends_with("pyvenv"));
    if p.virtualenv_site_packages {
        argv.push("--system-site-packages".into());
    }
    if let Some(python) = &p.virtualenv_python {
        if is_venv {
            return Err(Error::InvalidParams(
                "virtualenv_python should not be used when using the venv module or pyvenv as \
                 virtualenv_command"
                    .into(),
            ));
        }
        argv.extend(["-p".into(), python.clone()]);
    }
    argv.push(env.to_string());
    let out = run(ctx, &argv, p.chdir.as_deref())?;
    if !out.success() {
        return Err(failed(&argv, &out));
    }
    Ok(true)
}

/// The `pip` action.
pub fn pip(p: PipParams, ctx: &Context) -> Result<Outcome, Error> {
    if p.name.is_empty() && p.requirements.is_none() {
        return Err(Error::InvalidParams(
            "one of the following is required: name, requirements".into(),
        ));
    }
    let mut wanted: Vec<Wanted> = p
        .name
        .iter()
        .map(|n| Wanted::parse(n))
        .collect::<Result<_, _>>()?;
    if let Some(version) = &p.version {
        match wanted.as_mut_slice() {
            [one] if one.spec.is_empty() => {
                one.spec = format!("=={version}");
                one.written = format!("{}=={version}", one.written);
            }
            [_] => {
                return Err(Error::InvalidParams(
                    "version: the name already holds a version specifier".into(),
                ));
            }
            _ => {
                return Err(Error::InvalidParams(
                    "'version' argument is ambiguous when installing multiple package \
                     distributions. Please specify version restrictions next to each package in \
                     'name' argument."
                        .into(),
                ));
            }
        }
    }
    let state = p.state.unwrap_or(PipState::Present);
    let made_env = match &p.virtualenv {
        Some(env) => ensure_virtualenv(ctx, &p, env)?,
        None => false,
    };
    let pip = match (&p.executable, &p.virtualenv) {
        (Some(pip), _) => pip.clone(),
        (None, Some(env)) => format!("{}/bin/pip", env.trim_end_matches('/')),
        (None, None) => "pip3".into(),
    };
    let mut data = json!({
        "name": p.name,
        "version": p.version,
        "requirements": p.requirements,
        "virtualenv": p.virtualenv,
        "state": state.name(),
    });
    if ctx.check && made_env {
        return Ok(
            Outcome::changed(format!("would make the virtualenv and run {pip}")).with_data(data),
        );
    }
    let list = vec![pip.clone(), "list".into(), "--format=freeze".into()];
    let listed = |ctx: &Context| -> Result<BTreeMap<String, String>, Error> {
        let out = run(ctx, &list, p.chdir.as_deref())?;
        if !out.success() {
            return Err(failed(&list, &out));
        }
        Ok(parse_list(&out.stdout_text()))
    };
    let before = listed(ctx)?;
    let mut argv = vec![pip.clone()];
    match state {
        PipState::Absent => {
            let present: Vec<&Wanted> = wanted
                .iter()
                .filter(|w| before.contains_key(&normalised(&w.name)))
                .collect();
            if present.is_empty() && p.requirements.is_none() {
                return Ok(finish(data, &argv, made_env, None));
            }
            argv.extend(["uninstall".into(), "-y".into()]);
            argv.extend(present.iter().map(|w| w.name.clone()));
        }
        PipState::Present
            if p.requirements.is_none()
                && wanted.iter().all(|w| w.satisfied_by(&before) == Some(true)) =>
        {
            return Ok(finish(data, &argv, made_env, None));
        }
        PipState::Present | PipState::Latest | PipState::Forcereinstall => {
            argv.push("install".into());
            if state != PipState::Present {
                argv.push("-U".into());
            }
            if state == PipState::Forcereinstall {
                argv.push("--force-reinstall".into());
            }
            wanted_args(&mut argv, &wanted);
        }
    }
    if let Some(file) = &p.requirements {
        argv.extend(["-r".into(), file.clone()]);
    }
    if p.break_system_packages {
        argv.push("--break-system-packages".into());
    }
    if let Some(extra) = &p.extra_args {
        argv.extend(words(extra)?);
    }
    data["cmd"] = argv.join(" ").into();
    if ctx.check {
        return Ok(Outcome::changed(format!("would run {}", argv.join(" "))).with_data(data));
    }
    let out = run(ctx, &argv, p.chdir.as_deref())?;
    data["stdout"] = out.stdout_text().into();
    data["stderr"] = out.stderr_text().into();
    if !out.success() {
        return Err(failed(&argv, &out));
    }
    let after = listed(ctx)?;
    let changed = made_env || state == PipState::Forcereinstall || after != before;
    Ok(finish(data, &argv, changed, Some(&out)))
}

/// Adds the packages to an install command line, as written.
fn wanted_args(argv: &mut Vec<String>, wanted: &[Wanted]) {
    argv.extend(wanted.iter().map(|w| w.written.clone()));
}

/// The outcome: changed or not, with what ran.
fn finish(
    mut data: serde_json::Value,
    argv: &[String],
    changed: bool,
    out: Option<&ExecOutput>,
) -> Outcome {
    if data.get("cmd").is_none() {
        data["cmd"] = argv.join(" ").into();
    }
    let shown = out.map_or(String::new(), |o| o.stdout_text().trim().to_string());
    let summary = match (changed, shown.lines().last()) {
        (true, Some(last)) => last.to_string(),
        (true, None) => "changed".to_string(),
        (false, _) => "packages as wanted".to_string(),
    };
    if changed {
        Outcome::changed(summary).with_data(data)
    } else {
        Outcome::ok(summary).with_data(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_name_and_specifier() {
        let w = Wanted::parse("Flask>=3").unwrap();
        assert_eq!((w.name.as_str(), w.spec.as_str()), ("Flask", ">=3"));
        let w = Wanted::parse("requests[socks] == 2.31").unwrap();
        assert_eq!((w.name.as_str(), w.spec.as_str()), ("requests", "== 2.31"));
        assert!(Wanted::parse("--index-url=evil").is_err());
        assert!(Wanted::parse("").is_err());
    }

    #[test]
    fn what_is_installed_is_told_without_pip_when_it_can_be() {
        let installed = parse_list("Flask==3.0.0\nzope.interface==6.0\n");
        let check = |text: &str| Wanted::parse(text).unwrap().satisfied_by(&installed);
        assert_eq!(check("flask"), Some(true));
        assert_eq!(check("Zope_Interface"), Some(true));
        assert_eq!(check("flask==3.0.0"), Some(true));
        assert_eq!(check("flask==2.0"), Some(false));
        assert_eq!(check("django"), Some(false));
        assert_eq!(check("flask>=2"), None);
    }

    #[test]
    fn extra_args_split_as_a_shell_would() {
        assert_eq!(
            words("--no-index --find-links '/srv/my wheels'").unwrap(),
            ["--no-index", "--find-links", "/srv/my wheels"]
        );
        assert!(words("--x 'open").is_err());
    }
}
