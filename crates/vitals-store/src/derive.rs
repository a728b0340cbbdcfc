//! Derives the ticket facts for every ticket an import touched (records or events changed):
//! joins and orders the touched timelines in passes of a bounded number of tickets, reads each
//! pass back in chunks so memory stays bounded, runs the one timeline fold of vitals-core, and
//! writes fact rows back through the Appender.

use duckdb::types::{TimeUnit, Value as DbValue};
use duckdb::{appender_params_from_iter, Appender};
use vitals_core::calendar::Calendar;
use vitals_core::catalogue::StoredFact;
use vitals_core::config::DerivationRules;
use vitals_core::facts::{
    fold_ticket, policy_for, sla_instances, EventInput, TicketFacts, TicketInput,
};

use crate::error::{Context, StoreError};
use crate::Store;

/// How many tickets derivation handles at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batches {
    /// Tickets whose timelines are joined and ordered in one temporary table: bounds its size
    /// (and the sort's memory) at any store size, instead of ordering every timeline at once.
    pub pass: i64,
    /// Tickets folded per chunk (read back from the pass's table, facts appended).
    pub chunk: i64,
}

impl Default for Batches {
    fn default() -> Self {
        Batches {
            pass: 500_000,
            chunk: 50_000,
        }
    }
}

fn ts(v: Option<i64>) -> DbValue {
    v.map(|us| DbValue::Timestamp(TimeUnit::Microsecond, us))
        .unwrap_or(DbValue::Null)
}
fn text(v: &Option<String>) -> DbValue {
    v.clone().map(DbValue::Text).unwrap_or(DbValue::Null)
}
fn secs(from: i64, to: Option<i64>) -> DbValue {
    to.map(|t| DbValue::Double((t - from) as f64 / 1e6))
        .unwrap_or(DbValue::Null)
}
/// Open seconds of `calendar` between two instants; null without a calendar or an end.
fn business(calendar: Option<&Calendar>, from: i64, to: Option<i64>) -> DbValue {
    match (calendar, to) {
        (Some(c), Some(t)) => DbValue::Double(c.business_secs(from, t)),
        _ => DbValue::Null,
    }
}

/// What a derivation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Derivation {
    /// Tickets folded.
    pub tickets: u64,
    /// True when the calendars changed since the last derivation, so every ticket was re-derived.
    pub calendars_changed: bool,
    /// Stored facts rebuilt from scratch (new, or their configuration or definition changed).
    pub stored_facts_rebuilt: u64,
}

const FOLD_DDL: &str = "CREATE OR REPLACE TEMP TABLE _fold_stage (
    ticket_id VARCHAR, first_reply_at TIMESTAMP, first_reply_agent VARCHAR, frt_secs DOUBLE, frt_business_secs DOUBLE,
    first_resolved_at TIMESTAMP, first_resolution_secs DOUBLE, first_resolution_business_secs DOUBLE,
    full_resolved_at TIMESTAMP, resolution_secs DOUBLE, resolution_business_secs DOUBLE,
    is_resolved BOOLEAN, resolutions BIGINT, reopens BIGINT, replies BIGINT, customer_messages BIGINT,
    bot_messages BIGINT, touches BIGINT, distinct_agents BIGINT, fcr BOOLEAN, escalated_at TIMESTAMP,
    last_status VARCHAR, assignee VARCHAR,
    requester_wait_secs DOUBLE, requester_wait_business_secs DOUBLE, agent_wait_secs DOUBLE,
    agent_wait_business_secs DOUBLE, on_hold_secs DOUBLE, on_hold_business_secs DOUBLE,
    complaint_resolution_business_secs DOUBLE, solve_assignee VARCHAR, reply_agents VARCHAR)";

/// Separates reply agents in the fold stage (the Appender takes no lists); split on insert.
const LIST_SEPARATOR: char = '\u{1f}';

/// The ticket fields SLA policies and complaint timing read (besides the fold's input).
#[derive(Debug, Default)]
struct TicketAttrs {
    team: Option<String>,
    priority: Option<String>,
    tier: Option<String>,
    channel: Option<String>,
    is_complaint: bool,
}

