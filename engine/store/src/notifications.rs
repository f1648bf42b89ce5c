//! Notification channels and rules as stored, and the deliveries: one row
//! per rule and job (so a job's end seen twice notifies once), each with
//! every attempt made.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use capstan_wire::Actor;
use capstan_wire::notifications::{
    Channel, ChannelSpec, DeliveryAttempt, DeliveryState, NotificationDelivery, Rule, RuleSpec,
};

/// How one attempt at a delivery ended, to record.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    /// The channel accepted it.
    Sent,
    /// It failed; the next attempt is due at this time (ms since the epoch).
    RetryAt(i64),
    /// It failed and was the last attempt.
    GaveUp,
}

/// Which due deliveries a sender picks, by the kind of their channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueChannels {
    /// Every channel's.
    All,
    /// Desktop channels' only (the window shows them).
    DesktopOnly,
    /// Every channel's but the desktop ones (a window shows those).
    NotDesktop,
}

impl Store {
    /// Adds a channel whose plugin reaches `host`; false when one has that name.
    pub fn add_channel(
        &self,
        spec: &ChannelSpec,
        host: &str,
        by: &Actor,
        now_ms: i64,
    ) -> Result<bool> {
        let json = serde_json::to_string(spec).unwrap_or_default();
        let added = self.with(|conn| {
            conn.execute(
                "INSERT INTO notification_channels (name, spec_json, host, created_by, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![spec.name, json, host, by.to_string(), now_ms],
            )
        });
        Store::added_unless_taken(added)
    }

