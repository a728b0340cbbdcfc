//! `--from zendesk`: Zendesk API JSON, told apart by file name — `users*.json` (Users API),
//! `tickets*.json` (Tickets / incremental export), `*audits*.json` (Ticket Audits API) and
//! `satisfaction_ratings*.json` (Satisfaction Ratings API); pages (`{"tickets": [...]}`),
//! bare arrays and NDJSON all work. Users are read first, then tickets, audits and ratings.
//!
//! Mapping (README "Importers"):
//! - ticket: `id`, `created_at`, `via.channel` → channel (voice → phone; twitter, facebook,
//!   instagram_dm → social; native_messaging, whatsapp, sms, mobile_sdk, line, wechat →
//!   messaging; others as written), category = the first tag `category_X` / `category:X`
//!   (X), else `type`; `priority`; `requester_id` → customer; `group_id` → team;
//!   `assignee_id` → agent; tag `complaint` or `escalated` → is_complaint.
//! - audit events, at the audit's `created_at`: a `Comment` is a public `message` or, when
//!   private, a `note`; `status` changes (`hold` → on_hold) are `status` events;
//!   `assignee_id` changes are `assign` events; an audit by an agent with only other changes
//!   is one `update`. The author's role: the user's `role` from the users file (end-user →
//!   customer, agent/admin → agent), else the ticket's requester → customer, `-1` → system,
//!   anyone else → agent.
//! - Bots: Zendesk's AI agents and messaging bots post as a user whose role may be `agent`.
//!   An author who would be an agent is a `bot` (never a human reply, first response or
//!   touch) when the event's or the audit's `via` is a bot's — an answer-bot via type
//!   ([`BOT_CHANNELS`], or its via id 63–67) or a `via.source.rel` naming a bot — or when the
//!   user id is in the configured list (`[import.zendesk] bot_user_ids`). A customer writing
//!   through the answer bot's widget stays a customer.
//! - CSAT: good = 1, bad = 0 on a 0–1 `csat` scale (good is the top box). From the ratings
//!   file when given (offered → a survey send at `created_at`; good/bad → a send at
//!   `created_at` and a response at `updated_at`, rated agent = `assignee_id`), else from the
//!   audits' `SatisfactionRating` events.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::json::{at, read_items, text};
use super::{by_kind, file_name, Emitter, Rec};
use crate::ImportError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Users,
    Tickets,
    Audits,
    Ratings,
}

fn kind(path: &Path) -> Result<Kind, ImportError> {
    let name = file_name(path);
    if name.contains("audit") {
        Ok(Kind::Audits)
    } else if name.contains("satisfaction") || name.contains("rating") {
        Ok(Kind::Ratings)
    } else if name.contains("user") {
        Ok(Kind::Users)
    } else if name.contains("ticket") {
        Ok(Kind::Tickets)
    } else {
        Err(ImportError::Format {
            path: path.to_path_buf(),
            message: "cannot tell which Zendesk export this is: name it users*.json, tickets*.json, ticket_audits*.json or satisfaction_ratings*.json".into(),
        })
    }
}

/// Zendesk's answer-bot via types (the via-types reference; ids 63–67 are the first five).
pub(crate) const BOT_CHANNELS: &[&str] = &[
    "answer_bot_for_agents",
    "answer_bot_for_slack",
    "answer_bot_for_sdk",
    "answer_bot_api",
    "answer_bot_for_web_widget",
    "answer_bot",
];

/// Whether a `via` object is a bot's: an answer-bot via type (by name or id), or a
/// `source.rel` that names a bot (`answer_bot`, `zendesk_bot`, `ai_agent`, …).
fn via_is_bot(via: Option<&Value>) -> bool {
    let Some(via) = via else { return false };
    let channel = match via.get("channel") {
        Some(Value::String(c)) => BOT_CHANNELS.contains(&c.as_str()),
        Some(Value::Number(n)) => n.as_i64().is_some_and(|id| (63..=67).contains(&id)),
        _ => false,
    };
    let rel = text(at(via, &["source", "rel"])).is_some_and(|r| {
        let r = r.to_ascii_lowercase();
        r.contains("bot") || r == "ai_agent"
    });
    channel || rel
}

