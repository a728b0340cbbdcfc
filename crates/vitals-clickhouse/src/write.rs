//! The write path on ClickHouse. An import registers itself with a time-based id (the
//! server's clock in microseconds × 1000 plus a random tail, and above every id stored), so
//! ids are unique across processes and later imports win. A [`ClickHouseSink`] sends records
//! as TabSeparated inserts into a staging table of its own; its merge keeps the last record of
//! each key, compares the rest with the stored version (`FINAL`) and inserts only new or
//! changed records under the import, whose `_version` then wins. The tickets the changed
//! records touch are noted (with the server's time) for derivation; each merge or derivation
//! that changed something adds a row to `vitals_commits`, the cluster's data version.

use std::hash::{BuildHasher, Hasher};

use vitals_backend::{
    BackendError, CommitError, CommitOutcome, Derivation, DerivationInputs, EntityRecords,
    MergeCounts, Partition, RecordColumns, RecordSink, Writer, BATCH_ROWS,
};
use vitals_core::records::{Entity, Record};

use crate::client::literal;
use crate::derive::positive_from_env;
use crate::schema::{column_type, ticket_led};
use crate::tsv::batch_rows;
use crate::ClickHouseStore;

/// Records per insert into the staging table.
const INSERT_ROWS: usize = 100_000;

/// Staged records a merge takes in one statement.
const MERGE_SLICE_ROWS: u64 = 5_000_000;

/// [`MERGE_SLICE_ROWS`], or `VITALS_CLICKHOUSE_MERGE_SLICE_ROWS` (for tests).
fn merge_slice_rows() -> u64 {
    positive_from_env("VITALS_CLICKHOUSE_MERGE_SLICE_ROWS").unwrap_or(MERGE_SLICE_ROWS)
}

/// The column through which an entity's records change a ticket's facts.
fn ticket_column(entity: &Entity) -> Option<&'static str> {
    matches!(entity.name, "tickets" | "ticket_events" | "calls").then_some("ticket_id")
}

