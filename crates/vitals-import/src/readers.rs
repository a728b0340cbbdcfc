//! Row readers for the canonical formats. Each delivers rows as one raw cell per entity
//! column (in the entity's order), the line (or row) number, and — only when asked, i.e. for
//! a rejected row — the raw text for the
//! rejects file; columns the entity does not know are reported once, never silently used.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use vitals_core::records::{Entity, RawValue};

use crate::limits::{read_line, Guarded, Limits, Line};
use crate::rejects::RejectCode;
use crate::ImportError;

/// The row as written, rebuilt on demand (only rejected rows need it).
pub type RawText<'a> = &'a dyn Fn() -> String;

/// One row as read.
pub struct RawRow<'a> {
    /// 1-based line (CSV, NDJSON) or row (Parquet) number.
    pub line: u64,
    /// One cell per entity column.
    pub cells: Vec<Option<RawValue>>,
    /// Which entity columns the row has (present, possibly empty).
    pub present: &'a [bool],
    /// A problem found while reading (the row is rejected with it): (code, column, reason).
    pub problem: Option<(RejectCode, Option<String>, String)>,
}

/// What a reader learned about a file's columns.
#[derive(Debug, Default, Clone)]
pub struct ColumnReport {
    /// Which entity columns the file has.
    pub present: Vec<bool>,
    /// Columns the entity does not know (ignored).
    pub unknown: Vec<String>,
}

/// Counts bytes read so far, for progress.
pub struct CountingReader<R> {
    inner: R,
    /// Bytes consumed.
    pub bytes: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.set(self.bytes.get() + n as u64);
        Ok(n)
    }
}

