//! `--from servicenow`: the incident event log (one row per update of an incident, the
//! case-level fields repeated on every row; `?` = missing; `d/m/yyyy HH:MM` local times).
//!
//! Mapping (README "Importers"):
//! - one ticket per `number`, its fields from the incident's latest row (highest
//!   `sys_mod_count`): `opened_at` → created_at, `contact_type` → channel, `category`,
//!   `priority` (`1 - Critical` → urgent, `2 - High` → high, `3 - Moderate` → normal,
//!   `4 - Low` → low), `caller_id` → customer, `assignment_group` → team, `assigned_to` →
//!   agent; first_contact_resolved = resolved with `reassignment_count` = 0 and
//!   `reopen_count` = 0 (the log has no messages to derive it from);
//! - one event per row at `sys_updated_at` by `sys_updated_by` (an agent, so every update is
//!   a touch): a `status` event when `incident_state` changes (New → new, Active → open,
//!   Awaiting User Info → pending, other Awaiting … → on_hold, Resolved → solved, Closed →
//!   closed), else an `update`; plus an `assign` event when `assigned_to` changes. State
//!   `-100` is no state: such a row adds an `update` only.
//! - The log has no customer messages or replies, so reply-based metrics (first response,
//!   replies per ticket) have no data; resolution time runs from `opened_at` to the first
//!   update to Resolved (`resolved_at` is not used: it is sometimes later than that update).

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::NaiveDateTime;

use super::tabular::{read_rows, Dialect, Row};
use super::{Emitter, Rec};
use crate::ImportError;

const DIALECT: Dialect = Dialect {
    delimiter: b',',
    missing: "?",
};

const REQUIRED: &[&str] = &[
    "number",
    "incident_state",
    "sys_mod_count",
    "opened_at",
    "sys_updated_at",
];

/// The incident's latest row, kept until the incident's rows end.
struct Latest {
    number: String,
    mod_count: i64,
    line: u64,
    raw: String,
    ticket: Rec,
}

/// What the previous row of an incident said, to see changes.
#[derive(Default)]
struct Seen {
    state: Option<&'static str>,
    assignee: Option<String>,
}

pub(crate) fn import(files: &[PathBuf], out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    for path in files {
        let mut latest: Option<Latest> = None;
        let mut seen: HashMap<String, Seen> = HashMap::new();
        read_rows(path, &DIALECT, REQUIRED, out, |row, out| {
            let number = row.get("number").unwrap_or_default().to_string();
            if latest.as_ref().is_some_and(|l| l.number != number) {
                flush(latest.take(), out)?;
            }
            if number.is_empty() {
                return out.reject(
                    row.line,
                    Some("number"),
                    "no incident number".into(),
                    row.raw(),
                );
            }
            let mod_count = match row.get("sys_mod_count").map(str::parse::<i64>) {
                Some(Ok(n)) => n,
                _ => {
                    let reason = "`sys_mod_count` is not a whole number".into();
                    return out.reject(row.line, Some("sys_mod_count"), reason, row.raw());
                }
            };
            let (updated_at, opened_at) =
                match (time(row, "sys_updated_at"), time(row, "opened_at")) {
                    (Ok(Some(u)), Ok(Some(o))) => (u, o),
                    (Err(e), _) | (_, Err(e)) => {
                        return out.reject(row.line, Some(e.0), e.1, row.raw())
                    }
                    (Ok(None), _) => {
                        let reason = "no update time".into();
                        return out.reject(row.line, Some("sys_updated_at"), reason, row.raw());
                    }
                    (_, Ok(None)) => {
                        let reason = "no opening time".into();
                        return out.reject(row.line, Some("opened_at"), reason, row.raw());
                    }
                };
            let state = row.get("incident_state").and_then(status);
            let assignee = row.get("assigned_to").map(str::to_string);
            let before = seen.entry(number.clone()).or_default();
            // Zero-padded so that updates in the same minute keep their order (ties go by id).
            let event_id = format!("{number}#{mod_count:06}");
            let author = row.get("sys_updated_by");
            let line = row.line;
            let raw = || row.raw();
            let changed_state = state.filter(|s| before.state != Some(s));
            let mut event = Rec::new("ticket_events")
                .set("event_id", event_id.as_str())
                .set("ticket_id", number.as_str())
                .set("at", updated_at.as_str())
                .set("author_role", "agent")
                .set("author_id", author);
            event = match changed_state {
                Some(s) => event.set("kind", "status").set("status", s),
                None => event.set("kind", "update"),
            };
            let assign = (assignee != before.assignee).then(|| {
                Rec::new("ticket_events")
                    .set("event_id", format!("{event_id}#assign"))
                    .set("ticket_id", number.as_str())
                    .set("at", updated_at.as_str())
                    .set("kind", "assign")
                    .set("author_id", author)
                    .set("agent_id", assignee.clone())
            });
            if state.is_some() {
                before.state = state;
            }
            before.assignee = assignee;
            out.emit(event, line, &raw)?;
            if let Some(assign) = assign {
                out.emit(assign, line, &raw)?;
            }
            if latest.as_ref().is_none_or(|l| mod_count >= l.mod_count) {
                latest = Some(Latest {
                    number,
                    mod_count,
                    line,
                    raw: row.raw(),
                    ticket: ticket(row, &opened_at),
                });
            }
            Ok(())
        })?;
        flush(latest, out)?;
    }
    Ok(())
}

