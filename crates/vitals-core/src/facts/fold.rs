//! The ticket timeline fold: the ONE place that turns a ticket's ordered events into its facts
//! (first reply, every reply's wait, first and latest solve, reopens, touches, customer
//! contacts, distinct agents, FCR, resolved intervals). Everything order-dependent about a
//! ticket is decided here and nowhere else.
//!
//! Rules (the canonical format of README.md, "Import", and docs/metrics.md):
//! - A *reply* is a `message` by an `agent` that is public (`public` absent = true). Bot and
//!   system messages are never replies; internal agent messages are touches, not replies.
//! - Response clock: the ticket's creation opens it (the customer's first contact); a customer
//!   message opens it when it is closed (the earliest unanswered message wins); the next reply
//!   stops it and records one wait. A reply with no open clock (two replies in a row) records
//!   no wait.
//! - A *resolution* is a `status` event to `solved`, or to `closed` while not already resolved.
//!   A customer message, or a status back to `new`/`open`/`pending`/`on_hold`, after a
//!   resolution is a *reopen*.
//! - A *touch* is any event whose `author_role` is `agent`.
//! - Distinct agents: `assign` targets and reply authors.
//! - FCR (derived): resolved, exactly one reply before the first resolution, never reopened, at
//!   most one distinct agent. The ticket's explicit `first_contact_resolved` flag wins.
//! - Status spans (Zendesk's definitions): a ticket is `new` from creation until its first status
//!   event; a customer message moves a `pending` ticket back to `open` (and reopens a resolved
//!   one). Time while resolved is in no span.
//! - Events are ordered by time, then by event id (ties are otherwise unordered in the sources).

use std::collections::BTreeSet;

/// The ticket fields the fold needs.
#[derive(Debug, Clone, Default)]
pub struct TicketInput {
    /// Ticket id.
    pub ticket_id: String,
    /// Creation instant (UTC µs).
    pub created_at: i64,
    /// Explicit FCR flag from the source.
    pub first_contact_resolved: Option<bool>,
    /// Current assignee from the ticket record.
    pub agent_id: Option<String>,
}

/// One timeline event, already validated.
#[derive(Debug, Clone, Default)]
pub struct EventInput {
    /// Event id (the tie-breaker for equal times).
    pub event_id: String,
    /// Instant (UTC µs).
    pub at: i64,
    /// `message`, `note`, `status`, `assign`, `escalate`, `update`.
    pub kind: String,
    /// `customer`, `agent`, `bot`, `system`.
    pub author_role: Option<String>,
    /// Who wrote it.
    pub author_id: Option<String>,
    /// Assignment target (for `assign`).
    pub agent_id: Option<String>,
    /// Public flag (absent = public).
    pub public: Option<bool>,
    /// New status (for `status`).
    pub status: Option<String>,
}

/// One reply that stopped a response clock.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyWait {
    /// When the reply was sent (UTC µs): the instant it counts by.
    pub at: i64,
    /// When the clock started (UTC µs).
    pub clock_start: i64,
    /// The replying agent.
    pub agent_id: Option<String>,
}

/// A span during which the ticket was resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSpan {
    /// The resolution instant.
    pub from: i64,
    /// The reopen instant; `None` while still resolved.
    pub to: Option<i64>,
}

/// A span of time in one unresolved status.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusSpan {
    /// Start (UTC µs).
    pub from: i64,
    /// End (UTC µs).
    pub to: i64,
    /// `new`, `open`, `pending` or `on_hold`.
    pub status: String,
}

/// Tracks the current status and closes a span at every change.
struct StatusTrack {
    status: String,
    since: i64,
    spans: Vec<StatusSpan>,
}

impl StatusTrack {
    fn switch(&mut self, status: &str, at: i64) {
        if status == self.status {
            return;
        }
        if !matches!(self.status.as_str(), "solved" | "closed") && at > self.since {
            self.spans.push(StatusSpan {
                from: self.since,
                to: at,
                status: self.status.clone(),
            });
        }
        self.status = status.to_string();
        self.since = at;
    }
}

