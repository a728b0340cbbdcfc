//! Turns each metric's aggregate rows into values with `n` and a 95% interval, merges all
//! metrics into one row per dimension combination, and fills empty buckets as the catalogue
//! says.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::buckets::{Bucket, WEEKDAYS};
use crate::compare::Comparison;
use crate::resolve::{ResolvedMetric, ResolvedQuery, Stat};
use crate::response::Warning;
use crate::targets::TargetCheck;
use vitals_core::catalogue::{Calculation, Empty};
use vitals_core::stats::{nps_interval, t_interval, wilson_percent, Basis, Interval};

/// One aggregate row from the engine: text keys (bucket, dimensions), numeric aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct AggRow {
    /// Bucket label, then one value per dimension of the metric.
    pub keys: Vec<Option<String>>,
    /// The aggregates the plan asked for.
    pub aggs: Vec<Option<f64>>,
}

/// One computed value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricValue {
    /// The value (null when undefined, e.g. no observations).
    pub value: Option<f64>,
    /// The sample size it rests on.
    pub n: u64,
    /// 95% interval.
    pub ci: Option<Interval>,
    /// For shares: the rows of this value.
    pub count: Option<u64>,
    /// For ranked shares: 1 = largest.
    pub rank: Option<u64>,
    /// For composites: each component's value.
    pub components: Vec<(String, Option<f64>)>,
    /// True for a count or a total (not an estimate from a sample): never `low_sample`.
    pub exact: bool,
    /// What the value rests on, for significance tests against another period.
    pub basis: Option<Basis>,
    /// The same value in the comparison period (`--compare`).
    pub compare: Option<Comparison>,
    /// The configured target and whether the value meets it.
    pub target: Option<TargetCheck>,
    /// The value rests on fewer observations than the configured floor (set by the runner).
    pub low_sample: bool,
}

impl MetricValue {
    /// Whether the value rests on fewer observations than `min_sample`.
    pub fn is_low_sample(&self, min_sample: u64) -> bool {
        !self.exact && self.value.is_some() && self.n < min_sample
    }
}

/// One result row.
#[derive(Debug, Clone, Default)]
pub struct ResultRow {
    /// `time:…` and entity dimensions with their values.
    pub dimensions: Vec<(String, Option<String>)>,
    /// Values by key (`csat`, `first_response_time:p90`), in request order.
    pub metrics: Vec<(String, MetricValue)>,
    bucket_index: usize,
}

impl ResultRow {
    /// A row from its dimension values and metric values.
    pub fn new(
        dimensions: Vec<(String, Option<String>)>,
        metrics: Vec<(String, MetricValue)>,
    ) -> ResultRow {
        ResultRow {
            dimensions,
            metrics,
            bucket_index: usize::MAX,
        }
    }
}

fn ratio_value(num: f64, den: f64) -> MetricValue {
    if den <= 0.0 {
        return MetricValue::default();
    }
    MetricValue {
        value: Some(100.0 * num / den),
        n: den as u64,
        ci: wilson_percent(num, den),
        basis: Some(Basis::Proportion { k: num, n: den }),
        ..Default::default()
    }
}

/// One metric's finalised rows: the row keys (bucket, dimensions) and a value per ask.
pub type FinalRows = Vec<(Vec<Option<String>>, Vec<MetricValue>)>;

