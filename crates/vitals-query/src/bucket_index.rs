//! The bucket an instant falls in, as SQL arithmetic rather than a join.
//!
//! Buckets (and local clock hours) are contiguous slots of UTC instants. Matching rows to them
//! with an `ASOF JOIN` makes DuckDB sort every row by its instant, which cost most of a query
//! at a million tickets (1.2 s of 1.3 s for SLA compliance over six months). Here consecutive
//! slots of equal length form a *run* — a year of Helsinki days is five runs: the 24-hour days
//! up to the spring change, the 23-hour day, the summer's 24-hour days, the 25-hour day, the
//! rest — and an instant's slot is found by a balanced comparison tree over the runs' starts
//! and one integer division inside its run. The boundaries stay the exact UTC instants the
//! buckets were built from (`buckets.rs`), so every DST rule of the zone is kept as it is.

use crate::dialect::Dialect;

/// Slots `first..first + count`, each `len_us` long, the first starting at `start_us`.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    first: usize,
    count: usize,
    start_us: i64,
    len_us: i64,
}

/// A comparison tree over runs of equal-length slots.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Leaf(Run),
    /// Instants before `at_us` go low, the rest high.
    Split {
        at_us: i64,
        low: Box<Node>,
        high: Box<Node>,
    },
}

impl Node {
    /// The tree for slots `[start, end)` given in time order.
    fn build(slots: &[(i64, i64)]) -> Option<Node> {
        let mut runs: Vec<Run> = Vec::new();
        for (i, &(start, end)) in slots.iter().enumerate() {
            let len = end - start;
            if len <= 0 {
                // A day a zone skipped (Samoa's 30 December 2011) holds no instant.
                continue;
            }
            match runs.last_mut() {
                Some(r)
                    if r.len_us == len
                        && r.first + r.count == i
                        && r.start_us + r.len_us * r.count as i64 == start =>
                {
                    r.count += 1;
                }
                _ => runs.push(Run {
                    first: i,
                    count: 1,
                    start_us: start,
                    len_us: len,
                }),
            }
        }
        Self::balance(runs)
    }

    fn balance(mut runs: Vec<Run>) -> Option<Node> {
        if runs.len() <= 1 {
            return runs.pop().map(Node::Leaf);
        }
        let high = runs.split_off(runs.len() / 2);
        Some(Node::Split {
            at_us: high[0].start_us,
            low: Box::new(Self::balance(runs)?),
            high: Box::new(Self::balance(high)?),
        })
    }

    fn sql(&self, dialect: &dyn Dialect, column: &str) -> String {
        match self {
            Node::Leaf(Run {
                first, count: 1, ..
            }) => first.to_string(),
            Node::Leaf(r) => {
                let since_start = format!("({} - {})", dialect.epoch_us(column), r.start_us);
                format!(
                    "({} + {})",
                    r.first,
                    dialect.int_div(&since_start, &r.len_us.to_string())
                )
            }
            Node::Split { at_us, low, high } => format!(
                "CASE WHEN {column} < {} THEN {} ELSE {} END",
                dialect.instant(*at_us),
                low.sql(dialect, column),
                high.sql(dialect, column)
            ),
        }
    }

    #[cfg(test)]
    fn eval(&self, us: i64) -> usize {
        match self {
            Node::Leaf(r) => r.first + ((us - r.start_us) / r.len_us) as usize,
            Node::Split { at_us, low, high } => {
                if us < *at_us {
                    low.eval(us)
                } else {
                    high.eval(us)
                }
            }
        }
    }
}

/// SQL of the 0-based position, in `slots`, of the slot holding the instant `column` (a
/// `TIMESTAMP` in UTC). Only instants inside `[first start, last end)` get a meaningful
/// answer; callers keep the rest out. `None` when there are no slots.
pub fn slot_index_sql(dialect: &dyn Dialect, column: &str, slots: &[(i64, i64)]) -> Option<String> {
    Node::build(slots).map(|tree| tree.sql(dialect, column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buckets::{buckets, Grain};
    use crate::dialect::DuckDb;
    use chrono::NaiveDate;
    use chrono_tz::Tz;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Every instant at a slot's edges (and a spread of instants between) lands in the slot a
    /// linear search finds.
    fn check(slots: &[(i64, i64)]) -> Node {
        let tree = Node::build(slots).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for (i, &(start, end)) in slots.iter().enumerate().filter(|(_, (s, e))| e > s) {
            let mut probes = vec![start, end - 1, start + (end - start) / 2];
            for _ in 0..20 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                probes.push(start + (state % (end - start) as u64) as i64);
            }
            for us in probes {
                assert_eq!(tree.eval(us), i, "instant {us} in slot {i} of {slots:?}");
            }
        }
        tree
    }

    fn bucket_slots(zone: &str, grain: Option<Grain>, from: &str, to: &str) -> Vec<(i64, i64)> {
        let zone: Tz = zone.parse().unwrap();
        buckets(zone, grain, d(from), d(to))
            .iter()
            .map(|b| (b.start_us, b.end_us))
            .collect()
    }

    #[test]
    fn a_year_of_helsinki_days_is_five_runs() {
        let slots = bucket_slots(
            "Europe/Helsinki",
            Some(Grain::Day),
            "2026-01-01",
            "2027-01-01",
        );
        assert_eq!(slots.len(), 365);
        let tree = check(&slots);
        assert_eq!(tree.sql(&DuckDb, "x").matches("epoch_us").count(), 3);
        assert_eq!(tree.sql(&DuckDb, "x").matches("CASE").count(), 4);
    }

    #[test]
    fn every_grain_and_zone_matches_a_linear_search() {
        let zones = [
            "UTC",
            "Europe/Helsinki",
            "America/New_York",
            "Australia/Lord_Howe",
            "America/Santiago",
            "Asia/Kathmandu",
            "Pacific/Apia",
        ];
        for zone in zones {
            for grain in [
                None,
                Some(Grain::Day),
                Some(Grain::Week),
                Some(Grain::Month),
                Some(Grain::Quarter),
                Some(Grain::Year),
            ] {
                check(&bucket_slots(zone, grain, "2010-12-15", "2013-02-03"));
            }
        }
    }

    #[test]
    fn sql_of_a_single_bucket_is_a_constant() {
        assert_eq!(slot_index_sql(&DuckDb, "t", &[(0, 10)]).unwrap(), "0");
        assert_eq!(slot_index_sql(&DuckDb, "t", &[]), None);
        assert_eq!(
            slot_index_sql(&DuckDb, "t", &[(0, 10), (10, 20), (20, 30)]).unwrap(),
            "(0 + (epoch_us(t) - 0) // 10)"
        );
    }
}
