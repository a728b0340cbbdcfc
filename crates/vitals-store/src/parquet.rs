//! Scans Parquet files row by row for the importer (in bounded chunks, on an engine of its
//! own, under the store's memory limit). Parquet is compressed, so a small file can hold a huge
//! value: a row whose values add up to more than the import's record limit is handed over
//! empty with its size (the importer rejects it as too large), and a file with more columns
//! than the limit is refused before any row is read.

use duckdb::types::ValueRef;
use vitals_core::records::RawValue;

use crate::error::{Context, StoreError};
use crate::Store;

/// Rows read from Parquet per chunk.
const PARQUET_CHUNK: i64 = 100_000;

/// The bounds a scan keeps.
#[derive(Debug, Clone, Copy)]
pub struct ParquetLimits {
    /// Largest row (its values' text lengths added up), in bytes.
    pub max_record_bytes: u64,
    /// Most columns.
    pub max_columns: usize,
}

impl Store {
    /// Scans a Parquet file: calls `on_row(row_number, cells)` for every row, with cells as
    /// (column name, raw value); `TIMESTAMPTZ` columns arrive as instants, everything else as
    /// text (naive timestamps in RFC 3339 form without an offset). A row over
    /// `limits.max_record_bytes` comes with no cells and its size. The scan runs on its own
    /// in-memory engine, so it never interleaves with the store's open appenders.
    pub fn scan_parquet(
        path: &str,
        limits: ParquetLimits,
        mut on_row: impl FnMut(
            u64,
            Vec<(String, Option<RawValue>)>,
            Option<u64>,
        ) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let conn =
            duckdb::Connection::open_in_memory().context(|| "opening a Parquet reader".into())?;
        // The query cap, not the writer's: a single oversize value (up to the import's record
        // limit) must be read whole to be measured and rejected.
        crate::set_memory_limit(&conn, crate::QUERY_MEMORY)?;
        let source = format!(
            "read_parquet('{}', file_row_number = true)",
            path.replace('\'', "''")
        );
        let mut columns: Vec<(String, String)> = Vec::new();
        {
            let mut stmt = conn
                .prepare(&format!("DESCRIBE SELECT * FROM {source}"))
                .context(|| format!("reading {path}"))?;
            let mut rows = stmt.query([]).context(|| format!("reading {path}"))?;
            while let Some(r) = rows.next().context(|| format!("reading {path}"))? {
                let name: String = r.get(0).context(|| "column name".into())?;
                let ty: String = r.get(1).context(|| "column type".into())?;
                if name != "file_row_number" {
                    columns.push((name, ty));
                }
            }
        }
        if columns.len() > limits.max_columns {
            return Err(StoreError::Limit(format!(
                "{path}: the file has {} columns, more than the limit of {} ([import] max_columns)",
                columns.len(),
                limits.max_columns
            )));
        }
        let select: Vec<String> = columns
            .iter()
            .map(|(name, ty)| {
                let q = format!("\"{}\"", name.replace('"', "\"\""));
                match ty.as_str() {
                    "TIMESTAMP WITH TIME ZONE" => format!("CAST(epoch_us({q}) AS BIGINT)"),
                    t if t.starts_with("TIMESTAMP") => {
                        format!("strftime({q}, '%Y-%m-%dT%H:%M:%S.%f')")
                    }
                    _ => format!("CAST({q} AS VARCHAR)"),
                }
            })
            .collect();
        let total: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {source}"), [], |r| r.get(0))
            .context(|| format!("counting rows of {path}"))?;
        let mut start = 0;
        while start < total {
            let guarded: Vec<String> = (0..select.len())
                .map(|i| {
                    format!(
                        "CASE WHEN _size > {} THEN NULL ELSE _c{i} END",
                        limits.max_record_bytes
                    )
                })
                .collect();
            let size: Vec<String> = (0..select.len())
                .map(|i| format!("coalesce(strlen(CAST(_c{i} AS VARCHAR)), 0)"))
                .collect();
            let sql = format!(
                "SELECT {}, _size FROM (SELECT *, {} AS _size FROM (SELECT {}, file_row_number FROM {source} \
                 WHERE file_row_number >= {start} AND file_row_number < {})) ORDER BY file_row_number",
                guarded.join(", "),
                if size.is_empty() { "0".to_string() } else { size.join(" + ") },
                select
                    .iter()
                    .enumerate()
                    .map(|(i, e)| format!("{e} AS _c{i}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                start + PARQUET_CHUNK
            );
            let mut stmt = conn.prepare(&sql).context(|| format!("reading {path}"))?;
            let mut rows = stmt.query([]).context(|| format!("reading {path}"))?;
            let mut number = start as u64;
            while let Some(r) = rows.next().context(|| format!("reading {path}"))? {
                number += 1;
                let mut cells = Vec::with_capacity(columns.len());
                for (i, (name, ty)) in columns.iter().enumerate() {
                    let raw = match r.get_ref(i).context(|| format!("reading {path}"))? {
                        ValueRef::Null => None,
                        ValueRef::BigInt(us) if ty == "TIMESTAMP WITH TIME ZONE" => {
                            Some(RawValue::Instant(us))
                        }
                        ValueRef::Text(bytes) => {
                            Some(RawValue::Text(String::from_utf8_lossy(bytes).into_owned()))
                        }
                        other => Some(RawValue::Text(format!("{other:?}"))),
                    };
                    cells.push((name.clone(), raw));
                }
                let size: i64 = r.get(columns.len()).context(|| format!("reading {path}"))?;
                let size = u64::try_from(size).unwrap_or(0);
                if size > limits.max_record_bytes {
                    on_row(number, Vec::new(), Some(size))?;
                } else {
                    on_row(number, cells, None)?;
                }
            }
            start += PARQUET_CHUNK;
        }
        Ok(total as u64)
    }
}
