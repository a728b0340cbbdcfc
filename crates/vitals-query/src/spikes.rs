//! Spike detection: days whose ticket volume is far above what is usual for that weekday
//! (`vitals spikes`, the report's volume sheet, `GET /api/v1/spikes`). Surface-agnostic: a
//! serde [`SpikeRequest`] in, a serde [`SpikeReport`] out; the counts come from
//! [`run_query`] (`ticket_volume` by `time:day`), so they equal `vitals query`.
//!
//! The method, with its parameters, is [`METHOD`] (what `vitals explain spikes` prints).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;

use crate::annotations::{on_date, Annotation};
use crate::engine::Engine;
use crate::error::QueryError;
use crate::limits::check_date;
use crate::operational::OperationalReads;
use crate::request::{Filter, MetricSpec, QueryRequest};
use crate::result::ResultRow;
use crate::run::run_query;

mod breakdown;

pub use breakdown::{SpikeDimension, SpikeSegment, BREAKDOWN};

/// Baseline weeks by default.
pub const BASELINE_WEEKS: u32 = 8;
/// Fewest same-weekday days a baseline needs.
pub const MIN_BASELINE: usize = 4;
/// Robust z threshold by default.
pub const THRESHOLD: f64 = 3.5;
/// Fewest tickets over expected by default.
pub const MIN_EXCESS: f64 = 5.0;
/// The metric counted.
pub const METRIC: &str = "ticket_volume";

/// The method in words, with its default parameters.
pub const METHOD: &str = "Spikes — days far above the usual level for their weekday.

Series: tickets created per local day (ticket_volume by time:day, in the query's zone), per
value of --by when given (e.g. per category); days without tickets count 0.
Baseline: for each day, the same weekday in the preceding 8 weeks (baseline_weeks), counting only
days on or after the first day with data; a day needs at least 4 such days (min_baseline),
else it is not judged.
Expected: the median of the baseline. Spread: 1.4826 × the median absolute deviation (MAD) of
the baseline — the robust equivalent of a standard deviation — but at least √expected (the
Poisson noise of a count) and at least 1.
A spike: (count − expected) / spread ≥ 3.5 (threshold) and count − expected ≥ 5 tickets
(min_excess). Median and MAD ignore earlier spikes, so one outage does not hide the next.
Each spike shows the count, expected, excess (count − expected), ratio (count / expected),
its score and the annotations of that date (vitals annotate).
Breakdown: which categories and channels made the excess. Each value is expected its share
of the spike's expected count — its share of the tickets on the baseline days — and its part
of the excess is its count that day minus that; the parts add up to the excess.";

/// What `spikes` is asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeRequest {
    /// A dimension to split the series by (`ticket:category`); the total when absent.
    #[serde(default)]
    pub by: Option<String>,
    /// First local date judged (the data's first day when absent).
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Local date after the last judged (the day after the data's last when absent).
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// IANA zone of days (the reporting zone when absent).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Filters on the tickets (e.g. one team).
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Weeks of baseline (default 8).
    #[serde(default)]
    pub baseline_weeks: Option<u32>,
    /// Robust z threshold (default 3.5).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Fewest tickets over expected (default 5).
    #[serde(default)]
    pub min_excess: Option<f64>,
}

/// The parameters a report was made with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpikeParams {
    /// Weeks of baseline.
    pub baseline_weeks: u32,
    /// Fewest baseline days.
    pub min_baseline: usize,
    /// Robust z threshold.
    pub threshold: f64,
    /// Fewest tickets over expected.
    pub min_excess: f64,
}

/// One spike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spike {
    /// The local date.
    pub date: NaiveDate,
    /// The `--by` value (e.g. the category), when split.
    pub value: Option<String>,
    /// Tickets that day.
    pub count: f64,
    /// The baseline median.
    pub expected: f64,
    /// `count − expected`.
    pub excess: f64,
    /// `count / expected` (none when expected is 0).
    pub ratio: Option<f64>,
    /// `excess / spread`.
    pub score: f64,
    /// Baseline days used.
    pub baseline_days: usize,
    /// Annotations of that date.
    pub annotations: Vec<Annotation>,
    /// Which categories and channels made the excess (one entry per dimension).
    #[serde(default)]
    pub breakdown: Vec<SpikeDimension>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeReport {
    /// The metric counted.
    pub metric: String,
    /// The split dimension.
    pub by: Option<String>,
    /// First date judged.
    pub from: Option<NaiveDate>,
    /// Date after the last judged.
    pub to: Option<NaiveDate>,
    /// The zone of days.
    pub timezone: String,
    /// The parameters.
    pub params: SpikeParams,
    /// Spikes, by date then value.
    pub spikes: Vec<Spike>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The days a date is judged against: the same weekday in the preceding weeks, on or after
/// the first day with data.
fn baseline_days(
    date: NaiveDate,
    first_data_day: NaiveDate,
    params: &SpikeParams,
) -> Vec<NaiveDate> {
    (1..=params.baseline_weeks)
        .map(|k| date - Duration::days(7 * i64::from(k)))
        .filter(|d| *d >= first_data_day)
        .collect()
}

/// The median of `values` and 1.4826 × their median absolute deviation (the robust
/// equivalent of a standard deviation); `values` must not be empty.
pub fn robust_centre(values: &mut [f64]) -> (f64, f64) {
    let centre = median(values);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - centre).abs()).collect();
    (centre, 1.4826 * median(&mut deviations))
}