    /// Every channel, by name.
    pub fn channels(&self) -> Result<Vec<Channel>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT spec_json, host, created_by, created_at FROM notification_channels ORDER BY name",
            )?;
            stmt.query_map([], read_channel)?.collect()
        })
    }

    /// The channel called `name`.
    pub fn channel(&self, name: &str) -> Result<Option<Channel>> {
        self.with(|conn| {
            conn.query_row(
                "SELECT spec_json, host, created_by, created_at FROM notification_channels WHERE name = ?1",
                [name],
                read_channel,
            )
            .optional()
        })
    }

    /// Removes a channel; false when there is none. The rules that send to
    /// it must be removed first (the schema refuses otherwise).
    pub fn remove_channel(&self, name: &str) -> Result<bool> {
        self.with(|conn| {
            conn.execute("DELETE FROM notification_channels WHERE name = ?1", [name])
                .map(|n| n == 1)
        })
    }

    /// Adds a rule; false when one has that name.
    pub fn add_rule(&self, spec: &RuleSpec, by: &Actor, now_ms: i64) -> Result<bool> {
        let json = serde_json::to_string(spec).unwrap_or_default();
        let added = self.with(|conn| {
            conn.execute(
                "INSERT INTO notification_rules (name, channel, spec_json, created_by, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![spec.name, spec.channel, json, by.to_string(), now_ms],
            )
        });
        Store::added_unless_taken(added)
    }

    /// Every rule, by name.
    pub fn rules(&self) -> Result<Vec<Rule>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT spec_json, created_by, created_at FROM notification_rules ORDER BY name",
            )?;
            stmt.query_map([], |r| {
                Ok(Rule {
                    spec: read_json(r, 0)?,
                    created_by: r.get::<_, String>(1)?.parse().unwrap_or_default(),
                    created_at_ms: r.get(2)?,
                })
            })?
            .collect()
        })
    }

    /// Removes a rule (its deliveries stay in the record); false when
    /// there is none.
    pub fn remove_rule(&self, name: &str) -> Result<bool> {
        self.with(|conn| {
            conn.execute("DELETE FROM notification_rules WHERE name = ?1", [name])
                .map(|n| n == 1)
        })
    }

    /// Queues a delivery of `rule`'s notification about `job_id`, due now;
    /// `None` when that rule already notified about that job.
    pub fn queue_delivery(
        &self,
        rule: &str,
        channel: &str,
        job_id: i64,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        self.with(|conn| {
            let added = conn.execute(
                "INSERT OR IGNORE INTO notification_deliveries \
                 (rule, channel, job_id, state, attempts, next_attempt_at, created_at) \
                 VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4)",
                params![rule, channel, job_id, now_ms],
            )?;
            Ok((added == 1).then(|| conn.last_insert_rowid()))
        })
    }

    /// The pending deliveries due at `now_ms` to the channels `which`
    /// names, oldest first, at most `limit`. A delivery whose channel is
    /// gone counts as not a desktop one (its sender records why it fails).
    pub fn due_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
        which: DueChannels,
    ) -> Result<Vec<NotificationDelivery>> {
        let kind = match which {
            DueChannels::All => "",
            DueChannels::DesktopOnly => "AND c.kind = 'desktop'",
            DueChannels::NotDesktop => "AND c.kind IS NOT 'desktop'",
        };
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT d.id, d.rule, d.channel, d.job_id, d.state, d.attempts, d.next_attempt_at, \
                 d.last_error, d.created_at, d.sent_at FROM notification_deliveries d \
                 LEFT JOIN (SELECT name, json_extract(spec_json, '$.kind') AS kind \
                            FROM notification_channels) c ON c.name = d.channel \
                 WHERE d.state = 'pending' AND d.next_attempt_at <= ?1 {kind} \
                 ORDER BY d.next_attempt_at, d.id LIMIT ?2"
            ))?;
            stmt.query_map(params![now_ms, limit as i64], read_delivery)?
                .collect()
        })
    }

    /// Claims a due delivery for one attempt: moves its next attempt to
    /// `lease_until_ms`, so another sender (a second service, or the window
    /// beside the service) reading the due deliveries now passes it by.
    /// False when it is not due any more (someone else claimed it, or it
    /// was attempted meanwhile). A sender that dies holding the claim leaves
    /// the delivery due again once the lease is over.
    pub fn claim_delivery(
        &self,
        delivery: &NotificationDelivery,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool> {
        self.with(|conn| {
            conn.prepare_cached(
                "UPDATE notification_deliveries SET next_attempt_at = ?4 \
                 WHERE id = ?1 AND state = 'pending' AND attempts = ?2 AND next_attempt_at <= ?3",
            )?
            .execute(params![
                delivery.id,
                delivery.attempts,
                now_ms,
                lease_until_ms
            ])
            .map(|changed| changed == 1)
        })
    }

    /// Records one attempt and where the delivery stands after it.
    pub fn record_attempt(
        &self,
        id: i64,
        attempt: u32,
        now_ms: i64,
        outcome: &AttemptOutcome,
        detail: &str,
    ) -> Result<()> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let ok = matches!(outcome, AttemptOutcome::Sent);
            tx.execute(
                "INSERT INTO notification_attempts (delivery_id, attempt, at, ok, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, attempt, now_ms, ok, detail],
            )?;
            let (state, next, sent, error) = match outcome {
                AttemptOutcome::Sent => ("sent", None, Some(now_ms), None),
                AttemptOutcome::RetryAt(at) => ("pending", Some(*at), None, Some(detail)),
                AttemptOutcome::GaveUp => ("failed", None, None, Some(detail)),
            };
            tx.execute(
                "UPDATE notification_deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, \
                 sent_at = ?5, last_error = ?6 WHERE id = ?1",
                params![id, state, attempt, next, sent, error],
            )?;
            tx.commit()
        })
    }

    /// A setting's JSON document, if it was ever set.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.with(|conn| {
            conn.query_row("SELECT json FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    /// Sets a setting, replacing what it was.
    pub fn set_setting(&self, key: &str, json: &str, by: &Actor, now_ms: i64) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO settings (key, json, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (key) DO UPDATE SET json = ?2, updated_by = ?3, updated_at = ?4",
                params![key, json, by.to_string(), now_ms],
            )
            .map(|_| ())
        })
    }

    /// The newest deliveries first, at most `limit`, each with its attempts.
    pub fn deliveries(&self, limit: usize) -> Result<Vec<NotificationDelivery>> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{SELECT_DELIVERY} ORDER BY id DESC LIMIT ?1"))?;
            let mut rows = stmt
                .query_map([limit as i64], read_delivery)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut attempts = conn.prepare_cached(
                "SELECT attempt, at, ok, detail FROM notification_attempts \
                 WHERE delivery_id = ?1 ORDER BY attempt",
            )?;
            for row in &mut rows {
                row.history = attempts
                    .query_map([row.id], |r| {
                        Ok(DeliveryAttempt {
                            attempt: r.get(0)?,
                            at_ms: r.get(1)?,
                            ok: r.get(2)?,
                            detail: r.get(3)?,
                        })
                    })?
                    .collect::<rusqlite::Result<_>>()?;
            }
            Ok(rows)
        })
    }
}

