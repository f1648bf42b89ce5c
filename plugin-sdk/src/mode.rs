//! File modes as Ansible modules take them: octal (`"0644"`, `644`) or
//! symbolic (`"u=rw,g=r,o=r"`, `"u+x"`, `"o-w"`, `"a+rX"`), the latter
//! applied to the path's current mode as Ansible's modules apply it.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use crate::Error;

/// The umask a symbolic clause without a "who" (`+x`) honours, as the
/// module's own process would on a host with the usual mask.
const USUAL_UMASK: u32 = 0o022;

/// A file mode parameter: octal text (`"0644"`), a number (YAML's unquoted
/// `0644`) or a symbolic mode (`"u=rw,go=r"`). Its schema allows all three;
/// [`Mode::octal`] tells which it is and [`Mode::resolve`] gives the bits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Mode(serde_json::Value);

impl Mode {
    /// The permission bits of an octal mode, or an error naming a mode that
    /// is neither octal nor symbolic, or that is symbolic (whose bits depend
    /// on the path: see [`Mode::resolve`]).
    pub fn bits(&self) -> Result<u32, Error> {
        match self.octal()? {
            Some(bits) => Ok(bits),
            None => Err(Error::InvalidParams(format!(
                "mode `{}` is symbolic; give it in octal here",
                self.text()
            ))),
        }
    }

    /// The bits of an octal mode, `None` for a valid symbolic one, or an
    /// error naming a mode that is neither.
    pub fn octal(&self) -> Result<Option<u32>, Error> {
        match parse(&self.0) {
            Ok(bits) => Ok(Some(bits)),
            Err(octal_error) => match &self.0 {
                serde_json::Value::String(text) if looks_symbolic(text) => {
                    apply_symbolic(text, 0, false)?;
                    Ok(None)
                }
                _ => Err(octal_error),
            },
        }
    }

    /// The bits this mode gives a path whose mode is now `current` (`None`
    /// for a path about to be made: a new file's 0644, a new folder's 0755),
    /// `is_dir` saying whether it is a folder (for `X`).
    pub fn resolve(&self, current: Option<u32>, is_dir: bool) -> Result<u32, Error> {
        match self.octal()? {
            Some(bits) => Ok(bits),
            None => {
                let made = if is_dir { 0o777 } else { 0o666 } & !USUAL_UMASK;
                apply_symbolic(&self.text(), current.unwrap_or(made), is_dir)
            }
        }
    }

    /// The mode as it was written (`"u=rw,g=r"`, `"0644"`, `644`).
    pub fn text(&self) -> String {
        match &self.0 {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }
}

impl JsonSchema for Mode {
    fn schema_name() -> Cow<'static, str> {
        "Mode".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["string", "integer"],
            "description": "Permissions: octal, e.g. \"0644\", or symbolic, e.g. \"u=rw,g=r,o=r\" or \"u+x\"."
        })
    }
}

/// Parses an octal mode given as `"0644"`, `"644"`, `"0o644"` or the number
/// `644` (YAML's unquoted `0644` arrives as 644: its digits are read as
/// octal, as Ansible does).
pub fn parse(value: &serde_json::Value) -> Result<u32, Error> {
    let digits = match value {
        serde_json::Value::String(text) => text.trim_start_matches("0o").to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        other => {
            return Err(Error::InvalidParams(format!(
                "mode must be a string or a number, not {other}"
            )));
        }
    };
    u32::from_str_radix(&digits, 8)
        .ok()
        .filter(|bits| *bits <= 0o7777)
        .ok_or_else(|| {
            Error::InvalidParams(format!(
                "mode `{digits}` must be in octal (up to 7777) or symbolic form (u=rw,g=r)"
            ))
        })
}

/// Whether a text is meant as a symbolic mode: it holds an operator.
fn looks_symbolic(text: &str) -> bool {
    text.contains(['+', '-', '='])
}

const USER_BITS: u32 = 0o700;
const GROUP_BITS: u32 = 0o070;
const OTHER_BITS: u32 = 0o007;

/// Applies a symbolic mode's comma-separated clauses, each `[ugo]*` or
/// `a` followed by one or more `[+-=][rwxXstugo]*`, to `mode`, left to right.
/// A clause without a "who" means all three, less the umask's bits for
/// `r`, `w` and `x`. `X` is `x` for a folder or for a path some "x" bit is
/// already set on.
fn apply_symbolic(text: &str, mut mode: u32, is_dir: bool) -> Result<u32, Error> {
    let bad = || Error::InvalidParams(format!("bad symbolic permission for mode: {text}"));
    for clause in text.split(',') {
        let who_end = clause.find(['+', '-', '=']).ok_or_else(bad)?;
        let who = &clause[..who_end];
        // `a` stands alone, as in Ansible (`ao=r` is refused).
        if who != "a" && !who.chars().all(|c| "ugo".contains(c)) {
            return Err(bad());
        }
        let use_umask = who.is_empty();
        let users: Vec<char> = if who.is_empty() || who == "a" {
            vec!['u', 'g', 'o']
        } else {
            who.chars().collect()
        };
        let mut rest = &clause[who_end..];
        while let Some(operator) = rest.chars().next() {
            let perms_end = rest[1..]
                .find(['+', '-', '='])
                .map_or(rest.len(), |i| i + 1);
            let perms = &rest[1..perms_end];
            if !perms.chars().all(|c| "rwxXstugo".contains(c)) {
                return Err(bad());
            }
            for &user in &users {
                let bits = perm_bits(user, perms, mode, is_dir, use_umask);
                mode = match operator {
                    '=' => (mode & !clearing_mask(user)) | bits,
                    '+' => mode | bits,
                    _ => mode & !bits,
                };
            }
            rest = &rest[perms_end..];
        }
    }
    Ok(mode)
}

