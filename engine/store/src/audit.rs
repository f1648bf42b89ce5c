//! The audit log: every change to what plugins are installed and may do,
//! with when and by whom.

use rusqlite::params;
use serde::Serialize;

use super::Result;
use super::Store;

/// One change to the installed plugins or their grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When, in ms since the Unix epoch.
    pub at_ms: i64,
    /// The OS user whose Capstan made the change.
    pub actor: String,
    /// `install`, `replace`, `upgrade`, `remove`, `grant`, `revoke` or `limits`.
    pub action: String,
    /// The plugin it concerns.
    pub plugin: String,
    /// What changed, in words (version and hash, the capability, ...).
    pub detail: String,
}

impl Store {
    /// Appends an entry.
    pub fn audit(&self, entry: &AuditEntry) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO audit (at, actor, action, plugin, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    entry.at_ms,
                    entry.actor,
                    entry.action,
                    entry.plugin,
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
                "SELECT at, actor, action, plugin, detail FROM audit ORDER BY seq DESC LIMIT ?1",
            )?;
            stmt.query_map([limit as i64], |r| {
                Ok(AuditEntry {
                    at_ms: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    plugin: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect()
        })
    }
}