/// What earlier files (and the configuration) taught about people.
#[derive(Default)]
struct People {
    /// User id → canonical role.
    roles: HashMap<String, &'static str>,
    /// Ticket id → requester id.
    requesters: HashMap<String, String>,
    /// Configured bot user ids.
    bots: HashSet<String>,
}

impl People {
    fn role(&self, user: Option<&str>, ticket: &str) -> &'static str {
        match user {
            None | Some("-1") => "system",
            Some(u) if self.bots.contains(u) => "bot",
            Some(u) => match self.roles.get(u) {
                Some(role) => role,
                None if self.requesters.get(ticket).map(String::as_str) == Some(u) => "customer",
                None => "agent",
            },
        }
    }

    /// The role of `user` acting through `via` (an agent acting through a bot's via is a bot).
    fn role_via(&self, user: Option<&str>, ticket: &str, via: &[Option<&Value>]) -> &'static str {
        match self.role(user, ticket) {
            "agent" if via.iter().any(|v| via_is_bot(*v)) => "bot",
            role => role,
        }
    }
}

pub(crate) fn import(
    files: &[PathBuf],
    bot_user_ids: &[String],
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    let kinds = by_kind(files, kind)?;
    let ratings_file = kinds.iter().any(|(k, _)| *k == Kind::Ratings);
    let mut people = People {
        bots: bot_user_ids
            .iter()
            .map(|id| id.trim().to_string())
            .collect(),
        ..People::default()
    };
    for (kind, path) in kinds {
        match kind {
            Kind::Users => read_items(path, &["users"], out, |user, _, out| {
                let role = match text(user.get("role")).as_deref() {
                    Some("end-user") => "customer",
                    Some(_) => "agent",
                    None => {
                        out.skip("Zendesk user without a role");
                        return Ok(());
                    }
                };
                if let Some(id) = text(user.get("id")) {
                    people.roles.insert(id, role);
                }
                Ok(())
            })?,
            Kind::Tickets => read_items(path, &["tickets"], out, |t, line, out| {
                if let (Some(id), Some(requester)) =
                    (text(t.get("id")), text(t.get("requester_id")))
                {
                    people.requesters.insert(id, requester);
                }
                let raw = || t.to_string();
                out.emit(ticket(&t), line, &raw)
            })?,
            Kind::Audits => read_items(path, &["audits"], out, |a, line, out| {
                audit(&a, line, &people, !ratings_file, out)
            })?,
            Kind::Ratings => read_items(path, &["satisfaction_ratings"], out, rating)?,
        }
    }
    Ok(())
}

fn ticket(t: &Value) -> Rec {
    let tags: Vec<String> = t
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| text(Some(v))).collect())
        .unwrap_or_default();
    let category = tags
        .iter()
        .find_map(|tag| {
            tag.strip_prefix("category_")
                .or_else(|| tag.strip_prefix("category:"))
        })
        .map(str::to_string)
        .or_else(|| text(t.get("type")));
    let complaint = tags.iter().any(|t| t == "complaint" || t == "escalated");
    Rec::new("tickets")
        .set("ticket_id", text(t.get("id")))
        .set("created_at", text(t.get("created_at")))
        .set(
            "channel",
            text(at(t, &["via", "channel"])).map(|c| channel(&c).to_string()),
        )
        .set("category", category)
        .set("priority", text(t.get("priority")))
        .set("customer_id", text(t.get("requester_id")))
        .set("team", text(t.get("group_id")))
        .set("agent_id", text(t.get("assignee_id")))
        .set("is_complaint", complaint)
}

/// Zendesk's `via.channel` as a canonical channel.
fn channel(via: &str) -> &str {
    match via {
        "voice" => "phone",
        "twitter" | "facebook" | "instagram_dm" => "social",
        "native_messaging" | "whatsapp" | "sms" | "mobile_sdk" | "line" | "wechat" => "messaging",
        other => other,
    }
}

