//! One ticket's life: arrival, bot triage, assignment, replies during the team's hours,
//! follow-ups, waits on hold, escalations and transfers, solves, reopens, closes — plus its
//! call, surveys, quality review and a self-service session.

use crate::config::RUBRICS;
use crate::org::{Organisation, DAY, HOUR, MIN, SEC};
use crate::writer::Writers;
use crate::SynthError;

struct Timeline<'a> {
    org: &'a mut Organisation,
    out: &'a mut Writers,
    ticket: String,
    customer: String,
    events: u64,
}

impl Timeline<'_> {
    /// Writes one event; `rest` is (agent_id, public, status).
    fn event(
        &mut self,
        at: i64,
        kind: &str,
        role: &str,
        author: &str,
        rest: [&str; 3],
    ) -> Result<(), SynthError> {
        let [agent, public, status] = rest;
        self.org.next_event += 1;
        self.events += 1;
        let id = format!("e{:09}", self.org.next_event);
        // Most sources write local offsets; some write UTC. Both must land on the same instant.
        let when = if self.org.next_event.is_multiple_of(7) {
            self.org.fmt_utc(at)
        } else {
            self.org.fmt(at)
        };
        self.out.events.row(&[
            id.as_str(),
            &self.ticket,
            &when,
            kind,
            role,
            author,
            agent,
            public,
            status,
        ])
    }
    fn customer_says(&mut self, at: i64) -> Result<(), SynthError> {
        let c = self.customer.clone();
        self.event(at, "message", "customer", &c, ["", "", ""])
    }
    fn agent_says(&mut self, at: i64, agent: &str, public: bool) -> Result<(), SynthError> {
        let public = if public { "" } else { "false" };
        self.event(at, "message", "agent", agent, ["", public, ""])
    }
    fn status(&mut self, at: i64, role: &str, who: &str, status: &str) -> Result<(), SynthError> {
        self.event(at, "status", role, who, ["", "", status])
    }
    fn assign(&mut self, at: i64, agent: &str) -> Result<(), SynthError> {
        self.event(at, "assign", "system", "", [agent, "", ""])
    }
}

/// Typical first-reply delay by channel (median, seconds of working time).
fn reply_median_secs(channel: &str) -> f64 {
    match channel {
        "chat" => 150.0,
        "phone" => 60.0,
        "social" => 1800.0,
        "email" => 3.0 * 3600.0,
        _ => 5.0 * 3600.0,
    }
}

