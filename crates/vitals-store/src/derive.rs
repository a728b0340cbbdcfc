//! Derives the ticket facts for every ticket an import touched (records or events changed):
//! joins and orders the touched timelines in passes of a bounded number of tickets, reads each
//! pass back in chunks so memory stays bounded, and hands the rows (Arrow batches) to a fold
//! thread that runs the one timeline fold of vitals-core (`timeline_fold.rs`); its columnar
//! fact rows come back and go through the Appender, so the engine's reads and writes on this
//! thread overlap the fold on the other core.

use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Appender;
use vitals_backend::Derivation;
use vitals_core::catalogue::StoredFact;
use vitals_core::config::DerivationRules;

use crate::error::{Context, StoreError};
use crate::schema::sql_type;
use crate::timeline_fold::{FactRows, TimelineFold, FOLD_STAGE, TIMELINE_COLUMNS};
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
            chunk: 25_000,
        }
    }
}

/// Timeline batches that may wait for the fold thread.
const FOLD_QUEUE: usize = 8;

/// What derivation hands the fold thread.
enum ToFold {
    /// The next timeline rows of the current chunk.
    Rows(RecordBatch),
    /// The chunk's rows are all sent.
    EndChunk,
}

/// What the fold thread hands back.
enum FromFold {
    /// Fact rows to append.
    Rows(FactRows),
    /// The chunk is folded: its last fact rows and how many tickets it had.
    ChunkDone(FactRows, u64),
    /// The fold failed (derivation stops with this error).
    Failed(StoreError),
}

/// The fold thread: folds timeline rows as they come, sending fact rows back; ends when
/// derivation drops its sender.
fn fold_thread(rules: &DerivationRules, input: Receiver<ToFold>, output: Sender<FromFold>) {
    let mut fold = TimelineFold::new(rules);
    for message in input {
        let reply = match message {
            ToFold::Rows(batch) => match fold.rows(&batch) {
                Ok(()) => fold.take_full().map(FromFold::Rows),
                Err(e) => Some(FromFold::Failed(e)),
            },
            ToFold::EndChunk => Some(match fold.end_chunk() {
                Ok((rows, tickets)) => FromFold::ChunkDone(rows, tickets),
                Err(e) => FromFold::Failed(e),
            }),
        };
        let failed = matches!(reply, Some(FromFold::Failed(_)));
        if let Some(reply) = reply {
            if output.send(reply).is_err() || failed {
                return;
            }
        }
    }
}

fn fold_stopped() -> StoreError {
    StoreError::Invalid("the fold thread stopped before derivation ended".into())
}

/// The fold stage table, from its layout.
fn fold_stage_ddl() -> String {
    let columns = FOLD_STAGE
        .iter()
        .map(|(name, ty)| format!("{name} {}", sql_type(*ty)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("CREATE OR REPLACE TEMP TABLE _fold_stage ({columns})")
}

/// The Appenders of one chunk's fact rows.
struct FactAppenders<'s> {
    fold: Appender<'s>,
    replies: Appender<'s>,
    spans: Appender<'s>,
    sla: Appender<'s>,
}

impl FactAppenders<'_> {
    fn append(&mut self, rows: FactRows) -> Result<(), StoreError> {
        let parts = [
            (&mut self.fold, rows.fold, "ticket facts"),
            (&mut self.replies, rows.replies, "reply facts"),
            (&mut self.spans, rows.spans, "resolved spans"),
            (&mut self.sla, rows.sla, "SLA facts"),
        ];
        for (appender, columns, what) in parts {
            if !columns.is_empty() {
                appender
                    .append_record_batch(columns.into_batch()?)
                    .context(|| format!("appending {what}"))?;
            }
        }
        Ok(())
    }

    fn flush(mut self) -> Result<(), StoreError> {
        self.fold
            .flush()
            .context(|| "flushing ticket facts".into())?;
        self.replies
            .flush()
            .context(|| "flushing reply facts".into())?;
        self.spans.flush().context(|| "flushing spans".into())?;
        self.sla.flush().context(|| "flushing SLA facts".into())
    }
}