fn open(
    path: &Path,
) -> Result<(CountingReader<File>, std::rc::Rc<std::cell::Cell<u64>>), ImportError> {
    let file = File::open(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = std::rc::Rc::new(std::cell::Cell::new(0));
    Ok((
        CountingReader {
            inner: file,
            bytes: bytes.clone(),
        },
        bytes,
    ))
}

fn map_header(entity: &Entity, names: &[String]) -> (Vec<Option<usize>>, ColumnReport) {
    let mut report = ColumnReport {
        present: vec![false; entity.columns.len()],
        unknown: Vec::new(),
    };
    let mapping = names
        .iter()
        .map(|n| {
            let i = entity.column_index(n.trim().trim_start_matches('\u{feff}'));
            match i {
                Some(i) => report.present[i] = true,
                None => report.unknown.push(n.clone()),
            }
            i
        })
        .collect();
    (mapping, report)
}

/// Reads a CSV file (header line required; empty cell = null). A header wider or a record
/// longer than `limits` refuses the file.
pub fn read_csv(
    path: &Path,
    entity: &Entity,
    limits: Limits,
    mut on_header: impl FnMut(&ColumnReport),
    mut on_row: impl FnMut(RawRow<'_>, u64, RawText<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let (reader, bytes) = open(path)?;
    let guarded = Guarded::new(reader, b',', limits);
    let (mark, refusal) = (guarded.mark.clone(), guarded.refusal.clone());
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(guarded);
    let refused = |e: &csv::Error| {
        refusal.get().map(|_| ImportError::Format {
            path: path.to_path_buf(),
            message: format!("refused: {e}"),
        })
    };
    let headers = csv
        .headers()
        .map_err(|e| {
            refused(&e).unwrap_or_else(|| ImportError::Format {
                path: path.to_path_buf(),
                message: format!("cannot read the header line: {e}"),
            })
        })?
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>();
    let (mapping, report) = map_header(entity, &headers);
    on_header(&report);
    let mut record = csv::ByteRecord::new();
    let mut last_line = 1;
    loop {
        let more = match csv.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(refused(&e).unwrap_or_else(|| ImportError::Format {
                    path: path.to_path_buf(),
                    message: format!("line {}: {e}", last_line + 1),
                }));
            }
            Err(e) => {
                let line = e.position().map_or(last_line + 1, |p| p.line());
                last_line = line;
                let row = RawRow {
                    line,
                    cells: Vec::new(),
                    present: &[],
                    problem: Some((RejectCode::Unreadable, None, format!("unreadable CSV: {e}"))),
                };
                on_row(row, bytes.get(), &String::new)?;
                continue;
            }
        };
        if !more {
            break;
        }
        mark.set(csv.position().byte());
        let line = record.position().map_or(last_line + 1, |p| p.line());
        last_line = line;
        let mut cells = vec![None; entity.columns.len()];
        let mut problem = None;
        if record.len() != headers.len() {
            problem = Some((
                RejectCode::Unreadable,
                None,
                format!(
                    "the row has {} fields; the header has {}",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        for (field, target) in record.iter().zip(&mapping) {
            let Some(i) = target else { continue };
            match std::str::from_utf8(field) {
                Ok("") => {}
                Ok(s) => cells[*i] = Some(RawValue::Text(s.to_string())),
                Err(_) => {
                    problem = Some((
                        RejectCode::Unreadable,
                        Some(entity.columns[*i].name.to_string()),
                        "not valid UTF-8".into(),
                    ))
                }
            }
        }
        let raw = || {
            let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
            let _ = writer.write_byte_record(&record);
            String::from_utf8_lossy(&writer.into_inner().unwrap_or_default())
                .trim_end()
                .to_string()
        };
        let row = RawRow {
            line,
            cells,
            present: &report.present,
            problem,
        };
        on_row(row, bytes.get(), &raw)?;
    }
    Ok(())
}

/// Reads an NDJSON file (one object per line; blank lines ignored; a line longer than the
/// limit is rejected unread).
pub fn read_ndjson(
    path: &Path,
    entity: &Entity,
    limits: Limits,
    mut on_header: impl FnMut(&ColumnReport),
    mut on_row: impl FnMut(RawRow<'_>, u64, RawText<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let (reader, bytes) = open(path)?;
    read_ndjson_from(
        BufReader::new(reader),
        path,
        entity,
        limits,
        &|| bytes.get(),
        &mut on_header,
        &mut on_row,
    )
}

/// Reads NDJSON from any buffered source (a file, an API request's body); `source` names it
/// in errors and `position` tells how far the reader is, for progress.
pub fn read_ndjson_from(
    mut lines: impl std::io::BufRead,
    path: &Path,
    entity: &Entity,
    limits: Limits,
    position: &dyn Fn() -> u64,
    on_header: &mut dyn FnMut(&ColumnReport),
    on_row: &mut dyn FnMut(RawRow<'_>, u64, RawText<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut report = ColumnReport {
        present: vec![false; entity.columns.len()],
        unknown: Vec::new(),
    };
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        let read = read_line(&mut lines, &mut buf, limits.max_record_bytes).map_err(|source| {
            ImportError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
        line += 1;
        match read {
            Line::End => break,
            Line::Read => {}
            Line::TooLong(n) => {
                let row = RawRow {
                    line,
                    cells: Vec::new(),
                    present: &[],
                    problem: Some((
                        RejectCode::TooLarge,
                        None,
                        format!("{} ({n} bytes)", limits.record_message()),
                    )),
                };
                on_row(row, position(), &String::new)?;
                continue;
            }
        }
        let text = String::from_utf8_lossy(&buf).trim().to_string();
        if text.is_empty() {
            continue;
        }
        let (cells, present, problem) = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) => json_cells(entity, value, &mut report),
            Err(e) => (
                vec![None; entity.columns.len()],
                vec![false; entity.columns.len()],
                Some((RejectCode::Unreadable, None, format!("invalid JSON: {e}"))),
            ),
        };
        let row = RawRow {
            line,
            cells,
            present: &present,
            problem,
        };
        on_row(row, position(), &|| text.clone())?;
    }
    on_header(&report);
    Ok(())
}

/// A reading problem: (code, column, reason).
type Problem = (RejectCode, Option<String>, String);

/// One JSON value as a row of `entity`: its cells, which columns it has, and the problem
/// that rejects it (not an object, a nested value). Unknown keys are noted in `report`.
pub fn json_cells(
    entity: &Entity,
    value: serde_json::Value,
    report: &mut ColumnReport,
) -> (Vec<Option<RawValue>>, Vec<bool>, Option<Problem>) {
    if report.present.len() != entity.columns.len() {
        report.present = vec![false; entity.columns.len()];
    }
    let mut cells = vec![None; entity.columns.len()];
    let mut present = vec![false; entity.columns.len()];
    let mut problem = None;
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let Some(i) = entity.column_index(&key) else {
                    if !report.unknown.contains(&key) {
                        report.unknown.push(key);
                    }
                    continue;
                };
                report.present[i] = true;
                present[i] = true;
                cells[i] = match value {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(RawValue::Text(s)),
                    serde_json::Value::Bool(b) => Some(RawValue::Bool(b)),
                    serde_json::Value::Number(n) => n.as_f64().map(RawValue::Number),
                    _ => {
                        problem = Some((
                            RejectCode::Invalid,
                            Some(key),
                            "expected a single value, found an array or object".into(),
                        ));
                        None
                    }
                };
            }
        }
        _ => {
            problem = Some((
                RejectCode::Unreadable,
                None,
                "the record is not a JSON object".into(),
            ))
        }
    }
    (cells, present, problem)
}

/// Maps named Parquet cells onto entity columns.
pub fn parquet_row<'a>(
    entity: &Entity,
    line: u64,
    named: &[(String, Option<RawValue>)],
    report: &'a mut ColumnReport,
) -> RawRow<'a> {
    let mut cells = vec![None; entity.columns.len()];
    for (name, value) in named {
        match entity.column_index(name) {
            Some(i) => {
                report.present[i] = true;
                cells[i] = value.clone();
            }
            None if !report.unknown.contains(name) => report.unknown.push(name.clone()),
            None => {}
        }
    }
    RawRow {
        line,
        cells,
        present: &report.present,
        problem: None,
    }
}

/// A Parquet row as JSON, for the rejects file.
pub fn parquet_raw(named: &[(String, Option<RawValue>)]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = named
        .iter()
        .map(|(name, v)| {
            (
                name.clone(),
                v.as_ref()
                    .map(|v| serde_json::Value::String(v.display()))
                    .unwrap_or_default(),
            )
        })
        .collect();
    serde_json::Value::Object(object).to_string()
}
