//! Compiles a resolved query into SQL, one statement per metric (DuckDB dialect). Every
//! statement returns key columns (bucket label, then the metric's dimensions, as text) and
//! aggregate columns (as doubles); numerators and denominators are aggregated here and
//! divided only afterwards (`result.rs`), never averaged from per-row ratios.
//!
//! Buckets are a `VALUES` list of UTC instants computed in Rust (`buckets.rs`), and rows are
//! matched to them with an `ASOF JOIN` on the metric's anchor instant.

use chrono::DateTime;

use super::buckets::Bucket;
use super::request::{filter_sql, ResolvedMetric, ResolvedQuery, Stat};
use crate::catalogue::{Calculation, Catalogue, Metric};
use crate::config::Config;

/// One metric's SQL.
#[derive(Debug, Clone)]
pub struct PlannedSql {
    /// The statement.
    pub sql: String,
    /// Values for its `?` placeholders, in order.
    pub params: Vec<String>,
    /// Number of leading text key columns (bucket + dimensions).
    pub key_columns: usize,
    /// Number of trailing numeric columns.
    pub agg_columns: usize,
}

/// A UTC µs instant as a DuckDB `TIMESTAMP` literal.
pub fn ts_literal(us: i64) -> String {
    let t = DateTime::from_timestamp_micros(us).unwrap_or_default();
    format!("TIMESTAMP '{}'", t.format("%Y-%m-%d %H:%M:%S%.6f"))
}

fn float_literal(x: f64) -> String {
    format!("CAST({x:?} AS DOUBLE)")
}

/// Replaces `{name}` configuration placeholders in catalogue SQL.
pub fn fill_placeholders(sql: &str, config: &Config) -> String {
    sql.replace(
        "{service_level_secs}",
        &float_literal(config.calls.service_level_secs),
    )
    .replace(
        "{abandon_grace_secs}",
        &float_literal(config.calls.abandon_grace_secs),
    )
}