fn audit(
    a: &Value,
    line: u64,
    people: &People,
    ratings_here: bool,
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    let raw = || a.to_string();
    let (Some(audit_id), Some(ticket_id)) = (text(a.get("id")), text(a.get("ticket_id"))) else {
        let reason = "an audit needs `id` and `ticket_id`".into();
        return out.reject(line, None, reason, raw());
    };
    let created = text(a.get("created_at"));
    let author = text(a.get("author_id"));
    let audit_via = a.get("via");
    let author_role = people.role_via(author.as_deref(), &ticket_id, &[audit_via]);
    let via = text(at(a, &["via", "channel"])).map(|c| channel(&c).to_string());
    let base = |suffix: &str| {
        Rec::new("ticket_events")
            .set("event_id", format!("{audit_id}:{suffix}"))
            .set("ticket_id", ticket_id.as_str())
            .set("at", created.clone())
    };
    let mut timeline_events = 0;
    let mut other_changes = false;
    let events = a
        .get("events")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, e) in events.iter().enumerate() {
        let event_id = text(e.get("id")).unwrap_or_else(|| i.to_string());
        let field = text(e.get("field_name"));
        let rec = match (text(e.get("type")).as_deref(), field.as_deref()) {
            (Some("Comment" | "VoiceComment"), _) => {
                let public = e.get("public").and_then(Value::as_bool).unwrap_or(true);
                let writer = text(e.get("author_id")).or_else(|| author.clone());
                let role =
                    people.role_via(writer.as_deref(), &ticket_id, &[e.get("via"), audit_via]);
                base(&event_id)
                    .set("kind", if public { "message" } else { "note" })
                    .set("author_role", role)
                    .set("author_id", writer)
                    .set("public", public)
                    .set("channel", via.clone())
            }
            (Some("Create" | "Change"), Some("status")) => {
                let status =
                    text(e.get("value")).map(|s| if s == "hold" { "on_hold".into() } else { s });
                base(&event_id)
                    .set("kind", "status")
                    .set("status", status)
                    .set("author_role", author_role)
                    .set("author_id", author.clone())
            }
            (Some("Create" | "Change"), Some("assignee_id")) => base(&event_id)
                .set("kind", "assign")
                .set("agent_id", text(e.get("value")))
                .set("author_id", author.clone()),
            (Some("SatisfactionRating"), _) if ratings_here => {
                satisfaction(
                    e,
                    &audit_id,
                    &event_id,
                    &ticket_id,
                    created.as_deref(),
                    line,
                    out,
                )?;
                continue;
            }
            (Some("Change"), _) => {
                other_changes = true;
                continue;
            }
            _ => continue,
        };
        timeline_events += 1;
        out.emit(rec, line, &raw)?;
    }
    if timeline_events == 0 && other_changes && author_role == "agent" {
        let update = base("update")
            .set("kind", "update")
            .set("author_role", "agent")
            .set("author_id", author);
        out.emit(update, line, &raw)?;
    }
    Ok(())
}

/// A `SatisfactionRating` audit event as a survey send (offered) or response (good/bad).
fn satisfaction(
    e: &Value,
    audit_id: &str,
    event_id: &str,
    ticket_id: &str,
    at: Option<&str>,
    line: u64,
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    let id = format!("{audit_id}:{event_id}");
    let raw = || e.to_string();
    let score = text(e.get("score"));
    let Some(score) = score.as_deref().and_then(score_value) else {
        if score.as_deref() == Some("offered") {
            let send = Rec::new("surveys_sent")
                .set("send_id", id)
                .set("survey", "csat")
                .set("sent_at", at)
                .set("ticket_id", ticket_id);
            return out.emit(send, line, &raw);
        }
        return Ok(());
    };
    let response = Rec::new("survey_responses")
        .set("response_id", id)
        .set("survey", "csat")
        .set("score", score)
        .set("scale_min", 0.0)
        .set("scale_max", 1.0)
        .set("answered_at", at)
        .set("ticket_id", ticket_id)
        .set("agent_id", text(e.get("assignee_id")))
        .set("comment", text(e.get("body")));
    out.emit(response, line, &raw)
}

