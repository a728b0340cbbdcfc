//! Finds the data files of an import: a folder holds one file per entity (`NAME.csv`,
//! `NAME.ndjson`/`NAME.jsonl`, `NAME.parquet`); a file named on the command line must be one
//! of those. Files are ordered parents first (customers and tickets before events and calls).

use std::path::{Path, PathBuf};

use vitals_core::records::{entity, Entity, ENTITIES};

use crate::ImportError;

/// A file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated with a header line.
    Csv,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet.
    Parquet,
}

/// One file to import.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Its path.
    pub path: PathBuf,
    /// The entity it holds.
    pub entity: &'static Entity,
    /// Its format.
    pub format: Format,
}

/// What a path's name says it holds, if anything.
pub fn classify(path: &Path) -> Option<(&'static Entity, Format)> {
    let name = path.file_name()?.to_str()?;
    let (stem, ext) = name.rsplit_once('.')?;
    let format = match ext.to_ascii_lowercase().as_str() {
        "csv" => Format::Csv,
        "ndjson" | "jsonl" => Format::Ndjson,
        "parquet" => Format::Parquet,
        _ => return None,
    };
    Some((entity(stem)?, format))
}

/// Folder entries that are not data files, with the reason.
pub type Skipped = Vec<(PathBuf, String)>;

/// A path to read: named on the command line, or found in a folder named there.
pub(crate) struct Candidate {
    /// The file.
    pub path: PathBuf,
    /// True when it came from a folder listing (such entries may be skipped).
    pub listed: bool,
}

/// The command line's paths with folders replaced by their entries (sorted).
pub(crate) fn candidates(paths: &[PathBuf]) -> Result<Vec<Candidate>, ImportError> {
    let io = |p: &PathBuf| {
        let path = p.clone();
        move |source| ImportError::Io { path, source }
    };
    let mut out = Vec::new();
    for p in paths {
        if !std::fs::metadata(p).map_err(io(p))?.is_dir() {
            out.push(Candidate {
                path: p.clone(),
                listed: false,
            });
            continue;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(io(p))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        out.extend(
            entries
                .into_iter()
                .map(|path| Candidate { path, listed: true }),
        );
    }
    Ok(out)
}

/// Expands the command line's paths into data files, plus the folder entries skipped (with why).
pub fn discover(paths: &[PathBuf]) -> Result<(Vec<DataFile>, Skipped), ImportError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for Candidate { path, listed } in candidates(paths)? {
        match classify(&path) {
            Some((entity, format)) if !listed || path.is_file() => files.push(DataFile {
                path,
                entity,
                format,
            }),
            _ if listed => skipped.push((
                path,
                "not an entity file (NAME.csv, NAME.ndjson or NAME.parquet)".into(),
            )),
            _ => return Err(ImportError::UnknownFile { path }),
        }
    }
    let order = |f: &DataFile| {
        ENTITIES
            .iter()
            .position(|e| e.name == f.entity.name)
            .unwrap_or(usize::MAX)
    };
    files.sort_by_key(order);
    Ok((files, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_entities_and_formats() {
        assert_eq!(
            classify(Path::new("x/tickets.csv")).map(|(e, f)| (e.name, f)),
            Some(("tickets", Format::Csv))
        );
        assert_eq!(
            classify(Path::new("calls.jsonl")).map(|(_, f)| f),
            Some(Format::Ndjson)
        );
        assert!(classify(Path::new("notes.csv")).is_none());
        assert!(classify(Path::new("tickets.xlsx")).is_none());
    }
}
