//! The audit log: every change to what plugins are installed and may do,
//! to tokens, schedules, webhooks and secrets, with when and by whom.

use rusqlite::params;
use serde::Serialize;

use super::Result;
use super::Store;

/// One change to the installed plugins or their grants, or to tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When, in ms since the Unix epoch.
    pub at_ms: i64,
    /// Who made the change: an OS user's name (bare, as before actors had
    /// kinds) or `token:NAME`.
    pub actor: String,
    /// `install`, `replace`, `upgrade`, `remove`, `grant`, `revoke` or
    /// `limits` for a plugin; `create` or `revoke` for a token.
    pub action: String,
    /// What it concerns, `kind:name`: `plugin:apt`, `token:ci`.
    pub subject: String,
    /// The plugin it concerns, for a plugin's entry (as `--json` had it
    /// before entries were about more than plugins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// What changed, in words (version and hash, the capability, ...).
    pub detail: String,
}

impl AuditEntry {
    /// An entry about plugin `name`.
    pub fn about_plugin(at_ms: i64, actor: &str, action: &str, name: &str, detail: &str) -> Self {
        Self::about(at_ms, actor, action, &format!("plugin:{name}"), detail)
    }

    /// An entry about `subject` (`kind:name`).
    pub fn about(at_ms: i64, actor: &str, action: &str, subject: &str, detail: &str) -> Self {
        let plugin = subject.strip_prefix("plugin:").map(String::from);
        AuditEntry {
            at_ms,
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            plugin,
            detail: detail.into(),
        }
    }
}

impl Store {
    /// Appends an entry.
    pub fn audit(&self, entry: &AuditEntry) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    entry.at_ms,
                    entry.actor,
                    entry.action,
                    entry.subject,
                    entry.detail
                ],
            )
        })?;
        Ok(())
    }

    /// The newest `limit` entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT at, actor, action, subject, detail FROM audit ORDER BY seq DESC LIMIT ?1",
            )?;
            stmt.query_map([limit as i64], |r| {
                let subject: String = r.get(3)?;
                // Rows from before subjects had kinds name a plugin.
                let subject = match subject.contains(':') {
                    true => subject,
                    false => format!("plugin:{subject}"),
                };
                Ok(AuditEntry::about(
                    r.get(0)?,
                    &r.get::<_, String>(1)?,
                    &r.get::<_, String>(2)?,
                    &subject,
                    &r.get::<_, String>(4)?,
                ))
            })?
            .collect()
        })
    }
}
