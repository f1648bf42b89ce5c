//! `lookup()` and `query()` (`q()`) in templates, with Ansible's lookups
//! `file`, `env`, `template`, `vars`, `first_found`, `fileglob`, `items`,
//! `dict`, `password`, and `pipe` and `lines` (a command run on the
//! controller, as a `local_action` would). Files are read, and passwords stored, only on
//! the controller beside the playbook or its role (`playbook_dir` and
//! `role_path` say where that is).

use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::controller_files::{ControllerFiles, files_under};
use super::jinja_errors::jinja_message;
use super::template_files::{TemplateSearch, render_str_finding};

/// The lookups Capstan has.
const NAMES: &[&str] = &[
    "file",
    "env",
    "template",
    "vars",
    "first_found",
    "fileglob",
    "items",
    "list",
    "dict",
    "password",
    "pipe",
    "lines",
];

/// Adds `lookup`, `query` and `q` to a template engine.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

/// `lookup(NAME, TERMS...)`: text results joined with commas (one other
/// value as itself, several as a list), or the list with `wantlist=True`.
fn lookup(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist: Option<bool> = kwargs.get("wantlist")?;
    let found = run(state, &name, &terms, &kwargs)?;
    if wantlist == Some(true) {
        return Ok(Value::from(found));
    }
    if found.iter().all(|v| v.kind() == ValueKind::String) {
        let texts: Vec<&str> = found.iter().filter_map(Value::as_str).collect();
        return Ok(Value::from(texts.join(",")));
    }
    Ok(match found.len() {
        1 => found.into_iter().next().unwrap_or_default(),
        _ => Value::from(found),
    })
}

/// `query(NAME, TERMS...)`: always the list.
fn query(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let _: Option<bool> = kwargs.get("wantlist")?;
    Ok(Value::from(run(state, &name, &terms, &kwargs)?))
}

fn failure(name: &str, message: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("lookup('{name}'): {message}"),
    )
}

/// Where this render's task may read controller files.
struct Places {
    playbook_dir: PathBuf,
    role_dir: Option<PathBuf>,
}

impl Places {
    fn of(state: &State) -> Places {
        let text = |name: &str| {
            state
                .lookup(name)
                .and_then(|v| v.as_str().map(PathBuf::from))
        };
        Places {
            playbook_dir: text("playbook_dir").unwrap_or_else(|| PathBuf::from(".")),
            role_dir: text("role_path"),
        }
    }

    fn files(&self) -> ControllerFiles<'_> {
        ControllerFiles::new(&self.playbook_dir, self.role_dir.as_deref())
    }

    /// The file `name` in the `sub` places, and its text.
    fn read(&self, sub: &str, name: &str) -> Result<(PathBuf, String), String> {
        let path = self.files().first_found(sub, &[name.to_string()])?;
        let text = read_text(&path)?;
        Ok((path, text))
    }
}

/// Runs lookup `name` over its terms; with `errors='ignore'` (or
/// `'warn'`) a lookup that fails finds nothing instead, as Ansible's.
fn run(state: &State, name: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let errors: Option<String> = kwargs.get("errors")?;
    match errors.as_deref() {
        None | Some("strict") => run_strictly(state, name, terms, kwargs),
        Some("ignore" | "warn") => Ok(run_strictly(state, name, terms, kwargs).unwrap_or_default()),
        Some(other) => Err(failure(
            name,
            format!("errors must be strict, warn or ignore, not `{other}`"),
        )),
    }
}

