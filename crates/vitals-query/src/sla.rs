//! The SLA report (`vitals sla`, `GET /api/v1/sla`): every SLA target still open, assessed at
//! an instant — state (`ok`, `at_risk`, `breached`), clock time used and left, when it is (or
//! was) due — most urgent first. The engine lists the open targets; the clock (business or
//! calendar) is applied here, so every surface gets the same list.

use chrono::DateTime;
use chrono_tz::Tz;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::{Deserialize, Serialize};
use vitals_core::config::DerivationRules;
use vitals_core::facts::{assess_open, Clock, SlaState};

use crate::units::duration;

/// One open SLA target of one ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenSlaTarget {
    /// Ticket.
    pub ticket_id: String,
    /// The ticket's team (its calendar).
    pub team: Option<String>,
    /// Priority.
    pub priority: Option<String>,
    /// Current assignee.
    pub agent_id: Option<String>,
    /// Policy name.
    pub policy: String,
    /// `first_reply`, `next_reply` or `resolution`.
    pub target: String,
    /// Target in clock seconds.
    pub target_secs: f64,
    /// True for a business clock.
    pub business: bool,
    /// At-risk fraction.
    pub at_risk: f64,
    /// When the clock started (UTC µs).
    pub started_at: i64,
    /// Clock seconds used up to `running_since` (or in total while paused).
    pub elapsed_secs: f64,
    /// Since when the clock runs, if it runs.
    pub running_since: Option<i64>,
    /// When it reached or will reach the target, if known.
    pub due_at: Option<i64>,
}

/// Which open targets a report lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaFilter {
    /// Every open target.
    #[default]
    All,
    /// Only breached ones.
    Breached,
    /// Only those at risk.
    AtRisk,
}

/// One listed target, assessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaEntry {
    /// Ticket.
    pub ticket_id: String,
    /// Policy name.
    pub policy: String,
    /// `first_reply`, `next_reply` or `resolution`.
    pub target: String,
    /// Where it stands.
    pub state: SlaState,
    /// The target in clock seconds.
    pub target_secs: f64,
    /// Clock seconds used.
    pub elapsed_secs: f64,
    /// Clock seconds left (negative once breached).
    pub remaining_secs: f64,
    /// `business` or `calendar`.
    pub clock: String,
    /// Whether the clock runs now (not paused).
    pub running: bool,
    /// When it reached or will reach the target (RFC 3339), if known.
    pub due_at: Option<String>,
    /// The ticket's team.
    pub team: Option<String>,
    /// Priority.
    pub priority: Option<String>,
    /// Current assignee.
    pub agent_id: Option<String>,
}

/// The report: the instant it is assessed at and the targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaReport {
    /// The instant (RFC 3339).
    pub as_of: Option<String>,
    /// Listed targets, least time left first.
    pub targets: Vec<SlaEntry>,
    /// The names of the SLA policies configured (`[[sla]]`), in order: none means no target
    /// is measured at all, which a surface says instead of "nothing at risk".
    #[serde(default)]
    pub policies: Vec<String>,
}

fn rfc3339(us: i64) -> Option<String> {
    DateTime::from_timestamp_micros(us).map(|d| d.to_rfc3339())
}

/// Assesses open targets at `now` (UTC µs) and keeps those the filter asks for.
pub fn sla_report(
    open: Vec<OpenSlaTarget>,
    rules: &DerivationRules,
    now: i64,
    filter: SlaFilter,
) -> SlaReport {
    let mut targets: Vec<SlaEntry> = open
        .into_iter()
        .filter_map(|t| {
            let calendar = if t.business {
                rules.for_team(t.team.as_deref())
            } else {
                None
            };
            let a = assess_open(
                t.target_secs,
                t.elapsed_secs,
                t.running_since,
                t.at_risk,
                Clock::new(calendar),
                now,
            );
            let wanted = match filter {
                SlaFilter::All => true,
                SlaFilter::Breached => a.state == SlaState::Breached,
                SlaFilter::AtRisk => a.state == SlaState::AtRisk,
            };
            wanted.then(|| SlaEntry {
                ticket_id: t.ticket_id,
                policy: t.policy,
                target: t.target,
                state: a.state,
                target_secs: t.target_secs,
                elapsed_secs: a.elapsed_secs,
                remaining_secs: a.remaining_secs,
                clock: if t.business { "business" } else { "calendar" }.into(),
                running: t.running_since.is_some(),
                due_at: t.due_at.and_then(rfc3339),
                team: t.team,
                priority: t.priority,
                agent_id: t.agent_id,
            })
        })
        .collect();
    targets.sort_by(|x, y| x.remaining_secs.total_cmp(&y.remaining_secs));
    SlaReport {
        as_of: rfc3339(now),
        targets,
        policies: rules.sla.iter().map(|p| p.name.clone()).collect(),
    }
}

/// An RFC 3339 instant as a local `YYYY-MM-DD HH:MM` in `zone`.
pub fn local_minute(text: &str, zone: Tz) -> String {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The report as a table, with local due times in `zone`.
pub fn sla_table(report: &SlaReport, zone: Tz) -> String {
    let local = |text: &str| local_minute(text, zone);
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "ticket",
        "policy",
        "target",
        "state",
        "target",
        "elapsed",
        "remaining",
        "due",
        "agent",
    ]);
    for t in &report.targets {
        let remaining = if t.remaining_secs < 0.0 {
            format!("−{}", duration(-t.remaining_secs))
        } else {
            duration(t.remaining_secs)
        };
        let due = match (&t.due_at, t.running) {
            (Some(d), _) => local(d),
            (None, false) => "paused".into(),
            (None, true) => String::new(),
        };
        table.add_row(vec![
            t.ticket_id.clone(),
            t.policy.clone(),
            t.target.clone(),
            t.state.name().to_string(),
            duration(t.target_secs),
            duration(t.elapsed_secs),
            remaining,
            due,
            t.agent_id.clone().unwrap_or_default(),
        ]);
    }
    table.to_string()
}
