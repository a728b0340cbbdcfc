//! The operational reads on ClickHouse (`vitals_query::OperationalReads`): the SLA targets
//! still open, the annotations and one ticket's detail — the DuckDB store's statements
//! (`vitals-store`'s `sla.rs`, `annotations.rs`, `ticket.rs`) in ClickHouse's spelling, with
//! answers equal to DuckDB's: a ticket's cells as the same JSON (instants RFC 3339 in UTC
//! with the fraction only as long as needed, dates `YYYY-MM-DD`, doubles as doubles, lists as
//! arrays), read typed from `JSONCompact`'s column types. Columns whose names start with `_`
//! (the ingest sequence, the writer's row versions and tombstones) are bookkeeping, not shown.

use chrono::NaiveDate;
use serde_json::{Map, Value};
use vitals_query::sla::OpenSlaTarget;
use vitals_query::{Annotation, EngineError, OperationalReads};

use crate::client::literal;
use crate::reader::{ClickHouseReader, ReadError};

/// A ClickHouse cell of type `ty` (from `JSONCompact`) as the DuckDB store shows it.
fn json_of(ty: &str, value: Value) -> Value {
    let ty = ty
        .strip_prefix("Nullable(")
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(ty);
    if value.is_null() {
        return Value::Null;
    }
    if let Some(inner) = ty.strip_prefix("Array(").and_then(|t| t.strip_suffix(')')) {
        return match value {
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| json_of(inner, v)).collect())
            }
            other => other,
        };
    }
    let text = match &value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if ty.starts_with("DateTime") {
        return chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
            .map_or(Value::Null, |t| {
                Value::String(t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
            });
    }
    if ty.starts_with("Int") || ty.starts_with("UInt") {
        return text.parse::<i64>().map_or(value, Value::from);
    }
    if ty.starts_with("Float") {
        return text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number);
    }
    value
}

impl ClickHouseReader {
    /// Rows of `sql` (a `SELECT`) as JSON objects by column name.
    fn objects(&self, sql: &str) -> Result<Vec<Map<String, Value>>, ReadError> {
        let body = self.text(&format!(
            "{sql} FORMAT JSONCompact SETTINGS output_format_json_quote_64bit_integers = 0"
        ))?;
        let answer: Value = serde_json::from_str(&body).map_err(|e| ReadError::Answer {
            what: "a ticket's detail",
            detail: e.to_string(),
        })?;
        let columns: Vec<(String, String)> = answer["meta"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c["type"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let rows = match answer.get("data") {
            Some(Value::Array(rows)) => rows.clone(),
            _ => Vec::new(),
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let cells = match row {
                    Value::Array(cells) => cells,
                    _ => Vec::new(),
                };
                columns
                    .iter()
                    .zip(cells)
                    .map(|((name, ty), cell)| (name.clone(), json_of(ty, cell)))
                    .collect()
            })
            .collect())
    }

    /// The non-bookkeeping columns of `table`'s rows of ticket `id`, ordered by `order`, without
    /// `ticket_id` when `drop_ticket` (the facts).
    fn ticket_rows(
        &self,
        table: &str,
        id: &str,
        order: &str,
        drop_ticket: bool,
    ) -> Result<Vec<Map<String, Value>>, ReadError> {
        let mut rows = self.objects(&format!(
            "SELECT COLUMNS('^[^_]') FROM {} WHERE ticket_id = {} ORDER BY {order}",
            self.table(table),
            literal(id)
        ))?;
        if drop_ticket {
            for row in &mut rows {
                row.remove("ticket_id");
            }
        }
        Ok(rows)
    }

