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
//!   `bot` message (never a reply); template → `system` message.
//! - Activity messages carry the status and assignment history in Chatwoot's own English
//!   wording (`conversations.activity.*` of its locale file), read by [`activity`]: "Conversation
//!   was marked resolved …" / "… was resolved by CONTACT" → solved, "… was reopened …" / "…
//!   was marked open …" / "System reopened …" → open, "… marked as pending …" → pending, "…
//!   snoozed …" → on_hold, "Assigned to AGENT by …" and "Assigned to AGENT via TEAM by …" →
//!   assign AGENT, "Conversation unassigned by …" → assign nobody, "NAME self-assigned this
//!   conversation" → assign NAME. "Assigned to TEAM by …" has the same shape as an agent
//!   assignment: it is a team when TEAM is a team the conversations file names
//!   (`meta.team.name`) and not an agent (conversation assignees and message senders), and a
//!   team change is not an assignment ("Unassigned from TEAM by …" neither). Other activity
//!   (labels, priority, SLA) is not timeline data.
//! - Agents are named by name throughout (activity text names them, not their ids).
//! - CSAT: `rating` 1–5 → `csat`, ticket = `conversation_id`, agent = `assigned_agent.name`.

use std::collections::{HashMap, HashSet};
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
    let mut names = Names::default();
    for (kind, path) in kinds {
        match kind {
            Kind::Conversations => read_items(path, &["data", "payload"], out, |c, line, out| {
                names.learn_conversation(&c);
                conversation(c, line, out)
            })?,
            Kind::Messages => read_items(path, &["data", "payload"], out, |m, line, out| {
                message(m, line, &mut names, out)
            })?,
            Kind::Csat => read_items(path, &["data", "payload"], out, csat)?,
        }
    }
    Ok(())
}

/// What the export teaches about names, to tell a team from an agent in activity text.
#[derive(Default)]
struct Names {
    /// Conversation id → its team (`meta.team.name`).
    team_of: HashMap<String, String>,
    /// Every team a conversation names.
    teams: HashSet<String>,
    /// Agents: conversation assignees and the users who sent messages.
    agents: HashSet<String>,
}

impl Names {
    fn learn_conversation(&mut self, c: &Value) {
        if let Some(team) = text(at(c, &["meta", "team", "name"])) {
            if let Some(id) = text(c.get("id")) {
                self.team_of.insert(id, team.clone());
            }
            self.teams.insert(team);
        }
        if let Some(agent) = person(at(c, &["meta", "assignee"])) {
            self.agents.insert(agent);
        }
    }

    /// Whether `name`, assigned in `conversation`, is a team rather than an agent.
    fn is_team(&self, name: &str, conversation: Option<&str>) -> bool {
        let own = conversation.and_then(|c| self.team_of.get(c));
        own.is_some_and(|t| t == name) || (self.teams.contains(name) && !self.agents.contains(name))
    }

    /// "AGENT via TEAM" split at the ` via ` before a known team, else at the first one.
    fn split_via<'t>(&self, target: &'t str) -> Option<(&'t str, &'t str)> {
        let splits: Vec<usize> = target.match_indices(" via ").map(|(i, _)| i).collect();
        let at = splits
            .iter()
            .copied()
            .find(|&i| self.teams.contains(&target[i + 5..]))
            .or_else(|| splits.first().copied())?;
        Some((&target[..at], &target[at + 5..]))
    }
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

