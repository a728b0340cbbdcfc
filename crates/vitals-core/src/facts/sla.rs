//! SLA targets of one ticket, from its folded timeline: which policy applies, and for each
//! target instance (the first reply, every later reply, the resolution) when its clock
//! started and ended, how much clock time it used, and when it breached or will breach.
//!
//! Rules (documented in `vitals explain sla_compliance`):
//! - The first policy whose `when` matches the ticket applies; a ticket no policy matches has
//!   no targets.
//! - The clock runs while the ticket is unresolved and its status is not in `pause_on`; time
//!   while resolved never counts. Business clocks count open hours of the ticket's calendar.
//! - `first_reply`: creation → first public agent reply. `next_reply`: every later response
//!   clock (a customer message no reply has answered yet) → the reply that answers it.
//!   `resolution`: creation → the latest solve (the ticket's full resolution).
//! - A solve ends a reply target that is still running: met if it was within the target.
//! - Met = the clock time used is at most the target. A breach happens at the instant the
//!   clock reaches the target; for a target still running that instant is projected.

use super::fold::TicketFacts;
use crate::calendar::Calendar;
use crate::config::SlaPolicy;

/// One target instance of one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaInstance {
    /// `first_reply`, `next_reply` or `resolution`.
    pub target: &'static str,
    /// The target in clock seconds.
    pub target_secs: f64,
    /// When the clock started (UTC µs).
    pub started_at: i64,
    /// When the target ended (a reply or a solve); `None` while it is open.
    pub ended_at: Option<i64>,
    /// `reply` or `solve`.
    pub ended_by: Option<&'static str>,
    /// Clock seconds used: up to the end, or for an open target up to `running_since` (or
    /// up to now when it is paused).
    pub elapsed_secs: f64,
    /// The instant the clock reached (or, running, will reach) the target.
    pub due_at: Option<i64>,
    /// For an open target whose clock runs now: since when it has been running.
    pub running_since: Option<i64>,
}

impl SlaInstance {
    /// Whether the target was met (`None` while open).
    pub fn met(&self) -> Option<bool> {
        self.ended_at
            .map(|_| self.elapsed_secs <= self.target_secs + 1e-9)
    }
}

/// A clock: calendar seconds, or open seconds of a calendar.
#[derive(Clone, Copy)]
pub struct Clock<'c> {
    calendar: Option<&'c Calendar>,
}

