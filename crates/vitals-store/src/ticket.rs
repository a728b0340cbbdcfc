//! One ticket explained (the server's `GET /api/v1/tickets/{id}`): its record, its timeline in
//! order, and the facts derived from it — first reply, resolutions, reopens, each reply's
//! wait, resolved spans and SLA targets — so any number can be followed down to one ticket.

use duckdb::types::{TimeUnit, ValueRef};
use serde_json::{Map, Value};

use crate::error::{Context, StoreError};
use crate::Reader;

/// A cell as JSON: timestamps as RFC 3339 UTC, dates as `YYYY-MM-DD`, lists as arrays.
fn json_of(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Boolean(b) => Value::Bool(b),
        ValueRef::TinyInt(i) => i.into(),
        ValueRef::SmallInt(i) => i.into(),
        ValueRef::Int(i) => i.into(),
        ValueRef::BigInt(i) => i.into(),
        ValueRef::HugeInt(i) => Value::String(i.to_string()),
        ValueRef::UTinyInt(i) => i.into(),
        ValueRef::USmallInt(i) => i.into(),
        ValueRef::UInt(i) => i.into(),
        ValueRef::UBigInt(i) => i.into(),
        ValueRef::Float(f) => {
            serde_json::Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number)
        }
        ValueRef::Double(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Timestamp(unit, n) => {
            let us = match unit {
                TimeUnit::Second => n.saturating_mul(1_000_000),
                TimeUnit::Millisecond => n.saturating_mul(1_000),
                TimeUnit::Microsecond => n,
                TimeUnit::Nanosecond => n / 1_000,
            };
            chrono::DateTime::from_timestamp_micros(us).map_or(Value::Null, |t| {
                Value::String(t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
            })
        }
        ValueRef::Date32(days) => chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163)
            .map_or(Value::Null, |d| Value::String(d.to_string())),
        other => match other.to_owned() {
            duckdb::types::Value::List(items) => Value::Array(
                items
                    .into_iter()
                    .map(|v| match v {
                        duckdb::types::Value::Text(t) => Value::String(t),
                        duckdb::types::Value::Null => Value::Null,
                        v => Value::String(format!("{v:?}")),
                    })
                    .collect(),
            ),
            v => Value::String(format!("{v:?}")),
        },
    }
}

impl Reader {
    /// Rows of `sql` (one `?` bound to `id`) as JSON objects by column name.
    fn rows_of(&self, sql: &str, id: &str) -> Result<Vec<Map<String, Value>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(sql)
            .context(|| format!("preparing {sql}"))?;
        let mut rows = stmt.query([id]).context(|| format!("running {sql}"))?;
        let names: Vec<String> = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
        let mut out = Vec::new();
        while let Some(row) = rows.next().context(|| format!("reading {sql}"))? {
            let mut object = Map::new();
            for (i, name) in names.iter().enumerate() {
                let value = row.get_ref(i).context(|| format!("reading {name}"))?;
                object.insert(name.clone(), json_of(value));
            }
            out.push(object);
        }
        Ok(out)
    }

    /// The ticket with this id, its timeline and its facts; `None` when there is no such ticket.
    pub fn ticket_detail(&self, id: &str) -> Result<Option<Value>, StoreError> {
        let record = self.rows_of(
            "SELECT * EXCLUDE (_import, _ord) FROM tickets WHERE ticket_id = ?",
            id,
        )?;
        let Some(record) = record.into_iter().next() else {
            return Ok(None);
        };
        let timeline = self.rows_of(
            "SELECT * EXCLUDE (_import, _ord) FROM ticket_events WHERE ticket_id = ? ORDER BY \"at\", _ord",
            id,
        )?;
        let facts = self
            .rows_of(
                "SELECT * EXCLUDE (ticket_id) FROM fact_tickets WHERE ticket_id = ?",
                id,
            )?
            .into_iter()
            .next();
        let replies = self.rows_of(
            "SELECT * EXCLUDE (ticket_id) FROM fact_replies WHERE ticket_id = ? ORDER BY replied_at",
            id,
        )?;
        let resolved = self.rows_of(
            "SELECT * EXCLUDE (ticket_id) FROM fact_resolved_spans WHERE ticket_id = ? ORDER BY resolved_from",
            id,
        )?;
        let sla = self.rows_of(
            "SELECT * EXCLUDE (ticket_id) FROM fact_sla WHERE ticket_id = ? ORDER BY started_at, target",
            id,
        )?;
        Ok(Some(serde_json::json!({
            "ticket": record,
            "timeline": timeline,
            "facts": facts,
            "replies": replies,
            "resolved_spans": resolved,
            "sla": sla,
        })))
    }
}
