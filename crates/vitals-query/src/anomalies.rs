//! Anomalies on any metric (`vitals anomalies`, `GET /api/v1/anomalies`, the dashboard's chart
//! marks and the `anomalous` alert condition): each local day's value against a seasonal,
//! robust baseline of the same weekday in the weeks before, with a band as wide as the
//! baseline's own spread and the sampling noise of that day's value — a rate's from its Wilson
//! interval, a count's from its Poisson spread, a mean's from its standard error, an NPS from
//! its multinomial variance — so a segment with eight answers is not flagged for noise. The
//! values come from [`run_query`] (`by time:day`), so they equal `vitals query`.
//!
//! [`METHOD`] says how, in words (`vitals explain anomalies`).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use vitals_core::catalogue::{Catalogue, Direction};
use vitals_core::config::Config;
use vitals_core::stats::{nps_interval, wilson_percent, Basis, Z95};

use crate::engine::Engine;
use crate::error::QueryError;
use crate::limits::check_date;
use crate::request::{Filter, MetricSpec, QueryRequest};
use crate::result::MetricValue;
use crate::run::run_query;
use crate::spikes::{checked_baseline_weeks, day_and_value, robust_centre, MIN_BASELINE};

/// Robust z threshold by default.
pub const THRESHOLD: f64 = 4.0;
/// Fewest observations a day's rate, mean or quantile rests on to be judged, by default.
pub const MIN_N: u64 = 10;
/// The metrics judged when none is asked.
pub const DEFAULT_METRICS: [&str; 4] = ["ticket_volume", "first_response_time", "csat", "fcr"];

/// The method in words, with its default parameters.
pub const METHOD: &str =
    "Anomalies — days when a metric is far from its usual level for that weekday.