impl<'c> Clock<'c> {
    /// A business clock on `calendar`, or a calendar clock when `None`.
    pub fn new(calendar: Option<&'c Calendar>) -> Clock<'c> {
        Clock { calendar }
    }

    /// Clock seconds between two instants.
    pub fn secs(&self, from: i64, to: i64) -> f64 {
        match self.calendar {
            Some(c) => c.business_secs(from, to),
            None => (to - from).max(0) as f64 / 1e6,
        }
    }

    /// The instant `secs` clock seconds after `from`.
    pub fn advance(&self, from: i64, secs: f64) -> Option<i64> {
        match self.calendar {
            Some(c) => c.add_business_secs(from, secs),
            None => Some(from + (secs * 1e6).round() as i64),
        }
    }
}

/// The first policy that applies to a ticket with these field values.
pub fn policy_for(
    policies: &[SlaPolicy],
    field: impl Fn(&str) -> Option<String>,
) -> Option<&SlaPolicy> {
    policies.iter().find(|p| p.matches(&field))
}

/// The intervals during which the policy's clock runs: unresolved, not paused. The last one
/// is open-ended (`None`) when the ticket is unresolved in a running status now.
fn running_intervals(policy: &SlaPolicy, f: &TicketFacts) -> Vec<(i64, Option<i64>)> {
    let runs = |status: &str| !policy.pause_on.iter().any(|p| p == status);
    let mut out: Vec<(i64, Option<i64>)> = f
        .status_spans
        .iter()
        .filter(|s| runs(&s.status))
        .map(|s| (s.from, Some(s.to)))
        .collect();
    if let Some((status, since)) = &f.open_status {
        if runs(status) {
            out.push((*since, None));
        }
    }
    out
}

fn measure(
    clock: Clock,
    running: &[(i64, Option<i64>)],
    target: &'static str,
    target_secs: f64,
    start: i64,
    end: Option<(i64, &'static str)>,
) -> SlaInstance {
    let mut elapsed = 0.0;
    let mut due_at = None;
    let mut running_since = None;
    let stop = end.map(|(at, _)| at);
    for &(from, to) in running {
        let a = from.max(start);
        let b = match (to, stop) {
            (Some(t), Some(s)) => Some(t.min(s)),
            (Some(t), None) => Some(t),
            (None, Some(s)) => Some(s),
            (None, None) => None,
        };
        match b {
            Some(b) if b <= a => continue,
            Some(b) => {
                let piece = clock.secs(a, b);
                if due_at.is_none() && elapsed + piece > target_secs {
                    due_at = clock.advance(a, target_secs - elapsed);
                }
                elapsed += piece;
            }
            None => {
                if due_at.is_none() {
                    due_at = clock.advance(a, (target_secs - elapsed).max(0.0));
                }
                running_since = Some(a);
            }
        }
    }
    SlaInstance {
        target,
        target_secs,
        started_at: start,
        ended_at: stop,
        ended_by: end.map(|(_, by)| by),
        elapsed_secs: elapsed,
        due_at,
        running_since,
    }
}

/// Every target instance of a ticket under `policy`. `calendar` is the ticket's calendar,
/// used when the policy's clock is business time.
pub fn sla_instances(
    policy: &SlaPolicy,
    calendar: Option<&Calendar>,
    created_at: i64,
    f: &TicketFacts,
) -> Vec<SlaInstance> {
    let clock = Clock::new(if policy.business { calendar } else { None });
    if policy.business && calendar.is_none() {
        return Vec::new();
    }
    let running = running_intervals(policy, f);
    let solve = f.full_resolved_at.map(|at| (at, "solve"));
    let mut out = Vec::new();
    for &(target, secs) in &policy.targets {
        match target {
            "first_reply" => {
                let end = f
                    .first_reply_at
                    .map(|at| (at, "reply"))
                    .or(f.first_resolved_at.map(|at| (at, "solve")));
                out.push(measure(clock, &running, target, secs, created_at, end));
            }
            "next_reply" => {
                for w in f.reply_waits.iter().skip(1) {
                    let end = Some((w.at, "reply"));
                    out.push(measure(clock, &running, target, secs, w.clock_start, end));
                }
                if let Some(start) = f.open_clock.filter(|_| f.first_reply_at.is_some()) {
                    out.push(measure(clock, &running, target, secs, start, solve));
                }
            }
            _ => out.push(measure(clock, &running, target, secs, created_at, solve)),
        }
    }
    out
}

/// Where an open target stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// More than the at-risk fraction of the target is left.
    Ok,
    /// At most the at-risk fraction is left.
    AtRisk,
    /// The target has passed.
    Breached,
}

impl SlaState {
    /// `ok`, `at_risk`, `breached`.
    pub fn name(self) -> &'static str {
        match self {
            SlaState::Ok => "ok",
            SlaState::AtRisk => "at_risk",
            SlaState::Breached => "breached",
        }
    }
}

/// An open target's clock at an instant: elapsed and remaining clock seconds, and its state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenAssessment {
    /// Clock seconds used so far.
    pub elapsed_secs: f64,
    /// Clock seconds left (negative once breached).
    pub remaining_secs: f64,
    /// Where it stands.
    pub state: SlaState,
}

