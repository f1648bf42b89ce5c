//! The `user` action's `generate_ssh_key`: a key pair made by the host's
//! `ssh-keygen` in the account's home, owned by the account. A passphrase
//! reaches ssh-keygen through an askpass helper that reads it from the
//! environment, which the script takes from its standard input: it is on
//! no command line.

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error};

/// What to generate, from the `user` action's `ssh_key_*` parameters.
pub struct KeyParams<'a> {
    /// The account.
    pub user: &'a str,
    /// Its home, which a relative `file` is under.
    pub home: &'a str,
    /// `ssh_key_file` (default `.ssh/id_TYPE`).
    pub file: Option<&'a str>,
    /// `ssh_key_type` (default `rsa`).
    pub kind: Option<&'a str>,
    /// `ssh_key_bits`.
    pub bits: Option<u32>,
    /// `ssh_key_comment` (default `ansible-generated on HOSTNAME`).
    pub comment: Option<&'a str>,
    /// `ssh_key_passphrase`.
    pub passphrase: Option<&'a str>,
    /// Replace a key that is already there.
    pub force: bool,
}

/// The key the account has after the task.
pub struct Key {
    /// Its private key file.
    pub file: String,
    /// `ssh-keygen -l`'s line.
    pub fingerprint: String,
    /// The public key.
    pub public_key: String,
    /// Whether it was generated now.
    pub changed: bool,
}

impl Key {
    /// Adds Ansible's result keys (`ssh_key_file`, `ssh_fingerprint`,
    /// `ssh_public_key`).
    pub fn add_to(&self, data: &mut serde_json::Value) {
        data["ssh_key_file"] = self.file.clone().into();
        data["ssh_fingerprint"] = self.fingerprint.clone().into();
        data["ssh_public_key"] = self.public_key.clone().into();
    }
}

/// Generates the pair unless it exists (and `force` is off), then prints
/// `generated` or `kept`, the fingerprint line and the public key.
/// Arguments: file, user, type, bits (may be empty), comment (may be
/// empty: the default), force, whether a passphrase comes on stdin.
const GENERATE: &str = r#"set -e
file=$1 user=$2 type=$3 bits=$4 comment=$5 force=$6 secret=$7
if [ -e "$file" ] && [ "$force" != yes ]; then
  echo kept
else
  dir=$(dirname -- "$file")
  if [ ! -d "$dir" ]; then
    mkdir -p -- "$dir"
    chmod 700 "$dir"
    chown "$user:" "$dir"
  fi
  [ -n "$comment" ] || comment="ansible-generated on $(uname -n)"
  rm -f -- "$file" "$file.pub"
  if [ "$secret" = yes ]; then
    IFS= read -r CAPSTAN_KEY_SECRET || true
    export CAPSTAN_KEY_SECRET
    helper=$(mktemp -d)
    trap 'rm -rf -- "$helper"' EXIT
    printf '#!/bin/sh\nprintf "%%s\\n" "$CAPSTAN_KEY_SECRET"\n' > "$helper/askpass"
    chmod 700 "$helper/askpass"
    SSH_ASKPASS=$helper/askpass SSH_ASKPASS_REQUIRE=force \
      ssh-keygen -q -t "$type" ${bits:+-b "$bits"} -C "$comment" -f "$file" < /dev/null > /dev/null
  else
    ssh-keygen -q -t "$type" ${bits:+-b "$bits"} -C "$comment" -N '' -f "$file" < /dev/null > /dev/null
  fi
  chown "$user:" "$file" "$file.pub"
  echo generated
fi
ssh-keygen -l -f "$file.pub"
cat -- "$file.pub""#;

/// Makes sure the account has the key pair, generating it when asked.
pub fn generate(ctx: &Context, p: &KeyParams) -> Result<Key, Error> {
    let kind = p.kind.unwrap_or("rsa");
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::InvalidParams(format!(
            "ssh_key_type: `{kind}` is not a key type ssh-keygen knows (rsa, ed25519, ecdsa, ...)"
        )));
    }
    let default_file = format!(".ssh/id_{kind}");
    let file = p.file.unwrap_or(&default_file);
    let file = if file.starts_with('/') {
        file.to_string()
    } else {
        format!("{}/{file}", p.home.trim_end_matches('/'))
    };
    if ctx.check {
        let exists = Command::new(["test", "-e", file.as_str()])
            .run(&ctx.target)?
            .success();
        return Ok(Key {
            file,
            fingerprint: String::new(),
            public_key: String::new(),
            changed: p.force || !exists,
        });
    }
    let bits = p.bits.filter(|b| *b > 0).map(|b| b.to_string());
    let argv = [
        "sh",
        "-c",
        GENERATE,
        "capstan-ssh-key",
        &file,
        p.user,
        kind,
        bits.as_deref().unwrap_or(""),
        p.comment.unwrap_or(""),
        if p.force { "yes" } else { "no" },
        if p.passphrase.is_some() { "yes" } else { "no" },
    ];
    let mut command = Command::new(argv);
    if let Some(passphrase) = p.passphrase {
        if passphrase.contains('\n') {
            return Err(Error::InvalidParams(
                "ssh_key_passphrase: a passphrase holds no line break".into(),
            ));
        }
        command = command.stdin(format!("{passphrase}\n").into_bytes());
    }
    let out = command.run(&ctx.target)?;
    if !out.success() {
        return Err(Error::msg(format!(
            "generating the SSH key {file} failed: {}",
            out.stderr_text().trim()
        )));
    }
    let text = out.stdout_text();
    let mut lines = text.lines();
    let changed = lines.next() == Some("generated");
    Ok(Key {
        file,
        fingerprint: lines.next().unwrap_or_default().to_string(),
        public_key: lines.next().unwrap_or_default().to_string(),
        changed,
    })
}