impl TicketAttrs {
    fn field(&self, name: &str) -> Option<String> {
        match name {
            "team" => self.team.clone(),
            "priority" => self.priority.clone(),
            "tier" => self.tier.clone(),
            "channel" => self.channel.clone(),
            _ => None,
        }
    }
}

/// Statuses summed into each status-interval metric (Zendesk's definitions).
const STATUS_GROUPS: [&[&str]; 3] = [&["new", "open", "on_hold"], &["pending"], &["on_hold"]];

/// Calendar and business seconds a resolved ticket spent in each status group; nulls while
/// the ticket is unresolved (its spans are not complete).
fn status_times(f: &TicketFacts, calendar: Option<&Calendar>) -> Vec<DbValue> {
    let mut out = Vec::with_capacity(6);
    for group in STATUS_GROUPS {
        if f.full_resolved_at.is_none() {
            out.extend([DbValue::Null, DbValue::Null]);
            continue;
        }
        let spans = f
            .status_spans
            .iter()
            .filter(|s| group.contains(&s.status.as_str()));
        let (mut cal, mut biz) = (0.0, 0.0);
        for s in spans {
            cal += (s.to - s.from) as f64 / 1e6;
            biz += calendar
                .map(|c| c.business_secs(s.from, s.to))
                .unwrap_or(0.0);
        }
        out.push(DbValue::Double(cal));
        out.push(
            calendar
                .map(|_| DbValue::Double(biz))
                .unwrap_or(DbValue::Null),
        );
    }
    out
}

struct FactWriters<'s> {
    fold: Appender<'s>,
    replies: Appender<'s>,
    spans: Appender<'s>,
    sla: Appender<'s>,
}

