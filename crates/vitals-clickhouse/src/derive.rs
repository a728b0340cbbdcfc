//! Derivation on ClickHouse: the tickets touched since a partition's watermark (every ticket
//! of the partition when the calendars, teams or SLA policies changed) are read in ticket
//! order, chunk by chunk, and folded by the very fold of the DuckDB store
//! (`vitals_store::timeline_fold`); their facts go back with a new `_version`, with a
//! tombstone for each row a ticket no longer has. The watermark moves only after every
//! chunk is written, so a derivation cut short is redone by the next.
//!
//! Touched tickets carry the server's time of the merge that noted them (`seq`). A merge
//! still in flight (another process's) when a derivation read the highest `seq` may land with
//! a lower one. So each derivation also notes how many rows it saw in the [`GRACE_US`] before
//! its watermark; when the next finds more there, some landed late, and it takes the tickets
//! of that whole window again (re-deriving a ticket is harmless).

use vitals_backend::{BackendError, Derivation, Partition};
use vitals_core::config::DerivationRules;
use vitals_store::schema::FACT_DDL;
use vitals_store::timeline_fold::{FactRows, TimelineFold, FOLD_STAGE, REPLIES, SLA, SPANS};

use crate::client::literal;
use crate::schema::{column_type, fact_columns};
use crate::tsv::{batch_rows, read_batch, Kind};
use crate::ClickHouseStore;

/// How far behind its watermark a derivation looks again for touched tickets.
const GRACE_US: u64 = 60_000_000;

/// Tickets folded per chunk, unless `VITALS_CLICKHOUSE_CHUNK_TICKETS` says otherwise (smaller
/// chunks hold less memory, larger ones make fewer round trips).
const CHUNK: usize = 20_000;

fn chunk_tickets() -> usize {
    positive_from_env("VITALS_CLICKHOUSE_CHUNK_TICKETS").unwrap_or(CHUNK)
}

/// A positive number from the environment variable `name`, if it holds one.
pub(crate) fn positive_from_env<N: std::str::FromStr + PartialOrd + Default>(
    name: &str,
) -> Option<N> {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > N::default())
}

/// The timeline columns the fold reads, as the statement selects them.
const TIMELINE: &[(&str, &str, Kind)] = &[
    ("ticket_id", "t.ticket_id", Kind::Text),
    (
        "created_us",
        "toUnixTimestamp64Micro(t.created_at)",
        Kind::Int,
    ),
    (
        "first_contact_resolved",
        "t.first_contact_resolved",
        Kind::Bool,
    ),
    ("ticket_agent", "t.agent_id", Kind::Text),
    ("event_id", "e.event_id", Kind::Text),
    ("at_us", "toUnixTimestamp64Micro(e.\"at\")", Kind::Int),
    ("kind", "e.kind", Kind::Text),
    ("author_role", "e.author_role", Kind::Text),
    ("author_id", "e.author_id", Kind::Text),
    ("agent_id", "e.agent_id", Kind::Text),
    ("public", "e.public", Kind::Bool),
    ("status", "e.status", Kind::Text),
    ("team", "t.team", Kind::Text),
    ("priority", "t.priority", Kind::Text),
    ("tier", "t.tier", Kind::Text),
    ("channel", "t.channel", Kind::Text),
    (
        "is_complaint",
        "coalesce(t.is_complaint, false)",
        Kind::Bool,
    ),
];

/// How `fact_tickets` is made from the fold's results (`f`), the ticket (`t`) and its
/// linked calls (`c`), column by column.
const TICKET_FACTS: &str = "t.ticket_id, t.created_at, t.channel, t.category, t.priority, t.customer_id, t.tier, t.team,
    f.assignee, f.first_reply_agent, t.is_complaint, t.handle_secs,
    f.first_reply_at, f.frt_secs, f.frt_business_secs,
    f.first_resolved_at, f.first_resolution_secs, f.first_resolution_business_secs,
    f.full_resolved_at, f.resolution_secs, f.resolution_business_secs, f.is_resolved, f.resolutions, f.reopens, f.replies,
    f.customer_messages, coalesce(c.calls, 0), f.customer_messages + coalesce(c.calls, 0),
    f.bot_messages, f.touches, f.distinct_agents, f.fcr, f.escalated_at, f.last_status,
    f.requester_wait_secs, f.requester_wait_business_secs, f.agent_wait_secs,
    f.agent_wait_business_secs, f.on_hold_secs, f.on_hold_business_secs,
    f.complaint_resolution_business_secs, f.solve_assignee,
    if(f.reply_agents = '', CAST([] AS Array(String)), splitByChar(char(31), f.reply_agents))";

