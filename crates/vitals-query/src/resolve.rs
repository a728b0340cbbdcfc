//! Resolution of a request against the catalogue: unknown names get a "did you mean",
//! dimensions must apply to every metric asked for, stats must fit the metric, and the zone
//! must be an IANA zone.

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::buckets::{Grain, TIME_OF_DAY};
use crate::dialect::Dialect;
use crate::error::{unknown, QueryError};
use crate::request::{Filter, FilterOp, QueryRequest};
use vitals_core::catalogue::{Catalogue, Metric};

/// A statistic of a distribution metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// Arithmetic mean (the default).
    Mean,
    /// Percentile 0–1 (median = 0.5), linear interpolation between closest ranks.
    Quantile(f64),
}

/// One requested value: a metric, and for distributions, a stat.
#[derive(Debug, Clone)]
pub struct MetricAsk {
    /// The key in results (`csat`, `first_response_time:p90`).
    pub key: String,
    /// The stat (Mean for non-distributions).
    pub stat: Stat,
    /// Whether the stat is over business time (`business_mean`, `business_median`, …).
    pub business: bool,
}

/// A metric of the request with everything asked of it.
#[derive(Debug, Clone)]
pub struct ResolvedMetric {
    /// The definition.
    pub metric: Metric,
    /// Values asked (one per stat).
    pub asks: Vec<MetricAsk>,
    /// Dimensions for this metric: the request's, plus `share_of` when not asked.
    pub dimensions: Vec<String>,
    /// SQL of each dimension in `dimensions`.
    pub dimension_sql: Vec<String>,
}

/// A request checked against the catalogue.
#[derive(Debug, Clone)]
pub struct ResolvedQuery {
    /// Metrics in request order (a metric asked with several stats appears once).
    pub metrics: Vec<ResolvedMetric>,
    /// The time grain, if a `time:` dimension was asked.
    pub grain: Option<Grain>,
    /// Non-time dimensions in request order.
    pub dimensions: Vec<String>,
    /// Filters.
    pub filters: Vec<Filter>,
    /// First local date.
    pub from: Option<NaiveDate>,
    /// Exclusive end date.
    pub to: Option<NaiveDate>,
    /// Zone.
    pub zone: Tz,
}

/// Parses a stat name: `mean`, `median`, `pNN` (1–99), each also as `business_…`.
pub fn parse_stat(text: &str) -> Option<(Stat, bool)> {
    match text.strip_prefix("business_") {
        Some(rest) => parse_plain_stat(rest).map(|s| (s, true)),
        None => parse_plain_stat(text).map(|s| (s, false)),
    }
}

fn parse_plain_stat(text: &str) -> Option<Stat> {
    match text {
        "mean" => Some(Stat::Mean),
        "median" => Some(Stat::Quantile(0.5)),
        _ => {
            let p: u32 = text.strip_prefix('p')?.parse().ok()?;
            (1..=99)
                .contains(&p)
                .then(|| Stat::Quantile(p as f64 / 100.0))
        }
    }
}