const SELECT_DELIVERY: &str = "SELECT id, rule, channel, job_id, state, attempts, next_attempt_at, \
     last_error, created_at, sent_at FROM notification_deliveries";

fn read_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<NotificationDelivery> {
    let state: String = r.get(4)?;
    Ok(NotificationDelivery {
        id: r.get(0)?,
        rule: r.get(1)?,
        channel: r.get(2)?,
        job_id: r.get(3)?,
        state: DeliveryState::from_name(&state).unwrap_or(DeliveryState::Failed),
        attempts: r.get(5)?,
        next_attempt_ms: r.get(6)?,
        last_error: r.get(7)?,
        created_at_ms: r.get(8)?,
        sent_at_ms: r.get(9)?,
        history: Vec::new(),
    })
}

fn read_channel(r: &rusqlite::Row<'_>) -> rusqlite::Result<Channel> {
    Ok(Channel {
        spec: read_json::<ChannelSpec>(r, 0)?,
        host: r.get(1)?,
        created_by: r.get::<_, String>(2)?.parse().unwrap_or_default(),
        created_at_ms: r.get(3)?,
    })
}

/// A JSON column read into its type.
fn read_json<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    column: usize,
) -> rusqlite::Result<T> {
    let json: String = r.get(column)?;
    serde_json::from_str(&json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_wire::notifications::ChannelKind;

    fn channel(name: &str, kind: ChannelKind) -> ChannelSpec {
        ChannelSpec {
            name: name.into(),
            kind,
            url: None,
            url_secret: None,
            signing_secret: None,
            to: Vec::new(),
        }
    }

    #[test]
    fn a_due_delivery_is_claimed_by_one_sender_and_due_again_when_its_lease_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capstan.db");
        let store = Store::open(&path).unwrap();
        let me = Actor::User("tester".into());
        store
            .add_channel(
                &channel("desk", ChannelKind::Desktop),
                "session bus",
                &me,
                1,
            )
            .unwrap();
        store
            .add_channel(
                &channel("hook", ChannelKind::Webhook),
                "127.0.0.1:1",
                &me,
                1,
            )
            .unwrap();
        let desk = store.queue_delivery("r1", "desk", 7, 100).unwrap().unwrap();
        let hook = store.queue_delivery("r2", "hook", 7, 100).unwrap().unwrap();
        let gone = store
            .queue_delivery("r3", "removed", 7, 100)
            .unwrap()
            .unwrap();
        let ids = |which| -> Vec<i64> {
            store
                .due_deliveries(200, 10, which)
                .unwrap()
                .iter()
                .map(|d| d.id)
                .collect()
        };
        assert_eq!(ids(DueChannels::All), [desk, hook, gone]);
        assert_eq!(ids(DueChannels::DesktopOnly), [desk]);
        assert_eq!(ids(DueChannels::NotDesktop), [hook, gone]);

        // Two senders read the same due delivery; one claims it.
        let second = Store::open(&path).unwrap();
        let seen_by_first = store.due_deliveries(200, 10, DueChannels::All).unwrap();
        let seen_by_second = second.due_deliveries(200, 10, DueChannels::All).unwrap();
        assert!(store.claim_delivery(&seen_by_first[1], 200, 1_200).unwrap());
        assert!(
            !second
                .claim_delivery(&seen_by_second[1], 200, 1_200)
                .unwrap()
        );
        assert_eq!(ids(DueChannels::NotDesktop), [gone], "claimed: not due");
        // Attempted meanwhile (an attempt recorded): an old read claims nothing.
        store
            .record_attempt(desk, 1, 200, &AttemptOutcome::RetryAt(150), "no bus")
            .unwrap();
        assert!(
            !second
                .claim_delivery(&seen_by_second[0], 200, 1_200)
                .unwrap()
        );
        // The first sender died holding its claim: due again after the lease.
        let later = second.due_deliveries(1_300, 10, DueChannels::All).unwrap();
        assert!(later.iter().any(|d| d.id == hook));
        let again = later.iter().find(|d| d.id == hook).unwrap();
        assert!(second.claim_delivery(again, 1_300, 2_300).unwrap());
    }
}
