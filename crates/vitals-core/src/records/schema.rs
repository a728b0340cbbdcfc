//! The canonical entities of the import format (README.md, "Import") as declarative data: every entity's columns,
//! types, which are required and which form the record's key. Validation, the store's DDL and
//! the importers all read this one table, so a column is added in exactly one place.

/// The type of a canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Free text, kept as written.
    Text,
    /// Free text, lower-cased on import (channels, platforms).
    LowerText,
    /// An instant: RFC 3339 with an offset, stored in UTC.
    Timestamp,
    /// A calendar date `YYYY-MM-DD` (no time zone).
    Date,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    Bool,
    /// A finite number.
    Number,
    /// A whole number.
    Integer,
    /// One of a fixed set of lower-case words.
    Enum(&'static [&'static str]),
}

/// Whether a column must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Always required.
    Required,
    /// Optional.
    Optional,
}

/// One column of an entity.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The column's fixed name.
    pub name: &'static str,
    /// Its type.
    pub ty: ColumnType,
    /// Whether it is required.
    pub requirement: Requirement,
}

/// One canonical entity (one file of a data set, one table of the store).
#[derive(Debug)]
pub struct Entity {
    /// File stem and table name, e.g. `tickets`.
    pub name: &'static str,
    /// Columns in storage order.
    pub columns: &'static [Column],
    /// The columns whose values identify a record (last write wins per key).
    pub key: &'static [&'static str],
}

impl Entity {
    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

const fn req(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        requirement: Requirement::Required,
    }
}
const fn opt(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        requirement: Requirement::Optional,
    }
}

use ColumnType::{Bool, Date, Enum, Integer, LowerText, Number, Text, Timestamp};

/// Event kinds of a ticket timeline.
pub const EVENT_KINDS: &[&str] = &["message", "note", "status", "assign", "escalate", "update"];
/// Roles of an event's author.
pub const AUTHOR_ROLES: &[&str] = &["customer", "agent", "bot", "system"];
/// Ticket statuses.
pub const STATUSES: &[&str] = &["new", "open", "pending", "on_hold", "solved", "closed"];
/// Kinds of self-service session.
pub const SELF_SERVICE_KINDS: &[&str] = &["help_center", "bot", "ivr"];
/// Sentiments of a social mention.
pub const SENTIMENTS: &[&str] = &["positive", "neutral", "negative"];

