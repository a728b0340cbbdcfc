//! The bookkeeping reads of a [`ClickHouseReader`], shared by the read seam
//! (`vitals_backend::Reader`'s survey link, digest runs and alert records) and the admin part
//! (`admin.rs`, which reads the current row before it writes the next version): tokens,
//! survey links, digest runs, alert states, history and outbox, each read with `FINAL`.

use vitals_backend::{DigestRun, SurveyLink, TokenInfo};
use vitals_query::alerts::{AlertEvent, AlertState, Delivery, NoticeKind, SeriesState};

use crate::client::literal;
use crate::reader::{ClickHouseReader, ReadError};

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

    pub(crate) fn read_outbox_row(
        &self,
        key: &str,
        channel: u32,
    ) -> Result<Option<Delivery>, ReadError> {
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
