//! Columnar batches of validated records: an entity's records gathered column by column into
//! Arrow arrays, the unit an importer hands a backend's [`crate::RecordSink`] (DuckDB appends
//! it in one Appender call per column; an engine fed over HTTP can send it as Arrow). A batch
//! is plain data (`Send`), so an importer can build it on another thread while the writer
//! appends the previous one.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Array, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use vitals_core::records::{ColumnType, Entity, Record, Value};

use crate::BackendError;

/// Rows per batch an importer should aim for: large enough that per-batch costs vanish,
/// small enough to keep a few batches in flight within a few megabytes.
pub const BATCH_ROWS: usize = 8192;

/// One column's builder, by the column's stored type.
enum Column {
    Text(StringBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Date(Date32Builder),
    Bool(BooleanBuilder),
    Number(Float64Builder),
    Integer(Int64Builder),
}

impl Column {
    fn new(ty: ColumnType) -> Self {
        match ty {
            ColumnType::Text | ColumnType::LowerText | ColumnType::Enum(_) => {
                Column::Text(StringBuilder::new())
            }
            ColumnType::Timestamp => Column::Timestamp(TimestampMicrosecondBuilder::new()),
            ColumnType::Date => Column::Date(Date32Builder::new()),
            ColumnType::Bool => Column::Bool(BooleanBuilder::new()),
            ColumnType::Number => Column::Number(Float64Builder::new()),
            ColumnType::Integer => Column::Integer(Int64Builder::new()),
        }
    }

    /// True when `value` can be stored in this column (null always can).
    fn fits(&self, value: &Value) -> bool {
        matches!(
            (self, value),
            (_, Value::Null)
                | (Column::Text(_), Value::Text(_))
                | (Column::Timestamp(_), Value::Timestamp(_))
                | (Column::Date(_), Value::Date(_))
                | (Column::Bool(_), Value::Bool(_))
                | (Column::Number(_), Value::Number(_))
                | (Column::Integer(_), Value::Integer(_))
        )
    }

    /// Appends one value that [`Column::fits`].
    fn push(&mut self, value: &Value) {
        match (self, value) {
            (Column::Text(b), Value::Text(s)) => b.append_value(s),
            (Column::Timestamp(b), Value::Timestamp(us)) => b.append_value(*us),
            (Column::Date(b), Value::Date(d)) => b.append_value(*d),
            (Column::Bool(b), Value::Bool(v)) => b.append_value(*v),
            (Column::Number(b), Value::Number(n)) => b.append_value(*n),
            (Column::Integer(b), Value::Integer(i)) => b.append_value(*i),
            (column, _) => column.push_null(),
        }
    }

