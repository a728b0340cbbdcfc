//! The admin part on ClickHouse (`vitals_backend::Admin`): tokens (hashed as every backend
//! keeps them, `vitals_backend::tokens`), survey links and their signing key, annotations,
//! digest runs, and alert state, history and outbox — in the tables of `bookkeeping.rs` —
//! plus the matching reads of a [`ClickHouseReader`].
//!
//! ClickHouse has no cheap row updates: a change inserts the row's new version (`_version`,
//! [`next_version`]) into a `ReplacingMergeTree`, and every read runs with `FINAL`. A write
//! that depends on the current row (revoking a token, answering a survey link, noting a
//! delivery, deleting an annotation, numbering annotations and alert events) reads it first
//! and then inserts: correct from one server, whose writer thread runs admin writes one at a
//! time. **Several servers on one cluster race there**: two servers answering the same
//! survey link at the same moment can both see it open (the response record is keyed by the
//! link id, so the later answer replaces the earlier one — never two responses), and two
//! servers adding an annotation at once can pick the same id. A production cluster routes
//! admin writes to one server (a load balancer's sticky route for `POST` on `/s/` and
//! `/api/v1/annotations`, or one server that takes writes), or serialises them with Keeper
//! (`Replicated*` tables with `insert_deduplication_token` set to the link id). The survey
//! links' key needs no routing: the first key stored wins everywhere (its version counts
//! down, [`first_wins_version`]) and each server uses the key it reads back.
//!
//! An alert evaluation cannot be one transaction: its outbox rows and events are written
//! before the series' states, so a crash in between makes the next evaluation decide the same
//! messages again (at least once, as delivery is), never lose one.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use vitals_backend::tokens::{new_token, random_hex, token_id};
use vitals_backend::{Admin, BackendError, DigestRun, Scope, SurveyLink, TokenInfo};
use vitals_query::alerts::{AlertEvent, AlertState, Delivery, NoticeKind, SeriesState};
use vitals_query::{Annotation, NewAnnotation};

use crate::client::{literal, tsv_escape};
use crate::reader::{ClickHouseReader, ReadError};
use crate::Client;

/// The row versions this process writes: the wall clock in µs, moved on by one when it
/// would not grow (two changes of one row within a microsecond, or a clock set back).
pub fn next_version() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = Utc::now().timestamp_micros().max(0) as u64;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// A version under which the earliest write of a row wins (`ReplacingMergeTree` keeps the
/// greatest version).
fn first_wins_version() -> u64 {
    u64::MAX - Utc::now().timestamp_micros().max(0) as u64
}

/// An instant in µs as ClickHouse's text for `DateTime64(6)`.
fn instant(us: i64) -> String {
    DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// One TabSeparated row of `fields`.
fn tsv_row(fields: &[Option<String>]) -> String {
    let mut line = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push('\t');
        }
        tsv_escape(field.as_deref(), &mut line);
    }
    line.push('\n');
    line
}

fn some(value: impl ToString) -> Option<String> {
    Some(value.to_string())
}

/// The admin part of a ClickHouse store.
pub struct ClickHouseAdmin {
    client: Client,
    /// The admin's own reads (never interrupted).
    reader: ClickHouseReader,
}

impl ClickHouseAdmin {
    /// The admin part over `client`'s database.
    pub fn new(client: Client) -> ClickHouseAdmin {
        ClickHouseAdmin {
            reader: ClickHouseReader::over(client.clone()),
            client,
        }
    }

    /// Inserts `rows` into `table`'s `columns`.
    fn insert(
        &self,
        table: &str,
        columns: &str,
        rows: &[Vec<Option<String>>],
    ) -> Result<(), BackendError> {
        if rows.is_empty() {
            return Ok(());
        }
        let data: String = rows.iter().map(|r| tsv_row(r)).collect();
        self.client.insert(
            &format!(
                "INSERT INTO {} ({columns}) FORMAT TabSeparated",
                self.client.table(table)
            ),
            data.as_bytes(),
        )?;
        Ok(())
    }