fn quoted(names: impl IntoIterator<Item = &'static str>) -> String {
    names
        .into_iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A random number (for names and ids two processes must not share).
fn random() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

impl ClickHouseStore {
    /// `db.name`.
    pub(crate) fn table(&self, name: &str) -> String {
        self.client.table(name)
    }

    /// A number from a statement answering one.
    pub(crate) fn number(&self, sql: &str) -> Result<u64, BackendError> {
        let text = self.client.query(sql)?;
        Ok(text.trim().parse::<f64>().unwrap_or(0.0) as u64)
    }

    /// Notes a change in the cluster's data version (`vitals_commits`).
    pub(crate) fn note_commit(&self, records: u64) -> Result<(), BackendError> {
        self.client.execute(&format!(
            "INSERT INTO {} (at, host, records) VALUES (now64(6), {}, {records})",
            self.table("vitals_commits"),
            literal(&self.host)
        ))?;
        Ok(())
    }

    fn sink(
        &self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<ClickHouseSink<'_>, BackendError> {
        let stage = self.table(&format!(
            "_stage_{}_{}_{:x}",
            entity.name,
            import_id,
            random() & 0xffff_ffff
        ));
        let mut columns: Vec<String> = entity
            .columns
            .iter()
            .map(|c| format!("\"{}\" {}", c.name, column_type(c.ty, false)))
            .collect();
        columns.extend(["_import Nullable(Int64)".into(), "_ord Int64".into()]);
        self.client.execute(&format!(
            "CREATE TABLE {stage} ({}) ENGINE = MergeTree ORDER BY tuple()",
            columns.join(", ")
        ))?;
        Ok(ClickHouseSink {
            store: self,
            entity,
            import_id,
            stage,
            pending: RecordColumns::new(entity),
            text: String::new(),
            buffered: 0,
            ord: 0,
        })
    }

    /// Merges the records staged in `stage` into `entity`'s table under `import_id`: in
    /// slices of about [`MERGE_SLICE_ROWS`] staged rows by a hash of the key (each key in one
    /// slice), so that the merge's sort and join stay within the server's memory however big
    /// the import (10 M tickets' 100 M events in one statement needed more than 10 GiB).
    fn merge_stage(
        &self,
        entity: &'static Entity,
        stage: &str,
        import_id: i64,
    ) -> Result<MergeCounts, BackendError> {
        let staged = self.number(&format!("SELECT count() FROM {stage}"))?;
        let slices = staged.div_ceil(merge_slice_rows()).max(1);
        let keys = quoted(entity.key.iter().copied());
        let mut total = MergeCounts::default();
        for i in 0..slices {
            let slice = if slices == 1 {
                "1".to_string()
            } else {
                format!("cityHash64({keys}) % {slices} = {i}")
            };
            let counts = self.merge_slice(entity, stage, &slice, import_id)?;
            total.inserted += counts.inserted;
            total.updated += counts.updated;
            total.unchanged += counts.unchanged;
            total.superseded += counts.superseded;
        }
        Ok(total)
    }

    /// Merges the staged records that satisfy `slice` (a condition on their key).
    fn merge_slice(
        &self,
        entity: &'static Entity,
        stage: &str,
        slice: &str,
        import_id: i64,
    ) -> Result<MergeCounts, BackendError> {
        let table = self.table(entity.name);
        let keys = quoted(entity.key.iter().copied());
        let first = entity.key[0];
        let on = entity
            .key
            .iter()
            .map(|k| format!("s.\"{k}\" = t.\"{k}\""))
            .collect::<Vec<_>>()
            .join(" AND ");
        let same = entity
            .columns
            .iter()
            .map(|c| format!("isNotDistinctFrom(s.\"{0}\", t.\"{0}\")", c.name))
            .collect::<Vec<_>>()
            .join(" AND ");
        let cols = quoted(entity.columns.iter().map(|c| c.name));
        let old_ticket = match ticket_column(entity) {
            Some(col) => format!(", t.\"{col}\" AS _old_ticket"),
            None => String::new(),
        };
        let changed = format!("{stage}_changed");
        self.client.execute(&format!(
            "CREATE TABLE {changed} ENGINE = MergeTree ORDER BY tuple() AS
             SELECT s.*, t.\"{first}\" IS NOT NULL AS _existed{old_ticket}
             FROM (SELECT * FROM {stage} WHERE {slice} ORDER BY _ord DESC LIMIT 1 BY {keys}) s
             LEFT JOIN (SELECT {cols} FROM {table} WHERE ({keys}) GLOBAL IN (SELECT {keys} FROM {stage} WHERE {slice})) t ON {on}
             WHERE t.\"{first}\" IS NULL OR NOT ({same})"
        ))?;
        let result = (|| {
            let counts = self.client.query(&format!(
                "SELECT (SELECT count() FROM {stage} WHERE {slice}),
                        (SELECT uniqExact({keys}) FROM {stage} WHERE {slice}),
                        countIf(NOT _existed), countIf(_existed) FROM {changed}"
            ))?;
            let n: Vec<u64> = counts
                .split_whitespace()
                .map(|v| v.parse().unwrap_or(0))
                .collect();
            let [staged, distinct, inserted, updated] = n[..] else {
                return Err(BackendError::invalid(format!("merge counts: {counts}")));
            };
            // Tickets first: a writer stopped in between re-derives a ticket for nothing,
            // never leaves a changed record underived.
            if let Some(col) = ticket_column(entity) {
                self.client.execute(&format!(
                    "INSERT INTO {} (ticket_id) SELECT DISTINCT assumeNotNull(id) FROM
                     (SELECT \"{col}\" AS id FROM {changed} UNION ALL SELECT _old_ticket FROM {changed}) WHERE id IS NOT NULL",
                    self.table("vitals_touched_tickets")
                ))?;
            }
            if self.stored_from.iter().any(|f| f == entity.name) {
                self.client.execute(&format!(
                    "INSERT INTO {} (entity, record_id) SELECT DISTINCT {}, toString(\"{first}\") FROM {changed}",
                    self.table("vitals_touched_records"),
                    literal(entity.name)
                ))?;
            }
            if ticket_led(entity) {
                // A record that moved to another ticket left its stored version under the old
                // ticket, another sort key of the table: a tombstone there (before the new
                // version, so that a writer stopped in between loses nothing a re-import
                // would not restore) keeps the last write of the key the only one read.
                let old_version: Vec<String> = entity
                    .columns
                    .iter()
                    .map(|c| match c.name {
                        "ticket_id" => "assumeNotNull(_old_ticket)".to_string(),
                        name => format!("\"{name}\""),
                    })
                    .collect();
                self.client.execute(&format!(
                    "INSERT INTO {table} ({cols}, _import, _ord, _deleted)
                     SELECT {}, {import_id}, _ord, 1 FROM {changed}
                     WHERE _existed AND _old_ticket != ticket_id",
                    old_version.join(", ")
                ))?;
            }
            self.client.execute(&format!(
                "INSERT INTO {table} ({cols}, _import, _ord) SELECT {cols}, {import_id}, _ord FROM {changed}"
            ))?;
            if inserted + updated > 0 {
                self.note_commit(inserted + updated)?;
            }
            Ok(MergeCounts {
                inserted,
                updated,
                unchanged: distinct - inserted - updated,
                superseded: staged - distinct,
            })
        })();
        let _ = self
            .client
            .execute(&format!("DROP TABLE IF EXISTS {changed}"));
        result
    }

    /// Every partition derived, then the data version noted when something changed.
    fn derive_noted(
        &self,
        derivation: &DerivationInputs,
        partition: Partition,
    ) -> Result<Derivation, BackendError> {
        let mut done = self.derive_tickets(&derivation.rules, partition)?;
        if done.calendars_changed && partition == Partition::WHOLE {
            // Every ticket has a second version of its facts now: merged at once, reads
            // stop paying for them (`optimize.rs`).
            self.merge_fact_versions()?;
        }
        if partition.index == 0 {
            let facts = derivation.stored_facts_for(vitals_core::catalogue::Target::ClickHouse);
            let (rebuilt, updated) = self.derive_stored_facts(facts)?;
            done.stored_facts_rebuilt = rebuilt;
            if updated > 0 && done.tickets == 0 {
                self.note_commit(0)?;
            }
        }
        if done.tickets > 0 {
            self.note_commit(0)?;
        }
        Ok(done)
    }
}

impl Writer for ClickHouseStore {
    fn begin_import(&self, source: &str) -> Result<i64, BackendError> {
        let row = self.client.query(&format!(
            "SELECT toUnixTimestamp64Micro(now64(6)), (SELECT max(import_id) FROM {})",
            self.table("vitals_imports")
        ))?;
        let mut fields = row
            .split_whitespace()
            .map(|v| v.parse::<i64>().unwrap_or(0));
        let (now, max) = (fields.next().unwrap_or(0), fields.next().unwrap_or(0));
        let id = (now * 1000 + (random() % 1000) as i64).max(max + 1);
        self.client.execute(&format!(
            "INSERT INTO {} VALUES ({id}, now64(6), {}, {})",
            self.table("vitals_imports"),
            literal(source),
            literal(&self.host)
        ))?;
        Ok(id)
    }

    fn commit(
        &self,
        batch: &[EntityRecords<'_>],
        import_id: i64,
        derivation: &DerivationInputs,
    ) -> Result<CommitOutcome, CommitError> {
        let mut outcome = CommitOutcome::default();
        for part in batch {
            let mut sink = self
                .sink(part.entity, import_id)
                .map_err(CommitError::Write)?;
            for record in &part.records {
                RecordSink::append(&mut sink, record).map_err(CommitError::Write)?;
            }
            outcome.merged += Box::new(sink).merge().map_err(CommitError::Write)?;
            outcome.records += part.records.len() as u64;
        }
        outcome.derivation = self
            .derive_noted(derivation, Partition::WHOLE)
            .map_err(CommitError::Derive)?;
        Ok(outcome)
    }

    fn derive(&self, derivation: &DerivationInputs) -> Result<Derivation, BackendError> {
        self.derive_noted(derivation, Partition::WHOLE)
    }

    fn derive_partition(
        &self,
        derivation: &DerivationInputs,
        partition: Partition,
    ) -> Result<Derivation, BackendError> {
        self.derive_noted(derivation, partition)
    }

    fn stage<'w>(
        &'w self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<Box<dyn RecordSink + 'w>, BackendError> {
        Ok(Box::new(self.sink(entity, import_id)?))
    }

    fn stage_bulk<'w>(
        &'w self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<Box<dyn RecordSink + 'w>, BackendError> {
        Ok(Box::new(self.sink(entity, import_id)?))
    }

    fn orphan_event_count(&self) -> Result<u64, BackendError> {
        self.number(&format!(
            "SELECT count() FROM {} WHERE ticket_id IS NULL OR ticket_id GLOBAL NOT IN (SELECT ticket_id FROM {})",
            self.table("ticket_events"),
            self.table("tickets")
        ))
    }
}

/// One entity's records of one import on their way into ClickHouse: buffered as
/// TabSeparated text, inserted into the sink's staging table every [`INSERT_ROWS`], merged
/// at the end. The staging table is dropped with the sink (merged or not: a sink dropped
/// before its merge writes nothing).
pub struct ClickHouseSink<'s> {
    store: &'s ClickHouseStore,
    entity: &'static Entity,
    import_id: i64,
    stage: String,
    pending: RecordColumns,
    text: String,
    buffered: usize,
    ord: i64,
}

impl ClickHouseSink<'_> {
    fn buffer(&mut self, columns: RecordColumns) -> Result<(), BackendError> {
        let rows = columns.len();
        let batch = columns.into_batch(self.ord + 1)?;
        self.ord += rows as i64;
        batch_rows(&batch, &[], &mut self.text)?;
        self.buffered += rows;
        if self.buffered >= INSERT_ROWS {
            self.send()?;
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<(), BackendError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::replace(&mut self.pending, RecordColumns::new(self.entity));
        self.buffer(pending)
    }

    fn send(&mut self) -> Result<(), BackendError> {
        if self.buffered > 0 {
            let cols = quoted(self.entity.columns.iter().map(|c| c.name));
            self.store.client.insert(
                &format!(
                    "INSERT INTO {} ({cols}, _import, _ord) FORMAT TabSeparated",
                    self.stage
                ),
                self.text.as_bytes(),
            )?;
            self.text.clear();
            self.buffered = 0;
        }
        Ok(())
    }
}

impl RecordSink for ClickHouseSink<'_> {
    fn entity(&self) -> &'static Entity {
        self.entity
    }

    fn append(&mut self, record: &Record) -> Result<(), BackendError> {
        self.pending.push(record)?;
        if self.pending.len() >= BATCH_ROWS {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn append_columns(&mut self, columns: RecordColumns) -> Result<(), BackendError> {
        if columns.entity().name != self.entity.name {
            return Err(BackendError::invalid(format!(
                "{} records handed to the writer of {}",
                columns.entity().name,
                self.entity.name
            )));
        }
        self.flush_pending()?;
        self.buffer(columns)
    }

    fn merge(mut self: Box<Self>) -> Result<MergeCounts, BackendError> {
        self.flush_pending()?;
        self.send()?;
        self.store
            .merge_stage(self.entity, &self.stage, self.import_id)
    }
}

impl Drop for ClickHouseSink<'_> {
    fn drop(&mut self) {
        let _ = self
            .store
            .client
            .execute(&format!("DROP TABLE IF EXISTS {}", self.stage));
    }
}
