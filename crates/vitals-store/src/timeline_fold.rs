//! The fold side of derivation, free of the engine so it can run on its own thread: ordered
//! timeline rows come in as Arrow batches (one row per event, tickets contiguous), each
//! ticket's timeline goes through the one fold of vitals-core, and its facts come out as
//! columnar rows of the four fact layouts, ready for the Appender. Public so that another
//! engine's writer (ClickHouse) folds with the very same code.

use duckdb::arrow::array::{Array, BooleanArray, Int64Array, RecordBatch, StringArray};
use vitals_core::calendar::Calendar;
use vitals_core::config::DerivationRules;
use vitals_core::facts::{
    fold_ticket, policy_for, sla_instances, EventInput, TicketFacts, TicketInput,
};
use vitals_core::records::{ColumnType, Value};

use vitals_backend::Columns;

use crate::StoreError;

use ColumnType::{Bool, Integer, Number, Text, Timestamp};

/// The fold's per-ticket results, staged before `fact_tickets` joins them to the ticket's
/// own columns (`derive.rs`).
pub const FOLD_STAGE: &[(&str, ColumnType)] = &[
    ("ticket_id", Text),
    ("first_reply_at", Timestamp),
    ("first_reply_agent", Text),
    ("frt_secs", Number),
    ("frt_business_secs", Number),
    ("first_resolved_at", Timestamp),
    ("first_resolution_secs", Number),
    ("first_resolution_business_secs", Number),
    ("full_resolved_at", Timestamp),
    ("resolution_secs", Number),
    ("resolution_business_secs", Number),
    ("is_resolved", Bool),
    ("resolutions", Integer),
    ("reopens", Integer),
    ("replies", Integer),
    ("customer_messages", Integer),
    ("bot_messages", Integer),
    ("touches", Integer),
    ("distinct_agents", Integer),
    ("fcr", Bool),
    ("escalated_at", Timestamp),
    ("last_status", Text),
    ("assignee", Text),
    ("requester_wait_secs", Number),
    ("requester_wait_business_secs", Number),
    ("agent_wait_secs", Number),
    ("agent_wait_business_secs", Number),
    ("on_hold_secs", Number),
    ("on_hold_business_secs", Number),
    ("complaint_resolution_business_secs", Number),
    ("solve_assignee", Text),
    ("reply_agents", Text),
];

/// `fact_replies`, column for column.
pub const REPLIES: &[(&str, ColumnType)] = &[
    ("ticket_id", Text),
    ("replied_at", Timestamp),
    ("clock_start", Timestamp),
    ("agent_id", Text),
    ("wait_secs", Number),
    ("wait_business_secs", Number),
];

/// `fact_resolved_spans`, column for column.
pub const SPANS: &[(&str, ColumnType)] = &[
    ("ticket_id", Text),
    ("resolved_from", Timestamp),
    ("resolved_to", Timestamp),
];

/// `fact_sla`, column for column.
pub const SLA: &[(&str, ColumnType)] = &[
    ("ticket_id", Text),
    ("policy", Text),
    ("target", Text),
    ("target_secs", Number),
    ("clock", Text),
    ("at_risk", Number),
    ("started_at", Timestamp),
    ("ended_at", Timestamp),
    ("ended_by", Text),
    ("elapsed_secs", Number),
    ("due_at", Timestamp),
    ("running_since", Timestamp),
    ("met", Bool),
];

/// The timeline columns the fold reads, in the order derivation selects them.
pub const TIMELINE_COLUMNS: &str = "ticket_id, created_us, first_contact_resolved, ticket_agent,
    event_id, at_us, kind, author_role, author_id, agent_id, public, status, team,
    priority, tier, channel, is_complaint";

/// Separates reply agents in the fold stage (a list column would need a list builder);
/// split on insert into `fact_tickets`.
pub const LIST_SEPARATOR: char = '\u{1f}';

/// Fact rows of some tickets, one set of columns per fact table.
pub struct FactRows {
    /// The fold's per-ticket results ([`FOLD_STAGE`]).
    pub fold: Columns,
    /// `fact_replies` rows ([`REPLIES`]).
    pub replies: Columns,
    /// `fact_resolved_spans` rows ([`SPANS`]).
    pub spans: Columns,
    /// `fact_sla` rows ([`SLA`]).
    pub sla: Columns,
}

impl FactRows {
    fn new() -> Self {
        FactRows {
            fold: Columns::new(FOLD_STAGE.iter().copied()),
            replies: Columns::new(REPLIES.iter().copied()),
            spans: Columns::new(SPANS.iter().copied()),
            sla: Columns::new(SLA.iter().copied()),
        }
    }
}

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

/// Folds ordered timeline rows ticket by ticket; a ticket is complete when the next one
/// starts or its chunk ends ([`TimelineFold::end_chunk`]).
pub struct TimelineFold<'r> {
    rules: &'r DerivationRules,
    current: Option<(TicketInput, TicketAttrs)>,
    events: Vec<EventInput>,
    out: FactRows,
    folded: u64,
}

