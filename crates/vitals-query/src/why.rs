//! "Why did it move?": a metric's change between a period and a comparison period, split over
//! the segments of every dimension that drove it (`vitals why`, `POST /api/v1/why`). The
//! numbers are [`run_query`]'s — the total and one breakdown per dimension, for each period —
//! read from one grouped scan per period, or of both when adjacent ([`run_grouped`]:
//! proportions, means, quantiles, NPS and counts of rows) or, for metrics whose statement cannot be grouped (the backlog's
//! snapshot, repeat purchase's per-customer step, retention and churn), from one query each;
//! either way every segment's value is the one `vitals query` answers, under the same
//! `[limits]`. The pair of the two top dimensions is one more scan (which pair is known only
//! from the breakdowns). [`crate::decompose`] splits the change, and this module
//! folds small segments, tests each segment and ranks the dimensions. [`METHOD`] says how, in
//! words.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use vitals_core::catalogue::{Calculation, Catalogue, Unit};
use vitals_core::config::Config;
use vitals_core::stats::Basis;

use crate::decompose::{value_test, Method, Side};
use crate::engine::{Engine, FactsReadOnce};
use crate::error::QueryError;
use crate::grouped::run_grouped;
use crate::limits::check_date;
use crate::request::{Filter, FilterOp, MetricSpec, QueryRequest};
use crate::resolve::{resolve, ResolvedMetric, ResolvedQuery, Stat};
use crate::response::{QueryResponse, Warning};
use crate::run::{period, run_query, stored_facts_state, FactsStateOnce};

mod period;
mod segments;

pub use period::Versus;
use period::{compared, latest_complete_month};

pub use segments::{SegmentKind, SegmentSide, WhyDimension, WhySegment};

/// The method and its limits in plain words (`vitals explain why`).
pub const METHOD: &str = "\
vitals why — which segments moved a metric between two periods.

Periods: --from/--to (both or neither; by default the latest complete month of the data)
against --vs previous (the same number of months, or days, just before), same-last-year, or
FROM..TO. The numbers are those of `vitals query`: the total and one breakdown per dimension
for each period, so every segment's value agrees with the query's.

The split, per dimension, adds up to the change:
- Proportions and means (CSAT %, FCR, SLA compliance, mean times): the total is Σ wᵢ·rᵢ, a
  segment's share wᵢ of the denominator times its rate rᵢ. Its rate effect is w̄ᵢ·Δrᵢ (it got
  better or worse), its mix effect (r̄ᵢ − R̄)·Δwᵢ (it became a bigger or smaller share of the
  work, measured from the overall level R̄, so a segment that grows at the average rate has no
  effect; the mix effects add up to Σ r̄ᵢ·Δwᵢ). Bars are the mean of the two periods. Rate plus
  mix is the segment's contribution; the contributions add up to the change with no residual.
- NPS: the promoter and detractor shares are split the same way; NPS = promoters − detractors.
- Counts (volume, backlog): a segment's contribution is its own count change.
- Medians and percentiles: the same split over the segments' own quantiles explains the change
  of their share-weighted average; the rest of the quantile's change is the `remainder`, shown
  as its own line. Quantiles have no test of a segment's own change.

Segments with fewer than min_support rows (default: [statistics] min_sample) in both periods
are folded into `other`; segments absent before are `new`, absent now `vanished` (their part is
all mix). Each segment's own change has a 95% interval and a test (two-proportion z, Welch t,
NPS z, Poisson); a mix or new segment is tested on its share (two-proportion z). The p-values
of one answer are adjusted together (Holm), so a small team's noisy swing is not a cause:
`significant` is the adjusted p < 0.05.

Ranking: a segment's excess is its share of the change minus its share of the volume; a
dimension's power is half the sum of its segments' |excess| (0: the change is spread like the
volume; 1 and more: it sits in segments that hold little of it). Its drivers are its segments
of largest excess, taken until they hold 80% of the power, that are significant (or, untested,
have min_support rows in both periods); `explained` is the share of the change they account
for. Dimensions with drivers come first, by power, then by fewest drivers. By default every
dimension of the metric's entity except agents and reviewers (many small segments; ask for
them with --by).

