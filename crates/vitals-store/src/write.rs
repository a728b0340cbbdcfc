//! The write path: records are appended in columnar batches (DuckDB Appender) to a staging
//! table, then merged into the record table by key — last write wins, identical re-imports change
//! nothing — and the tickets whose facts must be re-derived, and the records whose stored
//! facts must be recomputed, are noted.

use duckdb::Appender;
use vitals_backend::{MergeCounts, RecordColumns, BATCH_ROWS};
use vitals_core::records::{Entity, Record};

use crate::error::{Context, StoreError};
use crate::schema::record_table_ddl;
use crate::stored::WHOLESALE;
use crate::Store;

/// Records staged before they are merged: bounds the staging table (and so memory) however
/// large the file. A larger entity is merged in parts, each committed on its own.
const MERGE_ROWS: i64 = 1_000_000;

/// A first import checks its keys for repeats in slices of this many parts' rows (by the
/// keys' hash), so that the engine's hash tables stay within the write cap at any size: at the
/// 400MB cap, one `DISTINCT` over the 100 M event ids of a 10 M-ticket import runs out of
/// memory, while slices of 10 M keys pass.
const KEY_SLICE_PARTS: i64 = 10;

/// A bulk writer for one entity's records in one import. Records are gathered into columnar
/// batches ([`RecordColumns`]) and appended a batch at a time to a temporary table of this
/// connection, then merged by key ([`StagedWriter::merge`]), so a crash leaves nothing
/// half-written in the file. Past [`MERGE_ROWS`] records the staged part is merged and
/// staging starts again; a key repeated across parts still ends as its last record (later
/// parts find it stored by this import and count the earlier copy as superseded). The counts
/// differ from one merge only where an earlier copy compared with the record stored before
/// the import differently than the last copy does: an identical earlier copy counts as
/// unchanged (not superseded), a changed earlier copy whose last copy restores the stored
/// record counts as an update (not unchanged). Both still add up to the records read.
pub struct StagedWriter<'s> {
    store: &'s Store,
    appender: Option<Appender<'s>>,
    entity: &'static Entity,
    import_id: i64,
    ord: i64,
    pending: RecordColumns,
    /// Records staged since the last merged part.
    staged: i64,
    /// What the merged parts did.
    merged: MergeCounts,
    /// Parts merged so far.
    parts: u32,
    /// Records staged before a part is merged.
    merge_rows: i64,
    /// The record table was empty when the writer began (a first import): parts are appended
    /// as they are and committed; the merge deduplicates once at the end.
    pub(crate) fresh: bool,
}

pub(crate) fn stage_table(entity: &Entity) -> String {
    format!("_stage_{}", entity.name)
}