/// Finalises the aggregate rows of one metric into values per ask, keyed by the row's keys.
/// `components` are a composite metric's (name, weight) in aggregate order.
pub fn finalize(
    rm: &ResolvedMetric,
    quantiles: &[f64],
    components: &[(String, f64)],
    rows: &[AggRow],
) -> FinalRows {
    let get = |r: &AggRow, i: usize| r.aggs.get(i).copied().flatten();
    let calc = rm.metric.calculation;
    if calc == Calculation::Share {
        return finalize_shares(rm, rows);
    }
    rows.iter()
        .map(|r| {
            let values = rm
                .asks
                .iter()
                .map(|ask| match calc {
                    Calculation::Count | Calculation::Backlog => {
                        let c = get(r, 0).unwrap_or(0.0);
                        MetricValue {
                            value: Some(c),
                            n: c as u64,
                            exact: true,
                            basis: Some(Basis::Count(c)),
                            ..Default::default()
                        }
                    }
                    Calculation::Proportion | Calculation::RepeatPurchase => {
                        ratio_value(get(r, 0).unwrap_or(0.0), get(r, 1).unwrap_or(0.0))
                    }
                    Calculation::Nps => {
                        let (p, d, n) = (
                            get(r, 0).unwrap_or(0.0),
                            get(r, 1).unwrap_or(0.0),
                            get(r, 2).unwrap_or(0.0),
                        );
                        if n <= 0.0 {
                            MetricValue::default()
                        } else {
                            MetricValue {
                                value: Some(100.0 * (p - d) / n),
                                n: n as u64,
                                ci: nps_interval(p, d, n),
                                basis: Some(Basis::Nps { p, d, n }),
                                ..Default::default()
                            }
                        }
                    }
                    Calculation::Distribution => {
                        // Calendar block first; the business block follows it when asked.
                        let base = if ask.business { 3 + quantiles.len() } else { 0 };
                        let n = get(r, base).unwrap_or(0.0);
                        match ask.stat {
                            Stat::Mean => {
                                let mean = get(r, base + 1);
                                let sd = get(r, base + 2).unwrap_or(f64::NAN);
                                let ci = mean.and_then(|m| t_interval(m, sd, n));
                                MetricValue {
                                    value: mean,
                                    n: n as u64,
                                    ci,
                                    basis: mean.map(|mean| Basis::Mean { mean, sd, n }),
                                    ..Default::default()
                                }
                            }
                            Stat::Quantile(q) => {
                                let idx =
                                    quantiles.iter().position(|x| *x == q).map(|i| base + 3 + i);
                                MetricValue {
                                    value: idx.and_then(|i| get(r, i)),
                                    n: n as u64,
                                    ..Default::default()
                                }
                            }
                        }
                    }
                    Calculation::Retention | Calculation::Churn => {
                        let (s, e, new, churned) = (
                            get(r, 0).unwrap_or(0.0),
                            get(r, 1).unwrap_or(0.0),
                            get(r, 2).unwrap_or(0.0),
                            get(r, 3).unwrap_or(0.0),
                        );
                        let kept = if calc == Calculation::Retention {
                            e - new
                        } else {
                            churned
                        };
                        if s <= 0.0 {
                            MetricValue::default()
                        } else {
                            let ci = if (0.0..=s).contains(&kept) {
                                wilson_percent(kept, s)
                            } else {
                                None
                            };
                            MetricValue {
                                value: Some(100.0 * kept / s),
                                n: s as u64,
                                ci,
                                basis: ci.map(|_| Basis::Proportion { k: kept, n: s }),
                                ..Default::default()
                            }
                        }
                    }
                    Calculation::CostRatio => {
                        let (spend, acquired) = (get(r, 0), get(r, 1).unwrap_or(0.0));
                        let value = spend.filter(|_| acquired > 0.0).map(|s| s / acquired);
                        MetricValue {
                            value,
                            n: acquired as u64,
                            exact: true,
                            ..Default::default()
                        }
                    }
                    Calculation::Composite => composite_value(components, |i| get(r, i)),
                    Calculation::Spread => {
                        let (units, mean, sd) = (get(r, 0).unwrap_or(0.0), get(r, 1), get(r, 2));
                        let value = match (mean, sd) {
                            (Some(m), Some(sd)) if units >= 2.0 && m > 0.0 => Some(100.0 * sd / m),
                            _ => None,
                        };
                        MetricValue {
                            value,
                            n: units as u64,
                            ..Default::default()
                        }
                    }
                    Calculation::Share => unreachable!("handled above"),
                })
                .collect();
            (r.keys.clone(), values)
        })
        .collect()
}