/// The tickets of one chunk: within its id range, of the partition, and pending.
struct Chunk<'a> {
    condition: &'a str,
    first: &'a str,
    last: &'a str,
}

impl Chunk<'_> {
    fn filter(&self) -> String {
        format!(
            "ticket_id BETWEEN {} AND {} AND {}",
            literal(self.first),
            literal(self.last),
            self.condition
        )
    }
}

impl ClickHouseStore {
    /// Derives the pending tickets of `partition` under `rules`.
    pub(crate) fn derive_tickets(
        &self,
        rules: &DerivationRules,
        partition: Partition,
    ) -> Result<Derivation, BackendError> {
        let key = literal(&partition.to_string());
        let derivations = self.table("vitals_derivations");
        let state = self.client.query(&format!(
            "SELECT count(), argMax(watermark, at), argMax(late_window_rows, at), argMax(fingerprint, at) FROM {derivations} WHERE partition = {key}"
        ))?;
        let fields: Vec<&str> = state.trim_end_matches('\n').split('\t').collect();
        let derived_before = fields.first().is_some_and(|n| *n != "0");
        let number = |i: usize| {
            fields
                .get(i)
                .and_then(|w| w.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let (watermark, window_rows) = (number(1), number(2));
        let changed = !derived_before || fields.get(3) != Some(&rules.fingerprint.as_str());
        let touched = self.table("vitals_touched_tickets");
        let window = |end: u64| {
            format!(
                "SELECT count() FROM {touched} WHERE seq > {} AND seq <= {end}",
                end.saturating_sub(GRACE_US)
            )
        };
        let late = self.number(&window(watermark))? > window_rows;
        let high = self
            .number(&format!("SELECT max(seq) FROM {touched}"))?
            .max(watermark);
        // Counted before the tickets are listed: a row landing in between is then taken
        // again by the next derivation, never missed.
        let seen_rows = self.number(&window(high))?;
        let since = if late {
            watermark.saturating_sub(GRACE_US)
        } else {
            watermark
        };
        let part = format!(
            "cityHash64(ticket_id) % {} = {}",
            partition.count, partition.index
        );
        let condition = if changed {
            part
        } else {
            format!(
                "{part} AND ticket_id IN (SELECT ticket_id FROM {touched} WHERE seq > {since} AND seq <= {high})"
            )
        };
        let ids = self.client.query(&format!(
            "SELECT DISTINCT ticket_id FROM {} WHERE {condition} ORDER BY ticket_id",
            self.table("tickets")
        ))?;
        let ids: Vec<String> = crate::client::tsv_rows(&ids)
            .into_iter()
            .filter_map(|mut row| row.pop().flatten())
            .collect();
        let version = self.number("SELECT toUnixTimestamp64Micro(now64(6))")?;
        let mut folded = 0;
        for chunk in ids.chunks(chunk_tickets()) {
            let chunk = Chunk {
                condition: &condition,
                first: &chunk[0],
                last: &chunk[chunk.len() - 1],
            };
            folded += self.derive_chunk(rules, &chunk, version)?;
        }
        self.client.execute(&format!(
            "INSERT INTO {derivations} VALUES ({key}, {high}, {seen_rows}, {}, now64(6))",
            literal(&rules.fingerprint)
        ))?;
        Ok(Derivation {
            tickets: folded,
            calendars_changed: changed && derived_before,
            stored_facts_rebuilt: 0,
        })
    }

    /// Folds one chunk's timelines and writes their facts under `version`.
    fn derive_chunk(
        &self,
        rules: &DerivationRules,
        chunk: &Chunk<'_>,
        version: u64,
    ) -> Result<u64, BackendError> {
        let filter = chunk.filter();
        let select: Vec<String> = TIMELINE
            .iter()
            .map(|(name, sql, _)| format!("{sql} AS {name}"))
            .collect();
        let body = self.client.query(&format!(
            "SELECT {} FROM (SELECT * FROM {} WHERE {filter}) t
             LEFT JOIN (SELECT * FROM {} WHERE {filter}) e ON e.ticket_id = t.ticket_id
             ORDER BY t.ticket_id FORMAT TabSeparated",
            select.join(", "),
            self.table("tickets"),
            self.table("ticket_events")
        ))?;
        let kinds: Vec<(&str, Kind)> = TIMELINE.iter().map(|(n, _, k)| (*n, *k)).collect();
        let batch = read_batch(&body, &kinds)?;
        let mut fold = TimelineFold::new(rules);
        fold.rows(&batch).map_err(BackendError::from)?;
        let (rows, tickets) = fold.end_chunk().map_err(BackendError::from)?;
        self.write_facts(rows, &filter, version)?;
        Ok(tickets)
    }

    /// Writes one chunk's fact rows, each ticket's numbered from 0, and tombstones for the
    /// rows beyond them that an earlier derivation wrote.
    fn write_facts(&self, rows: FactRows, filter: &str, version: u64) -> Result<(), BackendError> {
        let fold_structure = structure(FOLD_STAGE);
        let mut text = String::new();
        batch_rows(&rows.fold.into_batch()?, &[], &mut text)?;
        let calls = self.table("calls");
        let facts: Vec<(String, Vec<String>)> = FACT_DDL
            .iter()
            .map(|ddl| {
                let (name, columns) = fact_columns(ddl);
                (name, columns.into_iter().map(|(c, _)| c).collect())
            })
            .collect();
        let columns_of = |name: &str| {
            facts
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| c.join(", "))
                .unwrap_or_default()
        };
        self.client.insert(
            &format!(
                "INSERT INTO {} ({}, _row, _version, _deleted) SELECT {TICKET_FACTS}, 0, {version}, 0
                 FROM input('{fold_structure}') f
                 JOIN (SELECT * FROM {} WHERE {filter}) t ON t.ticket_id = f.ticket_id
                 LEFT JOIN (SELECT ticket_id, count() AS calls FROM {calls} WHERE {filter} GROUP BY ticket_id) c
                   ON c.ticket_id = f.ticket_id
                 FORMAT TabSeparated",
                self.table("fact_tickets"),
                columns_of("fact_tickets"),
                self.table("tickets"),
            ),
            text.as_bytes(),
        )?;
        for (name, columns, layout) in [
            ("fact_replies", rows.replies, REPLIES),
            ("fact_resolved_spans", rows.spans, SPANS),
            ("fact_sla", rows.sla, SLA),
        ] {
            let table = self.table(name);
            let names = columns_of(name);
            let mut text = String::new();
            batch_rows(&columns.into_batch()?, &[], &mut text)?;
            // New rows numbered within their ticket; then a tombstone for each older row
            // numbered past the ticket's new count.
            self.client.insert(
                &format!(
                    "INSERT INTO {table} ({names}, _row, _version, _deleted)
                     SELECT *, toUInt32(row_number() OVER (PARTITION BY ticket_id) - 1), {version}, 0
                     FROM input('{}') FORMAT TabSeparated",
                    structure(layout)
                ),
                text.as_bytes(),
            )?;
            self.client.execute(&format!(
                "INSERT INTO {table} (ticket_id, _row, _version, _deleted)
                 SELECT o.ticket_id, o._row, {version}, 1
                 FROM (SELECT ticket_id, _row FROM {table} WHERE {filter} AND _version < {version}) o
                 LEFT JOIN (SELECT ticket_id, count() AS n FROM {table} WHERE {filter} AND _version = {version} GROUP BY ticket_id) k
                   ON k.ticket_id = o.ticket_id
                 WHERE o._row >= coalesce(k.n, 0)"
            ))?;
        }
        // fact_tickets: a ticket folded always has its row; tickets no longer there have none.
        Ok(())
    }
}

/// The `input()` structure of a fold layout.
fn structure(layout: &[(&str, vitals_core::records::ColumnType)]) -> String {
    layout
        .iter()
        .map(|(name, ty)| {
            let ty = if *name == "ticket_id" {
                "String".to_string()
            } else {
                column_type(*ty, false)
            };
            format!("{name} {ty}")
        })
        .collect::<Vec<_>>()
        .join(", ")
        .replace('\'', "\\'")
}
