//! The last connection check of each host.

use rusqlite::params;

use super::Result;
use super::Store;
use capstan_wire::hosts::HostCheck;

impl Store {
    /// Records a host's latest check, replacing the one before. A check of
    /// a host that is not in the inventory (`local`) is not kept.
    pub fn save_host_check(&self, check: &HostCheck) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO host_checks (name, reachable, message, unknown_key, elapsed_ms, checked_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM hosts WHERE name = ?1)",
                params![
                    check.name,
                    check.reachable,
                    check.message,
                    check.unknown_key,
                    check.elapsed_ms as i64,
                    check.checked_at_ms
                ],
            )
        })?;
        Ok(())
    }

    /// Every host's latest check, in natural order of host names.
    pub fn host_checks(&self) -> Result<Vec<HostCheck>> {
        let mut checks: Vec<HostCheck> = self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT name, reachable, message, unknown_key, elapsed_ms, checked_at FROM host_checks",
            )?;
            stmt.query_map([], |r| {
                Ok(HostCheck {
                    name: r.get(0)?,
                    reachable: r.get(1)?,
                    message: r.get(2)?,
                    unknown_key: r.get(3)?,
                    elapsed_ms: r.get::<_, i64>(4)? as u64,
                    checked_at_ms: r.get(5)?,
                })
            })?
            .collect()
        })?;
        capstan_wire::natural::sort_naturally(&mut checks, |c| &c.name);
        Ok(checks)
    }

    /// Forgets a host's check (its connection settings changed).
    pub(super) fn forget_host_check(&self, name: &str) -> Result<()> {
        self.with(|conn| conn.execute("DELETE FROM host_checks WHERE name = ?1", [name]))?;
        Ok(())
    }
}
