//! Ansible Vault: files and `!vault` values encrypted by `ansible-vault`
//! (format 1.1 and 1.2, AES256), opened with the passwords of
//! `--vault-password-file` and `--vault-id`. Plaintext lives only in
//! memory; every value opened is remembered so the run masks it.
//!
//! The format: a header line `$ANSIBLE_VAULT;1.1;AES256` (1.2 adds the
//! vault id), then hex text of `hex(salt)\nhex(hmac)\nhex(ciphertext)`.
//! PBKDF2-HMAC-SHA256 (10,000 rounds) of the password and salt gives the
//! AES-256-CTR key, the HMAC-SHA256 key and the counter's start; the HMAC
//! covers the ciphertext; the plaintext carries PKCS#7 padding.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aes::cipher::{KeyIvInit, StreamCipher};
use capstan_yaml::{Node, TopLevel, Yaml, YamlError};

/// What every vaulted text starts with.
pub const HEADER: &str = "$ANSIBLE_VAULT;";

const ROUNDS: u32 = 10_000;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Why a vault password could not be had, or a vaulted text not opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Something is vaulted and no password was given.
    #[error(
        "this is vault-encrypted and no vault password was given (--vault-password-file or --vault-id)"
    )]
    NoPassword,
    /// No password given opens it.
    #[error("no vault password given opens it (a wrong password, or another vault id)")]
    WrongPassword,
    /// It is not vault text Capstan reads.
    #[error("not vault text Capstan can read: {0}")]
    Malformed(String),
    /// A password file could not be read or run.
    #[error("{0}")]
    PasswordFile(String),
}

/// Why a YAML file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read as text.
    #[error("{0}")]
    File(String),
    /// Its YAML is wrong, or a vaulted part would not open (with where).
    #[error("{0}")]
    Yaml(YamlError),
}

/// One password, with the vault id it is for (if named).
struct Secret {
    id: Option<String>,
    password: Vec<u8>,
}

