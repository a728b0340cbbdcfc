//! Alert bookkeeping in the store: each rule's series state (`vitals_alert_state`), the
//! history of messages decided (`vitals_alert_events`) and the delivery outbox
//! (`vitals_alert_outbox`, one row per message and channel). An evaluation's states, events
//! and outbox rows are written in one transaction, so a crash either loses the whole
//! evaluation (it is redone) or keeps the messages to send; a delivery is marked only after
//! its channel accepted it, so after a crash it is sent again with the same idempotency key
//! (at least once). The tables are created on first use (`CREATE TABLE IF NOT EXISTS`); a store
//! that never had an alert reads as having none.

use duckdb::{params, Connection};
use vitals_query::alerts::{AlertEvent, AlertState, Delivery, NoticeKind, SeriesState};

use crate::error::{Context, StoreError};
use crate::{Reader, Store};

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS vitals_alert_state (
    rule TEXT, series TEXT, state TEXT, consecutive INTEGER, since_us BIGINT,
    last_sent_us BIGINT, fingerprint TEXT, value DOUBLE, summary TEXT, evaluated_us BIGINT,
    PRIMARY KEY (rule, series));
CREATE TABLE IF NOT EXISTS vitals_alert_events (
    id BIGINT PRIMARY KEY, rule TEXT, series TEXT, kind TEXT, at_us BIGINT, value DOUBLE,
    summary TEXT, key TEXT);
CREATE TABLE IF NOT EXISTS vitals_alert_outbox (
    key TEXT, channel INTEGER, kind TEXT, url TEXT, body TEXT, rule TEXT, series TEXT,
    attempts INTEGER, next_attempt_us BIGINT, delivered_us BIGINT, last_error TEXT,
    PRIMARY KEY (key, channel));";

fn exists(conn: &Connection) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT count(*) = 3 FROM duckdb_tables() WHERE table_name IN \
         ('vitals_alert_state', 'vitals_alert_events', 'vitals_alert_outbox')",
        [],
        |r| r.get(0),
    )
    .context(|| "looking for the alert tables".into())
}

fn states(conn: &Connection) -> Result<Vec<SeriesState>, StoreError> {
    if !exists(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare(
            "SELECT rule, series, state, consecutive, since_us, last_sent_us, fingerprint, value, \
             summary, evaluated_us FROM vitals_alert_state ORDER BY rule, series",
        )
        .context(|| "reading alert states".into())?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SeriesState {
                rule: r.get(0)?,
                series: r.get(1)?,
                state: AlertState::parse(&r.get::<_, String>(2)?),
                consecutive: r.get(3)?,
                since_us: r.get(4)?,
                last_sent_us: r.get(5)?,
                fingerprint: r.get(6)?,
                value: r.get(7)?,
                summary: r.get(8)?,
                evaluated_us: r.get(9)?,
            })
        })
        .context(|| "reading alert states".into())?;
    rows.map(|r| r.context(|| "reading an alert state".into()))
        .collect()
}

