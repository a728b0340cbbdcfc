//! Reading in parallel with writing: a CSV or NDJSON file is parsed and validated on a second
//! thread, which hands the writer columnar batches of kept records (and the rejects among
//! them) through a short queue, so parsing and the engine's appends use both cores. Order is
//! kept (one reading thread, batches in file order), so "later records win" still holds, and
//! memory stays bounded by the queue's few batches whatever the file's size.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use vitals_backend::{RecordColumns, RecordSink, BATCH_ROWS};
use vitals_core::records::{Entity, Validator};

use crate::readers::{read_csv, read_ndjson, ColumnReport, RawRow, RawText};
use crate::{DataFile, EntitySummary, Format, ImportError, Intake, Progress, Reject};

/// Batches that may wait between the reading thread and the writer.
const QUEUE: usize = 4;

/// Rows read together: the kept ones as columns, the rejected ones to report.
struct Batch {
    kept: RecordColumns,
    rejects: Vec<Reject>,
    read: u64,
    /// Bytes of the file consumed so far (for progress).
    position: u64,
}

impl Batch {
    fn new(entity: &'static Entity) -> Self {
        Batch {
            kept: RecordColumns::new(entity),
            rejects: Vec::new(),
            read: 0,
            position: 0,
        }
    }
}

/// Reads `file` (CSV or NDJSON) on a second thread while `writer` appends what it reads;
/// counts, rejects and progress are kept on this thread. Returns what the reader learned of
/// the file's columns.
pub(crate) fn read_file_in_parallel(
    file: &DataFile,
    intake: &mut Intake,
    es: &mut EntitySummary,
    writer: &mut dyn RecordSink,
    progress: &mut dyn Progress,
) -> Result<ColumnReport, ImportError> {
    let validator = intake.validator.clone();
    let limits = intake.limits;
    let entity = file.entity;
    let (to_writer, from_reader) = sync_channel::<Batch>(QUEUE);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_batches(file, entity, &validator, limits, to_writer));
        let written = write_batches(&from_reader, intake, es, writer, progress);
        // Dropping the receiving end stops a reader still sending (after a write failed).
        drop(from_reader);
        let read = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match (written, read) {
            (Err(e), _) => Err(e),
            (Ok(()), read) => read,
        }
    })
}

fn write_batches(
    batches: &Receiver<Batch>,
    intake: &mut Intake,
    es: &mut EntitySummary,
    writer: &mut dyn RecordSink,
    progress: &mut dyn Progress,
) -> Result<(), ImportError> {
    for batch in batches {
        progress.advance(batch.position);
        es.read += batch.read;
        es.kept += batch.kept.len() as u64;
        es.rejected += batch.rejects.len() as u64;
        for reject in batch.rejects {
            intake.reject(reject)?;
        }
        writer.append_columns(batch.kept)?;
    }
    Ok(())
}

/// The reading thread: parses and validates every row, sending full batches as it goes.
fn read_batches(
    file: &DataFile,
    entity: &'static Entity,
    validator: &Validator,
    limits: crate::Limits,
    to_writer: SyncSender<Batch>,
) -> Result<ColumnReport, ImportError> {
    let path: &Path = &file.path;
    let mut report = ColumnReport::default();
    let mut batch = Batch::new(entity);
    let mut on_row = |row: RawRow<'_>, position: u64, raw: RawText<'_>| {
        batch.read += 1;
        batch.position = position;
        match Intake::check(validator, entity, &row) {
            Ok(record) => batch.kept.push(&record)?,
            Err((code, column, reason)) => batch.rejects.push(Reject {
                file: path.to_path_buf(),
                line: row.line,
                column,
                code,
                reason,
                raw: raw(),
            }),
        }
        if batch.read as usize >= BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Batch::new(entity));
            // A closed queue means the writer stopped; its error is the one reported.
            to_writer.send(full).map_err(|_| ImportError::Stopped)?;
        }
        Ok(())
    };
    let header = |r: &ColumnReport| report = r.clone();
    let result = match file.format {
        Format::Csv => read_csv(path, entity, limits, header, &mut on_row),
        Format::Ndjson => read_ndjson(path, entity, limits, header, &mut on_row),
        Format::Parquet => Err(ImportError::Usage(format!(
            "{}: Parquet is read by the engine, not by a reading thread",
            path.display()
        ))),
    };
    result?;
    if batch.read > 0 {
        to_writer.send(batch).map_err(|_| ImportError::Stopped)?;
    }
    Ok(report)
}