/// Assesses an open target at `now`: the stored elapsed time plus, when its clock runs, the
/// clock time since `running_since`.
pub fn assess_open(
    target_secs: f64,
    elapsed_secs: f64,
    running_since: Option<i64>,
    at_risk: f64,
    clock: Clock,
    now: i64,
) -> OpenAssessment {
    let elapsed = elapsed_secs + running_since.map(|s| clock.secs(s, now)).unwrap_or(0.0);
    let remaining = target_secs - elapsed;
    let state = if remaining < 0.0 {
        SlaState::Breached
    } else if remaining <= at_risk * target_secs {
        SlaState::AtRisk
    } else {
        SlaState::Ok
    };
    OpenAssessment {
        elapsed_secs: elapsed,
        remaining_secs: remaining,
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{fold_ticket, EventInput, TicketInput};

    const MIN: i64 = 60_000_000;

    fn policy(pause_on: &[&str]) -> SlaPolicy {
        SlaPolicy {
            name: "p".into(),
            when: Vec::new(),
            targets: vec![
                ("first_reply", 3600.0),
                ("next_reply", 1800.0),
                ("resolution", 7200.0),
            ],
            business: false,
            pause_on: pause_on.iter().map(|s| s.to_string()).collect(),
            at_risk: 0.25,
        }
    }

    fn ev(id: &str, minute: i64, kind: &str, role: &str, status: Option<&str>) -> EventInput {
        EventInput {
            event_id: id.into(),
            at: minute * MIN,
            kind: kind.into(),
            author_role: Some(role.into()),
            author_id: Some(if role == "agent" { "a1" } else { "c1" }.into()),
            status: status.map(Into::into),
            ..Default::default()
        }
    }

    fn facts(events: &mut [EventInput]) -> TicketFacts {
        let t = TicketInput {
            ticket_id: "t".into(),
            created_at: 0,
            ..Default::default()
        };
        fold_ticket(&t, events)
    }

    #[test]
    fn pending_pauses_and_targets_end_by_reply_or_solve() {
        // Reply at 50 min; customer writes at 60; pending 70–130; reply at 140;
        // solved at 150.
        let mut events = vec![
            ev("1", 0, "message", "customer", None),
            ev("2", 50, "message", "agent", None),
            ev("3", 60, "message", "customer", None),
            ev("4", 70, "status", "agent", Some("pending")),
            ev("5", 130, "status", "agent", Some("open")),
            ev("6", 140, "message", "agent", None),
            ev("7", 150, "status", "agent", Some("solved")),
        ];
        let f = facts(&mut events);
        let got = sla_instances(&policy(&["pending"]), None, 0, &f);
        assert_eq!(got.len(), 3);
        let first = &got[0];
        assert_eq!((first.elapsed_secs, first.met()), (3000.0, Some(true)));
        let next = &got[1];
        // 60→70 and 130→140 run: 20 minutes.
        assert_eq!(next.elapsed_secs, 1200.0);
        assert_eq!(next.met(), Some(true));
        let resolution = &got[2];
        // 0→70 and 130→150: 90 minutes, within 120.
        assert_eq!(resolution.elapsed_secs, 5400.0);
        assert_eq!(resolution.met(), Some(true));
        // Without pausing, the next reply took 80 minutes and breached at 60 + 30.
        let unpaused = sla_instances(&policy(&[]), None, 0, &f);
        assert_eq!(unpaused[1].met(), Some(false));
        assert_eq!(unpaused[1].due_at, Some(90 * MIN));
        assert_eq!(unpaused[2].elapsed_secs, 9000.0);
        assert_eq!(unpaused[2].due_at, Some(120 * MIN));
    }

    #[test]
    fn open_targets_project_their_breach() {
        let mut events = vec![
            ev("1", 0, "message", "customer", None),
            ev("2", 10, "status", "agent", Some("pending")),
        ];
        let f = facts(&mut events);
        let paused = sla_instances(&policy(&["pending"]), None, 0, &f);
        assert_eq!(paused[0].ended_at, None);
        assert_eq!(paused[0].elapsed_secs, 600.0);
        assert_eq!(paused[0].running_since, None);
        assert_eq!(paused[0].due_at, None);
        let running = sla_instances(&policy(&[]), None, 0, &f);
        assert_eq!(running[0].running_since, Some(10 * MIN));
        assert_eq!(running[0].elapsed_secs, 600.0);
        assert_eq!(running[0].due_at, Some(60 * MIN));
        assert_eq!(running[0].met(), None);
        let clock = Clock::new(None);
        let at = |m: i64| assess_open(3600.0, 600.0, Some(10 * MIN), 0.25, clock, m * MIN);
        assert_eq!(at(30).state, SlaState::Ok);
        // 10 min before the clock last started + 20 min since = 30 of 60 min used.
        assert_eq!(at(30).remaining_secs, 1800.0);
        assert_eq!(at(50).state, SlaState::AtRisk);
        assert_eq!(at(61).state, SlaState::Breached);
        let paused = assess_open(3600.0, 600.0, None, 0.25, clock, 500 * MIN);
        assert_eq!(paused.elapsed_secs, 600.0);
    }

    #[test]
    fn a_solve_ends_an_unanswered_first_reply() {
        let mut events = vec![
            ev("1", 0, "message", "customer", None),
            ev("2", 90, "status", "agent", Some("solved")),
        ];
        let f = facts(&mut events);
        let got = sla_instances(&policy(&[]), None, 0, &f);
        assert_eq!(got[0].ended_by, Some("solve"));
        assert_eq!(got[0].met(), Some(false));
        assert_eq!(got[0].due_at, Some(60 * MIN));
        assert_eq!(got.len(), 2, "no next-reply instance without a first reply");
    }
}