    fn read_open_sla_targets(&self) -> Result<Vec<OpenSlaTarget>, ReadError> {
        let sql = format!(
            "SELECT s.ticket_id, t.team, t.priority, t.agent_id, s.policy, s.target, s.target_secs,
                    s.clock = 'business', s.at_risk, toUnixTimestamp64Micro(s.started_at),
                    s.elapsed_secs, toUnixTimestamp64Micro(s.running_since),
                    toUnixTimestamp64Micro(s.due_at)
             FROM {} s LEFT JOIN {} t ON t.ticket_id = s.ticket_id
             WHERE s.ended_at IS NULL ORDER BY s.started_at, s.ticket_id, s.target",
            self.table("fact_sla"),
            self.table("fact_tickets")
        );
        let rows = self.rows(&sql, 13, "open SLA targets")?;
        let bad = |what: &str| ReadError::Answer {
            what: "open SLA targets",
            detail: format!("{what} is not a number"),
        };
        let float = |v: &Option<String>, what: &str| {
            v.as_deref()
                .and_then(|t| t.parse::<f64>().ok())
                .ok_or_else(|| bad(what))
        };
        let int = |v: &Option<String>| v.as_deref().and_then(|t| t.parse::<i64>().ok());
        rows.into_iter()
            .map(|r| {
                Ok(OpenSlaTarget {
                    ticket_id: r[0].clone().unwrap_or_default(),
                    team: r[1].clone(),
                    priority: r[2].clone(),
                    agent_id: r[3].clone(),
                    policy: r[4].clone().unwrap_or_default(),
                    target: r[5].clone().unwrap_or_default(),
                    target_secs: float(&r[6], "target_secs")?,
                    business: matches!(r[7].as_deref(), Some("1" | "true")),
                    at_risk: float(&r[8], "at_risk")?,
                    started_at: int(&r[9]).ok_or_else(|| bad("started_at"))?,
                    elapsed_secs: float(&r[10], "elapsed_secs")?,
                    running_since: int(&r[11]),
                    due_at: int(&r[12]),
                })
            })
            .collect()
    }

    /// Every annotation not deleted, by date then id.
    pub(crate) fn read_annotations(&self) -> Result<Vec<Annotation>, ReadError> {
        let rows = self.rows(
            &format!(
                "SELECT id, toString(date), text, category FROM {} WHERE deleted = 0 ORDER BY date, id",
                self.table("vitals_annotations")
            ),
            4,
            "annotations",
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(Annotation {
                    id: r[0].as_deref()?.parse().ok()?,
                    date: NaiveDate::parse_from_str(r[1].as_deref()?, "%Y-%m-%d").ok()?,
                    text: r[2].clone()?,
                    category: r[3].clone(),
                })
            })
            .collect())
    }

    fn read_ticket_detail(&self, id: &str) -> Result<Option<Value>, ReadError> {
        let Some(record) = self
            .ticket_rows("tickets", id, "ticket_id", false)?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let timeline = self.ticket_rows("ticket_events", id, "\"at\", _ord", false)?;
        let facts = self
            .ticket_rows("fact_tickets", id, "ticket_id", true)?
            .into_iter()
            .next();
        let replies = self.ticket_rows("fact_replies", id, "replied_at", true)?;
        let resolved = self.ticket_rows("fact_resolved_spans", id, "resolved_from", true)?;
        let sla = self.ticket_rows("fact_sla", id, "started_at, target", true)?;
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

impl OperationalReads for ClickHouseReader {
    fn open_sla_targets(&self) -> Result<Vec<OpenSlaTarget>, EngineError> {
        Ok(self.read_open_sla_targets()?)
    }

    fn annotations(&self) -> Result<Vec<Annotation>, EngineError> {
        Ok(self.read_annotations()?)
    }

    fn ticket_detail(&self, id: &str) -> Result<Option<Value>, EngineError> {
        Ok(self.read_ticket_detail(id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_read_as_the_duckdb_store_shows_them() {
        let t = "DateTime64(6, 'UTC')";
        assert_eq!(
            json_of(t, json!("2026-03-01 10:00:00.000000")),
            json!("2026-03-01T10:00:00Z")
        );
        assert_eq!(
            json_of(
                &format!("Nullable({t})"),
                json!("2026-03-01 10:00:00.250000")
            ),
            json!("2026-03-01T10:00:00.250Z")
        );
        assert_eq!(json_of("Nullable(Float64)", json!(3)), json!(3.0));
        assert_eq!(json_of("Int64", json!("12")), json!(12));
        assert_eq!(json_of("Nullable(Int64)", Value::Null), Value::Null);
        assert_eq!(json_of("Date32", json!("2026-03-01")), json!("2026-03-01"));
        assert_eq!(json_of("Array(String)", json!(["a"])), json!(["a"]));
        assert_eq!(json_of("Nullable(Bool)", json!(true)), json!(true));
    }
}
