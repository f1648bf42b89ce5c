//! Installed plugins, their grants and their limit overrides.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, params};

use super::Result;
use super::{Store, now_ms};
use capstan_wire::grants::Grant;
use capstan_wire::plugins::{GrantSet, LimitOverrides, Manifest};

/// An installed plugin as the store keeps it.
#[derive(Debug, Clone)]
pub struct PluginRecord {
    /// What the plugin said about itself at install time.
    pub manifest: Manifest,
    /// The contract version it was built for (`0.1.0`).
    pub api_version: String,
    /// SHA-256 of the component file.
    pub wasm_sha256: String,
    /// Where the component file is kept.
    pub wasm_path: PathBuf,
    /// What the user granted.
    pub grants: GrantSet,
    /// Its own limits, where they differ from the defaults.
    pub limits: LimitOverrides,
    /// Shipped inside Capstan (installed on first use).
    pub bundled: bool,
    /// When it was installed (ms since the epoch).
    pub installed_at: i64,
}

impl Store {
    /// Inserts or replaces a plugin and its grants, in one transaction.
    pub fn save_plugin(&self, record: &PluginRecord) -> Result<()> {
        let manifest_json = serde_json::to_string(&record.manifest).expect("manifest serialises");
        let limits_json = serde_json::to_string(&record.limits).expect("limits serialise");
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO plugins (name, version, summary, api_version, wasm_sha256, wasm_path,
                                      manifest_json, limits_json, bundled, installed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(name) DO UPDATE SET
                    version = excluded.version, summary = excluded.summary,
                    api_version = excluded.api_version, wasm_sha256 = excluded.wasm_sha256,
                    wasm_path = excluded.wasm_path, manifest_json = excluded.manifest_json,
                    limits_json = excluded.limits_json, bundled = excluded.bundled,
                    installed_at = excluded.installed_at",
                params![
                    record.manifest.name,
                    record.manifest.version,
                    record.manifest.summary,
                    record.api_version,
                    record.wasm_sha256,
                    record.wasm_path.to_string_lossy(),
                    manifest_json,
                    limits_json,
                    record.bundled,
                    record.installed_at,
                ],
            )?;
            write_grants(&tx, &record.manifest.name, &record.grants)?;
            tx.commit()
        })
    }

    /// The plugin called `name`, if installed.
    pub fn plugin(&self, name: &str) -> Result<Option<PluginRecord>> {
        let row = self.with(|conn| {
            conn.query_row(
                &format!("{SELECT_PLUGIN} WHERE name = ?1"),
                [name],
                read_row,
            )
            .optional()
        })?;
        match row {
            Some(mut record) => {
                record.grants = self.grants(name)?;
                Ok(Some(record))
            }
            None => Ok(None),
        }
    }

    /// Every installed plugin, by name.
    pub fn plugins(&self) -> Result<Vec<PluginRecord>> {
        let mut records = self.with(|conn| {
            let mut stmt = conn.prepare(&format!("{SELECT_PLUGIN} ORDER BY name"))?;
            stmt.query_map([], read_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        for record in &mut records {
            record.grants = self.grants(&record.manifest.name)?;
        }
        Ok(records)
    }

    /// Removes a plugin, its grants and its key-values. False when it was
    /// not installed.
    pub fn remove_plugin(&self, name: &str) -> Result<bool> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM kv WHERE plugin = ?1", [name])?;
            let removed = tx.execute("DELETE FROM plugins WHERE name = ?1", [name])? > 0;
            tx.commit()?;
            Ok(removed)
        })
    }

    /// Replaces a plugin's grants.
    pub fn set_grants(&self, name: &str, grants: &GrantSet) -> Result<()> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            write_grants(&tx, name, grants)?;
            tx.commit()
        })
    }

    /// Replaces a plugin's limit overrides.
    pub fn set_limits(&self, name: &str, limits: &LimitOverrides) -> Result<()> {
        let json = serde_json::to_string(limits).expect("limits serialise");
        self.with(|conn| {
            conn.execute(
                "UPDATE plugins SET limits_json = ?2 WHERE name = ?1",
                params![name, json],
            )
        })?;
        Ok(())
    }

    fn grants(&self, name: &str) -> Result<GrantSet> {
        let names = self.with(|conn| {
            let mut stmt = conn.prepare("SELECT capability FROM grants WHERE plugin = ?1")?;
            stmt.query_map([name], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        // A capability this build does not know (written by a newer one)
        // grants nothing here.
        Ok(GrantSet::from_grants(
            names.iter().filter_map(|n| n.parse::<Grant>().ok()),
        ))
    }
}

const SELECT_PLUGIN: &str = "SELECT manifest_json, api_version, wasm_sha256, wasm_path, limits_json, bundled, installed_at FROM plugins";

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PluginRecord> {
    let manifest_json: String = row.get(0)?;
    let limits_json: String = row.get(4)?;
    let manifest = serde_json::from_str(&manifest_json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(PluginRecord {
        manifest,
        api_version: row.get(1)?,
        wasm_sha256: row.get(2)?,
        wasm_path: PathBuf::from(row.get::<_, String>(3)?),
        grants: GrantSet::default(),
        limits: serde_json::from_str(&limits_json).unwrap_or_default(),
        bundled: row.get(5)?,
        installed_at: row.get(6)?,
    })
}

fn write_grants(
    tx: &rusqlite::Transaction<'_>,
    name: &str,
    grants: &GrantSet,
) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM grants WHERE plugin = ?1", [name])?;
    let now = now_ms();
    for grant in grants.grants() {
        tx.execute(
            "INSERT INTO grants (plugin, capability, granted_at) VALUES (?1, ?2, ?3)",
            params![name, grant.to_string(), now],
        )?;
    }
    Ok(())
}