    fn push_null(&mut self) {
        match self {
            Column::Text(b) => b.append_null(),
            Column::Timestamp(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Bool(b) => b.append_null(),
            Column::Number(b) => b.append_null(),
            Column::Integer(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> (DataType, ArrayRef) {
        match self {
            Column::Text(b) => (DataType::Utf8, Arc::new(b.finish())),
            Column::Timestamp(b) => (
                DataType::Timestamp(TimeUnit::Microsecond, None),
                Arc::new(b.finish()),
            ),
            Column::Date(b) => (DataType::Date32, Arc::new(b.finish())),
            Column::Bool(b) => (DataType::Boolean, Arc::new(b.finish())),
            Column::Number(b) => (DataType::Float64, Arc::new(b.finish())),
            Column::Integer(b) => (DataType::Int64, Arc::new(b.finish())),
        }
    }
}

/// A table's rows, column by column: the layout names each column and its type.
pub struct Columns {
    layout: Vec<(&'static str, ColumnType)>,
    columns: Vec<Column>,
    rows: usize,
}

impl Columns {
    /// No rows yet, in `layout`.
    pub fn new(layout: impl IntoIterator<Item = (&'static str, ColumnType)>) -> Self {
        let layout: Vec<_> = layout.into_iter().collect();
        Columns {
            columns: layout.iter().map(|(_, ty)| Column::new(*ty)).collect(),
            layout,
            rows: 0,
        }
    }

    /// Adds one row (one value per column, in layout order); on a mismatch nothing is added
    /// and the reason is returned.
    pub fn push(&mut self, row: &[Value]) -> Result<(), String> {
        if row.len() != self.columns.len() {
            return Err(format!(
                "{} values for {} columns",
                row.len(),
                self.columns.len()
            ));
        }
        if let Some(i) = (0..row.len()).find(|&i| !self.columns[i].fits(&row[i])) {
            return Err(format!("column `{}` holds {:?}", self.layout[i].0, row[i]));
        }
        for (column, value) in self.columns.iter_mut().zip(row) {
            column.push(value);
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The arrays, with `extra` columns after the layout's.
    fn into_batch_with(
        mut self,
        extra: Vec<(Field, ArrayRef)>,
    ) -> Result<RecordBatch, arrow::error::ArrowError> {
        let mut fields = Vec::with_capacity(self.columns.len() + extra.len());
        let mut arrays = Vec::with_capacity(self.columns.len() + extra.len());
        for (column, (name, _)) in self.columns.iter_mut().zip(&self.layout) {
            let (ty, array) = column.finish();
            fields.push(Field::new(*name, ty, true));
            arrays.push(array);
        }
        for (field, array) in extra {
            fields.push(field);
            arrays.push(array);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
    }

    /// The rows as one batch in the layout's columns.
    pub fn into_batch(self) -> Result<RecordBatch, BackendError> {
        self.into_batch_with(Vec::new())
            .map_err(|e| BackendError::invalid(format!("fact rows do not fit their table: {e}")))
    }
}

/// Validated records of one entity, column by column, in arrival order.
pub struct RecordColumns {
    entity: &'static Entity,
    columns: Columns,
}

impl RecordColumns {
    /// An empty batch of `entity`'s records.
    pub fn new(entity: &'static Entity) -> Self {
        RecordColumns {
            entity,
            columns: Columns::new(entity.columns.iter().map(|c| (c.name, c.ty))),
        }
    }

    /// Adds one validated record (one value per entity column, in column order).
    pub fn push(&mut self, record: &Record) -> Result<(), BackendError> {
        self.columns
            .push(record)
            .map_err(|what| self.mismatch(what))
    }

    fn mismatch(&self, what: String) -> BackendError {
        BackendError::invalid(format!(
            "a validated {} record does not fit its table: {what}",
            self.entity.name
        ))
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// True when the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The entity whose records these are.
    pub fn entity(&self) -> &'static Entity {
        self.entity
    }

    /// The batch in the staging table's row layout: the entity's columns, then `_import`
    /// (null until the merge) and `_ord` (`first_ord`, `first_ord + 1`, …).
    pub fn into_batch(self, first_ord: i64) -> Result<RecordBatch, BackendError> {
        let n = self.len();
        let entity = self.entity.name;
        let extra = vec![
            (
                Field::new("_import", DataType::Int64, true),
                Arc::new(Int64Array::new_null(n)) as ArrayRef,
            ),
            (
                Field::new("_ord", DataType::Int64, true),
                Arc::new(Int64Array::from_iter_values(
                    first_ord..first_ord + n as i64,
                )) as ArrayRef,
            ),
        ];
        self.columns.into_batch_with(extra).map_err(|e| {
            BackendError::invalid(format!("{entity} records do not fit their table: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::records::entity;

    #[test]
    fn a_batch_holds_each_column_in_its_type_then_the_file_order() {
        let tickets = entity("tickets").unwrap();
        let mut columns = RecordColumns::new(tickets);
        let mut record = vec![Value::Null; tickets.columns.len()];
        record[tickets.column_index("ticket_id").unwrap()] = Value::Text("T1".into());
        record[tickets.column_index("created_at").unwrap()] = Value::Timestamp(1_000_000);
        columns.push(&record).unwrap();
        columns.push(&record).unwrap();
        assert_eq!(columns.len(), 2);
        let batch = columns.into_batch(41).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.num_columns(), tickets.columns.len() + 2);
        let created = tickets.column_index("created_at").unwrap();
        assert_eq!(
            batch.schema().field(created).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        let ord = batch.column(batch.num_columns() - 1);
        let ord = ord.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(ord.values(), &[41, 42]);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_an_error_not_a_silent_null() {
        let tickets = entity("tickets").unwrap();
        let mut columns = RecordColumns::new(tickets);
        let mut record = vec![Value::Null; tickets.columns.len()];
        record[tickets.column_index("created_at").unwrap()] = Value::Text("yesterday".into());
        let err = columns.push(&record).unwrap_err().to_string();
        assert!(err.contains("created_at"), "{err}");
        assert_eq!(columns.len(), 0);
        assert_eq!(
            columns.into_batch(1).unwrap().num_rows(),
            0,
            "nothing half-added"
        );
    }
}