impl FactWriters<'_> {
    fn write(
        &mut self,
        ticket: &TicketInput,
        attrs: &TicketAttrs,
        events: &mut [EventInput],
        rules: &DerivationRules,
    ) -> Result<(), StoreError> {
        let f = &fold_ticket(ticket, events);
        let calendar = rules.for_team(attrs.team.as_deref());
        let c = ticket.created_at;
        let complaint_start = if attrs.is_complaint {
            Some(c)
        } else {
            f.escalated_at
        };
        let row = [
            DbValue::Text(ticket.ticket_id.clone()),
            ts(f.first_reply_at),
            text(&f.first_reply_agent),
            secs(c, f.first_reply_at),
            business(calendar, c, f.first_reply_at),
            ts(f.first_resolved_at),
            secs(c, f.first_resolved_at),
            business(calendar, c, f.first_resolved_at),
            ts(f.full_resolved_at),
            secs(c, f.full_resolved_at),
            business(calendar, c, f.full_resolved_at),
            DbValue::Boolean(f.is_resolved),
            DbValue::BigInt(f.resolutions),
            DbValue::BigInt(f.reopens),
            DbValue::BigInt(f.replies),
            DbValue::BigInt(f.customer_messages),
            DbValue::BigInt(f.bot_messages),
            DbValue::BigInt(f.touches),
            DbValue::BigInt(f.distinct_agents),
            f.fcr.map(DbValue::Boolean).unwrap_or(DbValue::Null),
            ts(f.escalated_at),
            text(&f.last_status),
            text(&f.assignee),
        ];
        let complaint_business = match complaint_start {
            Some(start) => business(calendar, start, f.full_resolved_at),
            None => DbValue::Null,
        };
        let tail = [
            complaint_business,
            text(&f.solve_assignee),
            DbValue::Text(f.reply_agents.join(&LIST_SEPARATOR.to_string())),
        ];
        let row = row.into_iter().chain(status_times(f, calendar)).chain(tail);
        self.fold
            .append_row(appender_params_from_iter(row))
            .context(|| "appending ticket facts".into())?;
        for w in &f.reply_waits {
            let row = [
                DbValue::Text(ticket.ticket_id.clone()),
                ts(Some(w.at)),
                ts(Some(w.clock_start)),
                text(&w.agent_id),
                DbValue::Double((w.at - w.clock_start) as f64 / 1e6),
                business(calendar, w.clock_start, Some(w.at)),
            ];
            self.replies
                .append_row(appender_params_from_iter(row))
                .context(|| "appending reply facts".into())?;
        }
        for s in &f.resolved_spans {
            let row = [
                DbValue::Text(ticket.ticket_id.clone()),
                ts(Some(s.from)),
                ts(s.to),
            ];
            self.spans
                .append_row(appender_params_from_iter(row))
                .context(|| "appending resolved spans".into())?;
        }
        if let Some(policy) = policy_for(&rules.sla, |name| attrs.field(name)) {
            for i in sla_instances(policy, calendar, c, f) {
                let row = [
                    DbValue::Text(ticket.ticket_id.clone()),
                    DbValue::Text(policy.name.clone()),
                    DbValue::Text(i.target.to_string()),
                    DbValue::Double(i.target_secs),
                    DbValue::Text(
                        if policy.business {
                            "business"
                        } else {
                            "calendar"
                        }
                        .into(),
                    ),
                    DbValue::Double(policy.at_risk),
                    ts(Some(i.started_at)),
                    ts(i.ended_at),
                    i.ended_by
                        .map(|b| DbValue::Text(b.into()))
                        .unwrap_or(DbValue::Null),
                    DbValue::Double(i.elapsed_secs),
                    ts(i.due_at),
                    ts(i.running_since),
                    i.met().map(DbValue::Boolean).unwrap_or(DbValue::Null),
                ];
                self.sla
                    .append_row(appender_params_from_iter(row))
                    .context(|| "appending SLA facts".into())?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Re-derives the facts of every touched ticket — of every ticket when the calendars
    /// changed since the last derivation (business time depends on them) — then brings the
    /// catalogue's stored facts up to date (`stored`: `Catalogue::stored_facts` under the
    /// same configuration).
    pub fn derive_touched(
        &self,
        calendars: &DerivationRules,
        stored: &[StoredFact],
    ) -> Result<Derivation, StoreError> {
        let tickets = self.derive_tickets(calendars, Batches::default())?;
        Ok(Derivation {
            stored_facts_rebuilt: self.derive_stored_facts(stored)?,
            ..tickets
        })
    }

    pub(crate) fn derive_tickets(
        &self,
        calendars: &DerivationRules,
        batches: Batches,
    ) -> Result<Derivation, StoreError> {
        let exec =
            |sql: &str, what: &str| self.conn.execute_batch(sql).context(|| what.to_string());
        let previous = self.meta("calendar_fingerprint")?;
        let calendars_changed = previous.as_deref() != Some(calendars.fingerprint.as_str());
        if calendars_changed {
            exec(
                "INSERT INTO vitals_touched_tickets SELECT ticket_id FROM tickets",
                "queueing every ticket for new business time",
            )?;
        }
        exec(
            "CREATE OR REPLACE TEMP TABLE _derive AS \
             SELECT ticket_id, row_number() OVER (ORDER BY ticket_id) AS rn FROM (SELECT DISTINCT ticket_id FROM vitals_touched_tickets)",
            "listing touched tickets",
        )?;
        let total = self.count("SELECT count(*) FROM _derive")? as i64;
        if total == 0 && !calendars_changed {
            return Ok(Derivation::default());
        }
        exec("BEGIN TRANSACTION", "starting derivation")?;
        let result = (|| {
            exec(
                "DELETE FROM fact_tickets WHERE ticket_id IN (SELECT ticket_id FROM _derive);
                 DELETE FROM fact_replies WHERE ticket_id IN (SELECT ticket_id FROM _derive);
                 DELETE FROM fact_resolved_spans WHERE ticket_id IN (SELECT ticket_id FROM _derive);
                 DELETE FROM fact_sla WHERE ticket_id IN (SELECT ticket_id FROM _derive);",
                "clearing old facts",
            )?;
            let mut folded = 0u64;
            let mut pass = 1i64;
            while pass <= total {
                let pass_end = (pass + batches.pass - 1).min(total);
                self.order_timelines(pass, pass_end)?;
                let mut start = pass;
                while start <= pass_end {
                    let end = (start + batches.chunk - 1).min(pass_end);
                    folded += self.derive_chunk(calendars, start, end)?;
                    start += batches.chunk;
                }
                pass += batches.pass;
            }
            exec(
                "DELETE FROM vitals_touched_tickets; DROP TABLE IF EXISTS _timeline",
                "clearing touched tickets",
            )?;
            self.set_meta("calendar_fingerprint", &calendars.fingerprint)?;
            Ok(folded)
        })();
        match result {
            Ok(tickets) => {
                exec("COMMIT", "committing facts")?;
                let calendars_changed = calendars_changed && previous.is_some();
                Ok(Derivation {
                    tickets,
                    calendars_changed,
                    stored_facts_rebuilt: 0,
                })
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Joins and orders the timelines of touched tickets `first..=last` (their numbers in
    /// ticket id order) into `_timeline`, so that each chunk reads only its own row groups
    /// (zone maps on `rn`). The events are read by ticket id range as well: where an import
    /// stored them ticket by ticket, a pass reads only its tickets' row groups.
    fn order_timelines(&self, first: i64, last: i64) -> Result<(), StoreError> {
        let (lo, hi): (Option<String>, Option<String>) = self
            .conn
            .query_row(
                "SELECT min(ticket_id), max(ticket_id) FROM _derive WHERE rn BETWEEN ? AND ?",
                [first, last],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .context(|| "finding a pass's tickets".into())?;
        self.conn
            .execute(
                "CREATE OR REPLACE TEMP TABLE _timeline AS
                 SELECT d.rn, t.ticket_id, epoch_us(t.created_at) AS created_us, t.first_contact_resolved, t.agent_id AS ticket_agent,
                        e.event_id, epoch_us(e.\"at\") AS at_us, e.kind, e.author_role, e.author_id, e.agent_id, e.public, e.status,
                        t.team, t.priority, t.tier, t.channel, coalesce(t.is_complaint, false) AS is_complaint
                 FROM (SELECT * FROM _derive WHERE rn BETWEEN ? AND ?) d JOIN tickets t ON t.ticket_id = d.ticket_id
                 LEFT JOIN (SELECT * FROM ticket_events WHERE ticket_id BETWEEN ? AND ?) e ON e.ticket_id = t.ticket_id
                 ORDER BY d.rn, e.\"at\", e.event_id",
                duckdb::params![first, last, lo, hi],
            )
            .context(|| "ordering touched timelines".into())?;
        Ok(())
    }

    fn derive_chunk(
        &self,
        calendars: &DerivationRules,
        first: i64,
        last: i64,
    ) -> Result<u64, StoreError> {
        self.conn
            .execute_batch(FOLD_DDL)
            .context(|| "creating fold table".into())?;
        let mut folded = 0;
        {
            let mut writers = FactWriters {
                fold: self
                    .conn
                    .appender_to_catalog_and_db("_fold_stage", "temp", "main")
                    .context(|| "opening fold appender".into())?,
                replies: self
                    .conn
                    .appender("fact_replies")
                    .context(|| "opening reply appender".into())?,
                spans: self
                    .conn
                    .appender("fact_resolved_spans")
                    .context(|| "opening span appender".into())?,
                sla: self
                    .conn
                    .appender("fact_sla")
                    .context(|| "opening SLA appender".into())?,
            };
            let sql = format!(
                "SELECT ticket_id, created_us, first_contact_resolved, ticket_agent,
                        event_id, at_us, kind, author_role, author_id, agent_id, public, status, team,
                        priority, tier, channel, is_complaint
                 FROM _timeline WHERE rn BETWEEN {first} AND {last}
                 ORDER BY rn, at_us, event_id"
            );
            let mut stmt = self
                .conn
                .prepare(&sql)
                .context(|| "preparing timeline read".into())?;
            let mut rows = stmt.query([]).context(|| "reading timelines".into())?;
            let mut current: Option<TicketInput> = None;
            let mut attrs = TicketAttrs::default();
            let mut events: Vec<EventInput> = Vec::new();
            while let Some(row) = rows.next().context(|| "reading a timeline row".into())? {
                let get_s = |i: usize| row.get::<_, Option<String>>(i);
                let ticket_id: String = row.get(0).context(|| "ticket_id".into())?;
                if current
                    .as_ref()
                    .map(|t| t.ticket_id != ticket_id)
                    .unwrap_or(true)
                {
                    if let Some(t) = current.take() {
                        writers.write(&t, &attrs, &mut events, calendars)?;
                        folded += 1;
                        events.clear();
                    }
                    attrs = TicketAttrs {
                        team: get_s(12).context(|| "team".into())?,
                        priority: get_s(13).context(|| "priority".into())?,
                        tier: get_s(14).context(|| "tier".into())?,
                        channel: get_s(15).context(|| "channel".into())?,
                        is_complaint: row.get(16).context(|| "is_complaint".into())?,
                    };
                    current = Some(TicketInput {
                        ticket_id,
                        created_at: row.get(1).context(|| "created_at".into())?,
                        first_contact_resolved: row
                            .get(2)
                            .context(|| "first_contact_resolved".into())?,
                        agent_id: get_s(3).context(|| "agent_id".into())?,
                    });
                }
                if let Some(event_id) = get_s(4).context(|| "event_id".into())? {
                    events.push(EventInput {
                        event_id,
                        at: row.get(5).context(|| "at".into())?,
                        kind: row.get(6).context(|| "kind".into())?,
                        author_role: get_s(7).context(|| "author_role".into())?,
                        author_id: get_s(8).context(|| "author_id".into())?,
                        agent_id: get_s(9).context(|| "agent_id".into())?,
                        public: row.get(10).context(|| "public".into())?,
                        status: get_s(11).context(|| "status".into())?,
                    });
                }
            }
            if let Some(t) = current.take() {
                writers.write(&t, &attrs, &mut events, calendars)?;
                folded += 1;
            }
            writers
                .fold
                .flush()
                .context(|| "flushing ticket facts".into())?;
            writers
                .replies
                .flush()
                .context(|| "flushing reply facts".into())?;
            writers.spans.flush().context(|| "flushing spans".into())?;
            writers
                .sla
                .flush()
                .context(|| "flushing SLA facts".into())?;
        }
        self.conn
            .execute_batch(
                "INSERT INTO fact_tickets
                 SELECT t.ticket_id, t.created_at, t.channel, t.category, t.priority, t.customer_id, t.tier, t.team,
                        f.assignee, f.first_reply_agent, t.is_complaint, t.handle_secs,
                        f.first_reply_at, f.frt_secs, f.frt_business_secs,
                        f.first_resolved_at, f.first_resolution_secs, f.first_resolution_business_secs,
                        f.full_resolved_at, f.resolution_secs, f.resolution_business_secs, f.is_resolved, f.resolutions, f.reopens, f.replies,
                        f.customer_messages, coalesce(c.calls, 0), f.customer_messages + coalesce(c.calls, 0),
                        f.bot_messages, f.touches, f.distinct_agents, f.fcr, f.escalated_at, f.last_status,
                        f.requester_wait_secs, f.requester_wait_business_secs, f.agent_wait_secs,
                        f.agent_wait_business_secs, f.on_hold_secs, f.on_hold_business_secs,
                        f.complaint_resolution_business_secs, f.solve_assignee,
                        CASE WHEN f.reply_agents = '' THEN CAST([] AS VARCHAR[])
                             ELSE string_split(f.reply_agents, chr(31)) END
                 FROM _fold_stage f JOIN tickets t ON t.ticket_id = f.ticket_id
                 LEFT JOIN (SELECT ticket_id, count(*) AS calls FROM calls
                            WHERE ticket_id IN (SELECT ticket_id FROM _fold_stage) GROUP BY 1) c ON c.ticket_id = f.ticket_id;
                 DROP TABLE _fold_stage;",
            )
            .context(|| "writing ticket facts".into())?;
        Ok(folded)
    }
}