impl StagedWriter<'_> {
    /// Appends one validated record (in file order: later records win).
    pub fn append(&mut self, record: &Record) -> Result<(), StoreError> {
        self.pending.push(record)?;
        if self.pending.len() >= BATCH_ROWS {
            self.flush_pending()?;
        }
        Ok(())
    }

    /// Appends a batch of validated records built elsewhere (e.g. on a reading thread), after
    /// any records appended one by one before it.
    pub fn append_columns(&mut self, columns: RecordColumns) -> Result<(), StoreError> {
        if columns.entity().name != self.entity.name {
            return Err(StoreError::Invalid(format!(
                "{} records handed to the writer of {}",
                columns.entity().name,
                self.entity.name
            )));
        }
        self.flush_pending()?;
        self.append_batch(columns)
    }

    /// Merges a part every `rows` records instead of every [`MERGE_ROWS`] (tests).
    #[cfg(test)]
    pub(crate) fn merging_every(mut self, rows: i64) -> Self {
        self.merge_rows = rows;
        self
    }

    /// The entity being staged.
    pub fn entity(&self) -> &'static Entity {
        self.entity
    }

    fn flush_pending(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::replace(&mut self.pending, RecordColumns::new(self.entity));
        self.append_batch(pending)
    }

    fn append_batch(&mut self, columns: RecordColumns) -> Result<(), StoreError> {
        if columns.is_empty() {
            return Ok(());
        }
        let rows = columns.len() as i64;
        let batch = columns.into_batch(self.ord + 1)?;
        self.ord += rows;
        let entity = self.entity.name;
        self.appender
            .as_mut()
            .ok_or_else(|| StoreError::Invalid(format!("the stage of {entity} is closed")))?
            .append_record_batch(batch)
            .context(|| format!("appending to {entity}"))?;
        self.staged += rows;
        if self.staged >= self.merge_rows {
            self.merge_part()?;
            self.appender = Some(self.store.open_stage(self.entity)?);
        }
        Ok(())
    }

    /// Merges what is staged (committed), leaving the writer without a stage.
    fn merge_part(&mut self) -> Result<(), StoreError> {
        if let Some(mut appender) = self.appender.take() {
            appender
                .flush()
                .context(|| format!("flushing {}", self.entity.name))?;
        }
        self.merged += if self.fresh {
            self.store.append_staged(self.entity, self.import_id)?
        } else {
            self.store
                .merge_staged(self.entity, self.import_id, self.parts > 0)?
        };
        self.parts += 1;
        self.staged = 0;
        Ok(())
    }

    /// Writes the records into the store under the writer's import: merged by key (last write
    /// wins, identical records change nothing), committed when this returns.
    pub fn merge(mut self) -> Result<MergeCounts, StoreError> {
        self.flush_pending()?;
        if self.staged > 0 || self.parts == 0 {
            self.merge_part()?;
        }
        if self.fresh {
            let counts = self
                .store
                .finish_fresh(self.entity, KEY_SLICE_PARTS * self.merge_rows)?;
            self.fresh = false;
            return Ok(counts);
        }
        Ok(self.merged)
    }
}

impl Drop for StagedWriter<'_> {
    /// A first import's writer dropped before its merge (an import that failed half-way)
    /// leaves nothing: the parts it committed are taken out again.
    fn drop(&mut self) {
        drop(self.appender.take());
        if self.fresh {
            let _ = self.store.undo_bulk(self.entity, self.import_id);
        }
    }
}

impl Store {
    /// Starts staging records of `entity` for `import_id` (an empty staging table).
    pub fn stage(
        &self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<StagedWriter<'_>, StoreError> {
        self.undo_interrupted(entity)?;
        self.writer(entity, import_id, false)
    }