/// Generates ticket number `i` with everything that hangs off it.
pub(crate) fn ticket(org: &mut Organisation, out: &mut Writers, i: u64) -> Result<(), SynthError> {
    let created = org.arrival();
    let channel = org.pick(&[
        ("email", 4.0),
        ("chat", 3.0),
        ("phone", 2.0),
        ("social", 0.6),
        ("web", 1.4),
    ]);
    let category = org.pick(&[
        ("technical", 3.0),
        ("billing", 2.0),
        ("delivery", 2.0),
        ("returns", 1.2),
        ("sales question", 1.0),
        ("cancellation", 0.6),
        ("availability", 0.5),
    ]);
    let priority = org.pick(&[
        ("normal", 6.0),
        ("low", 2.0),
        ("high", 1.5),
        ("urgent", 0.5),
    ]);
    let customer_index = (org.uniform() * org.customers.len() as f64) as usize;
    let customer = org.customers[customer_index].id.clone();
    let tier = org.customers[customer_index].tier;
    let team = if category == "billing" {
        "billing"
    } else if priority == "urgent" || tier == "enterprise" {
        "tier2"
    } else {
        "tier1"
    };
    let mut agent = org.agent_of(team);
    let ticket_id = format!("T{:08}", i + 1);
    let spec = TicketSpec {
        created,
        channel,
        category,
        priority,
        customer: customer.clone(),
        tier,
        team,
    };
    let mut tl = Timeline {
        org,
        out,
        ticket: ticket_id.clone(),
        customer,
        events: 0,
    };

    tl.customer_says(created)?;
    let mut now = created;
    // Chat bot triage: some conversations end with the bot (self-service, no human reply).
    if channel == "chat" && tl.org.chance(0.3) {
        now += 5 * SEC;
        tl.event(now, "message", "bot", "bot", ["", "", ""])?;
        if tl.org.chance(0.4) {
            now += (tl.org.exp(120.0) * SEC as f64) as i64 + 30 * SEC;
            tl.status(now, "system", "", "solved")?;
            let outcome = Outcome {
                agent: "",
                resolved_at: now,
                handled: false,
                replies: None,
            };
            return finish(tl, &spec, outcome);
        }
    }
    tl.assign(now + SEC, &agent)?;
    tl.status(now + 2 * SEC, "system", "", "open")?;
    let unanswered = tl.org.chance(if created > tl.org.end_us - 3 * DAY {
        0.5
    } else {
        0.025
    });
    if unanswered {
        // Abandoned requests are closed without a reply a week later, unless still recent.
        if created < tl.org.end_us - 10 * DAY && tl.org.chance(0.6) {
            now += 7 * DAY;
            tl.status(now, "system", "", "closed")?;
        }
        let outcome = Outcome {
            agent: &agent,
            resolved_at: now,
            handled: false,
            replies: None,
        };
        return finish(tl, &spec, outcome);
    }
    let speed = match priority {
        "urgent" => 0.3,
        "high" => 0.6,
        "low" => 1.5,
        _ => 1.0,
    };
    let working_delay = |org: &mut Organisation, median: f64| {
        (org.lognormal(median * speed, 0.9) * SEC as f64) as i64
    };
    let open_at = |org: &Organisation, t: i64, ch: &str| {
        if ch == "chat" || ch == "phone" {
            t
        } else {
            org.next_open(t, team)
        }
    };

    let mut replies = 0;
    let solve_without_reply = tl.org.chance(0.04);
    if !solve_without_reply {
        if tl.org.chance(0.15) {
            let note_at = open_at(tl.org, now, channel) + 2 * MIN;
            let a = agent.clone();
            tl.event(note_at, "note", "agent", &a, ["", "false", ""])?;
        }
        if tl.org.chance(0.1) {
            // Transfer to another agent before the first reply; from the first tier it is an
            // escalation to the second.
            now = open_at(tl.org, now, channel) + 10 * MIN;
            if team == "tier1" {
                tl.event(now - MIN, "escalate", "agent", &agent.clone(), ["", "", ""])?;
                agent = tl.org.agent_of("tier2");
            } else {
                agent = tl.org.agent_of(team);
            }
            tl.assign(now, &agent)?;
        }
        let d = working_delay(tl.org, reply_median_secs(channel));
        now = open_at(tl.org, now, channel) + d;
        if tl.org.chance(0.1) {
            tl.agent_says(now - MIN, &agent.clone(), false)?;
        }
        tl.agent_says(now, &agent.clone(), true)?;
        replies += 1;
        let follow_ups = tl.org.pick(&[(0, 4.0), (1, 3.0), (2, 2.0), (3, 1.0)]);
        for _ in 0..follow_ups {
            tl.status(now + SEC, "agent", &agent.clone(), "pending")?;
            now += (tl.org.exp(4.0 * HOUR as f64)) as i64 + MIN;
            tl.customer_says(now)?;
            tl.status(now + SEC, "system", "", "open")?;
            if tl.org.chance(0.12) {
                // Waiting on a third party (a carrier, the billing system) before answering.
                now = open_at(tl.org, now, channel) + 5 * MIN;
                tl.status(now, "agent", &agent.clone(), "on_hold")?;
                now += (tl.org.exp(6.0 * HOUR as f64)) as i64 + 10 * MIN;
                tl.status(now, "agent", &agent.clone(), "open")?;
            }
            now = open_at(tl.org, now, channel)
                + working_delay(tl.org, reply_median_secs(channel) * 1.5);
            tl.agent_says(now, &agent.clone(), true)?;
            replies += 1;
            if tl.org.chance(0.1) {
                now += 3 * MIN;
                tl.agent_says(now, &agent.clone(), true)?;
                replies += 1;
            }
        }
    }
    now += (tl.org.exp(20.0 * MIN as f64)) as i64 + MIN;
    tl.status(now, "agent", &agent.clone(), "solved")?;
    let mut resolved_at = now;
    let mut reopened = false;
    if tl.org.chance(0.08) {
        reopened = true;
        let ever_returns = tl.org.chance(0.9);
        now += (tl.org.exp(1.5 * DAY as f64)) as i64 + HOUR;
        if tl.org.chance(0.5) {
            tl.customer_says(now)?;
        } else {
            tl.status(now, "agent", &agent.clone(), "open")?;
        }
        if ever_returns {
            now = tl.org.next_open(now, team) + working_delay(tl.org, 2.0 * 3600.0);
            tl.agent_says(now, &agent.clone(), true)?;
            replies += 1;
            now += 30 * MIN;
            tl.status(now, "agent", &agent.clone(), "solved")?;
            resolved_at = now;
            reopened = false;
        }
    }
    if !reopened && tl.org.chance(0.6) {
        tl.status(resolved_at + 4 * DAY, "system", "", "closed")?;
    }
    let handled = !reopened && replies > 0;
    let outcome = Outcome {
        agent: &agent,
        resolved_at,
        handled,
        replies: Some(replies),
    };
    finish(tl, &spec, outcome)
}

