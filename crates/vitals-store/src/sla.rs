//! Reads the SLA targets still open (no reply or solve has ended them yet), with the ticket
//! fields a list of at-risk and breached tickets shows. Their state at "now" is assessed by
//! the caller (`vitals_core::facts::assess_open`), since it depends on the clock.

use crate::error::{Context, StoreError};
use crate::Store;

/// One open SLA target of one ticket.
#[derive(Debug, Clone, PartialEq)]
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

impl Store {
    /// Every open SLA target, oldest first.
    pub fn open_sla_targets(&self) -> Result<Vec<OpenSlaTarget>, StoreError> {
        let sql =
            "SELECT s.ticket_id, t.team, t.priority, t.agent_id, s.policy, s.target, s.target_secs,
                          s.clock = 'business', s.at_risk, epoch_us(s.started_at), s.elapsed_secs,
                          epoch_us(s.running_since), epoch_us(s.due_at)
                   FROM fact_sla s LEFT JOIN fact_tickets t ON t.ticket_id = s.ticket_id
                   WHERE s.ended_at IS NULL ORDER BY s.started_at, s.ticket_id, s.target";
        let mut stmt = self
            .conn
            .prepare(sql)
            .context(|| "preparing open SLA targets".into())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OpenSlaTarget {
                    ticket_id: r.get(0)?,
                    team: r.get(1)?,
                    priority: r.get(2)?,
                    agent_id: r.get(3)?,
                    policy: r.get(4)?,
                    target: r.get(5)?,
                    target_secs: r.get(6)?,
                    business: r.get(7)?,
                    at_risk: r.get(8)?,
                    started_at: r.get(9)?,
                    elapsed_secs: r.get(10)?,
                    running_since: r.get(11)?,
                    due_at: r.get(12)?,
                })
            })
            .context(|| "reading open SLA targets".into())?;
        rows.collect::<Result<Vec<_>, _>>()
            .context(|| "reading an open SLA target".into())
    }
}