/// Resolves a request against the catalogue; `default_zone` applies when the request names
/// none.
pub fn resolve(
    catalogue: &Catalogue,
    req: &QueryRequest,
    default_zone: Tz,
) -> Result<ResolvedQuery, QueryError> {
    if req.metrics.is_empty() {
        return Err(QueryError::NoMetric);
    }
    let zone = match &req.timezone {
        None => default_zone,
        Some(name) => name.parse::<Tz>().map_err(|_| {
            unknown(
                "time zone",
                name,
                chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()),
            )
        })?,
    };
    let ids: Vec<&str> = catalogue.metrics.iter().map(|m| m.id.as_str()).collect();
    let mut grain: Option<Grain> = None;
    let mut dimensions = Vec::new();
    for dim in &req.by {
        if let Some(g) = Grain::from_dimension(dim) {
            if let Some(first) = grain.replace(g) {
                return Err(QueryError::SeveralTimeDimensions {
                    first: first.dimension().to_string(),
                    second: dim.clone(),
                });
            }
        } else if dim.starts_with("time:") && !TIME_OF_DAY.contains(&dim.as_str()) {
            let known = Grain::ALL.iter().map(|(_, n)| *n).chain(TIME_OF_DAY);
            return Err(unknown("time dimension", dim, known));
        } else if !dimensions.contains(dim) {
            dimensions.push(dim.clone());
        }
    }
    let filters = req.filters.clone();
    let all_dims = catalogue.all_dimension_names();
    let all_dims: Vec<&str> = all_dims.iter().map(String::as_str).collect();

    let mut metrics: Vec<ResolvedMetric> = Vec::new();
    for spec in &req.metrics {
        let id = spec.id.as_str();
        let key = spec.key();
        let metric = catalogue
            .metric(id)
            .ok_or_else(|| unknown("metric", id, ids.iter().copied()))?;
        let invalid_stat = |message: String| QueryError::InvalidStat {
            metric: key.clone(),
            message,
        };
        let (stat, business) = match spec.stat.as_deref() {
            None => (Stat::Mean, false),
            Some(s) if metric.has_distribution() => parse_stat(s).ok_or_else(|| {
                invalid_stat(format!(
                    "unknown stat `{s}` for `{id}`: use mean, median, p1…p99{}",
                    if metric.business_value.is_some() { ", or business_mean, business_median, business_p1…p99" } else { "" }
                ))
            })?,
            Some(s) => {
                return Err(invalid_stat(format!(
                    "`{id}` is a {} metric and takes no stat (`:{s}`); stats apply to durations and other distributions",
                    metric.calculation.name()
                )))
            }
        };
        if business && metric.business_value.is_none() {
            return Err(invalid_stat(format!(
                "`{id}` has no business-time variant (it is not a duration between two instants)"
            )));
        }
        let ask = MetricAsk {
            key,
            stat,
            business,
        };
        if let Some(existing) = metrics.iter_mut().find(|m| m.metric.id == id) {
            if !existing.asks.iter().any(|a| a.key == ask.key) {
                existing.asks.push(ask);
            }
            continue;
        }
        let available = catalogue.dimensions_of(metric);
        let own_dimensions = || available.keys().cloned().collect::<Vec<_>>();
        let not_applicable = |d: &str, message: String| QueryError::DimensionNotApplicable {
            metric: id.to_string(),
            dimension: d.to_string(),
            message,
            suggestions: own_dimensions(),
        };
        let mut dims = dimensions.clone();
        for always in metric.share_of.iter().chain(&metric.breakdown) {
            if !dims.contains(always) {
                dims.push(always.clone());
            }
        }
        let mut dimension_sql = Vec::new();
        for d in &dims {
            if TIME_OF_DAY.contains(&d.as_str()) {
                if !metric.calculation.is_row_wise() || metric.is_per_bucket() {
                    return Err(not_applicable(d, format!(
                        "`{id}` cannot be broken down by `{d}`: it is not counted by one instant per row"
                    )));
                }
                dimension_sql.push(String::new());
                continue;
            }
            match available.get(d) {
                Some(sql) => dimension_sql.push(sql.clone()),
                None if all_dims.contains(&d.as_str()) => {
                    return Err(not_applicable(
                        d,
                        format!(
                            "`{id}` cannot be broken down by `{d}`; its dimensions are: {}",
                            own_dimensions().join(", ")
                        ),
                    ))
                }
                None => return Err(unknown("dimension", d, all_dims.iter().copied())),
            }
        }
        for f in &filters {
            if !available.contains_key(&f.dimension) {
                return Err(if all_dims.contains(&f.dimension.as_str()) {
                    not_applicable(
                        &f.dimension,
                        format!("`{id}` cannot be filtered by `{}`", f.dimension),
                    )
                } else {
                    unknown("dimension", &f.dimension, all_dims.iter().copied())
                });
            }
        }
        metrics.push(ResolvedMetric {
            metric: metric.clone(),
            asks: vec![ask],
            dimensions: dims,
            dimension_sql,
        });
    }
    if let Some(from) = req.from {
        crate::limits::check_date("from", from)?;
    }
    if let Some(to) = req.to {
        crate::limits::check_date("to", to)?;
    }
    if let (Some(from), Some(to)) = (req.from, req.to) {
        if from >= to {
            return Err(QueryError::InvalidPeriod(format!(
                "--from {from} must be before --to {to} (--to is exclusive)"
            )));
        }
    }
    Ok(ResolvedQuery {
        metrics,
        grain,
        dimensions,
        filters,
        from: req.from,
        to: req.to,
        zone,
    })
}

