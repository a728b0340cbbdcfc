//! `--from chatwoot`: Chatwoot API JSON, told apart by file name — `*conversation*.json`
//! (the conversations list, `{"data": {"payload": [...]}}`), `*message*.json` (a
//! conversation's messages, `{"payload": [...]}`) and `*csat*.json` (CSAT survey responses).
//!
//! Mapping (README "Importers"):
//! - conversation → ticket: `id`, `created_at` (Unix seconds), `meta.channel` → channel
//!   (WebWidget → chat, Email → email, Api → api, Whatsapp, Sms, Telegram, Line → messaging,
//!   FacebookPage, TwitterProfile, Instagram → social), first label → category, `priority`
//!   (medium → normal), `meta.sender.id` → customer, `meta.team.name` → team,
//!   `meta.assignee.name` → agent.
//! - messages: `message_type` incoming → customer `message`; outgoing by a `User` → agent
//!   reply, or `note` when `private`; outgoing by an `AgentBot` (or any non-user sender) →
//!   `bot` message (never a reply); template → `system` message. Activity messages carry the
//!   status and assignment history in English text: "… marked resolved …" → solved,
//!   "… reopened …" → open, "… marked as pending …" → pending, "… snoozed …" → on_hold,
//!   "Assigned to NAME by …" → assign NAME, "… unassigned …" → assign nobody, "NAME
//!   self-assigned …" → assign NAME; other activity (labels, teams) is not timeline data.
//! - Agents are named by name throughout (activity text names them, not their ids).
//! - CSAT: `rating` 1–5 → `csat`, ticket = `conversation_id`, agent = `assigned_agent.name`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::json::{at, read_items, text};
use super::{by_kind, file_name, Emitter, Instant, Rec};
use crate::ImportError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Conversations,
    Messages,
    Csat,
}

fn kind(path: &Path) -> Result<Kind, ImportError> {
    let name = file_name(path);
    if name.contains("csat") || name.contains("survey") {
        Ok(Kind::Csat)
    } else if name.contains("message") {
        Ok(Kind::Messages)
    } else if name.contains("conversation") {
        Ok(Kind::Conversations)
    } else {
        Err(ImportError::Format {
            path: path.to_path_buf(),
            message: "cannot tell which Chatwoot export this is: name it conversations*.json, messages*.json or csat*.json".into(),
        })
    }
}

pub(crate) fn import(files: &[PathBuf], out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let kinds = by_kind(files, kind)?;
    for (kind, path) in kinds {
        match kind {
            Kind::Conversations => read_items(path, &["data", "payload"], out, conversation)?,
            Kind::Messages => read_items(path, &["data", "payload"], out, message)?,
            Kind::Csat => read_items(path, &["data", "payload"], out, csat)?,
        }
    }
    Ok(())
}

/// A Chatwoot time: Unix seconds, or an ISO 8601 text.
enum Time {
    Instant(Instant),
    Text(String),
}

fn time(value: Option<&Value>) -> Option<Time> {
    match value? {
        Value::Number(n) => n
            .as_f64()
            .map(|s| Time::Instant(Instant((s * 1e6).round() as i64))),
        other => text(Some(other)).map(Time::Text),
    }
}

trait SetTime {
    fn set_time(self, column: &str, t: Option<Time>) -> Self;
}

impl SetTime for Rec {
    fn set_time(self, column: &str, t: Option<Time>) -> Rec {
        match t {
            Some(Time::Instant(i)) => self.set(column, i),
            Some(Time::Text(s)) => self.set(column, s),
            None => self.set(column, None::<&str>),
        }
    }
}

fn conversation(c: Value, line: u64, out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let raw = || c.to_string();
    let category = c
        .get("labels")
        .and_then(Value::as_array)
        .and_then(|labels| labels.first())
        .and_then(|l| text(Some(l)));
    let priority = text(c.get("priority")).map(|p| if p == "medium" { "normal".into() } else { p });
    let ticket = Rec::new("tickets")
        .set("ticket_id", text(c.get("id")))
        .set_time("created_at", time(c.get("created_at")))
        .set(
            "channel",
            text(at(&c, &["meta", "channel"])).map(|ch| channel(&ch).to_string()),
        )
        .set("category", category)
        .set("priority", priority)
        .set("customer_id", text(at(&c, &["meta", "sender", "id"])))
        .set("team", text(at(&c, &["meta", "team", "name"])))
        .set("agent_id", person(at(&c, &["meta", "assignee"])));
    out.emit(ticket, line, &raw)
}

/// A person object's name, else its id.
fn person(p: Option<&Value>) -> Option<String> {
    let p = p?;
    text(p.get("name")).or_else(|| text(p.get("id")))
}

fn channel(ch: &str) -> &str {
    match ch.trim_start_matches("Channel::") {
        "WebWidget" => "chat",
        "Email" => "email",
        "Api" => "api",
        "Whatsapp" | "Sms" | "TwilioSms" | "Telegram" | "Line" => "messaging",
        "FacebookPage" | "TwitterProfile" | "Instagram" => "social",
        other => other,
    }
}