    fn write_token(
        &self,
        info: &TokenInfo,
        revoked_at: Option<String>,
    ) -> Result<(), BackendError> {
        let scopes: Vec<&str> = info.scopes.iter().map(|s| s.as_str()).collect();
        self.insert(
            "vitals_tokens",
            "token_id, name, scopes, secret_hash, created_at, revoked_at, _version",
            &[vec![
                some(&info.id),
                some(&info.name),
                some(scopes.join(",")),
                some(&info.secret_hash),
                some(info.created_at.trim_end_matches('Z').replace('T', " ")),
                revoked_at,
                some(next_version()),
            ]],
        )
    }

    fn write_link(&self, link: &SurveyLink) -> Result<(), BackendError> {
        self.insert(
            "vitals_survey_links",
            "link_id, survey, ticket_id, customer_id, agent_id, expires_at, used_at, _version",
            &[vec![
                some(&link.link_id),
                some(&link.survey),
                link.ticket_id.clone(),
                link.customer_id.clone(),
                link.agent_id.clone(),
                some(instant(link.expires_us)),
                link.used_us.map(instant),
                some(next_version()),
            ]],
        )
    }

    /// The next id after the greatest of `table` (deleted rows included).
    fn next_id(&self, table: &str) -> Result<i64, BackendError> {
        let text = self.reader.text(&format!(
            "SELECT max(id) + 1 FROM {} SETTINGS final = 0",
            self.client.table(table)
        ))?;
        Ok(text.trim().parse::<i64>().unwrap_or(1).max(1))
    }

    fn write_delivery(&self, d: &Delivery) -> Result<(), BackendError> {
        self.insert("vitals_alert_outbox", OUTBOX_COLUMNS, &[delivery_row(d)])
    }
}

const OUTBOX_COLUMNS: &str = "key, channel, kind, url, body, rule, series, attempts, \
     next_attempt_us, delivered_us, last_error, _version";

fn delivery_row(d: &Delivery) -> Vec<Option<String>> {
    vec![
        some(&d.key),
        some(d.channel),
        some(&d.kind),
        some(&d.url),
        some(&d.body),
        some(&d.rule),
        some(&d.series),
        some(d.attempts),
        some(d.next_attempt_us),
        d.delivered_us.map(|u| u.to_string()),
        d.last_error.clone(),
        some(next_version()),
    ]
}