fn events(conn: &Connection, limit: u32) -> Result<Vec<AlertEvent>, StoreError> {
    if !exists(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare(
            "SELECT id, rule, series, kind, at_us, value, summary, key FROM vitals_alert_events \
             ORDER BY id DESC LIMIT ?",
        )
        .context(|| "reading alert history".into())?;
    let rows = stmt
        .query_map([limit], |r| {
            let kind = match r.get::<_, String>(3)?.as_str() {
                "repeat" => NoticeKind::Repeat,
                "resolved" => NoticeKind::Resolved,
                _ => NoticeKind::Firing,
            };
            Ok(AlertEvent {
                id: r.get(0)?,
                rule: r.get(1)?,
                series: r.get(2)?,
                kind,
                at_us: r.get(4)?,
                value: r.get(5)?,
                summary: r.get(6)?,
                key: r.get(7)?,
            })
        })
        .context(|| "reading alert history".into())?;
    rows.map(|r| r.context(|| "reading an alert event".into()))
        .collect()
}

/// Outbox rows: undelivered ones due by `due_us` (when given), else every row of the latest
/// `limit`, newest first.
fn deliveries(
    conn: &Connection,
    due_us: Option<i64>,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    if !exists(conn)? {
        return Ok(Vec::new());
    }
    let (filter, order) = match due_us {
        Some(_) => (
            "delivered_us IS NULL AND next_attempt_us <= ?",
            "next_attempt_us, key, channel",
        ),
        None => ("? IS NOT NULL", "next_attempt_us DESC, key, channel"),
    };
    let sql = format!(
        "SELECT key, channel, kind, url, body, rule, series, attempts, next_attempt_us, \
         delivered_us, last_error FROM vitals_alert_outbox WHERE {filter} ORDER BY {order} LIMIT ?"
    );
    let mut stmt = conn
        .prepare(&sql)
        .context(|| "reading the alert outbox".into())?;
    let rows = stmt
        .query_map(params![due_us.unwrap_or(0), limit], |r| {
            Ok(Delivery {
                key: r.get(0)?,
                channel: r.get(1)?,
                kind: r.get(2)?,
                url: r.get(3)?,
                body: r.get(4)?,
                rule: r.get(5)?,
                series: r.get(6)?,
                attempts: r.get(7)?,
                next_attempt_us: r.get(8)?,
                delivered_us: r.get(9)?,
                last_error: r.get(10)?,
            })
        })
        .context(|| "reading the alert outbox".into())?;
    rows.map(|r| r.context(|| "reading an outbox row".into()))
        .collect()
}

impl Store {
    /// Writes one evaluation: every series' new state, and each message decided with its
    /// outbox rows (events are numbered here), in one transaction.
    pub fn record_alerts(
        &self,
        states: &[SeriesState],
        notices: &[(AlertEvent, Vec<Delivery>)],
    ) -> Result<(), StoreError> {
        let exec = |sql: &str, what: &str| {
            self.conn
                .execute_batch(sql)
                .context(|| format!("alerts: {what}"))
        };
        exec(TABLES, "creating the tables")?;
        exec("BEGIN TRANSACTION", "starting an evaluation")?;
        let written = (|| -> Result<(), StoreError> {
            for s in states {
                self.conn
                    .execute(
                        "INSERT OR REPLACE INTO vitals_alert_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        params![
                            s.rule, s.series, s.state.name(), s.consecutive, s.since_us,
                            s.last_sent_us, s.fingerprint, s.value, s.summary, s.evaluated_us
                        ],
                    )
                    .context(|| "alerts: writing a state".into())?;
            }
            for (event, outbox) in notices {
                let id: i64 = self
                    .conn
                    .query_row(
                        "SELECT coalesce(max(id), 0) + 1 FROM vitals_alert_events",
                        [],
                        |r| r.get(0),
                    )
                    .context(|| "alerts: numbering an event".into())?;
                self.conn
                    .execute(
                        "INSERT INTO vitals_alert_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        params![
                            id,
                            event.rule,
                            event.series,
                            event.kind.name(),
                            event.at_us,
                            event.value,
                            event.summary,
                            event.key
                        ],
                    )
                    .context(|| "alerts: writing an event".into())?;
                for d in outbox {
                    self.conn
                        .execute(
                            "INSERT OR IGNORE INTO vitals_alert_outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            params![
                                d.key, d.channel, d.kind, d.url, d.body, d.rule, d.series,
                                d.attempts, d.next_attempt_us, d.delivered_us, d.last_error
                            ],
                        )
                        .context(|| "alerts: queueing a delivery".into())?;
                }
            }
            Ok(())
        })();
        match written {
            Ok(()) => exec("COMMIT", "committing an evaluation"),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Notes an attempt to deliver one outbox row at `now_us`: delivered, or failed with the
    /// reason and when to try again. A delivered row keeps the last failure's reason.
    pub fn note_delivery(
        &self,
        key: &str,
        channel: u32,
        now_us: i64,
        outcome: Result<(), (String, i64)>,
    ) -> Result<(), StoreError> {
        let (delivered, error, next) = match outcome {
            Ok(()) => (Some(now_us), None, now_us),
            Err((error, next)) => (None, Some(error), next),
        };
        self.conn
            .execute(
                "UPDATE vitals_alert_outbox SET attempts = attempts + 1, delivered_us = ?, \
                 last_error = coalesce(?, last_error), next_attempt_us = ? WHERE key = ? AND channel = ? AND delivered_us IS NULL",
                params![delivered, error, next, key, channel],
            )
            .context(|| "alerts: noting a delivery".into())?;
        Ok(())
    }

    /// Every series' state.
    pub fn alert_states(&self) -> Result<Vec<SeriesState>, StoreError> {
        states(&self.conn)
    }

    /// Undelivered outbox rows due by `now_us`, oldest first (at most `limit`).
    pub fn due_deliveries(&self, now_us: i64, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        deliveries(&self.conn, Some(now_us), limit)
    }
}