/// Everything the fold derives for one ticket. Instants in UTC µs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketFacts {
    /// First public human-agent reply.
    pub first_reply_at: Option<i64>,
    /// Who sent it.
    pub first_reply_agent: Option<String>,
    /// First resolution.
    pub first_resolved_at: Option<i64>,
    /// Latest resolution, only while the ticket is resolved (full resolution).
    pub full_resolved_at: Option<i64>,
    /// Whether the ticket is resolved at the end of its timeline.
    pub is_resolved: bool,
    /// Number of resolution events.
    pub resolutions: i64,
    /// Number of reopens.
    pub reopens: i64,
    /// Public agent replies.
    pub replies: i64,
    /// Public agent replies before the first resolution.
    pub replies_before_first_resolution: i64,
    /// Customer messages.
    pub customer_messages: i64,
    /// Bot messages.
    pub bot_messages: i64,
    /// Events authored by an agent.
    pub touches: i64,
    /// Distinct agents (assign targets and reply authors).
    pub distinct_agents: i64,
    /// First escalation.
    pub escalated_at: Option<i64>,
    /// Status of the last `status` event.
    pub last_status: Option<String>,
    /// Assignee: the ticket's own, else the last `assign` event's.
    pub assignee: Option<String>,
    /// First contact resolution (None while never resolved).
    pub fcr: Option<bool>,
    /// Each reply that stopped a clock.
    pub reply_waits: Vec<ReplyWait>,
    /// Resolved spans, in order.
    pub resolved_spans: Vec<ResolvedSpan>,
    /// Unresolved status spans, complete when the ticket ends resolved.
    pub status_spans: Vec<StatusSpan>,
    /// While unresolved: the status the ticket is in now, and since when.
    pub open_status: Option<(String, i64)>,
    /// The start of a response clock no reply has stopped yet.
    pub open_clock: Option<i64>,
    /// The assignee when the ticket was last resolved (while it is resolved).
    pub solve_assignee: Option<String>,
    /// Distinct agents who sent a public reply, in order of their first reply.
    pub reply_agents: Vec<String>,
}

fn is_agent(e: &EventInput) -> bool {
    e.author_role.as_deref() == Some("agent")
}

/// Folds a ticket's events (in any order) into its facts.
pub fn fold_ticket(ticket: &TicketInput, events: &mut [EventInput]) -> TicketFacts {
    events.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.event_id.cmp(&b.event_id)));
    let mut f = TicketFacts::default();
    let mut clock: Option<i64> = Some(ticket.created_at);
    let mut resolved = false;
    let mut agents: BTreeSet<&str> = BTreeSet::new();
    let mut last_assign: Option<Option<String>> = None;
    let mut assignee_at_solve: Option<String> = None;
    let mut track = StatusTrack {
        status: "new".into(),
        since: ticket.created_at,
        spans: Vec::new(),
    };

    for e in events.iter() {
        if is_agent(e) {
            f.touches += 1;
        }
        match e.kind.as_str() {
            "message" => match e.author_role.as_deref() {
                Some("customer") => {
                    f.customer_messages += 1;
                    if resolved {
                        reopen(&mut f, &mut resolved, e.at);
                    }
                    if matches!(track.status.as_str(), "pending" | "solved" | "closed") {
                        track.switch("open", e.at);
                    }
                    clock.get_or_insert(e.at);
                }
                Some("agent") if e.public.unwrap_or(true) => {
                    f.replies += 1;
                    if f.first_resolved_at.is_none() {
                        f.replies_before_first_resolution += 1;
                    }
                    if let Some(id) = e.author_id.as_deref() {
                        agents.insert(id);
                        if !f.reply_agents.iter().any(|a| a == id) {
                            f.reply_agents.push(id.to_string());
                        }
                    }
                    if f.first_reply_at.is_none() {
                        f.first_reply_at = Some(e.at);
                        f.first_reply_agent = e.author_id.clone();
                    }
                    if let Some(start) = clock.take() {
                        f.reply_waits.push(ReplyWait {
                            at: e.at,
                            clock_start: start,
                            agent_id: e.author_id.clone(),
                        });
                    }
                }
                Some("bot") => f.bot_messages += 1,
                _ => {}
            },
            "status" => {
                let status = e.status.as_deref().unwrap_or_default();
                f.last_status = e.status.clone();
                track.switch(status, e.at);
                match status {
                    "solved" | "closed" => {
                        if !resolved {
                            resolved = true;
                            assignee_at_solve = match &last_assign {
                                Some(a) => a.clone(),
                                None => ticket.agent_id.clone(),
                            };
                            f.resolutions += 1;
                            f.first_resolved_at.get_or_insert(e.at);
                            f.resolved_spans.push(ResolvedSpan {
                                from: e.at,
                                to: None,
                            });
                        }
                    }
                    _ => {
                        if resolved {
                            reopen(&mut f, &mut resolved, e.at);
                        }
                    }
                }
            }
            "assign" => {
                if let Some(id) = e.agent_id.as_deref() {
                    agents.insert(id);
                }
                last_assign = Some(e.agent_id.clone());
            }
            "escalate" => {
                f.escalated_at.get_or_insert(e.at);
            }
            _ => {}
        }
    }

    f.is_resolved = resolved;
    f.status_spans = track.spans;
    f.open_status = (!resolved).then(|| (track.status.clone(), track.since));
    f.open_clock = clock;
    f.solve_assignee = if resolved { assignee_at_solve } else { None };
    f.full_resolved_at = if resolved {
        f.resolved_spans.last().map(|s| s.from)
    } else {
        None
    };
    f.distinct_agents = agents.len() as i64;
    f.assignee = ticket.agent_id.clone().or_else(|| last_assign.flatten());
    f.fcr = f.first_resolved_at.map(|_| {
        ticket.first_contact_resolved.unwrap_or(
            f.replies_before_first_resolution == 1 && f.reopens == 0 && f.distinct_agents <= 1,
        )
    });
    f
}