A metric always broken down (SLA compliance by sla:target) is explained within one value,
pinned by a filter (--filter sla:target=first_reply).

Two dimensions: when the top dimension has drivers, the two top dimensions are also split
together (`pairs`: channel × team, segments such as `phone × b`), the same way and with the
same support floor; their tests are adjusted among themselves.

Limits: pairs of the two top dimensions only; shares and composite, spread and cost-ratio
metrics are not split; counts over periods of unequal length (February against
March) are compared as they are.";

/// A "why" request: the query request's metric, filters, zone and period, with what it is
/// compared with and the segments' support floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhyRequest {
    /// The metric (`csat`, `first_response_time:median`).
    pub metric: MetricSpec,
    /// Dimensions to split by (default: every segment dimension of the metric's entity).
    #[serde(default)]
    pub by: Vec<String>,
    /// Filters (all must hold), as in a query.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// First local date; with `to`, or neither (the latest complete month).
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Local date after the last.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// IANA zone (the configured reporting zone when absent).
    #[serde(default)]
    pub timezone: Option<String>,
    /// The comparison (`previous` when absent).
    #[serde(default)]
    pub vs: Option<Versus>,
    /// Segments with fewer rows in both periods are folded into `other` ([statistics]
    /// min_sample when absent).
    #[serde(default)]
    pub min_support: Option<u64>,
}

/// A period `[from, to)` in local dates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Period {
    /// First local date.
    pub from: NaiveDate,
    /// Local date after the last.
    pub to: NaiveDate,
}

/// The comparison period and how it was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparedWith {
    /// `previous`, `same-last-year` or `range`.
    pub mode: String,
    /// First local date.
    pub from: NaiveDate,
    /// Local date after the last.
    pub to: NaiveDate,
}

/// The answer: the change and, per dimension ranked by explanatory power, its segments' parts.
#[derive(Debug, Clone, Serialize)]
pub struct WhyResponse {
    /// The metric key (`csat`, `first_response_time:median`).
    pub metric: String,
    /// The metric's label.
    pub label: String,
    /// The metric's unit (`percent`, `seconds`, `count`, …).
    pub unit: Unit,
    /// How the change is split.
    pub method: Method,
    /// The period explained.
    pub period: Period,
    /// The period it is compared with.
    pub comparison: ComparedWith,
    /// The zone of the dates.
    pub timezone: String,
    /// The filters applied.
    pub filters: Vec<Filter>,
    /// The value in the period.
    pub value: Option<f64>,
    /// The value in the comparison period.
    pub previous: Option<f64>,
    /// `value − previous`.
    pub change: Option<f64>,
    /// The period's sample size.
    pub n: u64,
    /// The comparison period's.
    pub previous_n: u64,
    /// The test of the total change.
    pub test: Option<String>,
    /// Its two-sided p-value.
    pub p_value: Option<f64>,
    /// p < 0.05.
    pub significant: Option<bool>,
    /// The support floor below which segments are folded into `other`.
    pub min_support: u64,
    /// The dimensions, most explanatory first.
    pub dimensions: Vec<WhyDimension>,
    /// The two top dimensions together (`ticket:team × ticket:channel`, segments `a × email`),
    /// split the same way with the same support floor, when the top one has drivers; its tests
    /// are adjusted among themselves.
    pub pairs: Vec<WhyDimension>,
    /// Warnings of the queries behind the answer.
    pub warnings: Vec<Warning>,
}

/// Dimensions of `metric` not split by default: agents and reviewers (many small segments).
fn default_dimension(name: &str) -> bool {
    let field = name.rsplit(':').next().unwrap_or(name);
    !(field == "agent" || field.ends_with("_agent") || field == "reviewer")
}