/// What a ticket is, decided at its arrival.
struct TicketSpec<'a> {
    created: i64,
    channel: &'a str,
    category: &'a str,
    priority: &'a str,
    customer: String,
    tier: &'a str,
    team: &'a str,
}

/// How its timeline ended.
struct Outcome<'a> {
    agent: &'a str,
    resolved_at: i64,
    handled: bool,
    replies: Option<u32>,
}

fn finish(tl: Timeline<'_>, spec: &TicketSpec<'_>, outcome: Outcome<'_>) -> Result<(), SynthError> {
    let TicketSpec {
        created,
        channel,
        category,
        priority,
        ref customer,
        tier,
        team,
    } = *spec;
    let customer = customer.as_str();
    let Outcome {
        agent,
        resolved_at,
        handled,
        replies,
    } = outcome;
    let Timeline {
        org,
        out,
        ticket,
        events,
        ..
    } = tl;
    out.counts.ticket_events += events;
    let complaint = category == "cancellation" && org.chance(0.3) || org.chance(0.02);
    let handle = replies.filter(|_| org.chance(0.7)).map(|r| {
        (org.lognormal(420.0, 0.5) * (1.0 + r as f64 * 0.6))
            .round()
            .to_string()
    });
    let fcr_flag = if org.chance(0.02) { "true" } else { "" };
    out.tickets.row(&[
        ticket.as_str(),
        &org.fmt(created),
        channel,
        category,
        priority,
        customer,
        tier,
        team,
        agent,
        if complaint { "true" } else { "false" },
        fcr_flag,
        handle.as_deref().unwrap_or(""),
    ])?;
    out.counts.tickets += 1;

    if channel == "phone" {
        let wait = (org.exp(35.0) * SEC as f64) as i64;
        let answered = created + wait;
        let talk = org.lognormal(300.0, 0.6).round();
        let hold = if org.chance(0.3) {
            org.exp(45.0).round()
        } else {
            0.0
        };
        let wrap = org.lognormal(60.0, 0.4).round();
        let ended = answered + ((talk + hold) * SEC as f64) as i64;
        org.next_call += 1;
        let queue = if category == "billing" {
            "billing"
        } else {
            "support"
        };
        out.calls.row(&[
            format!("k{:08}", org.next_call),
            queue.into(),
            org.fmt(created),
            org.fmt(answered),
            org.fmt(ended),
            "false".into(),
            agent.into(),
            talk.to_string(),
            hold.to_string(),
            wrap.to_string(),
            (replies == Some(1)).to_string(),
            customer.into(),
            ticket.clone(),
        ])?;
        out.counts.calls += 1;
    }
    if handled && org.chance(0.7) {
        org.next_response += 1;
        let sent_at = resolved_at + HOUR;
        out.sent.row(&[
            format!("s{}", org.next_response),
            "csat".into(),
            org.fmt(sent_at),
            ticket.clone(),
            customer.into(),
        ])?;
        out.counts.surveys_sent += 1;
        if org.chance(0.4) {
            let fast = (resolved_at - created) < DAY;
            let score = if fast {
                org.pick(&[(5, 5.0), (4, 3.0), (3, 1.0), (2, 0.5), (1, 0.4)])
            } else {
                org.pick(&[(5, 3.0), (4, 3.0), (3, 1.5), (2, 1.0), (1, 0.8)])
            };
            let answered = sent_at + (org.exp(5.0 * HOUR as f64)) as i64;
            out.responses.row(&[
                format!("r{:08}", org.next_response),
                "csat".into(),
                score.to_string(),
                org.fmt(answered),
                ticket.clone(),
                customer.into(),
                agent.into(),
                String::new(),
            ])?;
            out.counts.survey_responses += 1;
            if org.chance(0.3) {
                org.next_response += 1;
                let ces = org.pick(&[
                    (7, 3.0),
                    (6, 3.0),
                    (5, 2.0),
                    (4, 1.0),
                    (3, 0.6),
                    (2, 0.3),
                    (1, 0.3),
                ]);
                out.responses.row(&[
                    format!("r{:08}", org.next_response),
                    "ces".into(),
                    ces.to_string(),
                    org.fmt(answered + MIN),
                    ticket.clone(),
                    customer.into(),
                    agent.into(),
                    String::new(),
                ])?;
                out.counts.survey_responses += 1;
            }
        }
    }
    // Quality assurance reviews about one handled ticket in eight, with the rubric version in
    // use when it is reviewed.
    if handled && org.chance(0.12) {
        review(org, out, &ticket, agent, resolved_at + 2 * DAY)?;
    }
    if org.chance(0.5) {
        self_service(org, out)?;
    }
    Ok(())
}

