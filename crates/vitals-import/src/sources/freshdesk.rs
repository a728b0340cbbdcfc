//! `--from freshdesk`: the ticket CSV export (Admin → Tickets → Export; local times, so
//! `--tz` is required), conversations (`*conversation*.json`, the Conversations API) and
//! CSAT (`*satisfaction*.json` / `*rating*.json`, the Satisfaction Ratings API).
//!
//! Mapping (README "Importers"):
//! - ticket: `Ticket ID`, `Created time`, `Source` → channel (Portal, Feedback Widget,
//!   Forum → web; Outbound Email → email; Twitter, Facebook, Instagram → social; WhatsApp,
//!   Mobihelp → messaging; others lower-cased), `Type` → category, `Priority` (Medium →
//!   normal), `Contact ID` (else `Email`) → customer, `Group` → team, `Agent` → agent, tag
//!   `complaint` → is_complaint, `Time tracked` (h:mm[:ss]) → handle time.
//! - `Resolved time` → a `status` solved event, `Closed time` → a `status` closed event.
//! - With a conversations file: `incoming` → customer message, `private` → agent note, else
//!   a public agent reply. Without one, `Initial response time` becomes the first agent reply
//!   (so first response time still works, but replies per ticket do not).
//! - CSAT: `ratings.default_question` on Freshdesk's scale (−103 … 103) → `csat` 1–7
//!   (−103 → 1, −102 → 2, −101 → 3, 100 → 4, 101 → 5, 102 → 6, 103 → 7); the top box is
//!   6–7 (Very and Extremely Happy; the 3-point survey's Happy is 7).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::json::{read_items, text};
use super::tabular::{read_rows, Row, CSV};
use super::{by_kind, file_name, Emitter, Rec};
use crate::ImportError;

const REQUIRED: &[&str] = &["Ticket ID", "Created time", "Source"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Tickets,
    Conversations,
    Ratings,
}

fn kind(path: &Path) -> Result<Kind, ImportError> {
    let name = file_name(path);
    if name.ends_with(".csv") {
        Ok(Kind::Tickets)
    } else if name.contains("conversation") {
        Ok(Kind::Conversations)
    } else if name.contains("satisfaction") || name.contains("rating") {
        Ok(Kind::Ratings)
    } else {
        Err(ImportError::Format {
            path: path.to_path_buf(),
            message: "cannot tell which Freshdesk export this is: the ticket export is a .csv; name JSON files conversations*.json or satisfaction_ratings*.json".into(),
        })
    }
}

pub(crate) fn import(files: &[PathBuf], out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let kinds = by_kind(files, kind)?;
    let conversations = kinds.iter().any(|(k, _)| *k == Kind::Conversations);
    for (kind, path) in kinds {
        match kind {
            Kind::Tickets => read_rows(path, &CSV, REQUIRED, out, |row, out| {
                ticket_row(row, !conversations, out)
            })?,
            Kind::Conversations => read_items(path, &["conversations"], out, conversation)?,
            Kind::Ratings => read_items(path, &["satisfaction_ratings"], out, rating)?,
        }
    }
    Ok(())
}

fn ticket_row(
    row: &Row<'_>,
    first_reply_from_csv: bool,
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    let raw = || row.raw();
    let id = row.get("Ticket ID");
    let handle = match row.get("Time tracked").map(duration_secs) {
        Some(Some(secs)) => Some(secs),
        Some(None) => {
            let reason = "`Time tracked` is not h:mm or h:mm:ss".into();
            return out.reject(row.line, Some("Time tracked"), reason, raw());
        }
        None => None,
    };
    let complaint = row.get("Tags").is_some_and(|tags| {
        tags.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("complaint"))
    });
    let ticket = Rec::new("tickets")
        .set("ticket_id", id)
        .set("created_at", row.get("Created time"))
        .set("channel", row.get("Source").map(channel))
        .set("category", row.get("Type"))
        .set("priority", row.get("Priority").map(priority))
        .set("customer_id", row.get("Contact ID").or(row.get("Email")))
        .set("team", row.get("Group"))
        .set("agent_id", row.get("Agent"))
        .set("is_complaint", complaint)
        .set("handle_secs", handle);
    out.emit(ticket, row.line, &raw)?;
    let event = |suffix: &str, at: &str| {
        Rec::new("ticket_events")
            .set("event_id", format!("{}:{suffix}", id.unwrap_or_default()))
            .set("ticket_id", id)
            .set("at", at)
    };
    if first_reply_from_csv {
        if let Some(at) = row.get("Initial response time") {
            let reply = event("first_response", at)
                .set("kind", "message")
                .set("author_role", "agent")
                .set("author_id", row.get("Agent"))
                .set("public", true);
            out.emit(reply, row.line, &raw)?;
        }
    }
    for (column, status) in [("Resolved time", "solved"), ("Closed time", "closed")] {
        if let Some(at) = row.get(column) {
            let rec = event(status, at)
                .set("kind", "status")
                .set("status", status)
                .set("author_role", "agent");
            out.emit(rec, row.line, &raw)?;
        }
    }
    Ok(())
}

