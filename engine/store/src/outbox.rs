//! The event outbox: each event a plugin was handed and has not settled
//! (handled it, refused it for good, or was given up on). A row is written
//! before the event is queued and removed once it is settled, so a service
//! that stops or dies in between hands the event again when it starts:
//! delivery is at least once across restarts.

use rusqlite::params;

use super::{Result, Store};
use capstan_wire::events::Event;

/// One event still owed to one plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct OwedEvent {
    /// The subscriber it is owed to.
    pub plugin: String,
    /// The event, with the id it was first published under.
    pub event: Event,
}

impl Store {
    /// Records `event` as owed to each of `plugins`, in one transaction.
    pub fn owe_event(&self, plugins: &[String], event: &Event, now_ms: i64) -> Result<()> {
        if plugins.is_empty() {
            return Ok(());
        }
        let json = serde_json::to_string(event).unwrap_or_default();
        self.with(|conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO event_outbox (plugin, event_id, event_json, queued_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                for plugin in plugins {
                    insert.execute(params![plugin, event.id as i64, json, now_ms])?;
                }
            }
            tx.commit()
        })
    }

    /// Records that `plugin` settled event `event_id`: it is not owed any
    /// more.
    pub fn settle_event(&self, plugin: &str, event_id: u64) -> Result<()> {
        self.with(|conn| {
            conn.prepare_cached("DELETE FROM event_outbox WHERE plugin = ?1 AND event_id = ?2")?
                .execute(params![plugin, event_id as i64])
        })?;
        Ok(())
    }

    /// Every event still owed, each plugin's in the order they were
    /// published. A row this version cannot read (written by a newer one)
    /// is left where it is.
    pub fn owed_events(&self) -> Result<Vec<OwedEvent>> {
        let rows: Vec<(String, String)> = self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT plugin, event_json FROM event_outbox ORDER BY plugin, event_id",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(plugin, json)| {
                let event = serde_json::from_str(&json).ok()?;
                Some(OwedEvent { plugin, event })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_wire::events::EventKind;

    fn event(id: u64) -> Event {
        Event {
            id,
            kind: EventKind::JobFinished,
            at_ms: 1,
            target: None,
            data: serde_json::json!({ "job": id }),
        }
    }

    #[test]
    fn an_owed_event_stays_until_each_plugin_settles_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capstan.db");
        let store = Store::open(&path).unwrap();
        let both = ["b".to_string(), "a".to_string()];
        store.owe_event(&both, &event(7), 1).unwrap();
        store.owe_event(&both, &event(5), 2).unwrap();
        store.owe_event(&[], &event(9), 3).unwrap();
        store.settle_event("b", 7).unwrap();
        // Reopened, as after a restart.
        drop(store);
        let store = Store::open(&path).unwrap();
        let owed: Vec<(String, u64)> = store
            .owed_events()
            .unwrap()
            .into_iter()
            .map(|o| (o.plugin, o.event.id))
            .collect();
        assert_eq!(
            owed,
            [("a".into(), 5), ("a".into(), 7), ("b".into(), 5)],
            "each plugin's in id order, the settled one gone"
        );
        assert_eq!(store.owed_events().unwrap()[0].event, event(5));
        // Settling twice, or what was never owed, changes nothing.
        store.settle_event("b", 7).unwrap();
        store.settle_event("nobody", 1).unwrap();
        assert_eq!(store.owed_events().unwrap().len(), 3);
    }
}