/// `message_type` as a word (the API writes numbers or words).
fn message_type(m: &Value) -> Option<&'static str> {
    match m.get("message_type")? {
        Value::Number(n) => match n.as_i64()? {
            0 => Some("incoming"),
            1 => Some("outgoing"),
            2 => Some("activity"),
            3 => Some("template"),
            _ => None,
        },
        Value::String(s) => ["incoming", "outgoing", "activity", "template"]
            .into_iter()
            .find(|t| t == s),
        _ => None,
    }
}

fn message(m: Value, line: u64, out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let raw = || m.to_string();
    let private = m.get("private").and_then(Value::as_bool).unwrap_or(false);
    let sender_type = text(m.get("sender_type")).or_else(|| text(at(&m, &["sender", "type"])));
    let sender = person(m.get("sender")).or_else(|| text(m.get("sender_id")));
    let base = Rec::new("ticket_events")
        .set(
            "event_id",
            text(m.get("id")).map(|id| format!("message:{id}")),
        )
        .set("ticket_id", text(m.get("conversation_id")))
        .set_time("at", time(m.get("created_at")));
    let rec = match message_type(&m) {
        Some("incoming") => base
            .set("kind", "message")
            .set("author_role", "customer")
            .set("author_id", sender),
        Some("outgoing") => {
            let by_user = matches!(sender_type.as_deref(), Some("User" | "user"));
            let role = if by_user { "agent" } else { "bot" };
            base.set("kind", if private { "note" } else { "message" })
                .set("author_role", role)
                .set("author_id", sender)
                .set("public", !private)
        }
        Some("template") => base.set("kind", "message").set("author_role", "system"),
        Some(_) => match activity(text(m.get("content")).as_deref().unwrap_or_default()) {
            Some(Activity::Status(s)) => base.set("kind", "status").set("status", s),
            Some(Activity::Assign(agent)) => base.set("kind", "assign").set("agent_id", agent),
            None => {
                out.skip("Chatwoot activity that is not a status or assignment change");
                return Ok(());
            }
        },
        None => {
            let reason =
                "`message_type` is not incoming, outgoing, activity or template (0–3)".into();
            return out.reject(line, Some("message_type"), reason, raw());
        }
    };
    out.emit(rec, line, &raw)
}

#[derive(Debug, PartialEq)]
enum Activity {
    Status(&'static str),
    Assign(Option<String>),
}

/// The status or assignment change an activity message describes.
fn activity(content: &str) -> Option<Activity> {
    let lower = content.to_lowercase();
    if lower.contains(" team by ") || lower.contains("label") {
        return None;
    }
    if lower.contains("marked resolved") || lower.contains("resolved by") {
        return Some(Activity::Status("solved"));
    }
    if lower.contains("reopened") {
        return Some(Activity::Status("open"));
    }
    if lower.contains("marked as pending") {
        return Some(Activity::Status("pending"));
    }
    if lower.contains("snoozed") {
        return Some(Activity::Status("on_hold"));
    }
    if lower.contains("unassigned") {
        return Some(Activity::Assign(None));
    }
    if let Some(rest) = content.strip_prefix("Assigned to ") {
        let name = rest.rsplit_once(" by ").map_or(rest, |(name, _)| name);
        return Some(Activity::Assign(Some(name.trim().to_string())));
    }
    if let Some((name, _)) = content.split_once(" self-assigned") {
        return Some(Activity::Assign(Some(name.trim().to_string())));
    }
    None
}

fn csat(r: Value, line: u64, out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let raw = || r.to_string();
    let response = Rec::new("survey_responses")
        .set("response_id", text(r.get("id")))
        .set("survey", "csat")
        .set("score", text(r.get("rating")))
        .set("scale_min", 1.0)
        .set("scale_max", 5.0)
        .set_time("answered_at", time(r.get("created_at")))
        .set("ticket_id", text(r.get("conversation_id")))
        .set("customer_id", text(at(&r, &["contact", "id"])))
        .set("agent_id", person(r.get("assigned_agent")))
        .set("comment", text(r.get("feedback_message")));
    out.emit(response, line, &raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_text_gives_status_and_assignment() {
        assert_eq!(
            activity("Conversation was marked resolved by Ana"),
            Some(Activity::Status("solved"))
        );
        assert_eq!(
            activity("Conversation was reopened by Ana"),
            Some(Activity::Status("open"))
        );
        assert_eq!(
            activity("Assigned to Bo Li by Ana"),
            Some(Activity::Assign(Some("Bo Li".into())))
        );
        assert_eq!(
            activity("Conversation unassigned by Ana"),
            Some(Activity::Assign(None))
        );
        assert_eq!(activity("Assigned to Billing team by Ana"), None);
        assert_eq!(activity("Ana added billing label"), None);
    }
}