/// Runs lookup `name` over its terms, failing as it fails.
fn run_strictly(
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let places = Places::of(state);
    let fail = |message: String| failure(name, message);
    let texts = || -> Result<Vec<String>, Error> {
        terms
            .iter()
            .map(|t| {
                t.as_str()
                    .map(String::from)
                    .ok_or_else(|| fail(format!("takes text, not `{t}`")))
            })
            .collect()
    };
    let found = match name {
        "file" => {
            let lstrip: Option<bool> = kwargs.get("lstrip")?;
            let rstrip: Option<bool> = kwargs.get("rstrip")?;
            let mut out = Vec::new();
            for term in texts()? {
                let (_, mut text) = places.read("files", &term).map_err(fail)?;
                if rstrip.unwrap_or(true) {
                    text.truncate(text.trim_end().len());
                }
                if lstrip.unwrap_or(false) {
                    text = text.trim_start().to_string();
                }
                out.push(Value::from(text));
            }
            out
        }
        "env" => {
            let default: Option<String> = kwargs.get("default")?;
            texts()?
                .into_iter()
                .map(|var| {
                    Value::from(
                        std::env::var(&var).unwrap_or_else(|_| default.clone().unwrap_or_default()),
                    )
                })
                .collect()
        }
        "vars" => {
            let default: Option<Value> = kwargs.get("default")?;
            let mut out = Vec::new();
            for var in texts()? {
                match state.lookup(&var).filter(|v| !v.is_undefined()) {
                    Some(value) => out.push(value),
                    None => match &default {
                        Some(value) => out.push(value.clone()),
                        None => return Err(fail(format!("no variable `{var}`"))),
                    },
                }
            }
            out
        }
        "template" => {
            let convert_data: Option<bool> = kwargs.get("convert_data")?;
            let convert_data = convert_data.unwrap_or(true);
            let mut out = Vec::new();
            for term in texts()? {
                let (path, source) = places.read("templates", &term).map_err(fail)?;
                let mut context = std::collections::BTreeMap::new();
                for known in state.known_variables() {
                    if let Some(value) = state.lookup(&known) {
                        context.insert(known.to_string(), value);
                    }
                }
                let search = TemplateSearch::new(
                    &places.playbook_dir,
                    places.role_dir.as_deref(),
                    Some(&path),
                );
                let rendered = render_str_finding(state.env(), &search, &source, context)
                    .map_err(|e| fail(format!("{}: {}", path.display(), jinja_message(&e))))?;
                out.push(if convert_data {
                    as_data(rendered)
                } else {
                    Value::from(rendered)
                });
            }
            out
        }
        "first_found" => first_found(&places, terms, kwargs).map_err(fail)?,
        "fileglob" => {
            let mut out = Vec::new();
            for pattern in texts()? {
                let found = places
                    .files()
                    .glob("files", &pattern)
                    .map_err(|e| fail(e.to_string()))?;
                out.extend(found.into_iter().map(Value::from));
            }
            out
        }
        // The terms as they are: one list given is the list.
        "list" => match terms {
            [one] if one.kind() == ValueKind::Seq => {
                one.try_iter().map(|i| i.collect()).unwrap_or_default()
            }
            _ => terms.to_vec(),
        },
        "items" => terms
            .iter()
            .flat_map(|t| match t.kind() {
                ValueKind::Seq => t.try_iter().map(|i| i.collect()).unwrap_or_default(),
                _ => vec![t.clone()],
            })
            .collect(),
        "dict" => {
            let mut out = Vec::new();
            for term in terms {
                if term.kind() != ValueKind::Map {
                    return Err(fail(format!("takes a mapping, not `{term}`")));
                }
                for key in term.try_iter()? {
                    let value = term.get_item(&key)?;
                    out.push(Value::from_iter([("key", key), ("value", value)]));
                }
            }
            out
        }
        // A command on the controller, run from the playbook's folder:
        // its output with the last line ending cut, or its lines.
        "pipe" => texts()?
            .into_iter()
            .map(|command| {
                controller_command(&places, name, &command)
                    .map(|out| Value::from(out.trim_end().to_string()))
            })
            .collect::<Result<_, String>>()
            .map_err(fail)?,
        "lines" => {
            let mut out = Vec::new();
            for command in texts()? {
                let text = controller_command(&places, name, &command).map_err(fail)?;
                out.extend(text.lines().map(|line| Value::from(line.to_string())));
            }
            out
        }
        "password" => texts()?
            .into_iter()
            .map(|term| password(&places, &term).map(Value::from))
            .collect::<Result<_, String>>()
            .map_err(fail)?,
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "lookup `{other}` is not supported; Capstan has: {}",
                    NAMES.join(", ")
                ),
            ));
        }
    };
    kwargs.assert_all_used().map_err(|e| fail(e.to_string()))?;
    Ok(found)
}

/// A rendered template that reads as a mapping or a list (as Python
/// prints one: `{'foo': 'bar'}`) as that value, the way Ansible's
/// `convert_data` hands it on; any other text as it is.
fn as_data(rendered: String) -> Value {
    let text = rendered.trim();
    let bracketed = (text.starts_with('{') && text.ends_with('}'))
        || (text.starts_with('[') && text.ends_with(']'));
    if bracketed
        && let Ok(node) = capstan_yaml::parse("template", text, capstan_yaml::TopLevel::Any)
    {
        let value = node.to_json();
        if value.is_object() || value.is_array() {
            return Value::from_serialize(value);
        }
    }
    Value::from(rendered)
}