fn method_of(calculation: Calculation, stat: Stat) -> Option<Method> {
    Some(match (calculation, stat) {
        (Calculation::Count | Calculation::Backlog, _) => Method::Count,
        (
            Calculation::Proportion
            | Calculation::RepeatPurchase
            | Calculation::Retention
            | Calculation::Churn,
            _,
        ) => Method::Ratio,
        (Calculation::Nps, _) => Method::Nps,
        (Calculation::Distribution, Stat::Mean) => Method::Mean,
        (Calculation::Distribution, Stat::Quantile(_)) => Method::Quantile,
        _ => return None,
    })
}

/// Each period's answers of each set from [`run_grouped`], taken one by one (`None`: the metric
/// is not grouped, each answer is a query of its own).
type Grouped = Option<Vec<Vec<Option<Result<QueryResponse, QueryError>>>>>;

/// The name of a pair of dimensions, and of a pair of values: `ticket:channel × ticket:team`.
const PAIR: &str = " × ";

/// One segment's two periods, by segment value, from a breakdown's two answers; a segment of
/// several dimensions is named by its values joined with [`PAIR`] (`(none)` for a missing one).
fn sides(
    method: Method,
    dimensions: &[String],
    current: &QueryResponse,
    previous: &QueryResponse,
) -> BTreeMap<Option<String>, (Side, Side)> {
    let empty = match method {
        Method::Count => Side {
            value: Some(0.0),
            n: 0.0,
            basis: Some(Basis::Count(0.0)),
        },
        _ => Side::default(),
    };
    let mut all: BTreeMap<Option<String>, (Side, Side)> = BTreeMap::new();
    for (answer, is_current) in [(current, true), (previous, false)] {
        for row in &answer.results {
            let values: Vec<Option<String>> = dimensions
                .iter()
                .map(|dimension| {
                    row.dimensions
                        .iter()
                        .find(|(d, _)| d == dimension)
                        .and_then(|(_, v)| v.clone())
                })
                .collect();
            let label = match values.as_slice() {
                [one] => one.clone(),
                many => Some(
                    many.iter()
                        .map(|v| v.as_deref().unwrap_or("(none)"))
                        .collect::<Vec<_>>()
                        .join(PAIR),
                ),
            };
            let Some((_, v)) = row.metrics.first() else {
                continue;
            };
            let side = Side {
                value: v.value,
                n: v.n as f64,
                basis: v.basis,
            };
            let entry = all.entry(label).or_insert((empty, empty));
            if is_current {
                entry.0 = side;
            } else {
                entry.1 = side;
            }
        }
    }
    all
}

/// The total's value, n and basis.
fn total(answer: &QueryResponse) -> (Option<f64>, u64, Option<Basis>) {
    answer
        .results
        .first()
        .and_then(|r| r.metrics.first())
        .map_or((None, 0, None), |(_, v)| (v.value, v.n, v.basis))
}

/// The dimensions to split by: those asked (never a time dimension, nor one the metric is
/// always broken down by), else every default dimension of the metric's entity; each checked
/// to apply before any statement runs.
fn segment_dimensions(
    catalogue: &Catalogue,
    config: &Config,
    request: &WhyRequest,
    base: &QueryRequest,
    rm: &ResolvedMetric,
) -> Result<Vec<String>, QueryError> {
    let mut by: Vec<String> = Vec::new();
    for d in request.by.iter().filter(|d| !rm.dimensions.contains(d)) {
        if d.starts_with("time:") {
            return Err(QueryError::InvalidRequest {
                message: format!("`{d}` is a time dimension, not a segment; give the periods with from/to and vs"),
            });
        }
        if !by.contains(d) {
            by.push(d.clone());
        }
    }
    if by.is_empty() {
        by = catalogue
            .dimensions_of(&rm.metric)
            .into_keys()
            .filter(|d| default_dimension(d) && !rm.dimensions.contains(d))
            .collect();
    }
    // Every dimension must apply before any statement runs.
    resolve(
        catalogue,
        &QueryRequest {
            by: by.clone(),
            ..base.clone()
        },
        config.reporting_zone(),
    )?;
    Ok(by)
}