/// Every canonical entity, in import order (parents before children).
pub const ENTITIES: &[Entity] = &[
    Entity {
        name: "agents",
        key: &["agent_id"],
        columns: &[
            req("agent_id", Text),
            opt("name", Text),
            opt("team", Text),
            opt("calendar", Text),
        ],
    },
    Entity {
        name: "customers",
        key: &["customer_id"],
        columns: &[
            req("customer_id", Text),
            req("acquired_at", Timestamp),
            opt("churned_at", Timestamp),
            opt("tier", Text),
            opt("persona", Text),
            opt("acquisition_channel", Text),
        ],
    },
    Entity {
        name: "tickets",
        key: &["ticket_id"],
        columns: &[
            req("ticket_id", Text),
            req("created_at", Timestamp),
            req("channel", LowerText),
            opt("category", Text),
            opt("priority", Text),
            opt("customer_id", Text),
            opt("tier", Text),
            opt("team", Text),
            opt("agent_id", Text),
            opt("is_complaint", Bool),
            opt("first_contact_resolved", Bool),
            opt("handle_secs", Number),
        ],
    },
    Entity {
        name: "ticket_events",
        key: &["event_id"],
        columns: &[
            req("event_id", Text),
            req("ticket_id", Text),
            req("at", Timestamp),
            req("kind", Enum(EVENT_KINDS)),
            opt("author_role", Enum(AUTHOR_ROLES)),
            opt("author_id", Text),
            opt("agent_id", Text),
            opt("public", Bool),
            opt("status", Enum(STATUSES)),
            opt("channel", LowerText),
        ],
    },
    Entity {
        name: "calls",
        key: &["call_id"],
        columns: &[
            req("call_id", Text),
            opt("queue", Text),
            req("offered_at", Timestamp),
            opt("answered_at", Timestamp),
            req("ended_at", Timestamp),
            opt("abandoned", Bool),
            opt("agent_id", Text),
            opt("talk_secs", Number),
            opt("hold_secs", Number),
            opt("wrap_secs", Number),
            opt("resolved", Bool),
            opt("ivr_resolved", Bool),
            opt("customer_id", Text),
            opt("ticket_id", Text),
        ],
    },
    Entity {
        name: "survey_responses",
        key: &["response_id"],
        columns: &[
            req("response_id", Text),
            req("survey", LowerText),
            req("score", Number),
            opt("scale_min", Integer),
            opt("scale_max", Integer),
            req("answered_at", Timestamp),
            opt("ticket_id", Text),
            opt("customer_id", Text),
            opt("agent_id", Text),
            opt("comment", Text),
        ],
    },
    Entity {
        name: "surveys_sent",
        key: &["send_id"],
        columns: &[
            req("send_id", Text),
            req("survey", LowerText),
            req("sent_at", Timestamp),
            opt("ticket_id", Text),
            opt("customer_id", Text),
        ],
    },
    Entity {
        name: "orders",
        key: &["order_id"],
        columns: &[
            req("order_id", Text),
            req("customer_id", Text),
            req("ordered_at", Timestamp),
            req("amount", Number),
            opt("gross_margin", Number),
            opt("currency", Text),
        ],
    },
    Entity {
        name: "costs",
        key: &["cost_id"],
        columns: &[
            req("cost_id", Text),
            req("period_start", Date),
            req("period_end", Date),
            req("kind", Text),
            req("amount", Number),
            opt("currency", Text),
        ],
    },
    Entity {
        name: "quality_reviews",
        key: &["review_id", "criterion"],
        columns: &[
            req("review_id", Text),
            opt("ticket_id", Text),
            opt("agent_id", Text),
            opt("reviewer_id", Text),
            req("reviewed_at", Timestamp),
            opt("rubric", Text),
            req("criterion", Text),
            req("score", Number),
            req("max_score", Number),
            opt("weight", Number),
            opt("tags", Text),
        ],
    },
    Entity {
        name: "feedback",
        key: &["feedback_id"],
        columns: &[
            req("feedback_id", Text),
            opt("source", LowerText),
            req("received_at", Timestamp),
            opt("responded_at", Timestamp),
            opt("customer_id", Text),
            opt("sentiment", Text),
        ],
    },
    Entity {
        name: "social_mentions",
        key: &["mention_id"],
        columns: &[
            req("mention_id", Text),
            req("platform", LowerText),
            req("at", Timestamp),
            opt("sentiment", Enum(SENTIMENTS)),
            opt("is_question", Bool),
            opt("is_technical", Bool),
            opt("answerable_by_content", Bool),
            opt("competitor", Text),
            opt("topic", Text),
            opt("text", Text),
        ],
    },
    Entity {
        name: "referrals",
        key: &["referral_id"],
        columns: &[
            req("referral_id", Text),
            req("referrer_customer_id", Text),
            req("referred_at", Timestamp),
            opt("converted_customer_id", Text),
        ],
    },
    Entity {
        name: "engagement",
        key: &["engagement_id"],
        columns: &[
            req("engagement_id", Text),
            req("customer_id", Text),
            req("at", Timestamp),
            req("program", LowerText),
        ],
    },
    Entity {
        name: "self_service",
        key: &["session_id"],
        columns: &[
            req("session_id", Text),
            req("at", Timestamp),
            req("kind", Enum(SELF_SERVICE_KINDS)),
            opt("resolved_without_agent", Bool),
            opt("article_id", Text),
            opt("helpful", Bool),
        ],
    },
];

/// Look an entity up by its name (file stem).
pub fn entity(name: &str) -> Option<&'static Entity> {
    ENTITIES.iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_column_exists_and_is_required() {
        for e in ENTITIES {
            for k in e.key {
                let i = e
                    .column_index(k)
                    .unwrap_or_else(|| panic!("{}: key {k}", e.name));
                assert_eq!(
                    e.columns[i].requirement,
                    Requirement::Required,
                    "{}.{k}",
                    e.name
                );
            }
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ENTITIES.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ENTITIES.len());
    }
}