/// One quality review: a row per criterion of the rubric version in use at `reviewed`.
fn review(
    org: &mut Organisation,
    out: &mut Writers,
    ticket: &str,
    agent: &str,
    reviewed: i64,
) -> Result<(), SynthError> {
    let (version, criteria) = if reviewed < org.month_start(org.months / 2) {
        RUBRICS[0]
    } else {
        RUBRICS[1]
    };
    let reviewer = org.pick(&[("qa1", 2.0), ("qa2", 1.0)]);
    for (criterion, weight, tags) in criteria {
        let score = org.pick(&[(4, 4.0), (3, 3.0), (2, 1.0), (1, 0.3)]);
        out.quality.row(&[
            format!("q{ticket}"),
            ticket.to_string(),
            agent.to_string(),
            reviewer.to_string(),
            org.fmt(reviewed),
            version.to_string(),
            criterion.to_string(),
            score.to_string(),
            "4".into(),
            weight.to_string(),
            tags.to_string(),
        ])?;
        out.counts.quality_reviews += 1;
    }
    Ok(())
}

/// A self-service session: help-centre visits (some voting on the article), bot
/// conversations and IVR sessions, some resolved without an agent.
fn self_service(org: &mut Organisation, out: &mut Writers) -> Result<(), SynthError> {
    let at = org.arrival();
    let kind = org.pick(&[("help_center", 7.0), ("bot", 2.0), ("ivr", 1.0)]);
    let resolved = org.chance(match kind {
        "help_center" => 0.35,
        "bot" => 0.45,
        _ => 0.25,
    });
    let n = out.counts.self_service + 1;
    let (article, helpful) = if kind == "help_center" {
        let helpful = if org.chance(0.4) {
            if org.chance(0.7) {
                "true"
            } else {
                "false"
            }
        } else {
            ""
        };
        (format!("kb{}", n % 40), helpful)
    } else {
        (String::new(), "")
    };
    out.self_service.row(&[
        format!("h{n:08}"),
        org.fmt(at),
        kind.into(),
        resolved.to_string(),
        article,
        helpful.into(),
    ])?;
    out.counts.self_service += 1;
    Ok(())
}