/// A composite: Σ wᵢ·rateᵢ / Σ wᵢ over the components' rates (% of the rows meeting each),
/// with the components alongside. `get(0)` is the row count, `get(1 + i)` component i's.
fn composite_value(
    components: &[(String, f64)],
    get: impl Fn(usize) -> Option<f64>,
) -> MetricValue {
    let rows = get(0).unwrap_or(0.0);
    if rows <= 0.0 {
        return MetricValue::default();
    }
    let rates: Vec<f64> = (0..components.len())
        .map(|i| 100.0 * get(1 + i).unwrap_or(0.0) / rows)
        .collect();
    let weight: f64 = components.iter().map(|(_, w)| w).sum();
    let value = (weight > 0.0).then(|| {
        components
            .iter()
            .zip(&rates)
            .map(|((_, w), r)| w * r)
            .sum::<f64>()
            / weight
    });
    MetricValue {
        value,
        n: rows as u64,
        components: components
            .iter()
            .zip(rates)
            .map(|((name, _), r)| (format!("{name}_participation"), Some(r)))
            .collect(),
        ..Default::default()
    }
}

/// Shares: each row's count over the total of rows that agree on every key but the share
/// dimension (the last key), with a Wilson interval; ranked by count when the metric says so.
fn finalize_shares(rm: &ResolvedMetric, rows: &[AggRow]) -> FinalRows {
    let share_pos = rm
        .dimensions
        .iter()
        .position(|d| Some(d) == rm.metric.share_of.as_ref())
        .map(|p| p + 1);
    let group_key = |r: &AggRow| -> Vec<Option<String>> {
        r.keys
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != share_pos)
            .map(|(_, k)| k.clone())
            .collect()
    };
    let mut totals: HashMap<Vec<Option<String>>, f64> = HashMap::new();
    let mut members: HashMap<Vec<Option<String>>, Vec<f64>> = HashMap::new();
    for r in rows {
        let c = r.aggs.first().copied().flatten().unwrap_or(0.0);
        *totals.entry(group_key(r)).or_default() += c;
        members.entry(group_key(r)).or_default().push(c);
    }
    rows.iter()
        .map(|r| {
            let c = r.aggs.first().copied().flatten().unwrap_or(0.0);
            let total = totals[&group_key(r)];
            let mut v = ratio_value(c, total);
            v.count = Some(c as u64);
            if rm.metric.rank {
                v.rank = Some(1 + members[&group_key(r)].iter().filter(|x| **x > c).count() as u64);
            }
            (r.keys.clone(), vec![v; rm.asks.len()])
        })
        .collect()
}

