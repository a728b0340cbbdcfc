//! Customers and what they do besides contacting support: their orders, NPS surveys,
//! loyalty / education / community programme engagement, and referrals — the converted ones
//! naming the customers who arrived through the referral channel.

use crate::config::PROGRAMMES;
use crate::org::{Organisation, DAY, HOUR};
use crate::writer::Writers;
use crate::SynthError;

/// When a customer arrived and left, and who they are.
#[derive(Clone, Copy)]
struct Life {
    acquired: i64,
    churned: Option<i64>,
    persona: &'static str,
    channel: &'static str,
}

impl Life {
    fn active_at(&self, at: i64) -> bool {
        self.acquired <= at && self.churned.is_none_or(|c| c > at)
    }
}

impl Organisation {
    fn life(&mut self) -> Life {
        let history = 730 * DAY;
        let acquired = self.start_us - history
            + (self.uniform() * (self.end_us - self.start_us + history) as f64) as i64;
        let churned = if self.chance(0.35) {
            Some(acquired + (self.exp(300.0) * DAY as f64) as i64)
        } else {
            None
        };
        let churned = churned.filter(|c| *c < self.end_us);
        let persona = self.pick(&[("consumer", 5.0), ("smb", 3.0), ("enterprise_buyer", 1.0)]);
        let channel = self.pick(&[
            ("organic", 4.0),
            ("ads", 3.0),
            ("referral", 2.0),
            ("partner", 1.0),
        ]);
        Life {
            acquired,
            churned,
            persona,
            channel,
        }
    }

    /// Customers (acquired over two years before and during the period, some churned), their
    /// orders, NPS surveys, programme engagement and referrals.
    pub(crate) fn write_customer_activity(&mut self, out: &mut Writers) -> Result<(), SynthError> {
        let lives: Vec<Life> = (0..self.customers.len()).map(|_| self.life()).collect();
        for (i, life) in lives.iter().enumerate() {
            let Life {
                acquired,
                churned,
                persona,
                channel,
            } = *life;
            let (id, tier) = (self.customers[i].id.clone(), self.customers[i].tier);
            out.customers.row(&[
                id.clone(),
                self.fmt(acquired),
                churned.map(|c| self.fmt(c)).unwrap_or_default(),
                tier.into(),
                persona.into(),
                channel.into(),
            ])?;
            out.counts.customers += 1;
            let active_from = acquired.max(self.start_us);
            let active_to = churned.unwrap_or(self.end_us);
            if active_to <= active_from {
                continue;
            }
            self.write_engagement(out, &id, tier, active_from, active_to)?;
            self.write_referrals_made(out, &id, active_from, active_to)?;
            let months_active = (active_to - active_from) as f64 / (30.0 * DAY as f64);
            let rate = match tier {
                "enterprise" => 1.6,
                "pro" => 1.0,
                _ => 0.5,
            };
            let n_orders = (self.exp(rate * months_active)).round() as u64;
            for k in 0..n_orders {
                let at = active_from + (self.uniform() * (active_to - active_from) as f64) as i64;
                let amount = (self.lognormal(55.0, 0.6) * 100.0).round() / 100.0;
                let margin = ((0.25 + self.uniform() * 0.25) * 100.0).round() / 100.0;
                out.orders.row(&[
                    format!("o{}-{k}", &id[1..]),
                    id.clone(),
                    self.fmt(at),
                    amount.to_string(),
                    margin.min(0.5).to_string(),
                    "EUR".into(),
                ])?;
                out.counts.orders += 1;
            }
            if self.chance(0.25) {
                let at = active_from + (self.uniform() * (active_to - active_from) as f64) as i64;
                let score = self.pick(&[
                    (10, 3.0),
                    (9, 2.5),
                    (8, 2.0),
                    (7, 1.2),
                    (6, 0.6),
                    (5, 0.4),
                    (4, 0.3),
                    (3, 0.2),
                    (2, 0.1),
                    (1, 0.1),
                    (0, 0.1),
                ]);
                self.next_response += 1;
                out.sent.row(&[
                    format!("n{}", self.next_response),
                    "nps".into(),
                    self.fmt(at - 2 * DAY),
                    String::new(),
                    id.clone(),
                ])?;
                out.responses.row(&[
                    format!("r{:08}", self.next_response),
                    "nps".into(),
                    score.to_string(),
                    self.fmt(at),
                    String::new(),
                    id.clone(),
                    String::new(),
                    String::new(),
                ])?;
                out.counts.surveys_sent += 1;
                out.counts.survey_responses += 1;
            }
        }
        self.write_converted_referrals(out, &lives)
    }