Series: the metric's value per local day (vitals query … --by time:day, in the query's zone),
per value of --by when given (e.g. per channel), read with the filters given (--filter
ticket:team=tier2; the API's filter=…), so the baseline is the filtered series' own history.
Days without observations have no value and are not judged (a count's empty day is 0).
Baseline: the same weekday in the preceding 8 weeks (baseline_weeks) that have a value; a day
needs at least 4 of them, else it is not judged.
Expected: the median of the baseline values. History spread: 1.4826 × their median absolute
deviation (robust to earlier anomalies).
Noise of the day's own value, from its sample size n:
- a rate (CSAT, FCR, SLA compliance): half the 95% Wilson interval of the expected rate at the
  day's n, over 1.96;
- a count (volume): √expected (Poisson);
- a mean (mean times): the day's standard error, sd / √n;
- NPS: half its 95% interval (multinomial variance) over 1.96;
- a median or percentile: the history spread scaled by √(baseline n / day's n) when the day
  rests on fewer observations than usual.
A rate, mean or quantile resting on fewer than 10 observations that day (min_n) is not judged.
Band: expected ± 4 (threshold) × √(history spread² + noise²). A day outside its band is an
anomaly; a count must also differ from expected by at least 5. Each anomaly carries its value,
n, expected, band, score ((value − expected) / spread), direction (up or down) and whether
that is worse, by the metric's direction. A segment with eight answers has a wide band (its
Wilson interval), so its swings are not flagged; a segment the data never had enough of is not
judged at all.";

/// What `anomalies` is asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyRequest {
    /// Metrics (`csat`, `first_response_time:median`); [`DEFAULT_METRICS`] when empty.
    #[serde(default)]
    pub metrics: Vec<MetricSpec>,
    /// A dimension to split each series by (`ticket:channel`); the total when absent.
    #[serde(default)]
    pub by: Option<String>,
    /// Filters (all must hold), as in a query.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// First local date judged (the data's first day when absent).
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Local date after the last judged (the day after the data's last when absent).
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// IANA zone of days (the reporting zone when absent).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Weeks of baseline (default 8).
    #[serde(default)]
    pub baseline_weeks: Option<u32>,
    /// Band width in spreads (default 4).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Fewest observations a non-count value needs to be judged (default 10).
    #[serde(default)]
    pub min_n: Option<u64>,
}

/// The parameters a report was made with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnomalyParams {
    /// Weeks of baseline.
    pub baseline_weeks: u32,
    /// Fewest baseline days.
    pub min_baseline: usize,
    /// Band width in spreads.
    pub threshold: f64,
    /// Fewest events a count must differ by.
    pub min_count_excess: f64,
    /// Fewest observations a non-count value needs to be judged.
    pub min_n: u64,
}

/// One anomalous day of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The metric key (`csat`, `first_response_time:median`).
    pub metric: String,
    /// The local date.
    pub date: NaiveDate,
    /// The `--by` value, when split.
    pub value: Option<String>,
    /// The day's value.
    pub observed: f64,
    /// Its sample size.
    pub n: u64,
    /// The baseline median.
    pub expected: f64,
    /// The band's low end.
    pub band_low: f64,
    /// The band's high end.
    pub band_high: f64,
    /// `(observed − expected) / spread`.
    pub score: f64,
    /// `up` or `down`.
    pub direction: String,
    /// Whether the move is for the worse (none for a neutral metric).
    pub worse: Option<bool>,
    /// Baseline days used.
    pub baseline_days: usize,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyReport {
    /// The metrics judged.
    pub metrics: Vec<String>,
    /// The split dimension.
    pub by: Option<String>,
    /// The filters every series was read with (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// First date judged.
    pub from: Option<NaiveDate>,
    /// Date after the last judged.
    pub to: Option<NaiveDate>,
    /// The zone of days.
    pub timezone: String,
    /// The parameters.
    pub params: AnomalyParams,
    /// Anomalies, by metric, date then value.
    pub anomalies: Vec<Anomaly>,
}

/// One day of a series: its value as the query answered it.
type Series = BTreeMap<NaiveDate, MetricValue>;

/// The sampling noise (one standard deviation) of a day's value around `expected`.
fn noise(day: &MetricValue, expected: f64, history: f64, baseline_n: f64) -> f64 {
    let n = day.n as f64;
    match day.basis {
        Some(Basis::Count(_)) => expected.max(0.0).sqrt(),
        Some(Basis::Proportion { n, .. }) => {
            let k = (expected / 100.0).clamp(0.0, 1.0) * n;
            wilson_percent(k, n).map_or(0.0, |ci| (ci.high - ci.low) / (2.0 * Z95))
        }
        Some(Basis::Mean { sd, n, .. }) if n >= 2.0 && sd.is_finite() => sd / n.sqrt(),
        Some(Basis::Nps { p, d, n }) => {
            nps_interval(p, d, n).map_or(0.0, |ci| (ci.high - ci.low) / (2.0 * Z95))
        }
        _ if n > 0.0 && baseline_n > n => history * (baseline_n / n - 1.0).sqrt(),
        _ => 0.0,
    }
}

/// The spikes-style weekday baseline of `date`: (expected, history spread, median n, days),
/// or `None` when too few same weekdays have a value.
fn baseline(
    series: &Series,
    date: NaiveDate,
    count: bool,
    first: NaiveDate,
    params: &AnomalyParams,
) -> Option<(f64, f64, f64, usize)> {
    let days = (1..=params.baseline_weeks)
        .map(|k| date - Duration::days(7 * i64::from(k)))
        .filter(|d| *d >= first);
    let mut values = Vec::new();
    let mut ns = Vec::new();
    for d in days {
        match series.get(&d).and_then(|v| v.value.map(|x| (x, v.n))) {
            Some((x, n)) => {
                values.push(x);
                ns.push(n as f64);
            }
            None if count => {
                values.push(0.0);
                ns.push(0.0);
            }
            None => {}
        }
    }
    if values.len() < params.min_baseline {
        return None;
    }
    let (expected, spread) = robust_centre(&mut values);
    let (baseline_n, _) = robust_centre(&mut ns);
    Some((expected, spread, baseline_n, values.len()))
}

/// Judges one day against its baseline: the anomaly, if it is one.
fn judge(
    series: &Series,
    date: NaiveDate,
    first: NaiveDate,
    params: &AnomalyParams,
    direction: Direction,
) -> Option<Anomaly> {
    let empty = MetricValue::default();
    let day = series.get(&date).unwrap_or(&empty);
    let count =
        day.exact || matches!(day.basis, Some(Basis::Count(_))) || series.values().any(|v| v.exact);
    let observed = match day.value {
        Some(v) => v,
        None if count => 0.0,
        None => return None,
    };
    if !count && day.n < params.min_n {
        return None;
    }
    let (expected, history, baseline_n, baseline_days) =
        baseline(series, date, count, first, params)?;
    let sampled = if count {
        expected.max(0.0).sqrt()
    } else {
        noise(day, expected, history, baseline_n)
    };
    // A flat history and an exact value still leave a little room (1 event, or 1e-9 relative).
    let floor = if count {
        1.0
    } else {
        1e-9 * expected.abs().max(1.0)
    };
    let spread = history.hypot(sampled).max(floor);
    let score = (observed - expected) / spread;
    let outside = score.abs() >= params.threshold;
    let big_enough = !count || (observed - expected).abs() >= params.min_count_excess;
    (outside && big_enough).then(|| Anomaly {
        metric: String::new(),
        date,
        value: None,
        observed,
        n: day.n,
        expected,
        band_low: expected - params.threshold * spread,
        band_high: expected + params.threshold * spread,
        score,
        direction: if score > 0.0 { "up" } else { "down" }.into(),
        worse: match direction {
            Direction::HigherIsBetter => Some(score < 0.0),
            Direction::LowerIsBetter => Some(score > 0.0),
            Direction::Neutral => None,
        },
        baseline_days,
    })
}

/// The request's parameters, defaults filled in, each checked against its range.
fn checked_params(request: &AnomalyRequest) -> Result<AnomalyParams, QueryError> {
    let invalid = |message: String| QueryError::InvalidRequest { message };
    let baseline_weeks = checked_baseline_weeks(request.baseline_weeks)?;
    let threshold = request.threshold.unwrap_or(THRESHOLD);
    if !(threshold.is_finite() && threshold > 0.0 && threshold <= 1_000.0) {
        return Err(invalid(format!(
            "threshold {threshold} is not a number of spreads above 0 and at most 1000"
        )));
    }
    Ok(AnomalyParams {
        baseline_weeks,
        min_baseline: MIN_BASELINE.min(baseline_weeks as usize),
        threshold,
        min_count_excess: crate::spikes::MIN_EXCESS,
        min_n: request.min_n.unwrap_or(MIN_N),
    })
}

/// Finds the anomalies asked for.
pub fn anomalies(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &AnomalyRequest,
) -> Result<AnomalyReport, QueryError> {
    let params = checked_params(request)?;
    for (what, date) in [("from", request.from), ("to", request.to)] {
        if let Some(date) = date {
            check_date(what, date)?;
        }
    }
    if let (Some(from), Some(to)) = (request.from, request.to) {
        if from >= to {
            return Err(QueryError::InvalidPeriod(format!(
                "from {from} must be before to {to} (to is exclusive)"
            )));
        }
    }
    let metrics: Vec<MetricSpec> = if request.metrics.is_empty() {
        DEFAULT_METRICS
            .iter()
            .map(|m| MetricSpec::parse(m))
            .collect()
    } else {
        request.metrics.clone()
    };
    let lookback = Duration::days(7 * i64::from(params.baseline_weeks));
    let mut by = vec!["time:day".to_string()];
    by.extend(request.by.clone());
    let mut found = Vec::new();
    let mut period = (request.from, request.to);
    let mut timezone = String::new();
    for spec in &metrics {
        let response = run_query(
            engine,
            catalogue,
            config,
            &QueryRequest {
                metrics: vec![spec.clone()],
                by: by.clone(),
                filters: request.filters.clone(),
                from: request.from.map(|f| f - lookback),
                to: request.to,
                timezone: request.timezone.clone(),
                compare: None,
            },
        )?;
        timezone = response.query.timezone.clone();
        let mut series: BTreeMap<Option<String>, Series> = BTreeMap::new();
        for row in &response.results {
            let Some((date, value)) = day_and_value(row) else {
                continue;
            };
            if let Some((_, v)) = row.metrics.first() {
                series.entry(value).or_default().insert(date, v.clone());
            }
        }
        let (Some(data_from), Some(to)) = (response.query.from, response.query.to) else {
            continue;
        };
        let from = request.from.unwrap_or(data_from);
        period = (
            Some(period.0.map_or(from, |f| f.min(from))),
            Some(period.1.map_or(to, |t| t.max(to))),
        );
        let direction = catalogue
            .metric(&spec.id)
            .map(|m| m.direction)
            .unwrap_or(Direction::Neutral);
        for (value, s) in &series {
            let Some(first) = s
                .iter()
                .find(|(_, v)| v.value.is_some_and(|x| x != 0.0 || !v.exact))
                .map(|(d, _)| *d)
            else {
                continue;
            };
            for date in from.iter_days().take_while(|d| *d < to) {
                if let Some(mut a) = judge(s, date, first, &params, direction) {
                    a.metric = spec.key();
                    a.value = value.clone();
                    found.push(a);
                }
            }
        }
    }
    found.sort_by(|a, b| (&a.metric, a.date, &a.value).cmp(&(&b.metric, b.date, &b.value)));
    Ok(AnomalyReport {
        metrics: metrics.iter().map(MetricSpec::key).collect(),
        by: request.by.clone(),
        filters: request.filters.clone(),
        from: period.0,
        to: period.1,
        timezone,
        params,
        anomalies: found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> AnomalyParams {
        checked_params(&AnomalyRequest::default()).unwrap()
    }

    fn rate(k: f64, n: f64) -> MetricValue {
        MetricValue {
            value: Some(100.0 * k / n),
            n: n as u64,
            basis: Some(Basis::Proportion { k, n }),
            ..Default::default()
        }
    }

    /// Nine weeks of a daily rate near 85% on `n` answers a day, with a little wobble.
    fn rates(n: f64) -> (Series, NaiveDate) {
        let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let series = (0..63)
            .map(|i| {
                let wobble = [0.0, 0.02, -0.01, 0.01, -0.02, 0.0, 0.01][i % 7];
                (
                    start + Duration::days(i as i64),
                    rate((0.85 + wobble) * n, n),
                )
            })
            .collect();
        (series, start)
    }

    #[test]
    fn a_rate_drop_on_a_large_segment_is_flagged_and_the_same_drop_on_eight_answers_is_not() {
        let judge_drop = |n: f64| {
            let (mut series, start) = rates(n);
            let day = start + Duration::days(60);
            series.insert(day, rate(0.5 * n, n));
            judge(&series, day, start, &params(), Direction::HigherIsBetter)
        };
        let big = judge_drop(400.0).expect("a drop from 85% to 50% on 400 answers");
        assert_eq!((big.direction.as_str(), big.worse), ("down", Some(true)));
        assert!(big.band_low > 50.0 && big.band_high < 100.0, "{big:?}");
        let noisy = AnomalyParams {
            min_n: 1,
            ..params()
        };
        let (mut series, start) = rates(8.0);
        let day = start + Duration::days(60);
        series.insert(day, rate(4.0, 8.0));
        let eight = judge(&series, day, start, &noisy, Direction::HigherIsBetter);
        assert!(eight.is_none(), "4 of 8 is within its Wilson band");
        assert!(
            judge_drop(8.0).is_none(),
            "and below min_n it is not judged at all"
        );
    }

    #[test]
    fn a_quiet_series_has_no_anomaly_and_a_short_history_is_not_judged() {
        let (series, start) = rates(200.0);
        for date in series.keys() {
            assert!(judge(&series, *date, start, &params(), Direction::HigherIsBetter).is_none());
        }
        let early = start + Duration::days(10);
        assert!(baseline(&series, early, false, start, &params()).is_none());
    }

    #[test]
    fn a_mean_is_judged_on_its_standard_error() {
        let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let mean = |m: f64, n: f64| MetricValue {
            value: Some(m),
            n: n as u64,
            basis: Some(Basis::Mean {
                mean: m,
                sd: 3600.0,
                n,
            }),
            ..Default::default()
        };
        let mut series: Series = (0..63)
            .map(|i| {
                (
                    start + Duration::days(i),
                    mean(3600.0 + (i % 3) as f64 * 60.0, 100.0),
                )
            })
            .collect();
        let day = start + Duration::days(62);
        series.insert(day, mean(7200.0, 100.0));
        let a = judge(&series, day, start, &params(), Direction::LowerIsBetter).unwrap();
        assert_eq!(a.worse, Some(true));
        series.insert(day, mean(7200.0, 3.0));
        assert!(judge(&series, day, start, &params(), Direction::LowerIsBetter).is_none());
    }

    #[test]
    fn parameters_out_of_range_are_refused() {
        for (weeks, threshold) in [(Some(0), None), (Some(500), None), (None, Some(-1.0))] {
            let request = AnomalyRequest {
                baseline_weeks: weeks,
                threshold,
                ..Default::default()
            };
            assert_eq!(
                checked_params(&request).unwrap_err().code(),
                "invalid_request"
            );
        }
    }
}
