//! The secrets store: values that unattended runs need (a schedule's
//! playbook variables, later webhook keys and notification passwords),
//! each sealed with ChaCha20-Poly1305 under a key kept in the data folder
//! (`secrets.key`, 0600, made on first use), its name bound in as
//! associated data so a sealed value cannot be moved to another name.
//! Values are never listed, logged or returned through the API; a run
//! that uses one masks it everywhere.

use std::path::Path;

use capstan_store::SealedSecret;
use capstan_wire::Actor;
use capstan_wire::clock::now_ms;
use capstan_wire::secrets::SecretInfo;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::Capstan;
use crate::{Error, Result};

/// Bytes in the key file.
const KEY_LEN: usize = 32;

/// The largest value stored (a certificate bundle fits; a disk image does not).
pub const MAX_SECRET_BYTES: usize = 64 << 10;

impl Capstan {
    /// Sets a secret, sealed; audited (never its value).
    pub fn set_secret(&self, name: &str, value: &str, by: &Actor) -> Result<()> {
        check_name(name)?;
        if value.is_empty() {
            return Err(Error::BadInput(format!(
                "secret `{name}`: the value is empty"
            )));
        }
        if value.len() > MAX_SECRET_BYTES {
            return Err(Error::BadInput(format!(
                "secret `{name}`: {} bytes; at most {MAX_SECRET_BYTES}",
                value.len()
            )));
        }
        let key = self.secrets_key()?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| Error::BadInput(format!("no random bytes from the OS: {e}")))?;
        let mut sealed = value.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(name.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| Error::BadInput(format!("secret `{name}` could not be sealed")))?;
        let secret = SealedSecret {
            nonce: nonce.to_vec(),
            sealed,
        };
        let new = self.store.put_secret(name, &secret, by, now_ms())?;
        self.audit_as(
            by,
            if new { "add" } else { "replace" },
            &format!("secret:{name}"),
            "",
        )
    }

    /// Every secret's name and dates (never a value).
    pub fn secrets(&self) -> Result<Vec<SecretInfo>> {
        Ok(self.store.secrets()?)
    }

    /// Removes a secret; audited.
    pub fn remove_secret(&self, name: &str, by: &Actor) -> Result<()> {
        if !self.store.remove_secret(name)? {
            return Err(no_secret(name));
        }
        self.audit_as(by, "remove", &format!("secret:{name}"), "")
    }

    /// The sudo password in the stored secret `name`, when one is named.
    pub fn sudo_password(
        &self,
        name: Option<&str>,
    ) -> Result<Option<capstan_remote::SudoPassword>> {
        name.map(|name| {
            self.secret_value(name)
                .map(capstan_remote::SudoPassword::new)
        })
        .transpose()
    }

    /// A secret's value, for a run that needs it (it must mask it).
    pub fn secret_value(&self, name: &str) -> Result<String> {
        let secret = self
            .store
            .sealed_secret(name)?
            .ok_or_else(|| no_secret(name))?;
        let broken = || {
            Error::BadInput(format!(
                "secret `{name}` cannot be opened: {} is not the key it was sealed with, or the store was altered",
                self.home.secrets_key().display()
            ))
        };
        let nonce: [u8; NONCE_LEN] = secret.nonce.as_slice().try_into().map_err(|_| broken())?;
        let key = self.secrets_key()?;
        let mut sealed = secret.sealed;
        let opened = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| broken())?;
        String::from_utf8(opened.to_vec()).map_err(|_| broken())
    }

    /// Adds the stored secrets `names` to a playbook's variables, as
    /// secret ones (masked in everything the run records or prints).
    pub fn add_stored_secrets(
        &self,
        options: &mut crate::playbook::PlaybookOptions,
        names: &[String],
    ) -> Result<()> {
        for name in names {
            let value = self.secret_value(name)?;
            options
                .extra_vars
                .insert(name.clone(), serde_json::Value::String(value));
            if !options.secret_vars.contains(name) {
                options.secret_vars.push(name.clone());
            }
        }
        Ok(())
    }

    /// The sealing key, made on first use.
    fn secrets_key(&self) -> Result<LessSafeKey> {
        let bytes = read_or_make_key(&self.home.secrets_key())?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| Error::BadInput("the secrets key is not a ChaCha20 key".into()))?;
        Ok(LessSafeKey::new(key))
    }
}

/// Reads the key file, or makes it (0600, created new, so two processes
/// making it at once agree on one).
fn read_or_make_key(path: &Path) -> Result<[u8; KEY_LEN]> {
    let unreadable = |e: std::io::Error| {
        Error::BadInput(format!(
            "the secrets key {} cannot be read: {e}",
            path.display()
        ))
    };
    if !path.exists() {
        let mut key = [0u8; KEY_LEN];
        getrandom::fill(&mut key)
            .map_err(|e| Error::BadInput(format!("no random bytes from the OS: {e}")))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, &key).map_err(unreadable)?;
                file.sync_all().map_err(unreadable)?;
                return Ok(key);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(unreadable(e)),
        }
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    bytes.as_slice().try_into().map_err(|_| {
        Error::BadInput(format!(
            "the secrets key {} holds {} bytes, not {KEY_LEN}: restore it from a backup",
            path.display(),
            bytes.len()
        ))
    })
}

fn no_secret(name: &str) -> Error {
    Error::NotFound(format!(
        "no secret named `{name}` (`capstan secrets set {name}` stores one)"
    ))
}

/// A secret's name: a variable name, as playbooks use it.
fn check_name(name: &str) -> Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::BadInput(format!(
            "secret name `{}`: a variable name (letters, digits and _, not starting with a digit), at most 64",
            name.escape_debug()
        )))
    }
}