fn channel(source: &str) -> String {
    match source.to_ascii_lowercase().as_str() {
        "portal" | "feedback widget" | "forum" => "web".into(),
        "outbound email" => "email".into(),
        "twitter" | "facebook" | "instagram" => "social".into(),
        "whatsapp" | "mobihelp" => "messaging".into(),
        other => other.to_string(),
    }
}

fn priority(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "medium" => "normal".into(),
        other => other.to_string(),
    }
}

/// `h:mm` or `h:mm:ss` as seconds.
fn duration_secs(text: &str) -> Option<f64> {
    let parts: Vec<f64> = text
        .split(':')
        .map(|p| p.trim().parse::<f64>().ok())
        .collect::<Option<_>>()?;
    match parts[..] {
        [h, m] => Some(h * 3600.0 + m * 60.0),
        [h, m, s] => Some(h * 3600.0 + m * 60.0 + s),
        _ => None,
    }
}

fn conversation(c: Value, line: u64, out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let raw = || c.to_string();
    let incoming = c.get("incoming").and_then(Value::as_bool).unwrap_or(false);
    let private = c.get("private").and_then(Value::as_bool).unwrap_or(false);
    let (kind, role) = match (incoming, private) {
        (true, _) => ("message", "customer"),
        (false, true) => ("note", "agent"),
        (false, false) => ("message", "agent"),
    };
    let rec = Rec::new("ticket_events")
        .set(
            "event_id",
            text(c.get("id")).map(|id| format!("conversation:{id}")),
        )
        .set("ticket_id", text(c.get("ticket_id")))
        .set("at", text(c.get("created_at")))
        .set("kind", kind)
        .set("author_role", role)
        .set("author_id", text(c.get("user_id")))
        .set("public", !private);
    out.emit(rec, line, &raw)
}

/// Freshdesk's rating value on the 1–7 scale.
fn rating_score(value: i64) -> Option<f64> {
    match value {
        -103..=-101 => Some((value + 104) as f64),
        100 => Some(4.0),
        101..=103 => Some((value - 96) as f64),
        _ => None,
    }
}

fn rating(r: Value, line: u64, out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let raw = || r.to_string();
    let value = r
        .get("ratings")
        .and_then(|v| v.get("default_question"))
        .and_then(Value::as_i64);
    let Some(score) = value.and_then(rating_score) else {
        let reason = format!(
            "`ratings.default_question` is {}: not a Freshdesk rating (−103 … −101, 100 … 103)",
            value.map_or("missing".into(), |v| v.to_string())
        );
        return out.reject(line, Some("ratings.default_question"), reason, raw());
    };
    let response = Rec::new("survey_responses")
        .set("response_id", text(r.get("id")))
        .set("survey", "csat")
        .set("score", score)
        .set("scale_min", 1.0)
        .set("scale_max", 7.0)
        .set("answered_at", text(r.get("created_at")))
        .set("ticket_id", text(r.get("ticket_id")))
        .set("customer_id", text(r.get("user_id")))
        .set("agent_id", text(r.get("agent_id")))
        .set("comment", text(r.get("feedback")));
    out.emit(response, line, &raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshdesk_ratings_map_onto_one_to_seven() {
        assert_eq!(rating_score(-103), Some(1.0));
        assert_eq!(rating_score(-101), Some(3.0));
        assert_eq!(rating_score(100), Some(4.0));
        assert_eq!(rating_score(103), Some(7.0));
        assert_eq!(rating_score(5), None);
    }

    #[test]
    fn tracked_time_reads_hours_minutes_seconds() {
        assert_eq!(duration_secs("1:30"), Some(5400.0));
        assert_eq!(duration_secs("0:02:05"), Some(125.0));
        assert_eq!(duration_secs("abc"), None);
    }
}
