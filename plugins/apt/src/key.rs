//! Ansible's `apt_key`: a signing key in (or out of) apt's keyring, through
//! the host's `apt-key` (deprecated by Debian, gone after Debian 12, which
//! Ansible's module says too) and `gpg`. A key comes from `data`, a `file`
//! on the host or a `url` the host fetches with curl; it is known by its
//! id, given or read from the key itself, and matched against the end of
//! each key's fingerprint, as `apt-key` matches it.

use capstan_plugin_sdk::remote::{Command, ExecOutput};

use crate::Presence;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;
use serde_json::json;

/// Parameters of the `key` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyParams {
    /// The key's id (8 or 16 hex digits, or the fingerprint; `0x` allowed);
    /// read from the key when not given.
    id: Option<String>,
    /// The key itself, armored or binary text.
    data: Option<String>,
    /// A key file on the host.
    file: Option<String>,
    /// A URL the host fetches the key from (with curl).
    url: Option<String>,
    /// The keyring file to use instead of apt's own.
    keyring: Option<String>,
    /// A key server to receive the key from: refused, as it needs `dirmngr`
    /// and the internet.
    keyserver: Option<String>,
    /// present (default) or absent.
    state: Option<Presence>,
    /// Accepted for Ansible's sake: curl checks certificates.
    validate_certs: Option<bool>,
}

/// Prints the keyring's keys as gpg's colon lines (`$1`: a keyring file,
/// or empty for apt's own).
const LIST: &str = r#"if [ -n "$1" ]; then set -- --keyring "$1"; else set --; fi
exec apt-key "$@" adv --list-public-keys --with-colons --fingerprint 2>/dev/null"#;

/// Adds the key on stdin (`$1`: a keyring file, or empty) or from the
/// file `$2`, or fetched from the URL `$3`.
const ADD: &str = r#"k=$1 file=$2 url=$3
if [ -n "$k" ]; then set -- --keyring "$k"; else set --; fi
if [ -n "$url" ]; then
    curl -fsSL -- "$url" | apt-key "$@" add - || exit 1
elif [ -n "$file" ]; then
    apt-key "$@" add "$file"
else
    apt-key "$@" add -
fi"#;

/// What the key is, read from its text with gpg (`--show-keys` lists a
/// key without importing it).
const SHOW: &str = r#"if [ -n "$2" ]; then curl -fsSL -- "$2" | gpg --with-colons --show-keys 2>/dev/null
elif [ -n "$1" ]; then gpg --with-colons --show-keys -- "$1" 2>/dev/null
else gpg --with-colons --show-keys 2>/dev/null
fi"#;

/// Runs `apt_key`.
pub fn key(params: KeyParams, ctx: &Context) -> Result<Outcome, Error> {
    if params.keyserver.is_some() {
        return Err(Error::InvalidParams(
            "keyserver: receiving a key from a key server needs dirmngr and the internet; \
             give the key as data, file or url"
                .into(),
        ));
    }
    let _ = params.validate_certs;
    let sources = [&params.data, &params.file, &params.url]
        .iter()
        .filter(|s| s.is_some())
        .count();
    if sources > 1 {
        return Err(Error::InvalidParams(
            "parameters are mutually exclusive: data|file|url".into(),
        ));
    }
    let state = params.state.unwrap_or(Presence::Present);
    let keyring = params.keyring.clone().unwrap_or_default();
    let wanted = match &params.id {
        Some(id) => key_id(id)?,
        None if sources == 0 => {
            return Err(Error::InvalidParams(
                "one of id, data, file or url is required".into(),
            ));
        }
        None => read_key_id(ctx, &params)?,
    };
    let before = keyring_keys(ctx, &keyring)?;
    let present = before.iter().any(|fp| matches(fp, &wanted));
    let data = json!({
        "before": before,
        "fp": wanted,
        "id": short(&wanted, 16),
        "key_id": short(&wanted, 16),
        "short_id": short(&wanted, 8),
    });
    match (state, present) {
        (Presence::Present, true) | (Presence::Absent, false) => Ok(Outcome::ok(format!(
            "key {wanted} is already {}",
            if present { "present" } else { "absent" }
        ))
        .with_data(data)),
        (Presence::Present, false) => {
            if sources == 0 {
                return Err(Error::msg(format!(
                    "key {wanted} is not in the keyring; give it as data, file or url"
                )));
            }
            if !ctx.check {
                let file = params.file.clone().unwrap_or_default();
                let url = params.url.clone().unwrap_or_default();
                let mut add =
                    Command::new(["sh", "-c", ADD, "capstan-apt-key", &keyring, &file, &url]);
                if let Some(text) = &params.data {
                    add = add.stdin(text.as_bytes().to_vec());
                }
                succeeded(add.run(&ctx.target)?, &format!("adding key {wanted}"))?;
                verify(ctx, &keyring, &wanted, true)?;
            }
            Ok(Outcome::changed(format!("added key {wanted}")).with_data(data))
        }
        (Presence::Absent, true) => {
            if !ctx.check {
                let mut argv = vec!["apt-key".to_string()];
                if !keyring.is_empty() {
                    argv.extend(["--keyring".into(), keyring.clone()]);
                }
                argv.extend(["del".into(), short(&wanted, 16)]);
                let out = Command::new(argv).run(&ctx.target)?;
                succeeded(out, &format!("removing key {wanted}"))?;
                verify(ctx, &keyring, &wanted, false)?;
            }
            Ok(Outcome::changed(format!("removed key {wanted}")).with_data(data))
        }
    }
}