/// A day judged against its baseline: `(expected, spread, baseline days)`, or `None` when the
/// baseline is too short.
pub fn baseline(
    series: &BTreeMap<NaiveDate, f64>,
    date: NaiveDate,
    first_data_day: NaiveDate,
    params: &SpikeParams,
) -> Option<(f64, f64, usize)> {
    let mut values: Vec<f64> = baseline_days(date, first_data_day, params)
        .into_iter()
        .map(|d| series.get(&d).copied().unwrap_or(0.0))
        .collect();
    if values.len() < params.min_baseline {
        return None;
    }
    let (expected, robust) = robust_centre(&mut values);
    let spread = robust.max(expected.sqrt()).max(1.0);
    Some((expected, spread, values.len()))
}

/// The spikes of one series over `days`.
pub fn detect(
    series: &BTreeMap<NaiveDate, f64>,
    days: impl Iterator<Item = NaiveDate>,
    first_data_day: NaiveDate,
    params: &SpikeParams,
) -> Vec<Spike> {
    days.filter_map(|date| {
        let (expected, spread, baseline_days) = baseline(series, date, first_data_day, params)?;
        let count = series.get(&date).copied().unwrap_or(0.0);
        let excess = count - expected;
        let score = excess / spread;
        (score >= params.threshold && excess >= params.min_excess).then(|| Spike {
            date,
            value: None,
            count,
            expected,
            excess,
            ratio: (expected > 0.0).then(|| count / expected),
            score,
            baseline_days,
            annotations: Vec::new(),
            breakdown: Vec::new(),
        })
    })
    .collect()
}

/// The most weeks of baseline a request may ask for (two years).
pub const MAX_BASELINE_WEEKS: u32 = 104;

/// Weeks of baseline asked (8 when absent), checked against 1–[`MAX_BASELINE_WEEKS`].
pub(crate) fn checked_baseline_weeks(asked: Option<u32>) -> Result<u32, QueryError> {
    let weeks = asked.unwrap_or(BASELINE_WEEKS);
    if !(1..=MAX_BASELINE_WEEKS).contains(&weeks) {
        return Err(QueryError::InvalidRequest {
            message: format!("baseline_weeks {weeks} is outside 1–{MAX_BASELINE_WEEKS}"),
        });
    }
    Ok(weeks)
}

/// The local day of a `time:day` row (its first dimension), and the value of its second.
pub(crate) fn day_and_value(row: &ResultRow) -> Option<(NaiveDate, Option<String>)> {
    let date = row
        .dimensions
        .first()
        .and_then(|(_, v)| v.as_deref())
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())?;
    Some((date, row.dimensions.get(1).and_then(|(_, v)| v.clone())))
}

/// The request's parameters, defaults filled in, each checked against its range.
fn checked_params(request: &SpikeRequest) -> Result<SpikeParams, QueryError> {
    let invalid = |message: String| QueryError::InvalidRequest { message };
    let baseline_weeks = checked_baseline_weeks(request.baseline_weeks)?;
    let threshold = request.threshold.unwrap_or(THRESHOLD);
    if !(threshold.is_finite() && threshold > 0.0 && threshold <= 1_000.0) {
        return Err(invalid(format!(
            "threshold {threshold} is not a robust z above 0 and at most 1000"
        )));
    }
    let min_excess = request.min_excess.unwrap_or(MIN_EXCESS);
    if !(min_excess.is_finite() && min_excess >= 0.0) {
        return Err(invalid(format!(
            "min_excess {min_excess} is not a number of tickets ≥ 0"
        )));
    }
    Ok(SpikeParams {
        baseline_weeks,
        min_baseline: MIN_BASELINE.min(baseline_weeks as usize),
        threshold,
        min_excess,
    })
}