impl<'r> TimelineFold<'r> {
    /// A fold under `rules`, with nothing folded yet.
    pub fn new(rules: &'r DerivationRules) -> Self {
        TimelineFold {
            rules,
            current: None,
            events: Vec::new(),
            out: FactRows::new(),
            folded: 0,
        }
    }

    /// Takes the next rows of the timeline (columns as [`TIMELINE_COLUMNS`]).
    pub fn rows(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        let c = TimelineBatch::of(batch)?;
        for i in 0..batch.num_rows() {
            let ticket_id = c.ticket_id.value(i);
            let same = matches!(&self.current, Some((t, _)) if t.ticket_id == ticket_id);
            if !same {
                self.finish_ticket()?;
                self.current = Some((
                    TicketInput {
                        ticket_id: ticket_id.to_string(),
                        created_at: c.created_us.value(i),
                        first_contact_resolved: flag(c.first_contact_resolved, i),
                        agent_id: text(c.ticket_agent, i),
                    },
                    TicketAttrs {
                        team: text(c.team, i),
                        priority: text(c.priority, i),
                        tier: text(c.tier, i),
                        channel: text(c.channel, i),
                        is_complaint: flag(c.is_complaint, i).unwrap_or(false),
                    },
                ));
            }
            if let Some(event_id) = text(c.event_id, i) {
                self.events.push(EventInput {
                    event_id,
                    at: c.at_us.value(i),
                    kind: c.kind.value(i).to_string(),
                    author_role: text(c.author_role, i),
                    author_id: text(c.author_id, i),
                    agent_id: text(c.agent_id, i),
                    public: flag(c.public, i),
                    status: text(c.status, i),
                });
            }
        }
        Ok(())
    }

    /// The fact rows gathered so far, when there are enough to append.
    pub fn take_full(&mut self) -> Option<FactRows> {
        (self.out.fold.len() >= vitals_backend::BATCH_ROWS)
            .then(|| std::mem::replace(&mut self.out, FactRows::new()))
    }

    /// The chunk's rows are all in: folds its last ticket and returns the remaining fact rows
    /// and the number of tickets folded since the previous chunk ended.
    pub fn end_chunk(&mut self) -> Result<(FactRows, u64), StoreError> {
        self.finish_ticket()?;
        let rows = std::mem::replace(&mut self.out, FactRows::new());
        Ok((rows, std::mem::take(&mut self.folded)))
    }

    fn finish_ticket(&mut self) -> Result<(), StoreError> {
        if let Some((ticket, attrs)) = self.current.take() {
            write_facts(&mut self.out, &ticket, &attrs, &mut self.events, self.rules)
                .map_err(|what| StoreError::Invalid(format!("ticket facts: {what}")))?;
            self.events.clear();
            self.folded += 1;
        }
        Ok(())
    }
}

/// The typed columns of one timeline batch.
struct TimelineBatch<'b> {
    ticket_id: &'b StringArray,
    created_us: &'b Int64Array,
    first_contact_resolved: &'b BooleanArray,
    ticket_agent: &'b StringArray,
    event_id: &'b StringArray,
    at_us: &'b Int64Array,
    kind: &'b StringArray,
    author_role: &'b StringArray,
    author_id: &'b StringArray,
    agent_id: &'b StringArray,
    public: &'b BooleanArray,
    status: &'b StringArray,
    team: &'b StringArray,
    priority: &'b StringArray,
    tier: &'b StringArray,
    channel: &'b StringArray,
    is_complaint: &'b BooleanArray,
}

impl<'b> TimelineBatch<'b> {
    fn of(batch: &'b RecordBatch) -> Result<Self, StoreError> {
        fn col<A: 'static>(batch: &RecordBatch, i: usize) -> Result<&A, StoreError> {
            batch
                .columns()
                .get(i)
                .and_then(|c| c.as_any().downcast_ref::<A>())
                .ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "timeline column {i} is not of the type the fold reads ({:?})",
                        batch
                            .schema()
                            .fields()
                            .get(i)
                            .map(|f| f.data_type().clone())
                    ))
                })
        }
        Ok(TimelineBatch {
            ticket_id: col(batch, 0)?,
            created_us: col(batch, 1)?,
            first_contact_resolved: col(batch, 2)?,
            ticket_agent: col(batch, 3)?,
            event_id: col(batch, 4)?,
            at_us: col(batch, 5)?,
            kind: col(batch, 6)?,
            author_role: col(batch, 7)?,
            author_id: col(batch, 8)?,
            agent_id: col(batch, 9)?,
            public: col(batch, 10)?,
            status: col(batch, 11)?,
            team: col(batch, 12)?,
            priority: col(batch, 13)?,
            tier: col(batch, 14)?,
            channel: col(batch, 15)?,
            is_complaint: col(batch, 16)?,
        })
    }
}

fn text(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}

