//! Webhooks in, as stored, and their deliveries (one row per delivery id:
//! a repeated one is refused by the primary key).

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use capstan_wire::Actor;
use capstan_wire::webhooks::{Hook, HookSpec};

impl Store {
    /// Adds a webhook; false (and nothing added) when one has that name.
    pub fn add_webhook(&self, spec: &HookSpec, by: &Actor, now_ms: i64) -> Result<bool> {
        let json = serde_json::to_string(spec).unwrap_or_default();
        let added = self.with(|conn| {
            conn.execute(
                "INSERT INTO webhooks (name, spec_json, created_by, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![spec.name, json, by.to_string(), now_ms],
            )
        });
        Store::added_unless_taken(added)
    }

    /// Every webhook, by name, with its deliveries counted.
    pub fn webhooks(&self) -> Result<Vec<Hook>> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{SELECT_HOOK} GROUP BY w.name ORDER BY w.name"))?;
            stmt.query_map([], read_hook)?.collect()
        })
    }

    /// The webhook called `name`.
    pub fn webhook(&self, name: &str) -> Result<Option<Hook>> {
        self.with(|conn| {
            conn.query_row(
                &format!("{SELECT_HOOK} WHERE w.name = ?1 GROUP BY w.name"),
                [name],
                read_hook,
            )
            .optional()
        })
    }

    /// What the webhook called `name` was set up to do (without counting
    /// its deliveries, as [`Store::webhook`] does): read on each delivery.
    pub fn webhook_spec(&self, name: &str) -> Result<Option<HookSpec>> {
        self.with(|conn| {
            conn.query_row(
                "SELECT spec_json FROM webhooks WHERE name = ?1",
                [name],
                read_spec,
            )
            .optional()
        })
    }

    /// Removes a webhook and its deliveries; false when there is none.
    pub fn remove_webhook(&self, name: &str) -> Result<bool> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM webhook_deliveries WHERE webhook = ?1", [name])?;
            let removed = tx.execute("DELETE FROM webhooks WHERE name = ?1", [name])? == 1;
            tx.commit()?;
            Ok(removed)
        })
    }

    /// Records a delivery before it is acted on; false when that delivery
    /// id was recorded already (a repeat, to be ignored).
    pub fn first_delivery(&self, name: &str, delivery: &str, now_ms: i64) -> Result<bool> {
        self.with(|conn| {
            let added = conn.execute(
                "INSERT OR IGNORE INTO webhook_deliveries (webhook, delivery, received_at) VALUES (?1, ?2, ?3)",
                params![name, delivery, now_ms],
            )?;
            Ok(added == 1)
        })
    }

    /// Records the job a delivery started.
    pub fn delivery_started(&self, name: &str, delivery: &str, job_id: i64) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE webhook_deliveries SET job_id = ?3 WHERE webhook = ?1 AND delivery = ?2",
                params![name, delivery, job_id],
            )
            .map(|_| ())
        })
    }
}

const SELECT_HOOK: &str = "SELECT w.spec_json, w.created_by, w.created_at, COUNT(d.delivery), MAX(d.received_at),
        (SELECT job_id FROM webhook_deliveries WHERE webhook = w.name AND job_id IS NOT NULL ORDER BY received_at DESC LIMIT 1)
     FROM webhooks w LEFT JOIN webhook_deliveries d ON d.webhook = w.name";

fn read_hook(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hook> {
    Ok(Hook {
        spec: read_spec(r)?,
        created_by: r.get::<_, String>(1)?.parse().unwrap_or_default(),
        created_at_ms: r.get(2)?,
        deliveries: r.get::<_, i64>(3)?.max(0) as u64,
        last_delivery_ms: r.get(4)?,
        last_job_id: r.get(5)?,
    })
}

/// The hook's spec, from the row's first column.
fn read_spec(r: &rusqlite::Row<'_>) -> rusqlite::Result<HookSpec> {
    let json: String = r.get(0)?;
    serde_json::from_str(&json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}