    /// An empty staging table for `entity` and an Appender on it.
    pub(crate) fn open_stage(&self, entity: &'static Entity) -> Result<Appender<'_>, StoreError> {
        let stage = stage_table(entity);
        self.conn
            .execute_batch(&format!(
                "DROP TABLE IF EXISTS {stage}; {}",
                record_table_ddl(entity, &stage, true)
            ))
            .context(|| format!("creating {stage}"))?;
        self.conn
            .appender_to_catalog_and_db(&stage, "temp", "main")
            .context(|| format!("opening appender on {stage}"))
    }

    /// Runs `work` in a transaction: committed when it succeeds, rolled back when it fails.
    pub(crate) fn transaction<T>(
        &self,
        what: &str,
        work: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn
            .execute_batch("BEGIN TRANSACTION")
            .context(|| format!("starting {what}"))?;
        match work() {
            Ok(value) => {
                self.conn
                    .execute_batch("COMMIT")
                    .context(|| format!("committing {what}"))?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    pub(crate) fn writer(
        &self,
        entity: &'static Entity,
        import_id: i64,
        fresh: bool,
    ) -> Result<StagedWriter<'_>, StoreError> {
        Ok(StagedWriter {
            store: self,
            appender: Some(self.open_stage(entity)?),
            entity,
            import_id,
            ord: 0,
            pending: RecordColumns::new(entity),
            staged: 0,
            merged: MergeCounts::default(),
            parts: 0,
            merge_rows: MERGE_ROWS,
            fresh,
        })
    }

    /// Notes what records new to `entity`'s empty table, all in `written`, change: their
    /// tickets' facts, orphan events, and the entity's stored facts (wholesale).
    fn note_wholesale(&self, entity: &Entity, written: &str) -> Result<(), StoreError> {
        let table = entity.name;
        if let Some(col) = touched_ticket_column(entity) {
            self.conn
                .execute_batch(&format!(
                    "INSERT INTO vitals_touched_tickets SELECT DISTINCT \"{col}\" FROM {written} WHERE \"{col}\" IS NOT NULL"
                ))
                .context(|| format!("noting tickets touched by {table}"))?;
        }
        self.note_orphans(entity, written)?;
        self.conn
            .execute_batch(&format!(
                "INSERT INTO vitals_touched_records VALUES ('{table}', NULL)"
            ))
            .context(|| format!("noting records written wholesale to {table}"))
    }

    /// Merges the staged records of `entity` into its table under `import_id`, and notes the
    /// tickets whose facts change (`vitals_touched_tickets`). `again`: earlier parts of the same
    /// import were merged already, so staged keys may meet records this import stored.
    pub(crate) fn merge_staged(
        &self,
        entity: &'static Entity,
        import_id: i64,
        again: bool,
    ) -> Result<MergeCounts, StoreError> {
        let stage = stage_table(entity);
        let table = entity.name;
        let keys = entity.key;
        let on = |a: &str, b: &str| {
            keys.iter()
                .map(|k| format!("{a}.\"{k}\" = {b}.\"{k}\""))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let same = entity
            .columns
            .iter()
            .map(|c| format!("t.\"{0}\" IS NOT DISTINCT FROM d.\"{0}\"", c.name))
            .collect::<Vec<_>>()
            .join(" AND ");
        let key_list = key_list(entity);
        let cols = column_list(entity);
        let first_key = keys[0];
        let tx = |sql: &str, what: &str| {
            self.conn
                .execute_batch(sql)
                .context(|| format!("{what} {table}"))
        };

        tx("BEGIN TRANSACTION", "starting merge of")?;
        let result = (|| {
            // Fast path, exact: nothing stored yet and no id repeated in the batch means every
            // staged record is new; skip deduplication and comparison.
            let staged = self.count(&format!("SELECT count(*) FROM {stage}"))?;
            let stored_empty = self.count(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)"
            ))? == 0;
            if stored_empty {
                let distinct = self.count(&format!(
                    "SELECT count(*) FROM (SELECT DISTINCT {key_list} FROM {stage})"
                ))?;
                if distinct == staged {
                    tx(
                        &format!(
                            "INSERT INTO {table} SELECT {cols}, {import_id}, _ord FROM {stage}"
                        ),
                        "writing",
                    )?;
                    self.note_wholesale(entity, &stage)?;
                    tx(&format!("DROP TABLE {stage}"), "dropping the stage of")?;
                    return Ok(MergeCounts {
                        inserted: staged,
                        ..Default::default()
                    });
                }
            }
            tx(
                &format!(
                    "CREATE OR REPLACE TEMP TABLE _dedup AS SELECT * FROM {stage} \
                     QUALIFY row_number() OVER (PARTITION BY {key_list} ORDER BY _ord DESC) = 1"
                ),
                "deduplicating",
            )?;
            tx(
                &format!(
                    "CREATE OR REPLACE TEMP TABLE _changed AS SELECT d.*, t.\"{first_key}\" IS NOT NULL AS _existed \
                     FROM _dedup d LEFT JOIN {table} t ON {} WHERE t.\"{first_key}\" IS NULL OR NOT ({same})",
                    on("t", "d")
                ),
                "comparing",
            )?;
            let deduped = self.count("SELECT count(*) FROM _dedup")?;
            // Keys an earlier part of this import stored: their earlier copy is superseded.
            let repeated = if again {
                self.count(&format!(
                    "SELECT count(*) FROM _dedup d JOIN {table} t ON {} WHERE t._import = {import_id}",
                    on("t", "d")
                ))?
            } else {
                0
            };
            let repeated_changed = if again {
                self.count(&format!(
                    "SELECT count(*) FROM _changed d JOIN {table} t ON {} WHERE t._import = {import_id}",
                    on("t", "d")
                ))?
            } else {
                0
            };
            let inserted = self.count("SELECT count(*) FROM _changed WHERE NOT _existed")?;
            let updated =
                self.count("SELECT count(*) FROM _changed WHERE _existed")? - repeated_changed;
            if let Some(col) = touched_ticket_column(entity) {
                tx(
                    &format!(
                        "INSERT INTO vitals_touched_tickets SELECT DISTINCT \"{col}\" FROM _changed WHERE \"{col}\" IS NOT NULL; \
                         INSERT INTO vitals_touched_tickets SELECT t.\"{col}\" FROM {table} t JOIN _changed d ON {} \
                         WHERE d._existed AND t.\"{col}\" IS NOT NULL",
                        on("t", "d")
                    ),
                    "noting tickets touched by",
                )?;
            }
            tx(
                &format!(
                    "DELETE FROM {table} t USING _changed d WHERE {} AND d._existed; \
                     INSERT INTO {table} SELECT {cols}, {import_id}, _ord FROM _changed",
                    on("t", "d")
                ),
                "writing",
            )?;
            self.note_orphans(entity, "_changed")?;
            let noted = if inserted + updated > WHOLESALE {
                "NULL".to_string()
            } else {
                format!("\"{first_key}\" FROM _changed")
            };
            tx(
                &format!("INSERT INTO vitals_touched_records SELECT '{table}', {noted}"),
                "noting the records changed in",
            )?;
            tx(
                &format!("DROP TABLE _dedup; DROP TABLE _changed; DROP TABLE {stage}"),
                "dropping the stages of",
            )?;
            Ok(MergeCounts {
                inserted,
                updated,
                unchanged: deduped - inserted - updated - repeated,
                superseded: staged - deduped + repeated,
            })
        })();
        match result {
            Ok(counts) => {
                tx("COMMIT", "committing merge of")?;
                Ok(counts)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Keeps `vitals_orphan_events` (events whose ticket is not stored) up to date after the
    /// records in `written` (new or changed, already merged) were written: at the cost of the
    /// batch, not of the table.
    pub(crate) fn note_orphans(&self, entity: &Entity, written: &str) -> Result<(), StoreError> {
        let sql = match entity.name {
            "ticket_events" => format!(
                "DELETE FROM vitals_orphan_events WHERE event_id IN (SELECT event_id FROM {written});
                 INSERT INTO vitals_orphan_events SELECT w.event_id, w.ticket_id FROM {written} w
                 LEFT JOIN tickets t ON t.ticket_id = w.ticket_id WHERE t.ticket_id IS NULL"
            ),
            "tickets" => format!(
                "DELETE FROM vitals_orphan_events WHERE ticket_id IN (SELECT ticket_id FROM {written})"
            ),
            _ => return Ok(()),
        };
        self.conn
            .execute_batch(&sql)
            .context(|| "noting events without a ticket".into())
    }

    pub(crate) fn count(&self, sql: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .context(|| format!("counting: {sql}"))
    }
}

/// The entity's columns, quoted and comma-separated.
pub(crate) fn column_list(entity: &Entity) -> String {
    entity
        .columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The entity's key columns, quoted and comma-separated.
pub(crate) fn key_list(entity: &Entity) -> String {
    entity
        .key
        .iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The column through which an entity's records change a ticket's facts.
pub(crate) fn touched_ticket_column(entity: &Entity) -> Option<&'static str> {
    match entity.name {
        "tickets" | "ticket_events" | "calls" => Some("ticket_id"),
        _ => None,
    }
}

impl Store {
    /// Stages and merges a batch of validated records of one entity under `import_id` (the
    /// server's group commit): committed when this returns.
    pub fn write_records<'r>(
        &self,
        entity: &'static Entity,
        records: impl IntoIterator<Item = &'r Record>,
        import_id: i64,
    ) -> Result<MergeCounts, StoreError> {
        let mut writer = self.stage(entity, import_id)?;
        for record in records {
            writer.append(record)?;
        }
        writer.merge()
    }
}
