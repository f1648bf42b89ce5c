//! One masking layer for secret values: what the user marked secret
//! (`--secret NAME`), and the passwords read from the environment (sudo,
//! SSH). Every stored or printed output of a run passes through it.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value as Json;

use capstan_wire::jobs::LogLine;

use crate::vault::Vault;
use capstan_plugin_host::log_sink::LogSink;

/// What a masked value reads as.
pub const MASK: &str = "********";

/// Values shorter than this are not masked: masking `a` or `1` would
/// blank out every output and hide nothing worth hiding.
const SHORTEST: usize = 3;

/// The secret values of one run: those known when it starts, what its
/// vault opens as it goes, and what the run learns is one (a sudo password
/// a playbook's variable gives).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    known: Arc<Vec<String>>,
    vault: Option<Arc<Vault>>,
    learned: Arc<Mutex<Vec<String>>>,
}

impl Secrets {
    /// The non-trivial values among `values`, longest first (so a secret
    /// that contains another is masked whole).
    pub fn new(values: impl IntoIterator<Item = String>) -> Secrets {
        let mut values: Vec<String> = values
            .into_iter()
            .filter(|v| v.chars().count() >= SHORTEST)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Secrets {
            known: Arc::new(values),
            ..Secrets::default()
        }
    }

    /// These secrets, and every value `vault` opens (now or later).
    pub fn with_vault(self, vault: Arc<Vault>) -> Secrets {
        Secrets {
            vault: Some(vault),
            ..self
        }
    }

    /// Masks `value` from now on, wherever this run's secrets are used.
    pub fn learn(&self, value: &str) {
        if value.chars().count() < SHORTEST {
            return;
        }
        let mut learned = self.learned();
        if !learned.iter().any(|v| v == value) {
            learned.push(value.to_string());
        }
    }

    /// Whether there is nothing to mask (and no vault to open more).
    pub fn is_empty(&self) -> bool {
        self.known.is_empty() && self.vault.is_none() && self.learned().is_empty()
    }

    /// What the run learned so far, held while in use.
    fn learned(&self) -> MutexGuard<'_, Vec<String>> {
        self.learned.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `text` with every secret value replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        let opened = self.vault.as_ref().map(|v| v.opened()).unwrap_or_default();
        let learned = self.learned();
        let mut all: Vec<&String> = self
            .known
            .iter()
            .chain(opened.iter().filter(|v| v.chars().count() >= SHORTEST))
            .chain(learned.iter())
            .collect();
        if !opened.is_empty() || !learned.is_empty() {
            all.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
        for secret in all {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    /// Every string inside `value` masked.
    pub fn mask_json(&self, value: &Json) -> Json {
        match value {
            Json::String(s) => Json::String(self.mask(s)),
            Json::Array(items) => Json::Array(items.iter().map(|v| self.mask_json(v)).collect()),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (self.mask(k), self.mask_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A log sink that masks each line before `inner` sees it.
    pub fn masking(&self, inner: Arc<dyn LogSink>) -> Arc<dyn LogSink> {
        if self.is_empty() {
            return inner;
        }
        Arc::new(MaskedLogs {
            secrets: self.clone(),
            inner,
        })
    }
}

/// Log lines with secrets masked, then handed on.
struct MaskedLogs {
    secrets: Secrets,
    inner: Arc<dyn LogSink>,
}

impl LogSink for MaskedLogs {
    fn line(&self, line: LogLine) {
        self.inner.line(LogLine {
            message: self.secrets.mask(&line.message),
            fields: line
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), self.secrets.mask(v)))
                .collect(),
            ..line
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_text_and_json_longest_first() {
        let secrets = Secrets::new(["hunter2".into(), "hunter2-admin".into(), "x".into()]);
        assert_eq!(
            secrets.mask("pw=hunter2-admin or hunter2, x"),
            "pw=******** or ********, x"
        );
        assert_eq!(
            secrets.mask_json(&serde_json::json!({"cmd": ["echo", "hunter2"], "rc": 0})),
            serde_json::json!({"cmd": ["echo", "********"], "rc": 0})
        );
        assert!(Secrets::new(["ab".into()]).is_empty(), "too short to mask");
    }

    #[test]
    fn a_learned_secret_is_masked_by_every_copy_from_then_on() {
        let secrets = Secrets::default();
        let copy = secrets.clone();
        assert!(copy.is_empty());
        assert_eq!(copy.mask("sudo pw s3cret-pw"), "sudo pw s3cret-pw");
        secrets.learn("s3cret-pw");
        secrets.learn("s3cret-pw");
        secrets.learn("ab");
        assert!(!copy.is_empty());
        assert_eq!(copy.mask("sudo pw s3cret-pw, ab"), "sudo pw ********, ab");
    }
}
