//! The generated organisation: its random source, opening hours, agents and customers, and
//! the records that hang off neither a ticket nor a customer (agents, costs, employee
//! satisfaction, calls abandoned before they became tickets).

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::hours::{hours_on, week_of, EXTENDED_TEAM};
use crate::writer::Writers;
use crate::{SynthError, SynthOptions};

pub(crate) const SEC: i64 = 1_000_000;
pub(crate) const MIN: i64 = 60 * SEC;
pub(crate) const HOUR: i64 = 60 * MIN;
pub(crate) const DAY: i64 = 24 * HOUR;

/// An agent and their team.
pub(crate) struct Agent {
    pub id: String,
    pub team: &'static str,
}

/// A customer.
pub(crate) struct Customer {
    pub id: String,
    pub tier: &'static str,
}

pub(crate) struct Organisation {
    pub rng: ChaCha8Rng,
    pub zone: Tz,
    pub start_us: i64,
    pub end_us: i64,
    pub start: NaiveDate,
    pub months: u32,
    pub agents: Vec<Agent>,
    pub customers: Vec<Customer>,
    pub next_event: u64,
    pub next_call: u64,
    pub next_response: u64,
    pub tickets: u64,
}

fn midnight(zone: Tz, d: NaiveDate) -> i64 {
    zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map(|t| t.timestamp_micros())
        .unwrap_or(0)
}

impl Organisation {
    pub(crate) fn new(o: &SynthOptions) -> Organisation {
        let end = o.start + Months::new(o.months);
        let mut org = Organisation {
            rng: ChaCha8Rng::seed_from_u64(o.seed),
            zone: o.zone,
            start_us: midnight(o.zone, o.start),
            end_us: midnight(o.zone, end),
            start: o.start,
            months: o.months,
            agents: Vec::new(),
            customers: Vec::new(),
            next_event: 0,
            next_call: 0,
            next_response: 0,
            tickets: o.tickets,
        };
        let teams = [("tier1", 8usize), ("tier2", 4), ("billing", 3)];
        let scale = ((o.tickets as f64 / 12_000.0).sqrt()).max(1.0);
        for (team, n) in teams {
            for _ in 0..((n as f64 * scale) as usize) {
                let id = format!("a{:03}", org.agents.len() + 1);
                org.agents.push(Agent { id, team });
            }
        }
        let n_customers = (o.tickets / 5).max(300);
        for i in 0..n_customers {
            let tier = org.pick(&[("free", 6.0), ("pro", 3.0), ("enterprise", 1.0)]);
            org.customers.push(Customer {
                id: format!("c{:06}", i + 1),
                tier,
            });
        }
        org
    }