/// The period explained: as asked, else the latest complete month of the metric's data.
fn explained_period(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &WhyRequest,
    resolved: &ResolvedQuery,
) -> Result<(NaiveDate, NaiveDate), QueryError> {
    match (request.from, request.to) {
        (Some(f), Some(t)) => Ok((f, t)),
        (None, None) => {
            let facts = FactsStateOnce::new(engine);
            let (_, in_query) = stored_facts_state(&facts, catalogue, config, resolved)?;
            let extent_catalogue = in_query.as_ref().unwrap_or(catalogue);
            let (_, data_to) = period(engine, extent_catalogue, config, resolved)?;
            data_to.and_then(latest_complete_month).ok_or_else(|| {
                QueryError::InvalidPeriod(format!(
                    "no complete month of `{}` in the store to explain; import data or give from and to",
                    request.metric.key()
                ))
            })
        }
        _ => Err(QueryError::InvalidPeriod(
            "give both from and to, or neither (the latest complete month)".into(),
        )),
    }
}

/// Explains a metric's change between two periods by the segments of its dimensions.
pub fn why(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &WhyRequest,
) -> Result<WhyResponse, QueryError> {
    // Dozens of queries of one moment: the facts' derivation state is read once.
    let engine = &FactsReadOnce::new(engine);
    let base = QueryRequest {
        metrics: vec![request.metric.clone()],
        filters: request.filters.clone(),
        timezone: request.timezone.clone(),
        ..Default::default()
    };
    let resolved = resolve(catalogue, &base, config.reporting_zone())?;
    let rm = &resolved.metrics[0];
    let not_decomposable = |reason: String| QueryError::NotDecomposable {
        metric: request.metric.key(),
        reason,
    };
    let method = method_of(rm.metric.calculation, rm.asks[0].stat).ok_or_else(|| {
        not_decomposable(format!(
            "is a {} metric; `why` splits proportions, means, NPS, counts and quantiles",
            rm.metric.calculation.name()
        ))
    })?;
    // A metric always broken down (SLA compliance by target) is explained within one value of
    // each such dimension, pinned by a filter.
    for d in &rm.dimensions {
        let pinned = request
            .filters
            .iter()
            .any(|f| &f.dimension == d && f.op == FilterOp::Is && f.values.len() == 1);
        if !pinned {
            return Err(not_decomposable(format!(
                "is always broken down by {d}; explain one of its values with the filter {d}=VALUE"
            )));
        }
    }
    let by = segment_dimensions(catalogue, config, request, &base, rm)?;
    let (from, to) = explained_period(engine, catalogue, config, request, &resolved)?;
    check_date("from", from)?;
    check_date("to", to)?;
    if from >= to {
        return Err(QueryError::InvalidPeriod(format!(
            "from {from} must be before to {to} (to is exclusive)"
        )));
    }
    let vs = request.vs.unwrap_or(Versus::Previous);
    let (cf, ct) = compared(vs, from, to)?;
    let run = |dimensions: &[String], f: NaiveDate, t: NaiveDate| {
        run_query(
            engine,
            catalogue,
            config,
            &QueryRequest {
                by: dimensions.to_vec(),
                from: Some(f),
                to: Some(t),
                ..base.clone()
            },
        )
    };
    // The total and each dimension's breakdown in both periods: from one grouped scan per
    // period (or of both, adjacent) when the metric's statement can be grouped, else from one
    // query each, run when needed.
    let periods = [(from, to), (cf, ct)];
    let grouped = |sets: &[Vec<String>]| -> Result<Grouped, QueryError> {
        let answers = run_grouped(engine, catalogue, config, &base, &periods, sets)?;
        Ok(answers.map(|per_period| {
            per_period
                .into_iter()
                .map(|list| list.into_iter().map(Some).collect())
                .collect()
        }))
    };
    let take = |answers: &mut Grouped, sets: &[Vec<String>], i: usize, period: usize| match answers
        .as_mut()
        .and_then(|list| list[period][i].take())
    {
        Some(answer) => answer,
        None => run(&sets[i], periods[period].0, periods[period].1),
    };
    let sets: Vec<Vec<String>> = std::iter::once(Vec::new())
        .chain(by.iter().map(|d| vec![d.clone()]))
        .collect();
    let mut answers = grouped(&sets)?;
    let (now, before) = (
        take(&mut answers, &sets, 0, 0)?,
        take(&mut answers, &sets, 0, 1)?,
    );
    let mut warnings: Vec<Warning> = Vec::new();
    let mut warn = |answer: &QueryResponse| {
        for w in &answer.meta.warnings {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
    };
    warn(&now);
    warn(&before);
    let (value, n, basis) = total(&now);
    let (previous, previous_n, previous_basis) = total(&before);
    let change = value.zip(previous).map(|(a, b)| a - b);
    let test = basis
        .zip(previous_basis)
        .and_then(|(a, b)| value_test(Some(&a), Some(&b)));
    let min_support = request.min_support.unwrap_or(config.statistics.min_sample);
    let mut dimensions = Vec::new();
    let mut pairs = Vec::new();
    if let Some(change) = change {
        let mut split = |split_by: &[String], c: QueryResponse, p: QueryResponse| {
            warn(&c);
            warn(&p);
            segments::dimension(
                method,
                &split_by.join(PAIR),
                change,
                sides(method, split_by, &c, &p),
                min_support as f64,
            )
        };
        for (i, dimension) in by.iter().enumerate() {
            let c = take(&mut answers, &sets, i + 1, 0)?;
            let p = take(&mut answers, &sets, i + 1, 1)?;
            dimensions.push(split(std::slice::from_ref(dimension), c, p));
        }
        segments::judge(&mut dimensions, min_support);
        // The two top dimensions together, when the first has drivers (known only now: one
        // more scan).
        if let [first, second, ..] = dimensions.as_slice() {
            if first.segments_needed > 0 {
                let pair = [first.dimension.clone(), second.dimension.clone()];
                let pair_sets = [pair.to_vec()];
                let mut answers = grouped(&pair_sets)?;
                let c = take(&mut answers, &pair_sets, 0, 0)?;
                let p = take(&mut answers, &pair_sets, 0, 1)?;
                pairs.push(split(&pair, c, p));
                segments::judge(&mut pairs, min_support);
            }
        }
    }
    Ok(WhyResponse {
        metric: request.metric.key(),
        label: rm.metric.label.clone(),
        unit: rm.metric.unit,
        method,
        period: Period { from, to },
        comparison: ComparedWith {
            mode: vs.mode().to_string(),
            from: cf,
            to: ct,
        },
        timezone: resolved.zone.name().to_string(),
        filters: request.filters.clone(),
        value,
        previous,
        change,
        n,
        previous_n,
        significant: test.as_ref().map(|(_, p)| *p < 0.05),
        test: test.as_ref().map(|(t, _)| t.clone()),
        p_value: test.map(|(_, p)| p),
        min_support,
        dimensions,
        pairs,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn agents_are_not_split_by_default() {
        assert!(default_dimension("ticket:team"));
        assert!(!default_dimension("ticket:agent"));
        assert!(!default_dimension("ticket:first_reply_agent"));
        assert!(!default_dimension("review:reviewer"));
    }

    #[test]
    fn requests_parse_from_json() {
        let r: WhyRequest = serde_json::from_str(
            r#"{"metric": "first_response_time:median", "vs": "2025-01-01..2025-02-01", "by": ["ticket:team"]}"#,
        )
        .unwrap();
        assert_eq!(r.metric.key(), "first_response_time:median");
        assert_eq!(r.vs, Some(Versus::Range(d("2025-01-01"), d("2025-02-01"))));
        assert!(serde_json::from_str::<WhyRequest>(r#"{"metric": "csat", "vs": "soon"}"#).is_err());
        assert!(serde_json::from_str::<WhyRequest>(r#"{"metrics": ["csat"]}"#).is_err());
    }
}