/// Finds the spikes asked for, each marked with the annotations of its date (`reads`).
pub fn spikes(
    engine: &dyn Engine,
    reads: &dyn OperationalReads,
    catalogue: &Catalogue,
    config: &Config,
    request: &SpikeRequest,
) -> Result<SpikeReport, QueryError> {
    let params = checked_params(request)?;
    for (what, date) in [("from", request.from), ("to", request.to)] {
        if let Some(date) = date {
            check_date(what, date)?;
        }
    }
    let lookback = Duration::days(7 * i64::from(params.baseline_weeks));
    let mut by = vec!["time:day".to_string()];
    by.extend(request.by.clone());
    let lookback_from = request.from.map(|f| f - lookback);
    let response = run_query(
        engine,
        catalogue,
        config,
        &QueryRequest {
            metrics: vec![MetricSpec::parse(METRIC)],
            by,
            filters: request.filters.clone(),
            from: lookback_from,
            to: request.to,
            timezone: request.timezone.clone(),
            compare: None,
        },
    )?;
    let mut series: BTreeMap<Option<String>, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
    let mut data_days = BTreeSet::new();
    for row in &response.results {
        let Some((date, value)) = day_and_value(row) else {
            continue;
        };
        let count = row
            .metrics
            .first()
            .and_then(|(_, v)| v.value)
            .unwrap_or(0.0);
        if count > 0.0 {
            data_days.insert(date);
        }
        *series.entry(value).or_default().entry(date).or_default() += count;
    }
    let (from, to) = match (response.query.from, response.query.to) {
        (Some(f), Some(t)) => (Some(request.from.unwrap_or(f)), Some(t)),
        _ => (None, None),
    };
    let annotations = reads.annotations()?;
    let mut found = Vec::new();
    if let (Some(f), Some(t), Some(first)) = (from, to, data_days.first().copied()) {
        for (value, s) in &series {
            let days = f.iter_days().take_while(|d| *d < t);
            found.extend(
                detect(s, days, first, &params)
                    .into_iter()
                    .map(|mut spike| {
                        spike.value = value.clone();
                        spike.annotations = on_date(&annotations, spike.date);
                        spike
                    }),
            );
        }
    }
    if let Some(first) = data_days.first().copied() {
        breakdown::explain(
            engine,
            catalogue,
            config,
            request,
            (lookback_from, first),
            &params,
            &mut found,
        )?;
    }
    found.sort_by(|a, b| (a.date, &a.value).cmp(&(b.date, &b.value)));
    Ok(SpikeReport {
        metric: METRIC.into(),
        by: request.by.clone(),
        from,
        to,
        timezone: response.query.timezone,
        params,
        spikes: found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SpikeParams {
        SpikeParams {
            baseline_weeks: BASELINE_WEEKS,
            min_baseline: MIN_BASELINE,
            threshold: THRESHOLD,
            min_excess: MIN_EXCESS,
        }
    }

    /// Ten weeks of a weekly pattern with a little noise.
    fn quiet() -> (BTreeMap<NaiveDate, f64>, NaiveDate) {
        let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let series = (0..70)
            .map(|i| {
                let weekday = i % 7;
                let level = if weekday >= 5 { 8.0 } else { 40.0 };
                let noise = [0.0, 3.0, -2.0, 4.0, -3.0, 1.0, -1.0][(i / 7) % 7];
                (start + Duration::days(i as i64), level + noise)
            })
            .collect();
        (series, start)
    }

    #[test]
    fn a_quiet_series_has_no_spike() {
        let (series, start) = quiet();
        let days = series.keys().copied().collect::<Vec<_>>();
        assert!(detect(&series, days.into_iter(), start, &params()).is_empty());
    }

    #[test]
    fn an_injected_spike_is_found_with_its_size() {
        let (mut series, start) = quiet();
        let day = start + Duration::days(65); // a Wednesday in week 10
        *series.get_mut(&day).unwrap() += 30.0;
        let days = series.keys().copied().collect::<Vec<_>>();
        let found = detect(&series, days.into_iter(), start, &params());
        assert_eq!(found.len(), 1, "{found:?}");
        let s = &found[0];
        assert_eq!(s.date, day);
        let (expected, _, _) = baseline(&series, day, start, &params()).unwrap();
        assert_eq!(s.count, series[&day]);
        assert_eq!(s.expected, expected);
        assert_eq!(s.excess, s.count - expected);
        assert!((s.excess - 30.0).abs() <= 4.0, "{s:?}");
        // The first weeks have no baseline and are never judged.
        let early = start + Duration::days(3);
        assert!(baseline(&series, early, start, &params()).is_none());
    }

    #[test]
    fn parameters_out_of_range_are_refused_before_any_work() {
        let ask = |weeks: Option<u32>, threshold: Option<f64>, min_excess: Option<f64>| {
            checked_params(&SpikeRequest {
                baseline_weeks: weeks,
                threshold,
                min_excess,
                ..Default::default()
            })
        };
        assert_eq!(ask(None, None, None).unwrap(), params());
        for weeks in [0, 105, 13_000_000, u32::MAX] {
            let e = ask(Some(weeks), None, None).unwrap_err();
            assert_eq!(e.code(), "invalid_request", "{weeks}");
        }
        assert_eq!(ask(Some(1), None, None).unwrap().min_baseline, 1);
        for bad in [f64::NAN, f64::INFINITY, -1.0, 0.0, 1e9] {
            assert!(ask(None, Some(bad), None).is_err(), "threshold {bad}");
        }
        for bad in [f64::NAN, -0.5, f64::NEG_INFINITY] {
            assert!(ask(None, None, Some(bad)).is_err(), "min_excess {bad}");
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