/// Both ends of the fold thread's queues.
struct FoldLink<'a> {
    to_fold: &'a SyncSender<ToFold>,
    from_fold: &'a Receiver<FromFold>,
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
        // The fold runs on its own thread while this one reads timelines and appends facts.
        let folded = std::thread::scope(|scope| {
            let (to_fold, fold_input) = sync_channel(FOLD_QUEUE);
            let (fold_output, from_fold) = channel();
            scope.spawn(move || fold_thread(calendars, fold_input, fold_output));
            let link = FoldLink {
                to_fold: &to_fold,
                from_fold: &from_fold,
            };
            let mut folded = 0u64;
            let mut pass = 1i64;
            while pass <= total {
                let pass_end = (pass + batches.pass - 1).min(total);
                // Each pass replaces its tickets' facts in a transaction of its own, which
                // frees the temporary tables it used: memory stays bounded however many
                // tickets are derived. Tickets stay queued until every pass is done, so a
                // derivation cut short is redone in full by the next one.
                folded += self.transaction("deriving a pass of tickets", || {
                    let range = self.pass_range(pass, pass_end)?;
                    self.clear_facts(pass, pass_end, &range)?;
                    self.order_timelines(pass, pass_end, &range)?;
                    let mut folded = 0;
                    let mut start = pass;
                    while start <= pass_end {
                        let end = (start + batches.chunk - 1).min(pass_end);
                        folded += self.derive_chunk(&link, start, end)?;
                        start += batches.chunk;
                    }
                    exec("DROP TABLE IF EXISTS _timeline", "dropping timelines")?;
                    Ok(folded)
                })?;
                pass += batches.pass;
            }
            // Leaving the scope closes the fold's queue and waits for the thread to end.
            Ok::<_, StoreError>(folded)
        })?;
        self.transaction("ending derivation", || {
            exec(
                "DELETE FROM vitals_touched_tickets",
                "clearing touched tickets",
            )?;
            self.set_meta("calendar_fingerprint", &calendars.fingerprint)
        })?;
        Ok(Derivation {
            tickets: folded,
            calendars_changed: calendars_changed && previous.is_some(),
            stored_facts_rebuilt: 0,
        })
    }

    /// The lowest and highest ticket id of touched tickets `first..=last`.
    fn pass_range(&self, first: i64, last: i64) -> Result<(String, String), StoreError> {
        let (lo, hi): (Option<String>, Option<String>) = self
            .conn
            .query_row(
                "SELECT min(ticket_id), max(ticket_id) FROM _derive WHERE rn BETWEEN ? AND ?",
                [first, last],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .context(|| "finding a pass's tickets".into())?;
        Ok((lo.unwrap_or_default(), hi.unwrap_or_default()))
    }

    /// Deletes the facts of touched tickets `first..=last` (ids within `range`, so that facts
    /// stored in ticket order are found through their zone maps).
    fn clear_facts(
        &self,
        first: i64,
        last: i64,
        range: &(String, String),
    ) -> Result<(), StoreError> {
        for table in crate::schema::FACT_TABLES {
            self.conn
                .execute(
                    &format!(
                        "DELETE FROM {table} WHERE ticket_id BETWEEN ? AND ?
                         AND ticket_id IN (SELECT ticket_id FROM _derive WHERE rn BETWEEN ? AND ?)"
                    ),
                    duckdb::params![range.0, range.1, first, last],
                )
                .context(|| format!("clearing old facts of {table}"))?;
        }
        Ok(())
    }

    /// Joins the timelines of touched tickets `first..=last` (their numbers in ticket id
    /// order) into `_timeline`, ordered by ticket only: the fold needs each ticket's rows
    /// together and orders its events itself, and each chunk then reads only its own row
    /// groups (zone maps on `rn`). The events are read by ticket id range as well: where an
    /// import stored them ticket by ticket, a pass reads only its tickets' row groups.
    fn order_timelines(
        &self,
        first: i64,
        last: i64,
        (lo, hi): &(String, String),
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "CREATE OR REPLACE TEMP TABLE _timeline AS
                 SELECT d.rn, t.ticket_id, epoch_us(t.created_at) AS created_us, t.first_contact_resolved, t.agent_id AS ticket_agent,
                        e.event_id, epoch_us(e.\"at\") AS at_us, e.kind, e.author_role, e.author_id, e.agent_id, e.public, e.status,
                        t.team, t.priority, t.tier, t.channel, coalesce(t.is_complaint, false) AS is_complaint
                 FROM (SELECT * FROM _derive WHERE rn BETWEEN ? AND ?) d JOIN tickets t ON t.ticket_id = d.ticket_id
                 LEFT JOIN (SELECT * FROM ticket_events WHERE ticket_id BETWEEN ? AND ?) e ON e.ticket_id = t.ticket_id
                 ORDER BY d.rn",
                duckdb::params![first, last, lo, hi],
            )
            .context(|| "ordering touched timelines".into())?;
        Ok(())
    }

    /// Folds the timelines of touched tickets `first..=last` (already in `_timeline`): rows go
    /// to the fold thread in Arrow batches, fact rows come back and are appended, then the
    /// fold's per-ticket results are joined to the tickets into `fact_tickets`.
    fn derive_chunk(&self, fold: &FoldLink<'_>, first: i64, last: i64) -> Result<u64, StoreError> {
        self.conn
            .execute_batch(&fold_stage_ddl())
            .context(|| "creating fold table".into())?;
        let mut appenders = FactAppenders {
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
        // No ORDER BY: the engine keeps insertion order (DuckDB's `preserve_insertion_order`,
        // on by default and never changed here), so rows come in `_timeline`'s ticket order;
        // the count below checks that no ticket's rows were split.
        let range = format!("FROM _timeline WHERE rn BETWEEN {first} AND {last}");
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {TIMELINE_COLUMNS} {range}"))
            .context(|| "preparing timeline read".into())?;
        let mut sent = 0u64;
        for batch in stmt
            .query_arrow([])
            .context(|| "reading timelines".into())?
        {
            sent += batch.num_rows() as u64;
            fold.to_fold
                .send(ToFold::Rows(batch))
                .map_err(|_| fold_stopped())?;
            while let Ok(reply) = fold.from_fold.try_recv() {
                match reply {
                    FromFold::Rows(rows) => appenders.append(rows)?,
                    FromFold::Failed(e) => return Err(e),
                    FromFold::ChunkDone(..) => return Err(fold_stopped()),
                }
            }
        }
        fold.to_fold
            .send(ToFold::EndChunk)
            .map_err(|_| fold_stopped())?;
        let folded = loop {
            match fold.from_fold.recv().map_err(|_| fold_stopped())? {
                FromFold::Rows(rows) => appenders.append(rows)?,
                FromFold::ChunkDone(rows, tickets) => {
                    appenders.append(rows)?;
                    break tickets;
                }
                FromFold::Failed(e) => return Err(e),
            }
        };
        // The Arrow reader ends quietly on an engine error, and a ticket whose rows were not
        // contiguous would be folded twice: check that every row arrived, once per ticket.
        let (rows, tickets): (i64, i64) = self
            .conn
            .query_row(
                &format!("SELECT count(*), count(DISTINCT rn) {range}"),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .context(|| "counting a chunk's timeline rows".into())?;
        if (sent, folded) != (rows as u64, tickets as u64) {
            return Err(StoreError::Invalid(format!(
                "folded {folded} tickets from {sent} rows; tickets {first}..={last} have {tickets} in {rows} rows"
            )));
        }
        appenders.flush()?;
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
