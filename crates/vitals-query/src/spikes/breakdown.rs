//! A spike's breakdown: which categories and channels made its excess. Each value of a
//! dimension is expected its share of the spike's expected count — its share of the tickets on
//! the baseline days the spike was judged against — and its part of the excess is its count
//! that day minus that expectation, so the parts add up to the spike's excess exactly. The
//! counts come from [`run_query`] (`ticket_volume` by `time:day` and the dimension), one
//! statement per dimension, and only when there are spikes to explain.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;

use super::{baseline_days, SpikeParams, SpikeRequest, METRIC};
use crate::engine::Engine;
use crate::error::QueryError;
use crate::request::{MetricSpec, QueryRequest};
use crate::run::run_query;
use crate::Spike;

/// The dimensions a spike is broken down by (the one the series is split by is left out).
pub const BREAKDOWN: [&str; 2] = ["ticket:category", "ticket:channel"];

/// One dimension of a spike's breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeDimension {
    /// The dimension (`ticket:category`).
    pub dimension: String,
    /// Its values, largest part of the excess first.
    pub segments: Vec<SpikeSegment>,
}

/// One value's part of a spike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeSegment {
    /// The value (`billing`; null for tickets without one).
    pub value: Option<String>,
    /// Its tickets that day.
    pub count: f64,
    /// The spike's expected count times the value's share of the baseline days' tickets.
    pub expected: f64,
    /// `count − expected`: its part of the spike's excess (the parts add up to the excess).
    pub excess: f64,
    /// `excess / the spike's excess`.
    pub share_of_excess: Option<f64>,
    /// One of the values that made the excess: those with a positive part, largest first,
    /// taken until they hold 80% of it.
    pub driver: bool,
}

/// Counts per (split value, day, segment value) of one dimension.
type Counts = BTreeMap<(Option<String>, NaiveDate), BTreeMap<Option<String>, f64>>;

/// Adds to each spike its breakdown by every dimension of [`BREAKDOWN`] but the split one.
pub(super) fn explain(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &SpikeRequest,
    (from, first_data_day): (Option<NaiveDate>, NaiveDate),
    params: &SpikeParams,
    found: &mut [Spike],
) -> Result<(), QueryError> {
    if found.is_empty() {
        return Ok(());
    }
    for dimension in BREAKDOWN
        .iter()
        .filter(|d| request.by.as_deref() != Some(**d))
    {
        let mut by = vec!["time:day".to_string()];
        by.extend(request.by.clone());
        by.push(dimension.to_string());
        let response = run_query(
            engine,
            catalogue,
            config,
            &QueryRequest {
                metrics: vec![MetricSpec::parse(METRIC)],
                by,
                filters: request.filters.clone(),
                from,
                to: request.to,
                timezone: request.timezone.clone(),
                compare: None,
            },
        )?;
        let split = request.by.is_some();
        let mut counts = Counts::new();
        for row in &response.results {
            let value = |i: usize| row.dimensions.get(i).and_then(|(_, v)| v.clone());
            let Some(day) = value(0).and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            else {
                continue;
            };
            let (series, segment) = if split {
                (value(1), value(2))
            } else {
                (None, value(1))
            };
            let count = row.metrics.first().and_then(|(_, v)| v.value);
            *counts
                .entry((series, day))
                .or_default()
                .entry(segment)
                .or_default() += count.unwrap_or(0.0);
        }
        for spike in found.iter_mut() {
            let days = baseline_days(spike.date, first_data_day, params);
            spike.breakdown.push(SpikeDimension {
                dimension: dimension.to_string(),
                segments: segments(spike, &days, &counts),
            });
        }
    }
    Ok(())
}

/// The parts of one spike's excess by the segments of one dimension.
fn segments(spike: &Spike, baseline: &[NaiveDate], counts: &Counts) -> Vec<SpikeSegment> {
    let on = |day: NaiveDate| counts.get(&(spike.value.clone(), day));
    let mut usual: BTreeMap<Option<String>, f64> = BTreeMap::new();
    for day in baseline {
        for (segment, count) in on(*day).into_iter().flatten() {
            *usual.entry(segment.clone()).or_default() += count;
        }
    }
    let usual_total: f64 = usual.values().sum();
    let mut all: BTreeMap<Option<String>, (f64, f64)> = BTreeMap::new();
    for (segment, count) in on(spike.date).into_iter().flatten() {
        all.entry(segment.clone()).or_default().0 += count;
    }
    if usual_total > 0.0 {
        for (segment, count) in usual {
            all.entry(segment).or_default().1 = spike.expected * count / usual_total;
        }
    }
    let mut out: Vec<SpikeSegment> = all
        .into_iter()
        .filter(|(_, (count, expected))| *count > 0.0 || *expected > 0.0)
        .map(|(value, (count, expected))| SpikeSegment {
            value,
            count,
            expected,
            excess: count - expected,
            share_of_excess: (spike.excess != 0.0).then(|| (count - expected) / spike.excess),
            driver: false,
        })
        .collect();
    out.sort_by(|a, b| b.excess.total_cmp(&a.excess).then(a.value.cmp(&b.value)));
    let mut held = 0.0;
    for segment in out.iter_mut() {
        if segment.excess <= 0.0 || held >= 0.8 {
            break;
        }
        segment.driver = true;
        held += segment.share_of_excess.unwrap_or(1.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_parts_add_up_to_the_excess_and_name_the_segment_that_made_it() {
        let spike = Spike {
            date: d("2026-03-18"),
            value: None,
            count: 62.0,
            expected: 20.0,
            excess: 42.0,
            ratio: Some(3.1),
            score: 9.0,
            baseline_days: 2,
            annotations: Vec::new(),
            breakdown: Vec::new(),
        };
        let day = |billing: f64, login: f64| {
            BTreeMap::from([
                (Some("billing".to_string()), billing),
                (Some("login".to_string()), login),
            ])
        };
        let counts = Counts::from([
            ((None, d("2026-03-04")), day(12.0, 8.0)),
            ((None, d("2026-03-11")), day(12.0, 8.0)),
            ((None, d("2026-03-18")), day(54.0, 8.0)),
        ]);
        let parts = segments(&spike, &[d("2026-03-11"), d("2026-03-04")], &counts);
        assert_eq!(parts[0].value.as_deref(), Some("billing"));
        assert_eq!(parts[0].expected, 12.0);
        assert_eq!(parts[0].excess, 42.0);
        assert_eq!(parts[0].share_of_excess, Some(1.0));
        assert_eq!(parts[1].excess, 0.0);
        let sum: f64 = parts.iter().map(|p| p.excess).sum();
        assert!((sum - spike.excess).abs() < 1e-9);
        let drivers: Vec<bool> = parts.iter().map(|p| p.driver).collect();
        assert_eq!(drivers, [true, false]);
    }
}
