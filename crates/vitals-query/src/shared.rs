//! Shared scans: the metrics of one request that read the same rows — one entity counted by
//! the same instant, broken down by the same dimensions under the same request filters
//! (first reply time, resolution time, FCR and reopen rate are all tickets by creation) —
//! are answered by one statement. Its row source carries each metric's value, numerator and
//! own filter (`_v3`, `_num3`, `_f3`); each metric's aggregates take its rows with a
//! `FILTER` clause, and a last column per metric counts them, so a group that has no row of a
//! metric is left out of that metric's answer exactly as its own statement would. The numbers
//! are those of one statement per metric; the entity is scanned once instead of once per metric.

use crate::buckets::{Bucket, TIME_OF_DAY};
use crate::dialect::{double_aggregate, Aggregate, AggregateFn, Dialect};
use crate::plan::{
    bucket_join, conditions, entity_from, local_hours, preamble, quantiles, PlannedSql,
};
use crate::resolve::{ResolvedMetric, ResolvedQuery};
use crate::result::AggRow;
use crate::rowwise::{row_aggregates, Columns};
use vitals_core::catalogue::{Calculation, Catalogue};
use vitals_core::config::Config;

/// Where one metric's answer sits in a shared statement's aggregate columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Member {
    /// First of its aggregate columns.
    pub first: usize,
    /// How many there are.
    pub count: usize,
    /// The column counting its rows.
    pub rows: usize,
}

impl Member {
    /// The metric's own result rows out of the shared statement's.
    pub fn rows_of(&self, shared: &[AggRow]) -> Vec<AggRow> {
        shared
            .iter()
            .filter(|r| r.aggs.get(self.rows).copied().flatten().unwrap_or(0.0) > 0.0)
            .map(|r| AggRow {
                keys: r.keys.clone(),
                aggs: r.aggs[self.first..self.first + self.count].to_vec(),
            })
            .collect()
    }
}

/// The metric's filter and the request's conditions (with their values), apart.
fn split_conditions(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    config: &Config,
    query: &ResolvedQuery,
    rm: &ResolvedMetric,
) -> (Option<String>, Vec<String>, Vec<String>) {
    let (mut conds, params) = conditions(dialect, catalogue, config, &rm.metric, &query.filters);
    let own = rm.metric.filter.is_some().then(|| conds.remove(0));
    (own, conds, params)
}

/// What metrics must have in common to share a statement, or `None` for a metric that
/// cannot share (snapshots, per-bucket metrics, shares, spreads, composites, cost ratios).
pub(crate) fn scan_key(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    config: &Config,
    query: &ResolvedQuery,
    rm: &ResolvedMetric,
) -> Option<String> {
    let m = &rm.metric;
    let shareable = matches!(
        m.calculation,
        Calculation::Count | Calculation::Proportion | Calculation::Distribution | Calculation::Nps
    );
    if !shareable || m.is_per_bucket() {
        return None;
    }
    let (_, request_conds, params) = split_conditions(dialect, catalogue, config, query, rm);
    Some(format!(
        "{}\u{1}{}\u{1}{:?}\u{1}{:?}\u{1}{:?}\u{1}{:?}",
        m.entity, m.anchor, rm.dimensions, rm.dimension_sql, request_conds, params
    ))
}