/// `Ok` when the command `doing` something succeeded; else what it said.
fn succeeded(out: ExecOutput, doing: &str) -> Result<(), Error> {
    if out.success() {
        return Ok(());
    }
    Err(Error::msg(format!(
        "{doing} failed: {}",
        out.stderr_text().trim()
    )))
}

/// The fingerprints of the keys in `keyring` (apt's own when empty).
fn keyring_keys(ctx: &Context, keyring: &str) -> Result<Vec<String>, Error> {
    let listed = Command::new(["sh", "-c", LIST, "capstan-apt-key", keyring]).run(&ctx.target)?;
    Ok(fingerprints(&listed.stdout_text()))
}

/// Checks the keyring now holds (or no longer holds) the key, as Ansible
/// checks after `apt-key`, which can succeed without doing it.
fn verify(ctx: &Context, keyring: &str, wanted: &str, present: bool) -> Result<(), Error> {
    let now = keyring_keys(ctx, keyring)?
        .iter()
        .any(|fp| matches(fp, wanted));
    if now == present {
        return Ok(());
    }
    Err(Error::msg(format!(
        "apt-key did not return an error, but the key {wanted} is {} (check that the id is \
         correct and not a subkey's)",
        if present {
            "not in the keyring"
        } else {
            "still there"
        }
    )))
}

/// The id of the key the task gives, read from its text by gpg.
fn read_key_id(ctx: &Context, params: &KeyParams) -> Result<String, Error> {
    let file = params.file.clone().unwrap_or_default();
    let url = params.url.clone().unwrap_or_default();
    let mut show = Command::new(["sh", "-c", SHOW, "capstan-apt-key", &file, &url]);
    if let Some(text) = &params.data {
        show = show.stdin(text.as_bytes().to_vec());
    }
    let out = show.run(&ctx.target)?;
    fingerprints(&out.stdout_text())
        .into_iter()
        .next()
        .ok_or_else(|| {
            Error::msg(
                "the key given could not be read (gpg found no public key in it; is gpg \
                 installed?)",
            )
        })
}

/// The primary keys' fingerprints in gpg's colon listing.
fn fingerprints(listing: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_primary = false;
    for line in listing.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.first() {
            Some(&"pub") => in_primary = true,
            Some(&"sub") | Some(&"uid") => in_primary = false,
            Some(&"fpr") if in_primary => {
                if let Some(fp) = fields.get(9).filter(|f| !f.is_empty()) {
                    found.push(fp.to_ascii_uppercase());
                }
                in_primary = false;
            }
            _ => {}
        }
    }
    found
}

/// A key id as given, checked: hex digits (8, 16 or a fingerprint's 40),
/// upper case, without `0x`.
fn key_id(given: &str) -> Result<String, Error> {
    let id = given.trim();
    let id = id
        .strip_prefix("0x")
        .or_else(|| id.strip_prefix("0X"))
        .unwrap_or(id);
    let id: String = id.chars().filter(|c| !c.is_whitespace()).collect();
    if !matches!(id.len(), 8 | 16 | 40) || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::InvalidParams(format!(
            "id `{given}` is not a key id (8, 16 or 40 hexadecimal digits)"
        )));
    }
    Ok(id.to_ascii_uppercase())
}

/// Whether the fingerprint `fp` is the key `id` names (its last digits).
fn matches(fp: &str, id: &str) -> bool {
    fp.ends_with(id)
}

/// The last `n` digits of a key id (all of a shorter one).
fn short(id: &str, n: usize) -> String {
    id[id.len().saturating_sub(n)..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_read_from_primary_keys_only() {
        let listing = "tru::1:1700000000:0:3:1:5\n\
            pub:-:255:22:1A2B3C4D5E6F7081:1700000000:::-:::scESC::::::23::0:\n\
            fpr:::::::::AAAA0123456789ABCDEF01231A2B3C4D5E6F7081:\n\
            uid:-::::1700000000::X::Test <t@t>::::::::::0:\n\
            sub:-:255:18:99AABBCCDDEEFF00:1700000000::::::e::::::23:\n\
            fpr:::::::::FFFFFFFFFFFFFFFFFFFF99AABBCCDDEEFF00:\n";
        assert_eq!(
            fingerprints(listing),
            ["AAAA0123456789ABCDEF01231A2B3C4D5E6F7081"]
        );
    }

    #[test]
    fn ids_are_checked_and_matched_by_their_end() {
        assert_eq!(key_id("0x5e6f7081").unwrap(), "5E6F7081");
        assert_eq!(key_id("1a2b3c4d5e6f7081").unwrap(), "1A2B3C4D5E6F7081");
        assert!(key_id("xyz").is_err());
        assert!(key_id("12345").is_err());
        let fp = "AAAA0123456789ABCDEF01231A2B3C4D5E6F7081";
        assert!(matches(fp, "5E6F7081"));
        assert!(!matches(fp, "5E6F7082"));
        assert_eq!(short(fp, 8), "5E6F7081");
        assert_eq!(short("5E6F7081", 16), "5E6F7081");
    }
}