/// Runs `command` through the controller's shell in the playbook's folder,
/// as Ansible's `pipe` and `lines` lookups do; its standard output, or
/// an error in Ansible's words when it fails.
fn controller_command(places: &Places, lookup: &str, command: &str) -> Result<String, String> {
    let (shell, flag) = if cfg!(windows) {
        ("cmd", "/C")
    } else {
        ("sh", "-c")
    };
    let out = std::process::Command::new(shell)
        .args([flag, command])
        .current_dir(&places.playbook_dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{command}`: {e}"))?;
    if !out.status.success() {
        let code = out.status.code().unwrap_or(-1);
        return Err(format!("lookup_plugin.{lookup}({command}) returned {code}"));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("`{command}` printed text that is not UTF-8"))
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// `first_found`: the first file of the names given (as terms, lists, or
/// `files:`/`paths:` in a mapping or as keywords), searched in the
/// `files` places; with `skip=True` nothing when none is there.
fn first_found(places: &Places, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, String> {
    let mut files: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut skip = kwargs
        .get::<Option<bool>>("skip")
        .map_err(|e| e.to_string())?;
    let listed = |value: &Value, into: &mut Vec<String>| {
        match value.kind() {
            ValueKind::Seq => into.extend(
                value
                    .try_iter()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(String::from)),
            ),
            _ => {
                if let Some(text) = value.as_str() {
                    // Ansible splits a text list on commas and semicolons.
                    into.extend(
                        text.split([',', ';'])
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(String::from),
                    );
                }
            }
        }
    };
    for term in terms {
        if term.kind() == ValueKind::Map {
            if let Ok(f) = term.get_attr("files") {
                listed(&f, &mut files);
            }
            if let Ok(p) = term.get_attr("paths") {
                listed(&p, &mut paths);
            }
            if let Ok(s) = term.get_attr("skip") {
                skip = Some(s.is_true());
            }
        } else {
            listed(term, &mut files);
        }
    }
    if let Some(f) = kwargs
        .get::<Option<Value>>("files")
        .map_err(|e| e.to_string())?
    {
        listed(&f, &mut files);
    }
    if let Some(p) = kwargs
        .get::<Option<Value>>("paths")
        .map_err(|e| e.to_string())?
    {
        listed(&p, &mut paths);
    }
    let names = files_under(&files, &paths);
    let found = places
        .files()
        .first_found_or_skip(&names, skip == Some(true))?;
    Ok(found
        .map(|path| Value::from(path.display().to_string()))
        .into_iter()
        .collect())
}

/// Ansible's default password length and characters.
const PASSWORD_LENGTH: usize = 20;

/// `password`: `PATH [length=N] [chars=SPEC,...]`. The password stored at
/// PATH (beside the playbook; `/dev/null` stores nothing) or, when there
/// is none, a new random one, stored there as Ansible stores it (the
/// password and a newline, the file 0600 in a 0700 folder).
fn password(places: &Places, term: &str) -> Result<String, String> {
    let mut words = term.split_whitespace();
    let path = words.next().ok_or("needs the path of the password file")?;
    let mut length = PASSWORD_LENGTH;
    let mut chars: Option<String> = None;
    for word in words {
        match word.split_once('=') {
            Some(("length", n)) => {
                length = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or(format!("length `{n}` is not a number from 1 to 1024"))?;
            }
            Some(("chars", spec)) => chars = Some(candidate_chars(spec)),
            Some((other, _)) => {
                return Err(format!(
                    "option `{other}` is not supported (supported: length, chars)"
                ));
            }
            None => return Err(format!("expected key=value after the path, got `{word}`")),
        }
    }
    let chars: Vec<char> = chars
        .unwrap_or_else(|| candidate_chars("ascii_letters,digits,.,:-_"))
        .chars()
        .collect();
    if path == "/dev/null" {
        return generate(&chars, length);
    }
    let file = confined_for_writing(&places.playbook_dir, Path::new(path))?;
    if file.is_file() {
        let stored = read_text(&file)?;
        // A file Ansible wrote with `encrypt` keeps ` salt=...` after it.
        let password = stored.trim_end();
        let password = password.rsplit_once(" salt=").map_or(password, |(p, _)| p);
        return Ok(password.to_string());
    }
    let made = generate(&chars, length)?;
    store_password(&file, &made)?;
    Ok(made)
}

/// The characters a `chars=` spec names: Python's `string` names
/// (`ascii_letters`, `digits`, `punctuation`, ...) or the characters as
/// given; a `,,` in it stands for a comma.
fn candidate_chars(spec: &str) -> String {
    let mut out = String::new();
    let spec = spec.replace(",,", "\u{0}");
    for part in spec.split(',') {
        let part = part.replace('\u{0}', ",");
        let add = match part.as_str() {
            "ascii_letters" => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".to_string(),
            "ascii_lowercase" => "abcdefghijklmnopqrstuvwxyz".to_string(),
            "ascii_uppercase" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ".to_string(),
            "digits" => "0123456789".to_string(),
            "hexdigits" => "0123456789abcdefABCDEF".to_string(),
            "octdigits" => "01234567".to_string(),
            "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".to_string(),
            other => other.to_string(),
        };
        for c in add.chars() {
            if !out.contains(c) {
                out.push(c);
            }
        }
    }
    out
}

/// A random password of `length` characters from `chars`, without bias.
fn generate(chars: &[char], length: usize) -> Result<String, String> {
    if chars.is_empty() {
        return Err("chars= leaves no characters to choose from".into());
    }
    let limit = (256 / chars.len()) * chars.len();
    let mut out = String::with_capacity(length);
    while out.chars().count() < length {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
        for b in bytes {
            if (b as usize) < limit && out.chars().count() < length {
                out.push(chars[b as usize % chars.len()]);
            }
        }
    }
    Ok(out)
}

/// Where a password file goes: relative to the playbook's folder, and
/// never outside it (its nearest existing folder is checked).
fn confined_for_writing(playbook_dir: &Path, path: &Path) -> Result<PathBuf, String> {
    let file = if path.is_absolute() {
        path.to_path_buf()
    } else {
        playbook_dir.join(path)
    };
    let root = playbook_dir
        .canonicalize()
        .map_err(|e| format!("cannot read {}: {e}", playbook_dir.display()))?;
    let mut existing = file.parent().map(Path::to_path_buf).unwrap_or_default();
    while !existing.exists() {
        match existing.parent() {
            Some(parent) => existing = parent.to_path_buf(),
            None => break,
        }
    }
    let real = existing.canonicalize().unwrap_or(existing);
    let below = file
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir));
    if !real.starts_with(&root) || below {
        return Err(format!(
            "{} is outside the playbook's folder; Capstan stores passwords only beside the \
             playbook",
            file.display()
        ));
    }
    Ok(file)
}

#[cfg(unix)]
fn store_password(file: &Path, password: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = file.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| format!("cannot store {}: {e}", file.display()))?;
    out.write_all(format!("{password}\n").as_bytes())
        .map_err(|e| format!("cannot store {}: {e}", file.display()))
}

#[cfg(not(unix))]
fn store_password(file: &Path, password: &str) -> Result<(), String> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    }
    std::fs::write(file, format!("{password}\n"))
        .map_err(|e| format!("cannot store {}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_specs_are_pythons_string_sets_or_literal() {
        assert_eq!(candidate_chars("digits"), "0123456789");
        assert_eq!(candidate_chars("digits,ab"), "0123456789ab");
        assert_eq!(candidate_chars("a,,b"), "a,b");
        let made = generate(&['x', 'y'], 64).unwrap();
        assert_eq!(made.len(), 64);
        assert!(made.chars().all(|c| c == 'x' || c == 'y'));
    }

    #[test]
    fn a_password_is_made_once_stored_privately_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let places = Places {
            playbook_dir: dir.path().to_path_buf(),
            role_dir: None,
        };
        let first = password(&places, "credentials/db length=12 chars=digits").unwrap();
        assert_eq!(first.len(), 12);
        assert!(first.chars().all(|c| c.is_ascii_digit()));
        let stored = dir.path().join("credentials/db");
        assert_eq!(
            std::fs::read_to_string(&stored).unwrap(),
            format!("{first}\n")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&stored).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            password(&places, "credentials/db length=12").unwrap(),
            first
        );
        let err = password(&places, "../elsewhere").unwrap_err();
        assert!(err.contains("outside the playbook's folder"), "{err}");
        let err = password(&places, "/tmp/capstan-pw-test").unwrap_err();
        assert!(err.contains("outside"), "{err}");
        let err = password(&places, "x seed=1").unwrap_err();
        assert!(err.contains("option `seed`"), "{err}");
        assert_eq!(password(&places, "/dev/null length=5").unwrap().len(), 5);
    }
}