fn reopen(f: &mut TicketFacts, resolved: &mut bool, at: i64) {
    *resolved = false;
    f.reopens += 1;
    if let Some(span) = f.resolved_spans.last_mut() {
        span.to = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000_000;

    fn ticket() -> TicketInput {
        TicketInput {
            ticket_id: "t".into(),
            created_at: 0,
            ..Default::default()
        }
    }

    fn ev(id: &str, minute: i64, kind: &str, role: Option<&str>) -> EventInput {
        EventInput {
            event_id: id.into(),
            at: minute * MIN,
            kind: kind.into(),
            author_role: role.map(Into::into),
            ..Default::default()
        }
    }
    fn msg(id: &str, minute: i64, role: &str, author: &str) -> EventInput {
        EventInput {
            author_id: Some(author.into()),
            ..ev(id, minute, "message", Some(role))
        }
    }
    fn status(id: &str, minute: i64, s: &str) -> EventInput {
        EventInput {
            status: Some(s.into()),
            ..ev(id, minute, "status", Some("agent"))
        }
    }

    #[test]
    fn bots_and_system_messages_are_never_replies() {
        let mut events = vec![
            msg("1", 0, "customer", "c"),
            msg("2", 1, "bot", "bot"),
            msg("3", 2, "system", "sys"),
            msg("4", 30, "agent", "a1"),
        ];
        let f = fold_ticket(&ticket(), &mut events);
        assert_eq!(f.first_reply_at, Some(30 * MIN));
        assert_eq!(f.replies, 1);
        assert_eq!(f.bot_messages, 1);
        assert_eq!(f.touches, 1);
    }

    #[test]
    fn bot_only_ticket_has_no_first_reply() {
        let mut events = vec![
            msg("1", 0, "customer", "c"),
            msg("2", 1, "bot", "bot"),
            status("3", 2, "solved"),
        ];
        let f = fold_ticket(&ticket(), &mut events);
        assert_eq!(f.first_reply_at, None);
        assert!(f.reply_waits.is_empty());
    }

    #[test]
    fn internal_agent_messages_are_touches_not_replies() {
        let mut internal = msg("2", 5, "agent", "a1");
        internal.public = Some(false);
        let mut events = vec![
            msg("1", 0, "customer", "c"),
            internal,
            msg("3", 20, "agent", "a1"),
        ];
        let f = fold_ticket(&ticket(), &mut events);
        assert_eq!(f.first_reply_at, Some(20 * MIN));
        assert_eq!(f.touches, 2);
        assert_eq!(f.replies, 1);
        assert_eq!(f.reply_waits[0].clock_start, 0);
    }

    #[test]
    fn two_agent_replies_in_a_row_stop_one_clock() {
        let mut events = vec![
            msg("1", 0, "customer", "c"),
            msg("2", 10, "agent", "a1"),
            msg("3", 12, "agent", "a1"),
            msg("4", 30, "customer", "c"),
            msg("5", 40, "customer", "c"),
            msg("6", 90, "agent", "a1"),
        ];
        let f = fold_ticket(&ticket(), &mut events);
        let waits: Vec<i64> = f
            .reply_waits
            .iter()
            .map(|w| (w.at - w.clock_start) / MIN)
            .collect();
        // The second reply in a row has no wait; the earliest unanswered message (30) starts it.
        assert_eq!(waits, vec![10, 60]);
        assert_eq!(f.replies, 3);
        assert_eq!(f.customer_messages, 3);
    }

    #[test]
    fn reopen_by_customer_message_and_by_status() {
        let mut events = vec![
            msg("1", 0, "customer", "c"),
            msg("2", 10, "agent", "a1"),
            status("3", 20, "solved"),
            msg("4", 30, "customer", "c"),
            msg("5", 35, "agent", "a1"),
            status("6", 40, "solved"),
            status("7", 50, "open"),
        ];
        let f = fold_ticket(&ticket(), &mut events);
        assert_eq!(f.reopens, 2);
        assert_eq!(f.resolutions, 2);
        assert_eq!(f.first_resolved_at, Some(20 * MIN));
        assert!(!f.is_resolved);
        assert_eq!(
            f.full_resolved_at, None,
            "reopened and not re-solved: no full resolution"
        );
        assert_eq!(f.fcr, Some(false));
        assert_eq!(
            f.resolved_spans,
            vec![
                ResolvedSpan {
                    from: 20 * MIN,
                    to: Some(30 * MIN)
                },
                ResolvedSpan {
                    from: 40 * MIN,
                    to: Some(50 * MIN)
                }
            ]
        );
        events.push(status("8", 60, "solved"));
        events.push(status("9", 70, "closed"));
        let f = fold_ticket(&ticket(), &mut events);
        assert_eq!(
            f.full_resolved_at,
            Some(60 * MIN),
            "closed after solved is not a new resolution"
        );
        assert_eq!(f.resolutions, 3);
    }

    #[test]
    fn status_spans_follow_zendesk() {
        let mut events = vec![
            msg("1", 0, "customer", "c"),
            status("2", 10, "open"),
            msg("3", 20, "agent", "a1"),
            status("4", 21, "pending"),
            msg("5", 50, "customer", "c"), // pending → open
            status("6", 60, "on_hold"),
            status("7", 90, "open"),
            status("8", 100, "solved"),
            msg("9", 130, "customer", "c"), // reopen → open
            status("10", 140, "solved"),
        ];
        let f = fold_ticket(&ticket(), &mut events);
        let total = |s: &str| {
            f.status_spans
                .iter()
                .filter(|x| x.status == s)
                .map(|x| (x.to - x.from) / MIN)
                .sum::<i64>()
        };
        assert_eq!(total("new"), 10);
        assert_eq!(total("open"), 11 + 10 + 10 + 10);
        assert_eq!(total("pending"), 29);
        assert_eq!(total("on_hold"), 30);
        assert!(f.is_resolved);
    }

    #[test]
    fn closed_without_prior_solve_resolves() {
        let mut events = vec![msg("1", 0, "customer", "c"), status("2", 5, "closed")];
        let f = fold_ticket(&ticket(), &mut events);
        assert_eq!(f.first_resolved_at, Some(5 * MIN));
        assert_eq!(f.full_resolved_at, Some(5 * MIN));
    }

    #[test]
    fn solve_without_reply_is_resolved_but_not_fcr() {
        let mut events = vec![msg("1", 0, "customer", "c"), status("2", 5, "solved")];
        let f = fold_ticket(&ticket(), &mut events);
        assert!(f.is_resolved);
        assert_eq!(f.first_reply_at, None);
        assert_eq!(
            f.fcr,
            Some(false),
            "zero replies is not first-contact resolution"
        );
    }

    #[test]
    fn one_reply_one_agent_is_fcr_and_explicit_flag_wins() {
        let mut events = vec![
            msg("1", 0, "customer", "c"),
            msg("2", 5, "agent", "a1"),
            status("3", 6, "solved"),
        ];
        let f = fold_ticket(&ticket(), &mut events);
        assert_eq!(f.fcr, Some(true));
        let flagged = TicketInput {
            first_contact_resolved: Some(false),
            ..ticket()
        };
        assert_eq!(fold_ticket(&flagged, &mut events).fcr, Some(false));
        let unresolved = vec![msg("1", 0, "customer", "c")];
        assert_eq!(fold_ticket(&flagged, &mut unresolved.clone()).fcr, None);
    }

    #[test]
    fn transfer_to_a_second_agent_is_not_fcr() {
        let mut assign1 = ev("2", 1, "assign", Some("system"));
        assign1.agent_id = Some("a1".into());
        let mut assign2 = ev("3", 2, "assign", Some("agent"));
        assign2.agent_id = Some("a2".into());
        let mut events = vec![
            msg("1", 0, "customer", "c"),
            assign1,
            assign2,
            msg("4", 5, "agent", "a2"),
            status("5", 6, "solved"),
        ];
        let f = fold_ticket(&ticket(), &mut events);
        assert_eq!(f.distinct_agents, 2);
        assert_eq!(f.fcr, Some(false));
        assert_eq!(f.assignee.as_deref(), Some("a2"));
        assert_eq!(f.touches, 3, "assign by agent, reply, status by agent");
        assert_eq!(f.first_reply_agent.as_deref(), Some("a2"));
    }

    #[test]
    fn events_out_of_order_are_sorted_by_time_then_id() {
        let mut events = vec![msg("b", 10, "agent", "a1"), msg("a", 0, "customer", "c")];
        let f = fold_ticket(&ticket(), &mut events);
        assert_eq!(f.reply_waits.len(), 1);
        assert_eq!(f.customer_messages, 1);
    }
}