    /// Programme activity month by month while the customer is active: loyalty more often for
    /// paying tiers, education and community less often.
    fn write_engagement(
        &mut self,
        out: &mut Writers,
        id: &str,
        tier: &str,
        active_from: i64,
        active_to: i64,
    ) -> Result<(), SynthError> {
        for m in 0..self.months {
            let from = self.month_start(m).max(active_from);
            let to = self.month_start(m + 1).min(active_to);
            if to <= from {
                continue;
            }
            for (programme, _) in PROGRAMMES {
                let p = match (programme, tier) {
                    ("loyalty", "enterprise") => 0.45,
                    ("loyalty", "pro") => 0.35,
                    ("loyalty", _) => 0.12,
                    ("education", "free") => 0.05,
                    ("education", _) => 0.12,
                    _ => 0.08,
                };
                if !self.chance(p) {
                    continue;
                }
                let times = if self.chance(0.4) { 2 } else { 1 };
                for _ in 0..times {
                    let at = from + (self.uniform() * (to - from) as f64) as i64;
                    out.counts.engagement += 1;
                    out.engagement.row(&[
                        format!("g{:08}", out.counts.engagement),
                        id.to_string(),
                        self.fmt(at),
                        programme.to_string(),
                    ])?;
                }
            }
        }
        Ok(())
    }

    /// Referrals a customer makes that do not (yet) bring anyone in.
    fn write_referrals_made(
        &mut self,
        out: &mut Writers,
        id: &str,
        active_from: i64,
        active_to: i64,
    ) -> Result<(), SynthError> {
        let months_active = ((active_to - active_from) as f64 / (30.0 * DAY as f64)).ceil();
        for _ in 0..months_active as u64 {
            if self.chance(0.03) {
                let at = active_from + (self.uniform() * (active_to - active_from) as f64) as i64;
                self.write_referral(out, id, at, "")?;
            }
        }
        Ok(())
    }

    /// Every customer who arrived through a referral was referred a few days earlier by a
    /// customer active then (when one is found in a few tries).
    fn write_converted_referrals(
        &mut self,
        out: &mut Writers,
        lives: &[Life],
    ) -> Result<(), SynthError> {
        for (j, life) in lives.iter().enumerate() {
            if life.channel != "referral" {
                continue;
            }
            let at = life.acquired - (self.exp(7.0 * DAY as f64)) as i64 - HOUR;
            for _ in 0..20 {
                let k = (self.uniform() * lives.len() as f64) as usize;
                if k != j && lives[k].active_at(at) {
                    let (referrer, referred) =
                        (self.customers[k].id.clone(), self.customers[j].id.clone());
                    self.write_referral(out, &referrer, at, &referred)?;
                    break;
                }
            }
        }
        Ok(())
    }

    fn write_referral(
        &mut self,
        out: &mut Writers,
        referrer: &str,
        at: i64,
        converted: &str,
    ) -> Result<(), SynthError> {
        out.counts.referrals += 1;
        out.referrals.row(&[
            format!("f{:07}", out.counts.referrals),
            referrer.to_string(),
            self.fmt(at),
            converted.to_string(),
        ])
    }
}