fn flush(latest: Option<Latest>, out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    match latest {
        Some(l) => out.emit(l.ticket, l.line, &|| l.raw.clone()),
        None => Ok(()),
    }
}

fn ticket(row: &Row<'_>, opened_at: &str) -> Rec {
    let count = |c: &str| row.get(c).and_then(|v| v.parse::<i64>().ok());
    let resolved = matches!(row.get("incident_state"), Some("Resolved" | "Closed"));
    let fcr = match (count("reassignment_count"), count("reopen_count")) {
        (Some(a), Some(r)) if resolved => Some(a == 0 && r == 0),
        _ => None,
    };
    Rec::new("tickets")
        .set("ticket_id", row.get("number"))
        .set("created_at", opened_at)
        .set("channel", row.get("contact_type").unwrap_or("unknown"))
        .set("category", row.get("category"))
        .set("priority", row.get("priority").map(priority))
        .set("customer_id", row.get("caller_id"))
        .set("team", row.get("assignment_group"))
        .set("agent_id", row.get("assigned_to"))
        .set("first_contact_resolved", fcr)
}

/// ServiceNow's numbered priorities as the canonical words (others kept as written).
fn priority(p: &str) -> &str {
    match p.split(" - ").next().map(str::trim) {
        Some("1") => "urgent",
        Some("2") => "high",
        Some("3") => "normal",
        Some("4" | "5") => "low",
        _ => p,
    }
}

/// The canonical status of an `incident_state` (None for `-100`, which is no state).
fn status(state: &str) -> Option<&'static str> {
    match state {
        "New" => Some("new"),
        "Active" | "In Progress" => Some("open"),
        "Awaiting User Info" => Some("pending"),
        s if s.starts_with("Awaiting") || s == "On Hold" => Some("on_hold"),
        "Resolved" => Some("solved"),
        "Closed" | "Canceled" => Some("closed"),
        _ => None,
    }
}

/// A `d/m/yyyy HH:MM` cell as a zone-less ISO timestamp (the import's `--tz` applies).
fn time<'c>(row: &Row<'_>, column: &'c str) -> Result<Option<String>, (&'c str, String)> {
    let Some(text) = row.get(column) else {
        return Ok(None);
    };
    ["%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| Some(t.format("%Y-%m-%dT%H:%M:%S").to_string()))
        .ok_or_else(|| (column, format!("`{text}` is not a d/m/yyyy HH:MM time")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_priorities_map_to_canonical_words() {
        assert_eq!(status("Awaiting User Info"), Some("pending"));
        assert_eq!(status("Awaiting Vendor"), Some("on_hold"));
        assert_eq!(status("Resolved"), Some("solved"));
        assert_eq!(status("-100"), None);
        assert_eq!(priority("1 - Critical"), "urgent");
        assert_eq!(priority("3 - Moderate"), "normal");
        assert_eq!(priority("P9"), "P9");
    }
}
