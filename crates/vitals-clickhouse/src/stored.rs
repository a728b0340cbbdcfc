//! Stored facts on ClickHouse: the catalogue's fact tables the writer keeps (survey responses
//! with their top box, quality reviews with their scores, mentions with their sentiment, calls
//! with their waits), built from their statements in ClickHouse's spelling with the
//! configuration tables rendered for ClickHouse, so that they hold what DuckDB's hold.
//!
//! Each table follows one record entity, one row per record id (the fact's `key`), and is a
//! `ReplacingMergeTree` ordered by that id, read with `final = 1`: the row inserted last for a
//! record wins. So:
//! - a fact whose statement under the configuration (its fingerprint) differs from the one it
//!   was built by (`vitals_stored_facts`), or that was never built, is rebuilt: on one server
//!   the table is replaced (`CREATE OR REPLACE … AS`, atomic); on a cluster every row is
//!   inserted again through the `Distributed` table (each record's new row supersedes its old
//!   one on the record's shard; records are never removed, so no old row outlives a rebuild);
//! - otherwise the rows of the records each merge noted in `vitals_touched_records` since the
//!   fact's watermark are computed again and inserted. As for tickets (`derive.rs`), a merge of
//!   another process may land with a time below the watermark: each derivation notes how many
//!   rows it saw in the [`GRACE_US`] before its watermark, and when the next finds more there it
//!   takes the records of that whole window again (recomputing a record is harmless).
//!
//! The watermark moves (a new `vitals_stored_facts` row) only after the rows are written, so a
//! derivation cut short is redone by the next. Stored facts are derived by the whole
//! derivation and by partition 0 of a partitioned one.

use vitals_backend::BackendError;
use vitals_core::catalogue::StoredFact;

use crate::client::literal;
use crate::{ClickHouseStore, Layout};

/// How far behind a stored fact's watermark touched records are looked for again.
const GRACE_US: u64 = 60_000_000;

impl ClickHouseStore {
    /// Brings every stored fact up to date; returns how many were rebuilt from scratch, and
    /// how many were written at all (rebuilt or updated).
    pub(crate) fn derive_stored_facts(
        &self,
        facts: &[StoredFact],
    ) -> Result<(u64, u64), BackendError> {
        let state_table = self.table("vitals_stored_facts");
        let touched = self.table("vitals_touched_records");
        let (mut rebuilt, mut written) = (0, 0);
        for fact in facts {
            let name = literal(&fact.name);
            let state = self.client.query(&format!(
                "SELECT count(), argMax(statement, at), argMax(watermark, at), argMax(late_window_rows, at)
                 FROM {state_table} WHERE name = {name} FORMAT TabSeparated"
            ))?;
            let row = crate::client::tsv_rows(&state).into_iter().next();
            let field = |i: usize| row.as_ref().and_then(|r| r.get(i).cloned().flatten());
            let number = |i: usize| field(i).and_then(|w| w.parse::<u64>().ok()).unwrap_or(0);
            let built = field(0).is_some_and(|n| n != "0");
            let statement = field(1).unwrap_or_default();
            let (watermark, window_rows) = (number(2), number(3));
            let entity = literal(&fact.from);
            let window = |end: u64| {
                format!(
                    "SELECT count() FROM {touched} WHERE entity = {entity} AND seq > {} AND seq <= {end}",
                    end.saturating_sub(GRACE_US)
                )
            };
            let late = built && self.number(&window(watermark))? > window_rows;
            let high = self
                .number(&format!(
                    "SELECT max(seq) FROM {touched} WHERE entity = {entity}"
                ))?
                .max(watermark);
            // Counted before the rows are computed: a record noted in between is taken again
            // by the next derivation, never missed.
            let seen_rows = self.number(&window(high))?;
            let table = self.table(&fact.name);
            let sql = crate::schema::qualify(&fact.sql, self.client.database());
            if !built || statement != fact.sql {
                match self.layout {
                    Layout::Single => self.client.execute(&format!(
                        "CREATE OR REPLACE TABLE {table} ENGINE = ReplacingMergeTree ORDER BY \"{}\" AS {}",
                        fact.key, sql
                    ))?,
                    Layout::Cluster { .. } => self.client.execute(&format!(
                        "INSERT INTO {table} SELECT * FROM ({sql})"
                    ))?,
                }
                rebuilt += 1;
            } else if high > watermark || late {
                let since = if late {
                    watermark.saturating_sub(GRACE_US)
                } else {
                    watermark
                };
                self.client.execute(&format!(
                    "INSERT INTO {table} SELECT * FROM ({sql}) WHERE \"{}\" IN
                     (SELECT record_id FROM {touched} WHERE entity = {entity} AND seq > {since} AND seq <= {high})",
                    fact.key
                ))?;
            } else {
                continue;
            }
            written += 1;
            self.client.execute(&format!(
                "INSERT INTO {state_table} VALUES ({name}, {}, {high}, {seen_rows}, now64(6))",
                literal(&fact.sql)
            ))?;
        }
        Ok((rebuilt, written))
    }
}
