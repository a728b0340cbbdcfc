//! The rejects file: every rejected row with its file, line, column, reason and code, written
//! beside the store as CSV (created only when something is rejected). The rows are the
//! input's as written, so a cell a spreadsheet would run as a formula is written as text
//! (`safe_cell`: a leading `'`).

use std::path::{Path, PathBuf};

use vitals_core::spreadsheet::safe_cell;

use crate::ImportError;

/// What kind of problem a reject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectCode {
    /// The row cannot be read: broken CSV quoting or JSON, invalid UTF-8, a wrong number of
    /// fields, a line that is not an object.
    Unreadable,
    /// A value fails validation: its type, its allowed values, a required value missing, a
    /// rule between columns (the column names the value).
    Invalid,
    /// A source adapter cannot map the source row into canonical records.
    Unmappable,
    /// The row is larger than the import's limit (`[import] max_record_bytes`).
    TooLarge,
}

impl RejectCode {
    /// The code as written in the rejects file.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::Unreadable => "unreadable",
            RejectCode::Invalid => "invalid",
            RejectCode::Unmappable => "unmappable",
            RejectCode::TooLarge => "too_large",
        }
    }
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// The file it came from.
    pub file: PathBuf,
    /// Its line (or Parquet row) number.
    pub line: u64,
    /// The column at fault, if one (always, for `Invalid`).
    pub column: Option<String>,
    /// What kind of problem it is.
    pub code: RejectCode,
    /// Why.
    pub reason: String,
    /// The row as written.
    pub raw: String,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if let Some(c) = &self.column {
            write!(f, " column `{c}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Writes rejects lazily to `path`.
pub struct RejectsFile {
    path: PathBuf,
    writer: Option<csv::Writer<std::fs::File>>,
    /// Rows written.
    pub count: u64,
}

impl RejectsFile {
    /// A rejects file at `path`, created on the first reject.
    pub fn new(path: PathBuf) -> Self {
        RejectsFile {
            path,
            writer: None,
            count: 0,
        }
    }

    /// Where it is (or would be).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records one reject.
    pub fn write(&mut self, r: &Reject) -> Result<(), ImportError> {
        let io = |e: csv::Error| ImportError::Format {
            path: self.path.clone(),
            message: e.to_string(),
        };
        if self.writer.is_none() {
            let mut w = csv::Writer::from_path(&self.path).map_err(io)?;
            w.write_record(["file", "line", "column", "reason", "record", "code"])
                .map_err(io)?;
            self.writer = Some(w);
        }
        let w = self.writer.as_mut().expect("created above");
        let file = r.file.display().to_string();
        w.write_record([
            safe_cell(&file).as_ref(),
            &r.line.to_string(),
            &safe_cell(r.column.as_deref().unwrap_or_default()),
            &safe_cell(&r.reason),
            &safe_cell(&r.raw),
            r.code.as_str(),
        ])
        .map_err(|e| ImportError::Format {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        self.count += 1;
        Ok(())
    }

    /// Flushes to disk.
    pub fn finish(mut self) -> Result<Option<PathBuf>, ImportError> {
        match self.writer.take() {
            Some(mut w) => {
                w.flush().map_err(|source| ImportError::Io {
                    path: self.path.clone(),
                    source,
                })?;
                Ok(Some(self.path))
            }
            None => Ok(None),
        }
    }
}