impl Reader {
    /// Every series' state (none in a store that never evaluated a rule).
    pub fn alert_states(&self) -> Result<Vec<SeriesState>, StoreError> {
        states(&self.conn)
    }

    /// The latest `limit` messages decided, newest first.
    pub fn alert_events(&self, limit: u32) -> Result<Vec<AlertEvent>, StoreError> {
        events(&self.conn, limit)
    }

    /// The latest `limit` outbox rows, delivered or not, newest first.
    pub fn alert_deliveries(&self, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        deliveries(&self.conn, None, limit)
    }

    /// Undelivered outbox rows due by `now_us`, oldest first (at most `limit`).
    pub fn due_deliveries(&self, now_us: i64, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        deliveries(&self.conn, Some(now_us), limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(value: f64) -> SeriesState {
        SeriesState {
            rule: "frt".into(),
            series: "total".into(),
            state: AlertState::Firing,
            consecutive: 2,
            since_us: Some(5),
            last_sent_us: Some(5),
            fingerprint: "abc".into(),
            value: Some(value),
            summary: "high".into(),
            evaluated_us: 5,
        }
    }

    fn notice() -> (AlertEvent, Vec<Delivery>) {
        let event = AlertEvent {
            id: 0,
            rule: "frt".into(),
            series: "total".into(),
            kind: NoticeKind::Firing,
            at_us: 5,
            value: Some(2.0),
            summary: "high".into(),
            key: "abc-firing-5".into(),
        };
        let delivery = Delivery {
            key: event.key.clone(),
            channel: 0,
            kind: "webhook".into(),
            url: "http://127.0.0.1:9/".into(),
            body: "{}".into(),
            rule: "frt".into(),
            series: "total".into(),
            attempts: 0,
            next_attempt_us: 10,
            delivered_us: None,
            last_error: None,
        };
        (event, vec![delivery])
    }

    #[test]
    fn an_evaluation_is_stored_and_its_delivery_marked_once() {
        let store = Store::open_in_memory().unwrap();
        let reader = store.reader().unwrap();
        assert!(reader.alert_states().unwrap().is_empty());
        store.record_alerts(&[state(1.0)], &[notice()]).unwrap();
        store.record_alerts(&[state(2.0)], &[]).unwrap();
        assert_eq!(reader.alert_states().unwrap(), vec![state(2.0)]);
        assert_eq!(reader.alert_events(10).unwrap()[0].id, 1);
        assert!(store.due_deliveries(9, 10).unwrap().is_empty());
        let due = store.due_deliveries(10, 10).unwrap();
        assert_eq!(due.len(), 1);
        store
            .note_delivery("abc-firing-5", 0, 11, Err(("503".into(), 20)))
            .unwrap();
        assert!(store.due_deliveries(19, 10).unwrap().is_empty());
        store.note_delivery("abc-firing-5", 0, 21, Ok(())).unwrap();
        store.note_delivery("abc-firing-5", 0, 22, Ok(())).unwrap();
        let all = reader.alert_deliveries(10).unwrap();
        assert_eq!((all[0].attempts, all[0].delivered_us), (2, Some(21)));
        assert!(store.due_deliveries(i64::MAX, 10).unwrap().is_empty());
    }
}
