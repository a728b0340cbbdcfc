//! `--from freshdesk`: the ticket CSV export (Admin → Tickets → Export; local times, so
//! `--tz` is required), conversations (`*conversation*.json`, the Conversations API), the
//! ticket activities export (`*activit*.json`, `{"activities_data": [...]}`) and CSAT
//! (`*satisfaction*.json` / `*rating*.json`, the Satisfaction Ratings API).
//!
//! Mapping (README "Importers"):
//! - ticket: `Ticket ID`, `Created time`, `Source` → channel (Portal, Feedback Widget,
//!   Forum → web; Outbound Email → email; Twitter, Facebook, Instagram → social; WhatsApp,
//!   Mobihelp → messaging; others lower-cased), `Type` → category, `Priority` (Medium →
//!   normal), `Contact ID` (else `Email`) → customer, `Group` → team, `Agent` → agent, tag
//!   `complaint` → is_complaint, `Time tracked` (h:mm[:ss]) → handle time.
//! - History: the CSV holds only the latest `Resolved time` and `Closed time` and the final
//!   `Agent`. With an activities file, the status and assignment history come from it
//!   ([`activity`]: `status` → a `status` event, `agent_id` → an `assign` event, at
//!   `performed_at`, by `performer_id`) and the CSV's times are not used; without one, the
//!   CSV's times become one solved and one closed event, and the import summary names what
//!   that cannot measure (reopens, first resolution, reassignment).
//! - With a conversations file: `incoming` → customer message, `private` → agent note, else
//!   a public agent reply. Without one, `Initial response time` becomes the first agent reply
//!   (so first response time still works, but replies per ticket do not).
//! - CSAT: `ratings.default_question` on Freshdesk's scale (−103 … 103) → `csat` 1–7
//!   (−103 → 1, −102 → 2, −101 → 3, 100 → 4, 101 → 5, 102 → 6, 103 → 7); the top box is
//!   6–7 (Very and Extremely Happy; the 3-point survey's Happy is 7).

use std::collections::HashMap;
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
    Activities,
    Ratings,
}

fn kind(path: &Path) -> Result<Kind, ImportError> {
    let name = file_name(path);
    if name.ends_with(".csv") {
        Ok(Kind::Tickets)
    } else if name.contains("conversation") {
        Ok(Kind::Conversations)
    } else if name.contains("activit") {
        Ok(Kind::Activities)
    } else if name.contains("satisfaction") || name.contains("rating") {
        Ok(Kind::Ratings)
    } else {
        Err(ImportError::Format {
            path: path.to_path_buf(),
            message: "cannot tell which Freshdesk export this is: the ticket export is a .csv; name JSON files conversations*.json, ticket_activities*.json or satisfaction_ratings*.json".into(),
        })
    }
}

/// What the ticket CSV cannot measure without the activities export.
const WITHOUT_ACTIVITIES: &str = "the Freshdesk ticket CSV shows only the latest `Resolved time` and the final `Agent`: reopens (reopen_rate), first resolution (first_resolution_time is the last resolution) and reassignments (fcr counts a reassigned ticket as one agent's) cannot be measured; add the ticket activities export (ticket_activities*.json) for them";
/// What the ticket CSV cannot measure without conversations.
const WITHOUT_CONVERSATIONS: &str = "without conversations (conversations*.json) only the first reply is known (the CSV's `Initial response time`): replies per ticket, later response times and fcr's one-reply rule cannot be measured";

pub(crate) fn import(files: &[PathBuf], out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let kinds = by_kind(files, kind)?;
    let has = |kind: Kind| kinds.iter().any(|(k, _)| *k == kind);
    let (conversations, activities) = (has(Kind::Conversations), has(Kind::Activities));
    if has(Kind::Tickets) {
        if !activities {
            out.note(WITHOUT_ACTIVITIES);
        }
        if !conversations {
            out.note(WITHOUT_CONVERSATIONS);
        }
    }
    let mut requesters = HashMap::new();
    for (kind, path) in kinds {
        match kind {
            Kind::Tickets => read_rows(path, &CSV, REQUIRED, out, |row, out| {
                if let (Some(id), Some(contact)) = (row.get("Ticket ID"), row.get("Contact ID")) {
                    requesters.insert(id.to_string(), contact.to_string());
                }
                let history = History {
                    first_reply: !conversations,
                    status_times: !activities,
                };
                ticket_row(row, history, out)
            })?,
            Kind::Conversations => read_items(path, &["conversations"], out, conversation)?,
            Kind::Activities => read_items(path, &["activities_data"], out, |a, line, out| {
                activity(&a, line, &requesters, out)
            })?,
            Kind::Ratings => read_items(path, &["satisfaction_ratings"], out, rating)?,
        }
    }
    Ok(())
}

/// Which events the ticket CSV stands in for.
#[derive(Clone, Copy)]
struct History {
    /// `Initial response time` as the first agent reply (no conversations file).
    first_reply: bool,
    /// `Resolved time` and `Closed time` as status events (no activities file).
    status_times: bool,
}

