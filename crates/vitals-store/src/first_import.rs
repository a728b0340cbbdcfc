//! First imports: while an entity's record table is empty, a bulk writer appends each staged
//! part as it is and commits it, and one pass at the end keeps the last record of any
//! repeated key — no comparison with stored records, and staging stays bounded at any size.
//! A mark in `vitals_meta` names the unfinished import, so a writer dropped half-way, or the
//! next writer after a crash, takes its records out again.

use vitals_core::records::Entity;

use crate::error::{Context, StoreError};
use vitals_backend::MergeCounts;

use crate::write::{column_list, key_list, stage_table, touched_ticket_column, StagedWriter};
use crate::Store;

/// The `vitals_meta` key that marks a first import of `entity` in progress (its import id):
/// left behind by a crash, it tells the next writer to take the unfinished import out.
pub(crate) fn bulk_mark(entity: &Entity) -> String {
    format!("bulk_import:{}", entity.name)
}

impl Store {
    /// Starts a bulk write of `entity` for `import_id` (an import's one writer at a time):
    /// as [`Store::stage`], but when the record table is empty (a first import) each staged
    /// part is appended as it is and committed, and the merge deduplicates once at the end —
    /// no comparison with stored records, and the staging table stays bounded. A writer
    /// dropped before its merge takes its parts out again; after a crash, the next writer of
    /// the entity does.
    pub fn stage_bulk(
        &self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<StagedWriter<'_>, StoreError> {
        self.undo_interrupted(entity)?;
        let table = entity.name;
        let empty = self.count(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)"
        ))? == 0;
        if !empty || !self.conn.is_autocommit() {
            return self.stage(entity, import_id);
        }
        self.set_meta(&bulk_mark(entity), &import_id.to_string())?;
        self.writer(entity, import_id, true)
    }

    /// Takes out a first import of `entity` that a crash left unfinished.
    pub(crate) fn undo_interrupted(&self, entity: &'static Entity) -> Result<(), StoreError> {
        match self
            .meta(&bulk_mark(entity))?
            .and_then(|id| id.parse().ok())
        {
            Some(import_id) => self.undo_bulk(entity, import_id),
            None => Ok(()),
        }
    }

    /// Removes the records a first import of `entity` wrote (its table was empty before), with
    /// the orphan-event bookkeeping they changed, and its mark.
    pub(crate) fn undo_bulk(
        &self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<(), StoreError> {
        let table = entity.name;
        let orphans = match table {
            "ticket_events" => format!(
                "DELETE FROM vitals_orphan_events WHERE event_id IN
                   (SELECT event_id FROM ticket_events WHERE _import = {import_id});"
            ),
            "tickets" => format!(
                "INSERT INTO vitals_orphan_events SELECT e.event_id, e.ticket_id FROM ticket_events e
                   WHERE e.ticket_id IN (SELECT ticket_id FROM tickets WHERE _import = {import_id});"
            ),
            _ => String::new(),
        };
        self.transaction(
            &format!("taking out the unfinished import of {table}"),
            || {
                self.conn
                    .execute_batch(&format!(
                        "{orphans} DELETE FROM {table} WHERE _import = {import_id};
                     DELETE FROM vitals_meta WHERE key = '{}'",
                        bulk_mark(entity)
                    ))
                    .context(|| format!("taking out the unfinished import of {table}"))
            },
        )
    }

    /// Appends a part staged for a first import as it is, and commits it; notes its tickets
    /// and orphan events (the merge deduplicates at the end).
    pub(crate) fn append_staged(
        &self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<MergeCounts, StoreError> {
        let stage = stage_table(entity);
        let table = entity.name;
        let cols = column_list(entity);
        self.transaction(&format!("the write of a part of {table}"), || {
            if let Some(col) = touched_ticket_column(entity) {
                self.conn
                    .execute_batch(&format!(
                        "INSERT INTO vitals_touched_tickets SELECT DISTINCT \"{col}\" FROM {stage} WHERE \"{col}\" IS NOT NULL"
                    ))
                    .context(|| format!("noting tickets touched by {table}"))?;
            }
            self.conn
                .execute_batch(&format!(
                    "INSERT INTO {table} SELECT {cols}, {import_id}, _ord FROM {stage}"
                ))
                .context(|| format!("writing {table}"))?;
            self.note_orphans(entity, &stage)?;
            self.conn
                .execute_batch(&format!("DROP TABLE {stage}"))
                .context(|| format!("dropping the stage of {table}"))?;
            Ok(MergeCounts::default())
        })
    }

    /// Ends a first import of `entity`: keeps only the last record of any repeated key, notes
    /// the table's stored facts for a rebuild, and clears the import's mark. The keys are
    /// checked in slices of about `slice_rows` rows (by their hash), each with hash tables of
    /// its own size only.
    pub(crate) fn finish_fresh(
        &self,
        entity: &'static Entity,
        slice_rows: i64,
    ) -> Result<MergeCounts, StoreError> {
        let table = entity.name;
        self.transaction(&format!("the write of {table}"), || {
            let written = self.count(&format!("SELECT count(*) FROM {table}"))?;
            let keys = key_list(entity);
            let slices = written.div_ceil(slice_rows.max(1) as u64).max(1);
            let on = entity
                .key
                .iter()
                .map(|k| format!("t.\"{k}\" = d.\"{k}\""))
                .collect::<Vec<_>>()
                .join(" AND ");
            let mut distinct = 0;
            for slice in 0..slices {
                let in_slice = if slices == 1 {
                    String::new()
                } else {
                    format!(" WHERE hash({keys}) % {slices} = {slice}")
                };
                let rows = if slices == 1 {
                    written
                } else {
                    self.count(&format!("SELECT count(*) FROM {table}{in_slice}"))?
                };
                let keys_in_slice = self.count(&format!(
                    "SELECT count(*) FROM (SELECT DISTINCT {keys} FROM {table}{in_slice})"
                ))?;
                distinct += keys_in_slice;
                if keys_in_slice == rows {
                    continue;
                }
                self.conn
                    .execute_batch(&format!(
                        "DELETE FROM {table} WHERE rowid IN (
                           SELECT t.rowid FROM {table} t
                           SEMI JOIN (SELECT {keys} FROM {table}{in_slice} GROUP BY ALL HAVING count(*) > 1) d ON {on}
                           QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY t._ord DESC) > 1)"
                    ))
                    .context(|| format!("keeping the last record of each key in {table}"))?;
            }
            self.conn
                .execute_batch(&format!(
                    "INSERT INTO vitals_touched_records VALUES ('{table}', NULL);
                     DELETE FROM vitals_meta WHERE key = '{}'",
                    bulk_mark(entity)
                ))
                .context(|| format!("noting records written wholesale to {table}"))?;
            Ok(MergeCounts {
                inserted: distinct,
                superseded: written - distinct,
                ..Default::default()
            })
        })
    }
}