    pub(crate) fn uniform(&mut self) -> f64 {
        self.rng.gen::<f64>()
    }
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }
    /// Exponential with the given mean.
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.uniform()).ln()
    }
    /// Log-normal with the given median and shape.
    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        let (u1, u2) = (1.0 - self.uniform(), self.uniform());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        median * (sigma * z).exp()
    }
    pub(crate) fn pick<T: Copy>(&mut self, weighted: &[(T, f64)]) -> T {
        let total: f64 = weighted.iter().map(|(_, w)| w).sum();
        let mut x = self.uniform() * total;
        for (v, w) in weighted {
            if x < *w {
                return *v;
            }
            x -= w;
        }
        weighted[weighted.len() - 1].0
    }
    pub(crate) fn agent_of(&mut self, team: &str) -> String {
        let pool: Vec<usize> = (0..self.agents.len())
            .filter(|i| self.agents[*i].team == team)
            .collect();
        let i = pool[self.rng.gen_range(0..pool.len())];
        self.agents[i].id.clone()
    }

    /// Local midnight starting month `m` of the period (`m = months`: the period's end).
    pub(crate) fn month_start(&self, m: u32) -> i64 {
        midnight(self.zone, self.start + Months::new(m))
    }

    pub(crate) fn local(&self, us: i64) -> DateTime<Tz> {
        DateTime::from_timestamp_micros(us)
            .unwrap_or_default()
            .with_timezone(&self.zone)
    }
    /// RFC 3339 in the organisation's zone (offsets change with DST).
    pub(crate) fn fmt(&self, us: i64) -> String {
        self.local(us).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
    /// The same instant in UTC (`Z`), as some sources write it.
    pub(crate) fn fmt_utc(&self, us: i64) -> String {
        DateTime::from_timestamp_micros(us)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    fn is_open(&self, us: i64, team: &str) -> bool {
        let t = self.local(us);
        hours_on(week_of(team), t.date_naive())
            .is_some_and(|(open, close)| (open..close).contains(&t.hour()))
    }
    /// The first instant at or after `us` when `team` is at work (its calendar, `hours.rs`).
    pub(crate) fn next_open(&self, us: i64, team: &str) -> i64 {
        let mut t = us;
        while !self.is_open(t, team) {
            t = (t / (15 * MIN) + 1) * 15 * MIN;
        }
        t
    }
    /// An arrival instant: more on weekdays in office hours, fewer at night and weekends.
    pub(crate) fn arrival(&mut self) -> i64 {
        loop {
            let t = self.start_us + (self.uniform() * (self.end_us - self.start_us) as f64) as i64;
            let local = self.local(t);
            let weekday = local.weekday().num_days_from_monday() < 5;
            let h = local.hour();
            let weight = match h {
                8..=17 => 1.0,
                18..=22 | 7 => 0.35,
                _ => 0.06,
            } * if weekday { 1.0 } else { 0.35 };
            if self.chance(weight) {
                return t;
            }
        }
    }

    pub(crate) fn write_static(&mut self, out: &mut Writers) -> Result<(), SynthError> {
        for a in &self.agents {
            let calendar = if a.team == EXTENDED_TEAM {
                "extended"
            } else {
                "default"
            };
            out.agents.row(&[
                a.id.as_str(),
                &format!("Agent {}", &a.id[1..]),
                a.team,
                calendar,
            ])?;
            out.counts.agents += 1;
        }
        for m in 0..self.months {
            let from = self.start + Months::new(m);
            let to = from + Months::new(1);
            let support = 40_000.0 + 2_000.0 * m as f64 + (self.uniform() * 3_000.0).round();
            let marketing = 20_000.0 + (self.uniform() * 8_000.0).round();
            for (kind, amount) in [
                ("support_operations", support),
                ("sales_marketing", marketing),
            ] {
                out.costs.row(&[
                    format!("k{}-{kind}", from.format("%Y%m")),
                    from.to_string(),
                    to.to_string(),
                    kind.into(),
                    amount.to_string(),
                    "EUR".into(),
                ])?;
                out.counts.costs += 1;
            }
            self.write_employee_survey(out, from)?;
        }
        Ok(())
    }

    /// The monthly employee-satisfaction pulse (ESAT, 1–5): most agents answer in its first
    /// week; the rated "agent" is the employee.
    fn write_employee_survey(
        &mut self,
        out: &mut Writers,
        month: NaiveDate,
    ) -> Result<(), SynthError> {
        let opens = midnight(self.zone, month) + 9 * HOUR;
        for i in 0..self.agents.len() {
            if !self.chance(0.8) {
                continue;
            }
            let score = self.pick(&[(5, 3.0), (4, 4.0), (3, 2.0), (2, 0.7), (1, 0.3)]);
            let at = opens + (self.uniform() * 6.0 * DAY as f64) as i64;
            self.next_response += 1;
            out.responses.row(&[
                format!("r{:08}", self.next_response),
                "esat".into(),
                score.to_string(),
                self.fmt(at),
                String::new(),
                String::new(),
                self.agents[i].id.clone(),
                String::new(),
            ])?;
            out.counts.survey_responses += 1;
        }
        Ok(())
    }

    /// Calls abandoned in the queue (they never become tickets).
    pub(crate) fn write_calls_without_tickets(
        &mut self,
        out: &mut Writers,
    ) -> Result<(), SynthError> {
        let n = self.tickets / 40;
        for _ in 0..n {
            let offered = self.arrival();
            let patience = (self.exp(45.0) * SEC as f64) as i64 + SEC;
            self.next_call += 1;
            let queue = self.pick(&[("support", 3.0), ("billing", 1.0)]);
            out.calls.row(&[
                format!("k{:08}", self.next_call),
                queue.into(),
                self.fmt(offered),
                String::new(),
                self.fmt(offered + patience),
                "true".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ])?;
            out.counts.calls += 1;
        }
        Ok(())
    }
}