/// One statement for metrics with the same [`scan_key`] (two or more), and where each one's
/// answer sits in it.
pub(crate) fn plan_shared(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    config: &Config,
    query: &ResolvedQuery,
    members: &[&ResolvedMetric],
    buckets: &[Bucket],
) -> (PlannedSql, Vec<Member>) {
    let first = members[0];
    let anchor = &first.metric.anchor;
    let (_, request_conds, params) = split_conditions(dialect, catalogue, config, query, first);
    let (period_start, period_end) = match (buckets.first(), buckets.last()) {
        (Some(f), Some(l)) => (f.start_us, l.end_us),
        _ => (0, 0),
    };
    let mut pre = preamble(dialect, catalogue, config, buckets);
    let time_of_day = first
        .dimensions
        .iter()
        .any(|d| TIME_OF_DAY.contains(&d.as_str()));
    let mut hours = String::new();
    if let Some((cte, join)) = local_hours(dialect, query.zone, buckets).filter(|_| time_of_day) {
        pre.push_str(&format!(",\n{cte}"));
        hours = format!(" {join}");
    }
    let mut src_cols = vec![format!("{anchor} AS _ts")];
    let mut outer_dims = String::new();
    for (i, (name, sql)) in first
        .dimensions
        .iter()
        .zip(&first.dimension_sql)
        .enumerate()
    {
        match name.as_str() {
            "time:weekday" => outer_dims.push_str(&format!(", h.weekday AS _d{i}")),
            "time:hour" => outer_dims.push_str(&format!(", h.hour AS _d{i}")),
            _ => {
                let text = dialect.to_text(sql);
                src_cols.push(format!("{text} AS _d{i}"));
                outer_dims.push_str(&format!(", _d{i}"));
            }
        }
    }
    let mut own_filters = Vec::new();
    let mut aggs = Vec::new();
    let mut layout = Vec::new();
    let mut next = 0;
    for (k, rm) in members.iter().enumerate() {
        let m = &rm.metric;
        let value = match m.calculation {
            Calculation::Nps => Some("s.score".to_string()),
            _ => m.value.clone(),
        };
        if let Some(v) = value {
            src_cols.push(format!("{v} AS _v{k}"));
        }
        let business = rm.asks.iter().any(|a| a.business);
        if let (true, Some(vb)) = (business, &m.business_value) {
            src_cols.push(format!("{vb} AS _vb{k}"));
        }
        if let Some(n) = &m.numerator {
            src_cols.push(format!("({n}) AS _num{k}"));
        }
        let (own, _, _) = split_conditions(dialect, catalogue, config, query, rm);
        let rows = own.map(|f| {
            src_cols.push(format!("{f} AS _f{k}"));
            own_filters.push(f);
            format!("_f{k}")
        });
        let columns = Columns {
            value: format!("_v{k}"),
            business: format!("_vb{k}"),
            numerator: format!("_num{k}"),
            rows: rows.clone(),
        };
        let list = row_aggregates(m.calculation, &quantiles(rm), business, &columns);
        let count = list.len();
        aggs.extend(list.iter().map(|aggregate| aggregate.render(dialect)));
        layout.push((next, count, rows));
        next += count;
    }
    // The last columns count each metric's rows.
    let members_layout: Vec<Member> = layout
        .into_iter()
        .enumerate()
        .map(|(k, (first, count, rows))| {
            let counted = Aggregate::of(AggregateFn::Count, None).filtered(rows.as_deref());
            aggs.push(double_aggregate(dialect, &counted));
            Member {
                first,
                count,
                rows: next + k,
            }
        })
        .collect();
    let mut conds = vec![
        format!("{anchor} >= {}", dialect.instant(period_start)),
        format!("{anchor} < {}", dialect.instant(period_end)),
    ];
    conds.extend(request_conds.iter().cloned());
    // Rows no metric counts are not read further (only when every metric has a filter).
    if own_filters.len() == members.len() {
        conds.push(format!("({})", own_filters.join(" OR ")));
    }
    let used: Vec<String> = src_cols.iter().chain(&conds).cloned().collect();
    let from = members
        .iter()
        .map(|rm| entity_from(catalogue, &rm.metric, &used))
        .max_by_key(String::len)
        .unwrap_or_default();
    let (join, bounds) = bucket_join(dialect, "src._ts", buckets);
    let sql = format!(
        "{pre},\nsrc AS (SELECT {} FROM {from} WHERE {})\nSELECT b.bucket{outer_dims}, {} FROM src {join}{hours} WHERE {bounds} GROUP BY ALL",
        src_cols.join(", "),
        conds.join(" AND "),
        aggs.join(", "),
    );
    let plan = PlannedSql {
        sql,
        params,
        key_columns: 1 + first.dimensions.len(),
        agg_columns: next + members.len(),
        components: Vec::new(),
    };
    (plan, members_layout)
}