/// The common table expressions every statement starts with: survey rules from the
/// configuration, query-time facts from the catalogue, and the buckets.
fn preamble(catalogue: &Catalogue, config: &Config, buckets: &[Bucket]) -> String {
    let rules: Vec<String> = config
        .all_surveys()
        .iter()
        .map(|s| {
            let top_box = match &s.top_box {
                Some(values) => {
                    format!(
                        "CAST([{}] AS DOUBLE[])",
                        values
                            .iter()
                            .map(|v| format!("{v:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                None => "CAST(NULL AS DOUBLE[])".into(),
            };
            format!(
                "('{}', {top_box}, {})",
                s.name.replace('\'', "''"),
                s.high_is_effort
            )
        })
        .collect();
    let mut ctes = vec![format!(
        "survey_rules(survey, top_box, high_is_effort) AS (VALUES {})",
        rules.join(", ")
    )];
    for (name, sql) in &catalogue.facts {
        ctes.push(format!("{name} AS ({})", fill_placeholders(sql, config)));
    }
    let rows: Vec<String> = if buckets.is_empty() {
        vec!["('', TIMESTAMP '1970-01-01 00:00:00', TIMESTAMP '1970-01-01 00:00:00', DATE '1970-01-01', DATE '1970-01-01')".into()]
    } else {
        buckets
            .iter()
            .map(|b| {
                format!(
                    "('{}', {}, {}, DATE '{}', DATE '{}')",
                    b.label,
                    ts_literal(b.start_us),
                    ts_literal(b.end_us),
                    b.start_date,
                    b.end_date
                )
            })
            .collect()
    };
    ctes.push(format!(
        "buckets(bucket, b_start, b_end, d_start, d_end) AS (VALUES {})",
        rows.join(", ")
    ));
    format!("WITH {}", ctes.join(",\n"))
}

/// The distinct quantiles a metric's asks need, in order.
pub fn quantiles(rm: &ResolvedMetric) -> Vec<f64> {
    let mut qs: Vec<f64> = Vec::new();
    for a in &rm.asks {
        if let Stat::Quantile(q) = a.stat {
            if !qs.contains(&q) {
                qs.push(q);
            }
        }
    }
    qs
}

/// Plans one metric of a resolved query over the given buckets (which cover the period).
pub fn plan_metric(
    catalogue: &Catalogue,
    config: &Config,
    query: &ResolvedQuery,
    rm: &ResolvedMetric,
    buckets: &[Bucket],
) -> PlannedSql {
    let m = &rm.metric;
    let entity = &catalogue.entities[&m.entity];
    let from_sql = &entity.from;
    let (period_start, period_end) = match (buckets.first(), buckets.last()) {
        (Some(f), Some(l)) => (f.start_us, l.end_us),
        _ => (0, 0),
    };
    let mut conds: Vec<String> = Vec::new();
    if let Some(f) = &m.filter {
        conds.push(format!("({})", fill_placeholders(f, config)));
    }
    let mut params = Vec::new();
    for f in &query.filters {
        let (sql, values) = filter_sql(catalogue, m, f);
        conds.push(sql);
        params.extend(values);
    }
    let dims: Vec<String> = rm
        .dimension_sql
        .iter()
        .map(|d| format!("CAST({d} AS VARCHAR)"))
        .collect();
    let dim_aliases: Vec<String> = (0..dims.len()).map(|i| format!("_d{i}")).collect();
    let key_columns = 1 + dims.len();
    let pre = preamble(catalogue, config, buckets);
    let where_all = |extra: Vec<String>| {
        let all: Vec<String> = extra.into_iter().chain(conds.iter().cloned()).collect();
        if all.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", all.join(" AND "))
        }
    };
    let in_period = |anchor: &str| {
        vec![
            format!("{anchor} >= {}", ts_literal(period_start)),
            format!("{anchor} < {}", ts_literal(period_end)),
        ]
    };
    let select_dims = dim_aliases
        .iter()
        .map(|a| format!(", {a}"))
        .collect::<String>();

    let (sql, agg_columns) = match m.calculation {
        Calculation::Count
        | Calculation::Share
        | Calculation::Proportion
        | Calculation::Distribution
        | Calculation::Nps
        | Calculation::RepeatPurchase => {
            let mut src_cols = vec![format!("{} AS _ts", m.anchor)];
            src_cols.extend(
                dims.iter()
                    .zip(&dim_aliases)
                    .map(|(d, a)| format!("{d} AS {a}")),
            );
            let value = match m.calculation {
                Calculation::Nps => Some("s.score".to_string()),
                Calculation::RepeatPurchase => Some("o.customer_id".to_string()),
                _ => m.value.clone(),
            };
            if let Some(v) = &value {
                src_cols.push(format!("{v} AS _v"));
            }
            if rm.asks.iter().any(|a| a.business) {
                if let Some(vb) = &m.business_value {
                    src_cols.push(format!("{vb} AS _vb"));
                }
            }
            if let Some(n) = &m.numerator {
                src_cols.push(format!("({}) AS _num", fill_placeholders(n, config)));
            }
            let business = rm.asks.iter().any(|a| a.business);
            let (aggs, n_aggs) = row_aggregates(m.calculation, &quantiles(rm), business);
            let src = format!(
                "SELECT {} FROM {from_sql} {}",
                src_cols.join(", "),
                where_all(in_period(&m.anchor))
            );
            let joined =
                "FROM src ASOF JOIN buckets b ON src._ts >= b.b_start WHERE src._ts < b.b_end";
            let sql = if m.calculation == Calculation::RepeatPurchase {
                format!(
                    "{pre},\nsrc AS ({src}),\nper AS (SELECT b.bucket{select_dims}, _v, count(*) AS k {joined} GROUP BY ALL)\n\
                     SELECT bucket{select_dims}, {aggs} FROM per GROUP BY ALL"
                )
            } else {
                format!("{pre},\nsrc AS ({src})\nSELECT b.bucket{select_dims}, {aggs} {joined} GROUP BY ALL")
            };
            (sql, n_aggs)
        }
        Calculation::Backlog => {
            let mut extra = vec!["t.created_at < b.b_end".to_string()];
            extra.push(
                "NOT EXISTS (SELECT 1 FROM fact_resolved_spans sp WHERE sp.ticket_id = t.ticket_id \
                 AND sp.resolved_from < b.b_end AND (sp.resolved_to IS NULL OR sp.resolved_to >= b.b_end))"
                    .into(),
            );
            let select = dims.iter().map(|d| format!(", {d}")).collect::<String>();
            (
                format!("{pre}\nSELECT b.bucket{select}, CAST(count(*) AS DOUBLE) FROM buckets b, {from_sql} {} GROUP BY ALL", where_all(extra)),
                1,
            )
        }
        Calculation::Retention | Calculation::Churn => {
            let in_s = "cu.acquired_at < b.b_start AND (cu.churned_at IS NULL OR cu.churned_at >= b.b_start)";
            let aggs = [
                in_s.to_string(),
                "cu.acquired_at < b.b_end AND (cu.churned_at IS NULL OR cu.churned_at >= b.b_end)"
                    .into(),
                "cu.acquired_at >= b.b_start AND cu.acquired_at < b.b_end".into(),
                format!("{in_s} AND cu.churned_at < b.b_end"),
            ]
            .iter()
            .map(|c| format!("CAST(count(*) FILTER (WHERE {c}) AS DOUBLE)"))
            .collect::<Vec<_>>()
            .join(", ");
            let select = dims.iter().map(|d| format!(", {d}")).collect::<String>();
            (
                format!(
                    "{pre}\nSELECT b.bucket{select}, {aggs} FROM buckets b, {from_sql} {} GROUP BY ALL",
                    where_all(vec!["cu.acquired_at < b.b_end".into()])
                ),
                4,
            )
        }
        Calculation::CostRatio => {
            let cost_kind = m.cost_kind.clone().unwrap_or_default().replace('\'', "''");
            let per_from = m.per_from.clone().unwrap_or_default();
            let per_anchor = m.per_anchor.clone().unwrap_or_default();
            let per_filter = m
                .per_filter
                .as_ref()
                .map(|f| format!("AND ({f})"))
                .unwrap_or_default();
            let spend = format!(
                "SELECT b.bucket, sum(k.amount * date_diff('day', greatest(k.period_start, b.d_start), least(k.period_end, b.d_end)) \
                 / date_diff('day', k.period_start, k.period_end)) AS spend \
                 FROM buckets b, {from_sql} {} GROUP BY 1",
                where_all(vec![
                    "k.period_start < b.d_end".into(),
                    "k.period_end > b.d_start".into(),
                    format!("k.kind = '{cost_kind}'"),
                ])
            );
            let acquired = format!(
                "SELECT b.bucket, count(*) AS acquired FROM (SELECT {per_anchor} AS _ts FROM {per_from} \
                 WHERE {per_anchor} >= {} {per_filter}) src ASOF JOIN buckets b ON src._ts >= b.b_start \
                 WHERE src._ts < b.b_end GROUP BY 1",
                ts_literal(period_start)
            );
            (
                format!(
                    "{pre},\nspend AS ({spend}),\nacq AS ({acquired})\nSELECT b.bucket, CAST(spend.spend AS DOUBLE), \
                     CAST(coalesce(acq.acquired, 0) AS DOUBLE) FROM buckets b LEFT JOIN spend ON spend.bucket = b.bucket \
                     LEFT JOIN acq ON acq.bucket = b.bucket WHERE spend.spend IS NOT NULL OR acq.acquired IS NOT NULL"
                ),
                2,
            )
        }
    };
    PlannedSql {
        sql,
        params,
        key_columns,
        agg_columns,
    }
}

/// Aggregates for row-wise kinds, and how many there are. Distributions get one block
/// (count, mean, standard deviation, quantiles…) over calendar values (`_v`) and, when
/// business stats are asked, a second block over business values (`_vb`).
fn row_aggregates(calc: Calculation, quantiles: &[f64], business: bool) -> (String, usize) {
    let d = |e: &str| format!("CAST({e} AS DOUBLE)");
    let list: Vec<String> = match calc {
        Calculation::Count | Calculation::Share => vec![d("count(*)")],
        Calculation::Proportion => vec![d("count(*) FILTER (WHERE _num)"), d("count(*)")],
        Calculation::Nps => vec![
            d("count(*) FILTER (WHERE _v >= 9)"),
            d("count(*) FILTER (WHERE _v < 7)"),
            d("count(*)"),
        ],
        Calculation::RepeatPurchase => vec![d("count(*) FILTER (WHERE k >= 2)"), d("count(*)")],
        _ => {
            let block = |col: &str| {
                let mut v = vec![
                    d(&format!("count({col})")),
                    d(&format!("avg({col})")),
                    d(&format!("stddev_samp({col})")),
                ];
                v.extend(
                    quantiles
                        .iter()
                        .map(|q| d(&format!("quantile_cont({col}, {q})"))),
                );
                v
            };
            let mut v = block("_v");
            if business {
                v.extend(block("_vb"));
            }
            v
        }
    };
    let n = list.len();
    (list.join(", "), n)
}

/// SQL giving the earliest and latest anchor instant of a metric's rows, as epoch µs.
pub fn extent_sql(catalogue: &Catalogue, config: &Config, metric: &Metric) -> String {
    let entity = &catalogue.entities[&metric.entity];
    let pre = preamble(catalogue, config, &[]);
    let filter = metric
        .filter
        .as_ref()
        .map(|f| format!("WHERE {}", fill_placeholders(f, config)))
        .unwrap_or_default();
    format!(
        "{pre}\nSELECT CAST(epoch_us(min({a})) AS DOUBLE), CAST(epoch_us(max({a})) AS DOUBLE) FROM {} {filter}",
        entity.from,
        a = metric.anchor
    )
}
