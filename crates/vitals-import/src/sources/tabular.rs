//! Delimited source files (CSV, tab-separated): streams rows with their line numbers, looks
//! cells up by header name, and rejects rows the CSV layer cannot read (bad quoting, invalid
//! UTF-8, a wrong number of fields) so no adapter has to.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::rc::Rc;

use super::Emitter;
use crate::limits::{Guarded, Limits, Refusal};
use crate::{ImportError, RejectCode};

/// One readable row of a delimited file.
pub(crate) struct Row<'r> {
    /// 1-based line where the row starts.
    pub line: u64,
    record: &'r csv::StringRecord,
    columns: &'r HashMap<String, usize>,
    missing: &'r str,
}

impl Row<'_> {
    /// The trimmed cell of column `name`; `None` when the column is absent, the cell empty, or
    /// it holds the file's missing-value marker.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = *self.columns.get(name)?;
        let cell = self.record.get(i)?.trim();
        (!cell.is_empty() && cell != self.missing).then_some(cell)
    }

    /// The row as written, for the rejects file.
    pub fn raw(&self) -> String {
        raw_text(self.record)
    }
}

fn raw_text(record: &csv::StringRecord) -> String {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = writer.write_record(record);
    String::from_utf8_lossy(&writer.into_inner().unwrap_or_default())
        .trim_end()
        .to_string()
}

/// Header name → field index (a byte-order mark and surrounding blanks ignored).
fn column_index(headers: &csv::StringRecord) -> HashMap<String, usize> {
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_string(), i))
        .collect()
}

/// How a delimited file is written.
pub(crate) struct Dialect {
    /// Field separator.
    pub delimiter: u8,
    /// The text that means "missing" (`?` in the ServiceNow log), besides the empty cell.
    pub missing: &'static str,
}

/// The comma-separated dialect with empty = missing.
pub(crate) const CSV: Dialect = Dialect {
    delimiter: b',',
    missing: "",
};

/// A guarded CSV reader, the mark to set to each record's end, and the limits' refusal.
type Opened = (
    csv::Reader<Guarded<BufReader<File>>>,
    Rc<Cell<u64>>,
    Rc<Refusal>,
);

/// A CSV reader over `path` in `dialect` (rows may differ in width; callers check), with the
/// limits applied.
fn open(path: &Path, dialect: &Dialect, limits: Limits) -> Result<Opened, ImportError> {
    let file = File::open(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let guarded = Guarded::new(
        BufReader::with_capacity(1 << 16, file),
        dialect.delimiter,
        limits,
    );
    let (mark, refusal) = (guarded.mark.clone(), guarded.refusal.clone());
    let reader = csv::ReaderBuilder::new()
        .delimiter(dialect.delimiter)
        .flexible(true)
        .from_reader(guarded);
    Ok((reader, mark, refusal))
}

/// The error of a file the limits refused (`None` when they did not).
fn refused(path: &Path, refusal: &Refusal, e: &csv::Error) -> Option<ImportError> {
    refusal.get().map(|_| ImportError::Format {
        path: path.to_path_buf(),
        message: format!("refused: {e}"),
    })
}

/// Streams the rows of `path`, checking that the header has the `required` columns. Each
/// readable row goes to `on_row`; unreadable rows are rejected here. Every row is counted as
/// a source row.
pub(crate) fn read_rows(
    path: &Path,
    dialect: &Dialect,
    required: &[&str],
    out: &mut Emitter<'_, '_>,
    mut on_row: impl FnMut(&Row<'_>, &mut Emitter<'_, '_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let (mut reader, mark, refusal) = open(path, dialect, out.limits())?;
    let headers = reader.headers().map_err(|e| {
        refused(path, &refusal, &e).unwrap_or_else(|| ImportError::Format {
            path: path.to_path_buf(),
            message: format!("cannot read the header line: {e}"),
        })
    })?;
    let columns = column_index(headers);
    let width = headers.len();
    let absent: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !columns.contains_key(*c))
        .collect();
    if !absent.is_empty() {
        return Err(ImportError::Format {
            path: path.to_path_buf(),
            message: format!(
                "this is not the expected export: the header lacks {}",
                absent.join(", ")
            ),
        });
    }
    out.begin_file(path);
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                mark.set(reader.position().byte());
                out.row();
                rows += 1;
                if rows.is_multiple_of(4096) {
                    out.advance(reader.position().byte());
                }
                let line = record.position().map_or(line, |p| p.line());
                if record.len() != width {
                    let reason = format!(
                        "the row has {} fields; the header has {width}",
                        record.len()
                    );
                    out.reject_with(
                        RejectCode::Unreadable,
                        line,
                        None,
                        reason,
                        raw_text(&record),
                    )?;
                    continue;
                }
                let row = Row {
                    line,
                    record: &record,
                    columns: &columns,
                    missing: dialect.missing,
                };
                on_row(&row, out)?;
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(
                    refused(path, &refusal, &e).unwrap_or_else(|| ImportError::Format {
                        path: path.to_path_buf(),
                        message: format!("line {line}: {e}"),
                    }),
                );
            }
            Err(e) => {
                out.row();
                let line = e.position().map_or(line, |p| p.line());
                let reason = format!("unreadable row: {e}");
                out.reject_with(RejectCode::Unreadable, line, None, reason, String::new())?;
            }
        }
    }
    out.end_file();
    Ok(())
}

/// Reads the readable rows of `path` without counting or rejecting anything: the first pass
/// of an adapter that must see the whole file before mapping it (rows it cannot read are
/// rejected by the counted pass, [`read_rows`]).
pub(crate) fn scan_rows(
    path: &Path,
    dialect: &Dialect,
    limits: Limits,
    mut on_row: impl FnMut(&Row<'_>),
) -> Result<(), ImportError> {
    let (mut reader, mark, _) = open(path, dialect, limits)?;
    let Ok(headers) = reader.headers() else {
        return Ok(());
    };
    let columns = column_index(headers);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            // Unreadable past here (e.g. over the limits): the counted pass says why.
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => break,
            Ok(true) => {
                mark.set(reader.position().byte());
                on_row(&Row {
                    line: record.position().map_or(0, |p| p.line()),
                    record: &record,
                    columns: &columns,
                    missing: dialect.missing,
                })
            }
            Err(_) => continue,
        }
    }
    Ok(())
}