fn flag(a: &BooleanArray, i: usize) -> Option<bool> {
    (!a.is_null(i)).then(|| a.value(i))
}

fn ts(v: Option<i64>) -> Value {
    v.map(Value::Timestamp).unwrap_or(Value::Null)
}

fn opt_text(v: &Option<String>) -> Value {
    v.clone().map(Value::Text).unwrap_or(Value::Null)
}

fn secs(from: i64, to: Option<i64>) -> Value {
    to.map(|t| Value::Number((t - from) as f64 / 1e6))
        .unwrap_or(Value::Null)
}

/// Open seconds of `calendar` between two instants; null without a calendar or an end.
fn business(calendar: Option<&Calendar>, from: i64, to: Option<i64>) -> Value {
    match (calendar, to) {
        (Some(c), Some(t)) => Value::Number(c.business_secs(from, t)),
        _ => Value::Null,
    }
}

/// Statuses summed into each status-interval metric (Zendesk's definitions).
const STATUS_GROUPS: [&[&str]; 3] = [&["new", "open", "on_hold"], &["pending"], &["on_hold"]];

/// Calendar and business seconds a resolved ticket spent in each status group; nulls while
/// the ticket is unresolved (its spans are not complete).
fn status_times(f: &TicketFacts, calendar: Option<&Calendar>) -> Vec<Value> {
    let mut out = Vec::with_capacity(6);
    for group in STATUS_GROUPS {
        if f.full_resolved_at.is_none() {
            out.extend([Value::Null, Value::Null]);
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
        out.push(Value::Number(cal));
        out.push(calendar.map(|_| Value::Number(biz)).unwrap_or(Value::Null));
    }
    out
}

/// Folds one ticket and adds its rows to every fact table.
fn write_facts(
    out: &mut FactRows,
    ticket: &TicketInput,
    attrs: &TicketAttrs,
    events: &mut [EventInput],
    rules: &DerivationRules,
) -> Result<(), String> {
    let f = &fold_ticket(ticket, events);
    let calendar = rules.for_team(attrs.team.as_deref());
    let c = ticket.created_at;
    let id = || Value::Text(ticket.ticket_id.clone());
    let complaint_start = if attrs.is_complaint {
        Some(c)
    } else {
        f.escalated_at
    };
    let mut row = vec![
        id(),
        ts(f.first_reply_at),
        opt_text(&f.first_reply_agent),
        secs(c, f.first_reply_at),
        business(calendar, c, f.first_reply_at),
        ts(f.first_resolved_at),
        secs(c, f.first_resolved_at),
        business(calendar, c, f.first_resolved_at),
        ts(f.full_resolved_at),
        secs(c, f.full_resolved_at),
        business(calendar, c, f.full_resolved_at),
        Value::Bool(f.is_resolved),
        Value::Integer(f.resolutions),
        Value::Integer(f.reopens),
        Value::Integer(f.replies),
        Value::Integer(f.customer_messages),
        Value::Integer(f.bot_messages),
        Value::Integer(f.touches),
        Value::Integer(f.distinct_agents),
        f.fcr.map(Value::Bool).unwrap_or(Value::Null),
        ts(f.escalated_at),
        opt_text(&f.last_status),
        opt_text(&f.assignee),
    ];
    row.extend(status_times(f, calendar));
    row.push(match complaint_start {
        Some(start) => business(calendar, start, f.full_resolved_at),
        None => Value::Null,
    });
    row.push(opt_text(&f.solve_assignee));
    row.push(Value::Text(
        f.reply_agents.join(&LIST_SEPARATOR.to_string()),
    ));
    out.fold.push(&row)?;
    for w in &f.reply_waits {
        out.replies.push(&[
            id(),
            Value::Timestamp(w.at),
            Value::Timestamp(w.clock_start),
            opt_text(&w.agent_id),
            Value::Number((w.at - w.clock_start) as f64 / 1e6),
            business(calendar, w.clock_start, Some(w.at)),
        ])?;
    }
    for s in &f.resolved_spans {
        out.spans
            .push(&[id(), Value::Timestamp(s.from), ts(s.to)])?;
    }
    if let Some(policy) = policy_for(&rules.sla, |name| attrs.field(name)) {
        let clock = if policy.business {
            "business"
        } else {
            "calendar"
        };
        for i in sla_instances(policy, calendar, c, f) {
            out.sla.push(&[
                id(),
                Value::Text(policy.name.clone()),
                Value::Text(i.target.to_string()),
                Value::Number(i.target_secs),
                Value::Text(clock.into()),
                Value::Number(policy.at_risk),
                Value::Timestamp(i.started_at),
                ts(i.ended_at),
                i.ended_by
                    .map(|b| Value::Text(b.into()))
                    .unwrap_or(Value::Null),
                Value::Number(i.elapsed_secs),
                ts(i.due_at),
                ts(i.running_since),
                i.met().map(Value::Bool).unwrap_or(Value::Null),
            ])?;
        }
    }
    Ok(())
}
