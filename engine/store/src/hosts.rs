//! The inventory's hosts.

use rusqlite::{OptionalExtension, params};

use super::Result;
use super::{Store, now_ms};
use capstan_wire::hosts::Host;

impl Store {
    /// Adds or replaces a host. Replacing it forgets its last check: the
    /// settings that check proved may have changed.
    pub fn save_host(&self, host: &Host) -> Result<()> {
        self.forget_host_check(&host.name)?;
        self.with(|conn| upsert_host(conn, host))?;
        Ok(())
    }

    /// Adds or replaces every host of `hosts` in one transaction (an
    /// import): all of them are saved, or none. Their last checks are
    /// forgotten.
    pub fn save_hosts(&self, hosts: &[Host]) -> Result<()> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            for host in hosts {
                tx.execute("DELETE FROM host_checks WHERE name = ?1", [&host.name])?;
                upsert_host(&tx, host)?;
            }
            tx.commit()
        })
    }

    /// Replaces the host called `old` by `host` (which may have another
    /// name) in one transaction: at no moment is the host missing or
    /// there twice. Both names' last checks are forgotten.
    pub fn replace_host(&self, old: &str, host: &Host) -> Result<()> {
        self.forget_host_check(old)?;
        self.forget_host_check(&host.name)?;
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM hosts WHERE name = ?1", [old])?;
            upsert_host(&tx, host)?;
            tx.commit()
        })
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Result<Option<Host>> {
        self.with(|conn| {
            conn.query_row(&format!("{SELECT_HOST} WHERE name = ?1"), [name], read_host)
                .optional()
        })
    }

    /// Every host, in natural order of names (`h2` before `h10`).
    pub fn hosts(&self) -> Result<Vec<Host>> {
        let mut hosts: Vec<Host> = self.with(|conn| {
            let mut stmt = conn.prepare(SELECT_HOST)?;
            stmt.query_map([], read_host)?.collect()
        })?;
        capstan_wire::natural::sort_naturally(&mut hosts, |h| &h.name);
        Ok(hosts)
    }

    /// Removes a host; false when there was none.
    pub fn remove_host(&self, name: &str) -> Result<bool> {
        self.with(|conn| Ok(conn.execute("DELETE FROM hosts WHERE name = ?1", [name])? > 0))
    }
}

fn upsert_host(conn: &rusqlite::Connection, host: &Host) -> rusqlite::Result<()> {
    let auth = serde_json::to_string(&host.auth).expect("auth serialises");
    let groups = serde_json::to_string(&host.groups).expect("groups serialise");
    let vars = serde_json::to_string(&host.vars).expect("vars serialise");
    conn.execute(
        "INSERT INTO hosts (name, address, port, user, auth_json, environment, groups_json, created_at, vars_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(name) DO UPDATE SET address = excluded.address, port = excluded.port,
            user = excluded.user, auth_json = excluded.auth_json,
            environment = excluded.environment, groups_json = excluded.groups_json,
            vars_json = excluded.vars_json",
        params![host.name, host.address, host.port, host.user, auth, host.environment, groups, now_ms(), vars],
    )?;
    Ok(())
}

const SELECT_HOST: &str =
    "SELECT name, address, port, user, auth_json, environment, groups_json, vars_json FROM hosts";

fn read_host(r: &rusqlite::Row<'_>) -> rusqlite::Result<Host> {
    let auth: String = r.get(4)?;
    let groups: String = r.get(6)?;
    Ok(Host {
        name: r.get(0)?,
        address: r.get(1)?,
        port: r.get(2)?,
        user: r.get(3)?,
        auth: serde_json::from_str(&auth).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
        })?,
        environment: r.get(5)?,
        groups: serde_json::from_str(&groups).unwrap_or_default(),
        vars: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
    })
}