/// The run's vault passwords, and the plaintexts opened with them.
#[derive(Default)]
pub struct Vault {
    secrets: Vec<Secret>,
    opened: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("passwords", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// The passwords of `--vault-password-file FILE` (each) and
    /// `--vault-id [ID@]FILE` (each). A file that is executable is run and
    /// its output is the password, as Ansible does; `prompt` is refused
    /// (a run asks nothing).
    pub fn from_options(
        password_files: &[PathBuf],
        vault_ids: &[String],
    ) -> Result<Vault, VaultError> {
        let mut secrets = Vec::new();
        for file in password_files {
            secrets.push(Secret {
                id: None,
                password: read_password(file)?,
            });
        }
        for spec in vault_ids {
            let (id, source) = match spec.split_once('@') {
                Some((id, source)) => (Some(id.to_string()), source),
                None => (None, spec.as_str()),
            };
            if source == "prompt" {
                return Err(VaultError::PasswordFile(format!(
                    "--vault-id {spec}: Capstan does not prompt; give a password file"
                )));
            }
            secrets.push(Secret {
                id,
                password: read_password(Path::new(source))?,
            });
        }
        Ok(Vault {
            secrets,
            opened: Mutex::new(Vec::new()),
        })
    }

    /// A vault with one password (for tests and the API).
    pub fn with_password(password: &str) -> Vault {
        Vault {
            secrets: vec![Secret {
                id: None,
                password: password.as_bytes().to_vec(),
            }],
            opened: Mutex::new(Vec::new()),
        }
    }

    /// Whether it holds any password (without one it opens nothing).
    pub fn has_passwords(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// Whether a text is vault-encrypted.
    pub fn is_vaulted(text: &str) -> bool {
        text.trim_start().starts_with(HEADER)
    }

    /// Opens a vaulted text with the first password that fits (one for its
    /// vault id first), and remembers the plaintext for masking.
    pub fn open(&self, text: &str) -> Result<String, VaultError> {
        if self.secrets.is_empty() {
            return Err(VaultError::NoPassword);
        }
        let (id, salt, mac, ciphertext) = parse(text)?;
        let mut order: Vec<&Secret> = self
            .secrets
            .iter()
            .filter(|s| id.is_some() && s.id == id)
            .collect();
        order.extend(
            self.secrets
                .iter()
                .filter(|s| !(id.is_some() && s.id == id)),
        );
        for secret in order {
            if let Some(plain) = decrypt(&secret.password, &salt, &mac, &ciphertext)? {
                let text = String::from_utf8(plain).map_err(|_| {
                    VaultError::Malformed("the opened value is not UTF-8 text".into())
                })?;
                self.remember(text.trim_end().to_string());
                if !text.trim().is_empty() {
                    self.remember(text.clone());
                }
                return Ok(text);
            }
        }
        Err(VaultError::WrongPassword)
    }

    /// Every plaintext opened so far (for masking).
    pub fn opened(&self) -> Vec<String> {
        self.opened.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Reads a YAML file Capstan parses: the whole file opened when it is
    /// vault-encrypted, then every `!vault` value inside opened in place.
    /// `what` names the file's role in errors, which name file:line:column.
    pub fn read_yaml(&self, path: &Path, top: TopLevel, what: &str) -> Result<Node, ReadError> {
        let text = capstan_yaml::read_file(path, what).map_err(ReadError::File)?;
        self.parse_yaml(&path.display().to_string(), &text, top, what)
    }

    /// [`Vault::read_yaml`] for text already read from `shown`.
    pub fn parse_yaml(
        &self,
        shown: &str,
        text: &str,
        top: TopLevel,
        what: &str,
    ) -> Result<Node, ReadError> {
        let opened;
        let whole = Vault::is_vaulted(text);
        let text = if whole {
            opened = self.open(text).map_err(|e| {
                ReadError::Yaml(YamlError {
                    at: capstan_yaml::Pos {
                        file: shown.into(),
                        line: 1,
                        column: 1,
                    },
                    message: format!("{what}: {e}"),
                })
            })?;
            opened.as_str()
        } else {
            text
        };
        let mut node = capstan_yaml::parse(shown, text, top).map_err(ReadError::Yaml)?;
        if whole {
            // Every value of an encrypted file is a secret.
            self.remember_values(&node);
        }
        self.open_values(&mut node).map_err(ReadError::Yaml)?;
        Ok(node)
    }

    /// Remembers every scalar value (not the keys) under `node` as opened.
    fn remember_values(&self, node: &Node) {
        let text = match &node.value {
            Yaml::Str(text) => Some(text.clone()),
            Yaml::Int(n) => Some(n.to_string()),
            Yaml::Float(f) => Some(f.to_string()),
            Yaml::Seq(items) => {
                items.iter().for_each(|i| self.remember_values(i));
                None
            }
            Yaml::Map(entries) => {
                entries.iter().for_each(|(_, v)| self.remember_values(v));
                None
            }
            Yaml::Null | Yaml::Bool(_) => None,
        };
        if let Some(text) = text {
            self.remember(text);
        }
    }

    /// Keeps an opened plaintext for masking, once: a vars file read for
    /// every host of every play opens the same values again.
    fn remember(&self, text: String) {
        if let Ok(mut opened) = self.opened.lock()
            && !opened.contains(&text)
        {
            opened.push(text);
        }
    }

    /// Opens every vaulted string in a parsed tree, in place; the error
    /// names where the value is.
    pub fn open_values(&self, node: &mut Node) -> Result<(), YamlError> {
        match &mut node.value {
            Yaml::Str(text) if Vault::is_vaulted(text) => {
                let plain = self.open(text).map_err(|e| YamlError {
                    at: node.pos.clone(),
                    message: format!("a !vault value: {e}"),
                })?;
                *text = plain;
            }
            Yaml::Seq(items) => {
                for item in items {
                    self.open_values(item)?;
                }
            }
            Yaml::Map(entries) => {
                for (_, value) in entries {
                    self.open_values(value)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A password file's password: its first line, or, when it is executable,
/// what running it prints.
fn read_password(path: &Path) -> Result<Vec<u8>, VaultError> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| VaultError::PasswordFile(format!("vault password file {shown}: {e}")))?;
    let bytes = if is_executable(&meta) {
        let out = std::process::Command::new(path)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| VaultError::PasswordFile(format!("vault password script {shown}: {e}")))?;
        if !out.status.success() {
            return Err(VaultError::PasswordFile(format!(
                "vault password script {shown} failed ({})",
                out.status
            )));
        }
        out.stdout
    } else {
        std::fs::read(path)
            .map_err(|e| VaultError::PasswordFile(format!("vault password file {shown}: {e}")))?
    };
    let text = String::from_utf8_lossy(&bytes);
    let password = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_end()
        .as_bytes()
        .to_vec();
    if password.is_empty() {
        return Err(VaultError::PasswordFile(format!(
            "vault password file {shown} is empty"
        )));
    }
    Ok(password)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

type Parsed = (Option<String>, Vec<u8>, Vec<u8>, Vec<u8>);

/// The vault id, salt, HMAC and ciphertext of a vaulted text.
fn parse(text: &str) -> Result<Parsed, VaultError> {
    let malformed = |why: &str| VaultError::Malformed(why.to_string());
    let mut lines = text.trim().lines();
    let header = lines.next().ok_or_else(|| malformed("it is empty"))?;
    let fields: Vec<&str> = header.trim().split(';').collect();
    let id = match fields.as_slice() {
        ["$ANSIBLE_VAULT", "1.1", "AES256"] => None,
        ["$ANSIBLE_VAULT", "1.2", "AES256", id] => Some(id.to_string()),
        ["$ANSIBLE_VAULT", version, cipher, ..] => {
            return Err(VaultError::Malformed(format!(
                "version {version} with cipher {cipher} (Capstan reads 1.1 and 1.2 AES256)"
            )));
        }
        _ => return Err(malformed("its header is not `$ANSIBLE_VAULT;1.1;AES256`")),
    };
    let body: String = lines.map(str::trim).collect();
    let inner = crate::hex::decode(&body).ok_or_else(|| malformed("its body is not hex text"))?;
    let inner = String::from_utf8(inner).map_err(|_| malformed("its body is not hex lines"))?;
    let parts: Vec<&str> = inner.split('\n').collect();
    let [salt, mac, ciphertext] = parts.as_slice() else {
        return Err(malformed(
            "its body does not hold salt, HMAC and ciphertext",
        ));
    };
    let field = |hex: &str, what: &str| {
        crate::hex::decode(hex.trim())
            .ok_or_else(|| VaultError::Malformed(format!("its {what} is not hex")))
    };
    Ok((
        id,
        field(salt, "salt")?,
        field(mac, "HMAC")?,
        field(ciphertext, "ciphertext")?,
    ))
}

/// The AES key, HMAC key and counter start for a password and salt.
fn derive(password: &[u8], salt: &[u8]) -> [u8; 80] {
    let mut keys = [0u8; 80];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(ROUNDS).expect("non-zero"),
        salt,
        password,
        &mut keys,
    );
    keys
}

/// The plaintext, or `None` when the HMAC shows the password is not this
/// one.
fn decrypt(
    password: &[u8],
    salt: &[u8],
    mac: &[u8],
    ciphertext: &[u8],
) -> Result<Option<Vec<u8>>, VaultError> {
    let keys = derive(password, salt);
    let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &keys[32..64]);
    if ring::hmac::verify(&hmac_key, ciphertext, mac).is_err() {
        return Ok(None);
    }
    let mut plain = ciphertext.to_vec();
    let mut cipher = Aes256Ctr::new_from_slices(&keys[..32], &keys[64..80])
        .map_err(|_| VaultError::Malformed("bad key length".into()))?;
    cipher.apply_keystream(&mut plain);
    let pad = usize::from(*plain.last().unwrap_or(&0));
    if pad == 0 || pad > 16 || pad > plain.len() {
        return Err(VaultError::Malformed("its padding is wrong".into()));
    }
    plain.truncate(plain.len() - pad);
    Ok(Some(plain))
}

/// Encrypts `plain` as `ansible-vault encrypt` does (format 1.1), with a
/// fresh random salt; for tests and tools.
pub fn encrypt(password: &str, plain: &str) -> String {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt).expect("randomness");
    let keys = derive(password.as_bytes(), &salt);
    let mut data = plain.as_bytes().to_vec();
    let pad = 16 - data.len() % 16;
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let mut cipher =
        Aes256Ctr::new_from_slices(&keys[..32], &keys[64..80]).expect("32-byte key, 16-byte iv");
    cipher.apply_keystream(&mut data);
    let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &keys[32..64]);
    let mac = ring::hmac::sign(&hmac_key, &data);
    let inner = format!(
        "{}\n{}\n{}",
        crate::hex::encode(&salt),
        crate::hex::encode(mac.as_ref()),
        crate::hex::encode(&data)
    );
    let body = crate::hex::encode(inner.as_bytes());
    let mut out = String::from("$ANSIBLE_VAULT;1.1;AES256\n");
    for chunk in body.as_bytes().chunks(80) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by ansible-vault 2.19.4: `ansible-vault encrypt_string
    /// --vault-password-file <(echo capstan) 'hunter2-db'`.
    const FROM_ANSIBLE: &str = include_str!("../tests/data/vault-string.txt");

    #[test]
    fn a_value_ansible_vault_encrypted_opens_with_its_password_only() {
        let vault = Vault::with_password("capstan");
        assert_eq!(vault.open(FROM_ANSIBLE).unwrap(), "hunter2-db");
        assert!(vault.opened().contains(&"hunter2-db".to_string()));
        vault.open(FROM_ANSIBLE).unwrap();
        let kept = vault.opened().iter().filter(|v| *v == "hunter2-db").count();
        assert_eq!(kept, 1, "a value opened again is kept once");
        let wrong = Vault::with_password("nope");
        assert_eq!(
            wrong.open(FROM_ANSIBLE).unwrap_err(),
            VaultError::WrongPassword
        );
        assert_eq!(
            Vault::default().open(FROM_ANSIBLE).unwrap_err(),
            VaultError::NoPassword
        );
    }

    #[test]
    fn what_capstan_encrypts_it_opens_and_a_broken_text_is_named() {
        let sealed = encrypt("pw", "line one\nline two\n");
        assert!(sealed.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
        assert_eq!(
            Vault::with_password("pw").open(&sealed).unwrap(),
            "line one\nline two\n"
        );
        let vault = Vault::with_password("pw");
        for (text, says) in [
            ("$ANSIBLE_VAULT;1.1;AES128\n00", "cipher AES128"),
            ("$ANSIBLE_VAULT;1.1;AES256\nzz", "not hex"),
            ("$VAULT\n00", "header"),
        ] {
            let err = vault.open(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn a_vault_id_password_is_tried_first_and_prompt_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "capstan\n").unwrap();
        let vault = Vault::from_options(&[], &[format!("prod@{}", file.display())]).unwrap();
        assert_eq!(vault.open(FROM_ANSIBLE).unwrap(), "hunter2-db");
        let err = Vault::from_options(&[], &["prod@prompt".into()]).unwrap_err();
        assert!(err.to_string().contains("does not prompt"), "{err}");
        let err = Vault::from_options(&[dir.path().join("missing")], &[]).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn an_executable_password_file_is_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("pw.sh");
        std::fs::write(&script, "#!/bin/sh\necho capstan\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        let vault = Vault::from_options(&[script], &[]).unwrap();
        assert_eq!(vault.open(FROM_ANSIBLE).unwrap(), "hunter2-db");
    }
}
