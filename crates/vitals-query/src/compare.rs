//! Period-over-period comparison (`--compare previous | yoy`): which period a query is
//! compared with, and attaching each value's comparison value, change and significance.
//!
//! - `previous`: every bucket against the bucket before it (the whole period shifted back by
//!   one grain; without a time grain, by the period's own length).
//! - `yoy`: every bucket against the same bucket a year earlier: 12 months back for months,
//!   quarters, years and whole periods; 52 weeks (364 days) back for days and weeks, so that
//!   weekdays line up.

use std::collections::HashMap;

use chrono::{Duration, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::buckets::{Bucket, Grain};
use crate::result::ResultRow;
use vitals_core::stats::significance;

/// What a query is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareMode {
    /// The preceding bucket.
    Previous,
    /// The same bucket a year earlier.
    Yoy,
}

impl CompareMode {
    /// Parses `previous` or `yoy`.
    pub fn parse(text: &str) -> Option<CompareMode> {
        match text {
            "previous" => Some(CompareMode::Previous),
            "yoy" => Some(CompareMode::Yoy),
            _ => None,
        }
    }

    /// The name.
    pub fn name(self) -> &'static str {
        match self {
            CompareMode::Previous => "previous",
            CompareMode::Yoy => "yoy",
        }
    }
}

/// One value's comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The value in the comparison period.
    pub value: Option<f64>,
    /// Its sample size.
    pub n: u64,
    /// Current − comparison, in the metric's unit.
    pub change: Option<f64>,
    /// The change relative to the comparison value, in percent.
    pub change_pct: Option<f64>,
    /// The test used, when the value kind has one.
    pub test: Option<String>,
    /// Its two-sided p-value.
    pub p_value: Option<f64>,
    /// p < 0.05.
    pub significant: Option<bool>,
}

fn shift_back(
    date: NaiveDate,
    mode: CompareMode,
    grain: Option<Grain>,
    span_days: i64,
) -> NaiveDate {
    let months = |m: u32| date.checked_sub_months(Months::new(m)).unwrap_or(date);
    match (mode, grain) {
        (CompareMode::Previous, None) => date - Duration::days(span_days),
        (CompareMode::Previous, Some(Grain::Day)) => date - Duration::days(1),
        (CompareMode::Previous, Some(Grain::Week)) => date - Duration::days(7),
        (CompareMode::Previous, Some(Grain::Month)) => months(1),
        (CompareMode::Previous, Some(Grain::Quarter)) => months(3),
        (CompareMode::Previous, Some(Grain::Year)) => months(12),
        (CompareMode::Yoy, Some(Grain::Day | Grain::Week)) => date - Duration::days(364),
        (CompareMode::Yoy, _) => months(12),
    }
}

/// The comparison period of `[from, to)`.
pub fn comparison_period(
    mode: CompareMode,
    grain: Option<Grain>,
    from: NaiveDate,
    to: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    let span = (to - from).num_days();
    (
        shift_back(from, mode, grain, span),
        shift_back(to, mode, grain, span),
    )
}

/// Attaches to every value of `rows` the value of the same metric and dimensions in
/// `compared` (bucket i of the comparison period stands for bucket i of the query's), with
/// the change and its significance.
pub fn attach(
    rows: &mut [ResultRow],
    buckets: &[Bucket],
    compared: &[ResultRow],
    compared_buckets: &[Bucket],
    time_dimension: Option<&str>,
) {
    let relabel: HashMap<&str, &str> = compared_buckets
        .iter()
        .zip(buckets)
        .map(|(c, b)| (c.label.as_str(), b.label.as_str()))
        .collect();
    let key = |row: &ResultRow, relabel_time: bool| -> Vec<(String, Option<String>)> {
        row.dimensions
            .iter()
            .map(|(d, v)| {
                let v = match (relabel_time, Some(d.as_str()) == time_dimension, v) {
                    (true, true, Some(label)) => relabel.get(label.as_str()).map(|l| l.to_string()),
                    _ => v.clone(),
                };
                (d.clone(), v)
            })
            .collect()
    };
    let index: HashMap<Vec<(String, Option<String>)>, &ResultRow> =
        compared.iter().map(|r| (key(r, true), r)).collect();
    for row in rows.iter_mut() {
        let other = index.get(&key(row, false)).copied();
        for (metric, value) in row.metrics.iter_mut() {
            let previous = other.and_then(|o| o.metrics.iter().find(|(k, _)| k == metric));
            let (pv, pn, pbasis) = match previous {
                Some((_, v)) => (v.value, v.n, v.basis),
                None => (None, 0, None),
            };
            let change = value.value.zip(pv).map(|(a, b)| a - b);
            let change_pct = change
                .zip(pv)
                .and_then(|(c, b)| (b != 0.0).then(|| 100.0 * c / b.abs()));
            let test = value
                .basis
                .as_ref()
                .zip(pbasis.as_ref())
                .and_then(|(a, b)| significance(a, b));
            value.compare = Some(Comparison {
                value: pv,
                n: pn,
                change,
                change_pct,
                test: test.map(|t| t.test.to_string()),
                p_value: test.map(|t| t.p_value),
                significant: test.map(|t| t.significant()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn comparison_periods() {
        let p = |mode, grain, f, t| comparison_period(mode, grain, d(f), d(t));
        assert_eq!(
            p(
                CompareMode::Previous,
                Some(Grain::Month),
                "2026-01-01",
                "2026-04-01"
            ),
            (d("2025-12-01"), d("2026-03-01"))
        );
        assert_eq!(
            p(CompareMode::Previous, None, "2026-03-01", "2026-03-15"),
            (d("2026-02-15"), d("2026-03-01"))
        );
        assert_eq!(
            p(
                CompareMode::Yoy,
                Some(Grain::Month),
                "2026-02-01",
                "2026-03-01"
            ),
            (d("2025-02-01"), d("2025-03-01"))
        );
        // 52 weeks back keeps the weekday: Monday 2026-01-05 → Monday 2025-01-06.
        assert_eq!(
            p(
                CompareMode::Yoy,
                Some(Grain::Week),
                "2026-01-05",
                "2026-01-12"
            )
            .0,
            d("2025-01-06")
        );
    }
}