fn message(
    m: Value,
    line: u64,
    names: &mut Names,
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    let raw = || m.to_string();
    let private = m.get("private").and_then(Value::as_bool).unwrap_or(false);
    let sender_type = text(m.get("sender_type")).or_else(|| text(at(&m, &["sender", "type"])));
    let sender = person(m.get("sender")).or_else(|| text(m.get("sender_id")));
    let conversation = text(m.get("conversation_id"));
    let base = Rec::new("ticket_events")
        .set(
            "event_id",
            text(m.get("id")).map(|id| format!("message:{id}")),
        )
        .set("ticket_id", conversation.clone())
        .set_time("at", time(m.get("created_at")));
    let rec = match message_type(&m) {
        Some("incoming") => base
            .set("kind", "message")
            .set("author_role", "customer")
            .set("author_id", sender),
        Some("outgoing") => {
            let by_user = matches!(sender_type.as_deref(), Some("User" | "user"));
            if let (true, Some(name)) = (by_user, &sender) {
                names.agents.insert(name.clone());
            }
            let role = if by_user { "agent" } else { "bot" };
            base.set("kind", if private { "note" } else { "message" })
                .set("author_role", role)
                .set("author_id", sender)
                .set("public", !private)
        }
        Some("template") => base.set("kind", "message").set("author_role", "system"),
        Some(_) => {
            let content = text(m.get("content")).unwrap_or_default();
            match activity(&content, conversation.as_deref(), names) {
                Activity::Status(s) => base.set("kind", "status").set("status", s),
                Activity::Assign(agent) => base.set("kind", "assign").set("agent_id", agent),
                Activity::Team => {
                    out.skip(
                        "Chatwoot team change (a team is not an agent; the assignee is unchanged)",
                    );
                    return Ok(());
                }
                Activity::Other => {
                    out.skip("Chatwoot activity that is not a status or assignment change");
                    return Ok(());
                }
            }
        }
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
    /// A team was assigned or removed; the assignee did not change.
    Team,
    Other,
}

/// Status changes by the start of Chatwoot's activity text (case ignored).
const STATUS_TEXTS: &[(&str, &str)] = &[
    ("conversation was marked resolved", "solved"),
    ("conversation was resolved by", "solved"),
    ("conversation was reopened", "open"),
    ("conversation was marked open", "open"),
    ("system reopened the conversation", "open"),
    ("conversation was marked as pending", "pending"),
    ("conversation was snoozed", "on_hold"),
];

/// The status or assignment change an activity message of `conversation` describes.
fn activity(content: &str, conversation: Option<&str>, names: &Names) -> Activity {
    let content = content.trim();
    let lower = content.to_lowercase();
    if let Some((_, status)) = STATUS_TEXTS.iter().find(|(p, _)| lower.starts_with(p)) {
        return Activity::Status(status);
    }
    if lower.starts_with("conversation unassigned by") {
        return Activity::Assign(None);
    }
    if lower.starts_with("unassigned from ") {
        return Activity::Team;
    }
    if let Some(name) = content.strip_suffix(" self-assigned this conversation") {
        return Activity::Assign(Some(name.trim().to_string()));
    }
    let Some(rest) = content.strip_prefix("Assigned to ") else {
        return Activity::Other;
    };
    let target = rest
        .rsplit_once(" by ")
        .map_or(rest, |(target, _)| target)
        .trim();
    if names.is_team(target, conversation) {
        return Activity::Team;
    }
    if let Some((agent, _team)) = names
        .split_via(target)
        .filter(|_| !names.agents.contains(target))
    {
        return Activity::Assign(Some(agent.trim().to_string()));
    }
    Activity::Assign(Some(target.to_string()))
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

    fn names() -> Names {
        let mut names = Names::default();
        names.learn_conversation(&serde_json::json!({
            "id": 7, "meta": {"team": {"name": "Billing"}, "assignee": {"name": "Bo Li"}}
        }));
        names.learn_conversation(&serde_json::json!({
            "id": 8, "meta": {"team": {"name": "Tier 2 via phone"}, "assignee": null}
        }));
        names
    }

    #[test]
    fn activity_text_gives_status_and_assignment() {
        let n = names();
        let act = |text| activity(text, Some("7"), &n);
        assert_eq!(
            act("Conversation was marked resolved by Ana"),
            Activity::Status("solved")
        );
        assert_eq!(
            act("Conversation was resolved by Cara"),
            Activity::Status("solved")
        );
        assert_eq!(
            act("Conversation was reopened by Ana"),
            Activity::Status("open")
        );
        assert_eq!(
            act("System reopened the conversation due to a new incoming message."),
            Activity::Status("open")
        );
        assert_eq!(
            act("Conversation was marked as pending by Ana"),
            Activity::Status("pending")
        );
        assert_eq!(
            act("Assigned to Bo Li by Ana"),
            Activity::Assign(Some("Bo Li".into()))
        );
        assert_eq!(
            act("Ana self-assigned this conversation"),
            Activity::Assign(Some("Ana".into()))
        );
        assert_eq!(
            act("Conversation unassigned by Ana"),
            Activity::Assign(None)
        );
        assert_eq!(act("Ana added billing, reopened"), Activity::Other);
        assert_eq!(act("Ana set the priority to urgent"), Activity::Other);
    }

    #[test]
    fn team_assignments_are_not_agent_assignments() {
        let n = names();
        // The conversation's own team, another conversation's team, a team removal.
        assert_eq!(
            activity("Assigned to Billing by Ana", Some("7"), &n),
            Activity::Team
        );
        assert_eq!(
            activity("Assigned to Tier 2 via phone by Ana", Some("7"), &n),
            Activity::Team
        );
        assert_eq!(
            activity("Unassigned from Billing by Ana", Some("7"), &n),
            Activity::Team
        );
        // A team change that also sets the assignee assigns the agent, not "AGENT via TEAM".
        assert_eq!(
            activity("Assigned to Bo Li via Billing by Ana", Some("7"), &n),
            Activity::Assign(Some("Bo Li".into()))
        );
        assert_eq!(
            activity(
                "Assigned to Bo Li via Tier 2 via phone by Ana",
                Some("8"),
                &n
            ),
            Activity::Assign(Some("Bo Li".into()))
        );
        // A name no conversation calls a team stays an agent.
        assert_eq!(
            activity("Assigned to Support by Ana", Some("9"), &n),
            Activity::Assign(Some("Support".into()))
        );
    }
}