/// Merges every metric's finalised rows into result rows, filling empty buckets per the
/// catalogue (`zero` → 0 with n 0; `null` → no value), and orders them by bucket, then rank,
/// then dimension values.
pub fn merge(
    query: &ResolvedQuery,
    buckets: &[Bucket],
    per_metric: Vec<(&ResolvedMetric, FinalRows)>,
) -> Vec<ResultRow> {
    let time_dim = query.grain.map(|g| g.dimension().to_string());
    let bucket_index: HashMap<&str, usize> = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| (b.label.as_str(), i))
        .collect();
    let mut rows: Vec<ResultRow> = Vec::new();
    let mut index: HashMap<Vec<(String, Option<String>)>, usize> = HashMap::new();

    for (rm, values) in per_metric {
        let mut seen_combos: BTreeSet<Vec<Option<String>>> = BTreeSet::new();
        let mut present: BTreeSet<(String, Vec<Option<String>>)> = BTreeSet::new();
        let mut entries: Vec<(String, Vec<Option<String>>, Vec<MetricValue>)> = Vec::new();
        for (keys, vals) in values {
            let bucket = keys.first().cloned().flatten().unwrap_or_default();
            let combo: Vec<Option<String>> = keys[1..].to_vec();
            seen_combos.insert(combo.clone());
            present.insert((bucket.clone(), combo.clone()));
            entries.push((bucket, combo, vals));
        }
        if rm.dimensions.is_empty() {
            seen_combos.insert(Vec::new());
        }
        if rm.metric.empty == Empty::Zero {
            seen_combos = complete_time_of_day(&rm.dimensions, seen_combos);
        }
        for b in buckets {
            for combo in &seen_combos {
                if !present.contains(&(b.label.clone(), combo.clone())) {
                    let empty = match rm.metric.empty {
                        Empty::Zero => MetricValue {
                            value: Some(0.0),
                            n: 0,
                            count: rm.metric.share_of.as_ref().map(|_| 0),
                            exact: matches!(
                                rm.metric.calculation,
                                Calculation::Count | Calculation::Backlog
                            ),
                            basis: matches!(
                                rm.metric.calculation,
                                Calculation::Count | Calculation::Backlog
                            )
                            .then_some(Basis::Count(0.0)),
                            ..Default::default()
                        },
                        Empty::Null => MetricValue::default(),
                    };
                    entries.push((b.label.clone(), combo.clone(), vec![empty; rm.asks.len()]));
                }
            }
        }
        for (bucket, combo, vals) in entries {
            let mut dims: Vec<(String, Option<String>)> = Vec::new();
            if let Some(t) = &time_dim {
                dims.push((t.clone(), Some(bucket.clone())));
            }
            dims.extend(rm.dimensions.iter().cloned().zip(combo));
            let i = *index.entry(dims.clone()).or_insert_with(|| {
                rows.push(ResultRow {
                    dimensions: dims.clone(),
                    metrics: Vec::new(),
                    bucket_index: bucket_index
                        .get(bucket.as_str())
                        .copied()
                        .unwrap_or(usize::MAX),
                });
                rows.len() - 1
            });
            for (ask, v) in rm.asks.iter().zip(vals) {
                rows[i].metrics.push((ask.key.clone(), v));
            }
        }
    }
    rows.sort_by(|a, b| {
        let rank = |r: &ResultRow| {
            r.metrics
                .iter()
                .find_map(|(_, v)| v.rank)
                .unwrap_or(u64::MAX)
        };
        // Weekdays sort Monday first, not alphabetically.
        let dims = |r: &ResultRow| {
            r.dimensions
                .iter()
                .map(|(d, v)| {
                    match (d.as_str(), v) {
                        ("time:weekday", Some(w)) => WEEKDAYS
                            .iter()
                            .position(|x| x == w)
                            .map(|i| Some(i.to_string())),
                        _ => None,
                    }
                    .unwrap_or_else(|| v.clone())
                })
                .collect::<Vec<_>>()
        };
        (a.bucket_index, rank(a), dims(a)).cmp(&(b.bucket_index, rank(b), dims(b)))
    });
    rows
}

/// For a heat map: every combination seen, with its weekday and hour replaced by every
/// weekday and every hour, so empty cells show as 0.
fn complete_time_of_day(
    dimensions: &[String],
    combos: BTreeSet<Vec<Option<String>>>,
) -> BTreeSet<Vec<Option<String>>> {
    let mut out = combos;
    for (i, d) in dimensions.iter().enumerate() {
        let values: Vec<String> = match d.as_str() {
            "time:weekday" => WEEKDAYS.iter().map(|w| w.to_string()).collect(),
            "time:hour" => (0..24).map(|h| format!("{h:02}")).collect(),
            _ => continue,
        };
        out = out
            .iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c[i] = Some(v.clone());
                    c
                })
            })
            .collect();
    }
    out
}

/// Warnings for values resting on fewer than `min_sample` observations (one per metric key).
pub fn low_sample_warnings(rows: &[ResultRow], min_sample: u64) -> Vec<Warning> {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in rows {
        for (key, v) in &r.metrics {
            let e = counts.entry(key.clone()).or_default();
            if v.value.is_some() {
                e.1 += 1;
                if v.is_low_sample(min_sample) {
                    e.0 += 1;
                }
            }
        }
    }
    counts
        .into_iter()
        .filter(|(_, (low, _))| *low > 0)
        .map(|(key, (low, total))| Warning {
            code: "low_sample".into(),
            metric: Some(key.clone()),
            message: format!(
                "{low} of {total} values of {key} rest on fewer than {min_sample} observations"
            ),
        })
        .collect()
}