/// good = 1, bad = 0 (the 0–1 scale); anything else is not an answer.
fn score_value(score: &str) -> Option<f64> {
    match score {
        "good" | "good_with_comment" => Some(1.0),
        "bad" | "bad_with_comment" => Some(0.0),
        _ => None,
    }
}

/// One rating of the Satisfaction Ratings API.
fn rating(r: Value, line: u64, out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let raw = || r.to_string();
    let id = text(r.get("id"));
    let score = text(r.get("score"));
    let answer = score.as_deref().and_then(score_value);
    if answer.is_none() && score.as_deref() != Some("offered") {
        out.skip("Zendesk rating never offered (score `unoffered`)");
        return Ok(());
    }
    let send = Rec::new("surveys_sent")
        .set("send_id", id.clone())
        .set("survey", "csat")
        .set("sent_at", text(r.get("created_at")))
        .set("ticket_id", text(r.get("ticket_id")))
        .set("customer_id", text(r.get("requester_id")));
    out.emit(send, line, &raw)?;
    if let Some(score) = answer {
        let response = Rec::new("survey_responses")
            .set("response_id", id)
            .set("survey", "csat")
            .set("score", score)
            .set("scale_min", 0.0)
            .set("scale_max", 1.0)
            .set(
                "answered_at",
                text(r.get("updated_at")).or_else(|| text(r.get("created_at"))),
            )
            .set("ticket_id", text(r.get("ticket_id")))
            .set("customer_id", text(r.get("requester_id")))
            .set("agent_id", text(r.get("assignee_id")))
            .set("comment", text(r.get("comment")));
        out.emit(response, line, &raw)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_apart_by_name() {
        assert_eq!(kind(Path::new("ticket_audits.json")).unwrap(), Kind::Audits);
        assert_eq!(kind(Path::new("tickets-2026.json")).unwrap(), Kind::Tickets);
        assert_eq!(
            kind(Path::new("satisfaction_ratings.json")).unwrap(),
            Kind::Ratings
        );
        assert!(kind(Path::new("export.json")).is_err());
    }

    #[test]
    fn unknown_authors_are_agents_unless_they_requested_the_ticket() {
        let mut people = People::default();
        people.requesters.insert("7".into(), "100".into());
        people.roles.insert("200".into(), "customer");
        assert_eq!(people.role(Some("100"), "7"), "customer");
        assert_eq!(people.role(Some("200"), "7"), "customer");
        assert_eq!(people.role(Some("300"), "7"), "agent");
        assert_eq!(people.role(Some("-1"), "7"), "system");
    }

    #[test]
    fn bots_are_told_by_via_and_by_the_configured_ids() {
        let mut people = People::default();
        people.roles.insert("700".into(), "agent");
        people.roles.insert("9".into(), "customer");
        people.bots.insert("701".into());
        let answer_bot = serde_json::json!({"channel": "answer_bot_for_web_widget"});
        let by_id = serde_json::json!({"channel": 66});
        let rel =
            serde_json::json!({"channel": "native_messaging", "source": {"rel": "zendesk_bot"}});
        let web = serde_json::json!({"channel": "web", "source": {"rel": null}});
        assert_eq!(
            people.role_via(Some("700"), "1", &[Some(&answer_bot)]),
            "bot"
        );
        assert_eq!(
            people.role_via(Some("700"), "1", &[None, Some(&by_id)]),
            "bot"
        );
        assert_eq!(people.role_via(Some("700"), "1", &[Some(&rel)]), "bot");
        assert_eq!(people.role_via(Some("700"), "1", &[Some(&web)]), "agent");
        assert_eq!(people.role_via(Some("701"), "1", &[Some(&web)]), "bot");
        // A customer writing through the answer bot's widget stays a customer.
        assert_eq!(
            people.role_via(Some("9"), "1", &[Some(&answer_bot)]),
            "customer"
        );
    }
}
