//! Arrow batches to and from TabSeparated text, the format vitals inserts into and reads
//! from ClickHouse: record and fact batches are written row by row (timestamps as UTC text
//! with microseconds, `\N` for NULL), and a timeline answer is read back into the typed
//! arrays the timeline fold takes.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Date32Array, Float64Array, Int64Array,
    Int64Builder, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use vitals_backend::BackendError;

use crate::client::{tsv_escape, tsv_field};

/// One cell of `column` at `row` as TabSeparated text.
fn cell(column: &ArrayRef, row: usize, out: &mut String) -> Result<(), BackendError> {
    if column.is_null(row) {
        out.push_str("\\N");
        return Ok(());
    }
    let any = column.as_any();
    if let Some(a) = any.downcast_ref::<StringArray>() {
        tsv_escape(Some(a.value(row)), out);
    } else if let Some(a) = any.downcast_ref::<Int64Array>() {
        out.push_str(&a.value(row).to_string());
    } else if let Some(a) = any.downcast_ref::<Float64Array>() {
        let v = a.value(row);
        out.push_str(&if v.is_finite() {
            format!("{v:?}")
        } else if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        });
    } else if let Some(a) = any.downcast_ref::<BooleanArray>() {
        out.push_str(if a.value(row) { "true" } else { "false" });
    } else if let Some(a) = any.downcast_ref::<TimestampMicrosecondArray>() {
        out.push_str(&timestamp(a.value(row))?);
    } else if let Some(a) = any.downcast_ref::<Date32Array>() {
        let date = chrono::NaiveDate::from_num_days_from_ce_opt(a.value(row) + 719_163)
            .ok_or_else(|| BackendError::invalid("a date out of range"))?;
        out.push_str(&date.format("%Y-%m-%d").to_string());
    } else {
        return Err(BackendError::invalid(format!(
            "no TabSeparated form for {:?}",
            column.data_type()
        )));
    }
    Ok(())
}

/// UTC microseconds as ClickHouse's `DateTime64(6)` text.
pub fn timestamp(us: i64) -> Result<String, BackendError> {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .ok_or_else(|| BackendError::invalid(format!("a timestamp out of range: {us} µs")))
}

/// Every row of `batch` as TabSeparated lines, with `extra` fields appended to each row.
pub fn batch_rows(
    batch: &RecordBatch,
    extra: &[&str],
    out: &mut String,
) -> Result<(), BackendError> {
    for row in 0..batch.num_rows() {
        for (i, column) in batch.columns().iter().enumerate() {
            if i > 0 {
                out.push('\t');
            }
            cell(column, row, out)?;
        }
        for field in extra {
            out.push('\t');
            out.push_str(field);
        }
        out.push('\n');
    }
    Ok(())
}

/// The Arrow type a timeline column is read as.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Text.
    Text,
    /// A 64-bit integer.
    Int,
    /// A boolean (`true`/`false`, or `1`/`0`).
    Bool,
}

/// A TabSeparated answer read into a batch of the given columns.
pub fn read_batch(body: &str, columns: &[(&str, Kind)]) -> Result<RecordBatch, BackendError> {
    enum Builder {
        Text(StringBuilder),
        Int(Int64Builder),
        Bool(BooleanBuilder),
    }
    let mut builders: Vec<Builder> = columns
        .iter()
        .map(|(_, kind)| match kind {
            Kind::Text => Builder::Text(StringBuilder::new()),
            Kind::Int => Builder::Int(Int64Builder::new()),
            Kind::Bool => Builder::Bool(BooleanBuilder::new()),
        })
        .collect();
    for line in body.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != columns.len() {
            return Err(BackendError::invalid(format!(
                "a timeline row of {} fields, not {}",
                fields.len(),
                columns.len()
            )));
        }
        for (builder, text) in builders.iter_mut().zip(fields) {
            let value = tsv_field(text);
            match builder {
                Builder::Text(b) => b.append_option(value),
                Builder::Int(b) => b.append_option(value.map(|v| v.parse().unwrap_or(0))),
                Builder::Bool(b) => b.append_option(value.map(|v| v == "true" || v == "1")),
            }
        }
    }
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for ((name, _), builder) in columns.iter().zip(builders) {
        let (ty, array): (DataType, ArrayRef) = match builder {
            Builder::Text(mut b) => (DataType::Utf8, Arc::new(b.finish())),
            Builder::Int(mut b) => (DataType::Int64, Arc::new(b.finish())),
            Builder::Bool(mut b) => (DataType::Boolean, Arc::new(b.finish())),
        };
        fields.push(Field::new(*name, ty, true));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| BackendError::invalid(format!("timeline rows: {e}")))
}