fn ticket_row(
    row: &Row<'_>,
    history: History,
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
    if history.first_reply {
        if let Some(at) = row.get("Initial response time") {
            let reply = event("first_response", at)
                .set("kind", "message")
                .set("author_role", "agent")
                .set("author_id", row.get("Agent"))
                .set("public", true);
            out.emit(reply, row.line, &raw)?;
        }
    }
    if history.status_times {
        for (column, status) in [("Resolved time", "solved"), ("Closed time", "closed")] {
            if let Some(at) = row.get(column) {
                let rec = event(status, at)
                    .set("kind", "status")
                    .set("status", status)
                    .set("author_role", "agent");
                out.emit(rec, row.line, &raw)?;
            }
        }
    }
    Ok(())
}

/// One item of the ticket activities export: a `status` change and / or an `agent_id`
/// change (either may come alone); anything else (notes, tags, properties) is skipped.
fn activity(
    a: &Value,
    line: u64,
    requesters: &HashMap<String, String>,
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    let raw = || a.to_string();
    let ticket = text(a.get("ticket_id"));
    let at = text(a.get("performed_at")).map(|t| activity_time(&t));
    let performer = text(a.get("performer_id"));
    let role = match text(a.get("performer_type")).as_deref() {
        Some("system") => "system",
        _ if performer.is_some()
            && ticket.as_ref().and_then(|t| requesters.get(t)) == performer.as_ref() =>
        {
            "customer"
        }
        _ => "agent",
    };
    let change = a.get("activity");
    let status = change.and_then(|c| c.get("status")).and_then(status);
    let agent = change.and_then(|c| c.get("agent_id").or_else(|| c.get("responder_id")));
    if status.is_none() && agent.is_none() {
        out.skip("Freshdesk activity without a status or agent change (notes, tags, properties)");
        return Ok(());
    }
    let stamp = at.clone().unwrap_or_default();
    let base = |what: &str| {
        Rec::new("ticket_events")
            .set(
                "event_id",
                format!(
                    "activity:{}:{stamp}:{}:{what}",
                    ticket.clone().unwrap_or_default(),
                    performer.clone().unwrap_or_default()
                ),
            )
            .set("ticket_id", ticket.clone())
            .set("at", at.clone())
            .set("author_role", role)
            .set("author_id", performer.clone())
    };
    if let Some(status) = status {
        out.emit(
            base("status").set("kind", "status").set("status", status),
            line,
            &raw,
        )?;
    }
    if let Some(agent) = agent {
        out.emit(
            base("assign")
                .set("kind", "assign")
                .set("agent_id", text(Some(agent))),
            line,
            &raw,
        )?;
    }
    Ok(())
}

/// A Freshdesk status (its name, or its number) as a canonical status; another name is
/// passed on lower-cased, for validation to judge.
fn status(value: &Value) -> Option<String> {
    let name = match value {
        Value::Number(n) => match n.as_i64()? {
            2 => "open",
            3 => "pending",
            4 => "resolved",
            5 => "closed",
            6 => "waiting on customer",
            7 => "waiting on third party",
            other => return Some(other.to_string()),
        }
        .to_string(),
        other => text(Some(other))?.to_lowercase(),
    };
    Some(
        match name.as_str() {
            "resolved" => "solved",
            "waiting on customer" => "pending",
            "waiting on third party" => "on_hold",
            other => other,
        }
        .to_string(),
    )
}

/// The activities export's `dd-mm-yyyy HH:MM:SS +zzzz` as RFC 3339; other text as it is.
fn activity_time(t: &str) -> String {
    let b = t.as_bytes();
    let shaped = b.len() == 25
        && b[2] == b'-'
        && b[5] == b'-'
        && b[10] == b' '
        && b[19] == b' '
        && matches!(b[20], b'+' | b'-')
        && t.is_ascii();
    if !shaped {
        return t.to_string();
    }
    format!(
        "{}-{}-{}T{}{}:{}",
        &t[6..10],
        &t[3..5],
        &t[0..2],
        &t[11..19],
        &t[20..23],
        &t[23..25]
    )
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
    fn activity_times_and_statuses_map() {
        assert_eq!(
            activity_time("02-03-2026 10:00:00 +0000"),
            "2026-03-02T10:00:00+00:00"
        );
        assert_eq!(
            activity_time("2026-03-02T10:00:00Z"),
            "2026-03-02T10:00:00Z"
        );
        assert_eq!(
            status(&serde_json::json!("Resolved")).as_deref(),
            Some("solved")
        );
        assert_eq!(status(&serde_json::json!(4)).as_deref(), Some("solved"));
        assert_eq!(
            status(&serde_json::json!("Waiting on Customer")).as_deref(),
            Some("pending")
        );
        assert_eq!(status(&serde_json::json!(7)).as_deref(), Some("on_hold"));
        assert_eq!(status(&serde_json::Value::Null), None);
    }

    #[test]
    fn tracked_time_reads_hours_minutes_seconds() {
        assert_eq!(duration_secs("1:30"), Some(5400.0));
        assert_eq!(duration_secs("0:02:05"), Some(125.0));
        assert_eq!(duration_secs("abc"), None);
    }
}