/// The SQL for one filter within one metric: `(expr) IN (?, …)` (or, for `is_not`, rows
/// without a value or with none of the values), with its values to bind.
pub fn filter_sql(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    metric: &Metric,
    filter: &Filter,
) -> (String, Vec<String>) {
    let dims = catalogue.dimensions_of(metric);
    let expr = dims
        .get(&filter.dimension)
        .cloned()
        .unwrap_or_else(|| "NULL".into());
    let marks = vec!["?"; filter.values.len()].join(", ");
    let text = dialect.to_text(&expr);
    let sql = match filter.op {
        FilterOp::Is => format!("{text} IN ({marks})"),
        FilterOp::IsNot => format!("coalesce({text} NOT IN ({marks}), true)"),
    };
    (sql, filter.values.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::MetricSpec;

    fn req(metrics: &[&str], by: &[&str]) -> QueryRequest {
        QueryRequest {
            metrics: metrics.iter().map(|s| MetricSpec::parse(s)).collect(),
            by: by.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn unknown_names_get_suggestions() {
        let c = Catalogue::builtin().unwrap();
        let e = resolve(&c, &req(&["frist_response_time"], &[]), Tz::UTC).unwrap_err();
        assert!(
            e.to_string().contains("did you mean `first_response_time`"),
            "{e}"
        );
        let e = resolve(&c, &req(&["csat"], &["ticket:chanel"]), Tz::UTC).unwrap_err();
        assert!(
            e.to_string().contains("did you mean `ticket:channel`"),
            "{e}"
        );
        let e = resolve(&c, &req(&["csat"], &["time:montth"]), Tz::UTC).unwrap_err();
        assert!(e.to_string().contains("time:month"), "{e}");
        let e = resolve(&c, &req(&["answer_rate"], &["ticket:channel"]), Tz::UTC).unwrap_err();
        assert!(e.to_string().contains("cannot be broken down"), "{e}");
        let e = resolve(&c, &req(&["csat:median"], &[]), Tz::UTC).unwrap_err();
        assert!(e.to_string().contains("takes no stat"), "{e}");
    }

    #[test]
    fn stats_and_shares_resolve() {
        let c = Catalogue::builtin().unwrap();
        let q = resolve(
            &c,
            &req(
                &[
                    "first_response_time:median",
                    "first_response_time:p90",
                    "channel_mix",
                ],
                &["time:month"],
            ),
            Tz::UTC,
        )
        .unwrap();
        assert_eq!(q.metrics.len(), 2);
        assert_eq!(q.metrics[0].asks.len(), 2);
        assert_eq!(q.metrics[0].asks[1].stat, Stat::Quantile(0.9));
        let b = resolve(&c, &req(&["resolution_time:business_p90"], &[]), Tz::UTC).unwrap();
        assert!(b.metrics[0].asks[0].business);
        assert!(resolve(&c, &req(&["agent_touches:business_mean"], &[]), Tz::UTC).is_err());
        assert_eq!(q.metrics[1].dimensions, vec!["ticket:channel".to_string()]);
        assert_eq!(q.grain, Some(Grain::Month));
    }
}