/// The bits `=` clears for one user class: its rwx and its special bit.
fn clearing_mask(user: char) -> u32 {
    match user {
        'u' => USER_BITS | 0o4000,
        'g' => GROUP_BITS | 0o2000,
        _ => OTHER_BITS | 0o1000,
    }
}

/// The bits `perms` stand for in one user class, given the mode so far.
fn perm_bits(user: char, perms: &str, mode: u32, is_dir: bool, use_umask: bool) -> u32 {
    let shift = match user {
        'u' => 6,
        'g' => 3,
        _ => 0,
    };
    let allowed = if use_umask { !USUAL_UMASK } else { 0o777 };
    let executable = is_dir || mode & 0o111 != 0;
    perms.chars().fold(0, |bits, perm| {
        bits | match perm {
            'r' => (0o4 << shift) & allowed,
            'w' => (0o2 << shift) & allowed,
            'x' => (0o1 << shift) & allowed,
            'X' if executable => 0o1 << shift,
            's' if user == 'u' => 0o4000,
            's' if user == 'g' => 0o2000,
            't' if user == 'o' => 0o1000,
            // Copy another class's bits into this one.
            'u' => ((mode & USER_BITS) >> 6) << shift,
            'g' => ((mode & GROUP_BITS) >> 3) << shift,
            'o' => (mode & OTHER_BITS) << shift,
            _ => 0,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{Mode, parse};
    use serde_json::json;

    fn symbolic(text: &str, current: u32, is_dir: bool) -> u32 {
        Mode(json!(text)).resolve(Some(current), is_dir).unwrap()
    }

    #[test]
    fn modes_read_as_octal_like_ansible() {
        assert_eq!(parse(&json!("0644")).unwrap(), 0o644);
        assert_eq!(parse(&json!("2755")).unwrap(), 0o2755);
        assert_eq!(parse(&json!("0o600")).unwrap(), 0o600);
        assert_eq!(parse(&json!(644)).unwrap(), 0o644);
        assert!(parse(&json!("u=rw")).is_err());
        assert!(parse(&json!("99999")).is_err());
        assert!(parse(&json!(true)).is_err());
    }

    #[test]
    fn symbolic_modes_apply_to_the_current_mode() {
        assert_eq!(symbolic("u=rw,g=r,o=r", 0o777, false), 0o644);
        assert_eq!(symbolic("u+x", 0o644, false), 0o744);
        assert_eq!(symbolic("go-w", 0o666, false), 0o644);
        assert_eq!(symbolic("a+rX", 0o600, false), 0o644);
        assert_eq!(symbolic("a+rX", 0o700, false), 0o755);
        assert_eq!(symbolic("a+rX", 0o600, true), 0o755);
        assert_eq!(symbolic("o=rwXt", 0o755, false), 0o1757);
        assert_eq!(symbolic("u=rwx,g=u-w,o=", 0o000, false), 0o750);
        assert_eq!(symbolic("g+s,u-w", 0o755, true), 0o2555);
        // No "who": all three, less the umask.
        assert_eq!(symbolic("+w", 0o444, false), 0o644);
        assert_eq!(symbolic("=", 0o1777, true), 0o000);
    }

    #[test]
    fn symbolic_modes_know_octal_and_new_paths() {
        let mode = Mode(json!("u+x"));
        assert_eq!(mode.octal().unwrap(), None);
        assert_eq!(mode.resolve(None, false).unwrap(), 0o744);
        assert_eq!(mode.resolve(None, true).unwrap(), 0o755);
        assert!(mode.bits().unwrap_err().to_string().contains("symbolic"));
        assert_eq!(
            Mode(json!("0600")).resolve(Some(0o777), false).unwrap(),
            0o600
        );
    }

    #[test]
    fn bad_symbolic_modes_are_named() {
        for bad in ["u=rwz", "q+r", "u+r,g", "u+r,,o", "ao=r", "oa=r"] {
            let error = Mode(json!(bad)).octal().unwrap_err().to_string();
            assert!(error.contains(bad), "{bad}: {error}");
        }
        assert!(Mode(json!("rw")).octal().is_err());
    }
}
