//! Reads the SLA targets still open (no reply or solve has ended them yet), with the ticket
//! fields a list of at-risk and breached tickets shows. Their state at "now" is assessed by
//! the SLA report of the query library, since it depends on the clock.

use vitals_query::sla::OpenSlaTarget;

use crate::error::{Context, StoreError};
use crate::Reader;

impl Reader {
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