impl Admin for ClickHouseAdmin {
    fn create_token(
        &self,
        name: &str,
        scopes: &[Scope],
    ) -> Result<(TokenInfo, String), BackendError> {
        let created_at = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (info, token) = new_token(name, scopes, created_at);
        self.write_token(&info, None)?;
        Ok((info, token))
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, BackendError> {
        Ok(self.reader.read_tokens()?)
    }

    fn revoke_token(&self, id_or_token: &str) -> Result<bool, BackendError> {
        let id = token_id(id_or_token).unwrap_or(id_or_token.trim());
        let Some(info) = self.reader.read_tokens()?.into_iter().find(|t| t.id == id) else {
            return Ok(false);
        };
        if info.revoked_at.is_some() {
            return Ok(false);
        }
        self.write_token(&info, Some(instant(now_us())))?;
        Ok(true)
    }

    fn survey_link_key(&self) -> Result<String, BackendError> {
        let sql = format!(
            "SELECT value FROM {} WHERE name = 'survey_link_key'",
            self.client.table("vitals_keys")
        );
        let stored = self.reader.text(&sql)?;
        if !stored.trim().is_empty() {
            return Ok(stored.trim().to_string());
        }
        self.insert(
            "vitals_keys",
            "name, value, _version",
            &[vec![
                some("survey_link_key"),
                some(random_hex(32)),
                some(first_wins_version()),
            ]],
        )?;
        let stored = self.reader.text(&sql)?;
        Ok(stored.trim().to_string())
    }

    fn add_survey_link(&self, link: &SurveyLink) -> Result<(), BackendError> {
        self.write_link(link)
    }

    fn survey_link(&self, link_id: &str) -> Result<Option<SurveyLink>, BackendError> {
        Ok(self.reader.find_survey_link(link_id)?)
    }

    fn use_survey_link(&self, link_id: &str) -> Result<bool, BackendError> {
        match self.reader.find_survey_link(link_id)? {
            Some(link) if link.used_us.is_none() => {
                self.write_link(&SurveyLink {
                    used_us: Some(now_us()),
                    ..link
                })?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn add_annotation(&self, new: &NewAnnotation) -> Result<Annotation, BackendError> {
        let id = self.next_id("vitals_annotations")?;
        self.insert(
            "vitals_annotations",
            "id, date, text, category, created_at, deleted, _version",
            &[vec![
                some(id),
                some(new.date),
                some(&new.text),
                new.category.clone(),
                some(instant(now_us())),
                some(0),
                some(next_version()),
            ]],
        )?;
        Ok(Annotation {
            id,
            date: new.date,
            text: new.text.clone(),
            category: new.category.clone(),
        })
    }

    fn delete_annotation(&self, id: i64) -> Result<bool, BackendError> {
        let Some(found) = self
            .reader
            .read_annotations()?
            .into_iter()
            .find(|a| a.id == id)
        else {
            return Ok(false);
        };
        self.insert(
            "vitals_annotations",
            "id, date, text, category, created_at, deleted, _version",
            &[vec![
                some(id),
                some(found.date),
                some(found.text),
                found.category,
                some(instant(now_us())),
                some(1),
                some(next_version()),
            ]],
        )?;
        Ok(true)
    }

    fn record_digest_sent(
        &self,
        name: &str,
        period: &str,
        message_id: &str,
    ) -> Result<(), BackendError> {
        self.insert(
            "vitals_digest_runs",
            "name, period, sent_at, message_id, _version",
            &[vec![
                some(name),
                some(period),
                some(instant(now_us())),
                some(message_id),
                some(next_version()),
            ]],
        )
    }

    fn record_alerts(
        &self,
        states: &[SeriesState],
        notices: &[(AlertEvent, Vec<Delivery>)],
    ) -> Result<(), BackendError> {
        // The outbox first (as `INSERT OR IGNORE`: a row already queued keeps its attempts),
        // then the events, then the states: see the module's note.
        let queued: Vec<(String, u32)> = self
            .reader
            .read_deliveries(None, u32::MAX)?
            .into_iter()
            .map(|d| (d.key, d.channel))
            .collect();
        let mut outbox = Vec::new();
        for d in notices.iter().flat_map(|(_, o)| o) {
            let key = (d.key.clone(), d.channel);
            if !queued.contains(&key) && !outbox.iter().any(|(k, _)| *k == key) {
                outbox.push((key, delivery_row(d)));
            }
        }
        let rows: Vec<Vec<Option<String>>> = outbox.into_iter().map(|(_, r)| r).collect();
        self.insert("vitals_alert_outbox", OUTBOX_COLUMNS, &rows)?;
        let first = self.next_id("vitals_alert_events")?;
        let events: Vec<Vec<Option<String>>> = notices
            .iter()
            .enumerate()
            .map(|(i, (e, _))| {
                vec![
                    some(first + i as i64),
                    some(&e.rule),
                    some(&e.series),
                    some(e.kind.name()),
                    some(e.at_us),
                    e.value.map(|v| v.to_string()),
                    some(&e.summary),
                    some(&e.key),
                ]
            })
            .collect();
        self.insert(
            "vitals_alert_events",
            "id, rule, series, kind, at_us, value, summary, key",
            &events,
        )?;
        let version = next_version();
        let states: Vec<Vec<Option<String>>> = states
            .iter()
            .map(|s| {
                vec![
                    some(&s.rule),
                    some(&s.series),
                    some(s.state.name()),
                    some(s.consecutive),
                    s.since_us.map(|v| v.to_string()),
                    s.last_sent_us.map(|v| v.to_string()),
                    some(&s.fingerprint),
                    s.value.map(|v| v.to_string()),
                    some(&s.summary),
                    some(s.evaluated_us),
                    some(version),
                ]
            })
            .collect();
        self.insert(
            "vitals_alert_state",
            "rule, series, state, consecutive, since_us, last_sent_us, fingerprint, value, \
             summary, evaluated_us, _version",
            &states,
        )
    }

    fn note_delivery(
        &self,
        key: &str,
        channel: u32,
        now_us: i64,
        outcome: Result<(), (String, i64)>,
    ) -> Result<(), BackendError> {
        let Some(mut d) = self
            .reader
            .read_outbox_row(key, channel)?
            .filter(|d| d.delivered_us.is_none())
        else {
            return Ok(());
        };
        d.attempts += 1;
        match outcome {
            Ok(()) => {
                d.delivered_us = Some(now_us);
                d.next_attempt_us = now_us;
            }
            Err((error, next)) => {
                d.last_error = Some(error);
                d.next_attempt_us = next;
            }
        }
        self.write_delivery(&d)
    }

    fn alert_states(&self) -> Result<Vec<SeriesState>, BackendError> {
        Ok(self.reader.read_alert_states()?)
    }

    fn due_deliveries(&self, now_us: i64, limit: u32) -> Result<Vec<Delivery>, BackendError> {
        Ok(self.reader.read_deliveries(Some(now_us), limit)?)
    }
}

/// `Some(text)` as a number.
fn parse<T: std::str::FromStr>(field: &Option<String>) -> Option<T> {
    field.as_deref().and_then(|t| t.parse().ok())
}

fn text(field: &Option<String>) -> String {
    field.clone().unwrap_or_default()
}

/// The bookkeeping reads, shared by the reader seam and the admin part.
impl ClickHouseReader {
    /// Every token, oldest first.
    pub(crate) fn read_tokens(&self) -> Result<Vec<TokenInfo>, ReadError> {
        let rows = self.rows(
            &format!(
                "SELECT token_id, name, scopes, formatDateTime(created_at, '%Y-%m-%dT%H:%i:%SZ'), \
                 formatDateTime(revoked_at, '%Y-%m-%dT%H:%i:%SZ'), secret_hash FROM {} \
                 ORDER BY created_at, token_id",
                self.table("vitals_tokens")
            ),
            6,
            "tokens",
        )?;
        Ok(rows
            .into_iter()
            .map(|r| TokenInfo {
                id: text(&r[0]),
                name: text(&r[1]),
                scopes: text(&r[2])
                    .split(',')
                    .filter_map(|s| s.parse().ok())
                    .collect(),
                created_at: text(&r[3]),
                revoked_at: r[4].clone(),
                secret_hash: text(&r[5]),
            })
            .collect())
    }

    /// The survey link with this id, if any.
    pub(crate) fn find_survey_link(&self, link_id: &str) -> Result<Option<SurveyLink>, ReadError> {
        let rows = self.rows(
            &format!(
                "SELECT link_id, survey, ticket_id, customer_id, agent_id, \
                 toUnixTimestamp64Micro(expires_at), toUnixTimestamp64Micro(used_at) FROM {} \
                 WHERE link_id = {}",
                self.table("vitals_survey_links"),
                literal(link_id)
            ),
            7,
            "a survey link",
        )?;
        Ok(rows.into_iter().next().map(|r| SurveyLink {
            link_id: text(&r[0]),
            survey: text(&r[1]),
            ticket_id: r[2].clone(),
            customer_id: r[3].clone(),
            agent_id: r[4].clone(),
            expires_us: parse(&r[5]).unwrap_or_default(),
            used_us: parse(&r[6]),
        }))
    }

    /// Every digest's last sent period, by name.
    pub(crate) fn read_digest_runs(&self) -> Result<Vec<DigestRun>, ReadError> {
        let rows = self.rows(
            &format!(
                "SELECT name, period, formatDateTime(sent_at, '%Y-%m-%dT%H:%i:%SZ'), message_id \
                 FROM {} ORDER BY name",
                self.table("vitals_digest_runs")
            ),
            4,
            "digest runs",
        )?;
        Ok(rows
            .into_iter()
            .map(|r| DigestRun {
                name: text(&r[0]),
                period: text(&r[1]),
                sent_at: text(&r[2]),
                message_id: text(&r[3]),
            })
            .collect())
    }

    /// Every alert series' state.
    pub(crate) fn read_alert_states(&self) -> Result<Vec<SeriesState>, ReadError> {
        let rows = self.rows(
            &format!(
                "SELECT rule, series, state, consecutive, since_us, last_sent_us, fingerprint, \
                 value, summary, evaluated_us FROM {} ORDER BY rule, series",
                self.table("vitals_alert_state")
            ),
            10,
            "alert states",
        )?;
        Ok(rows
            .into_iter()
            .map(|r| SeriesState {
                rule: text(&r[0]),
                series: text(&r[1]),
                state: AlertState::parse(&text(&r[2])),
                consecutive: parse(&r[3]).unwrap_or_default(),
                since_us: parse(&r[4]),
                last_sent_us: parse(&r[5]),
                fingerprint: text(&r[6]),
                value: parse(&r[7]),
                summary: text(&r[8]),
                evaluated_us: parse(&r[9]).unwrap_or_default(),
            })
            .collect())
    }

    /// The latest `limit` alert messages, newest first.
    pub(crate) fn read_alert_events(&self, limit: u32) -> Result<Vec<AlertEvent>, ReadError> {
        let rows = self.rows(
            &format!(
                "SELECT id, rule, series, kind, at_us, value, summary, key FROM {} \
                 ORDER BY id DESC LIMIT {limit}",
                self.table("vitals_alert_events")
            ),
            8,
            "alert history",
        )?;
        Ok(rows
            .into_iter()
            .map(|r| AlertEvent {
                id: parse(&r[0]).unwrap_or_default(),
                rule: text(&r[1]),
                series: text(&r[2]),
                kind: match text(&r[3]).as_str() {
                    "repeat" => NoticeKind::Repeat,
                    "resolved" => NoticeKind::Resolved,
                    _ => NoticeKind::Firing,
                },
                at_us: parse(&r[4]).unwrap_or_default(),
                value: parse(&r[5]),
                summary: text(&r[6]),
                key: text(&r[7]),
            })
            .collect())
    }

    /// Outbox rows matching `filter`, in `order`, at most `limit`.
    fn outbox(&self, filter: &str, order: &str, limit: u32) -> Result<Vec<Delivery>, ReadError> {
        let rows = self.rows(
            &format!(
                "SELECT key, channel, kind, url, body, rule, series, attempts, next_attempt_us, \
                 delivered_us, last_error FROM {} WHERE {filter} ORDER BY {order} LIMIT {limit}",
                self.table("vitals_alert_outbox")
            ),
            11,
            "the alert outbox",
        )?;
        Ok(rows
            .into_iter()
            .map(|r| Delivery {
                key: text(&r[0]),
                channel: parse(&r[1]).unwrap_or_default(),
                kind: text(&r[2]),
                url: text(&r[3]),
                body: text(&r[4]),
                rule: text(&r[5]),
                series: text(&r[6]),
                attempts: parse(&r[7]).unwrap_or_default(),
                next_attempt_us: parse(&r[8]).unwrap_or_default(),
                delivered_us: parse(&r[9]),
                last_error: r[10].clone(),
            })
            .collect())
    }

    /// Undelivered outbox rows due by `due_us` (oldest first) when given, else the latest
    /// `limit` rows, newest first.
    pub(crate) fn read_deliveries(
        &self,
        due_us: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Delivery>, ReadError> {
        match due_us {
            Some(due) => self.outbox(
                &format!("delivered_us IS NULL AND next_attempt_us <= {due}"),
                "next_attempt_us, key, channel",
                limit,
            ),
            None => self.outbox("1", "next_attempt_us DESC, key, channel", limit),
        }
    }

    fn read_outbox_row(&self, key: &str, channel: u32) -> Result<Option<Delivery>, ReadError> {
        Ok(self
            .outbox(
                &format!("key = {} AND channel = {channel}", literal(key)),
                "key",
                1,
            )?
            .into_iter()
            .next())
    }
}
