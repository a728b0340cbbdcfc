//! Compiles a resolved query into SQL, one statement per metric (written through the engine's
//! dialect, `dialect.rs`; metrics that read the same rows share one statement, `shared.rs`). Every
//! statement returns key columns (bucket label, then the metric's dimensions, as text) and
//! aggregate columns (as doubles); numerators and denominators are aggregated here and
//! divided only afterwards (`result.rs`), never averaged from per-row ratios.
//!
//! Buckets are a `VALUES` list of UTC instants computed in Rust (`buckets.rs`), and rows are
//! placed in them by arithmetic on the metric's anchor instant (`bucket_index.rs`).
//!
//! Row-wise metrics are planned as a logical plan (`rowwise.rs`, `logical.rs`); snapshots
//! (`snapshot.rs`, and the pairwise forms here) and cost ratios are assembled as text, with
//! every engine-specific fragment written by the dialect.

use std::borrow::Cow;

use crate::bind::{bind, bound_metric};
use crate::buckets::{Bucket, TIME_OF_DAY};
use crate::dialect::{double_aggregate, Aggregate, AggregateFn, Dialect};
use crate::resolve::{ResolvedMetric, ResolvedQuery, Stat};
use crate::rowwise::{groupable, plan_rows, RowWise};
use crate::snapshot::{reads_bucket, OpenAtBucketEnd, SnapshotSql};
use vitals_core::catalogue::{Calculation, Catalogue, Metric};
use vitals_core::config::Config;

pub use crate::sql::fill_placeholders;
pub(crate) use crate::sql::{
    bucket_join, conditions, entity_from, local_hours, per_bucket_rows, preamble,
};

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
    /// Composite metrics: the components (engagement programme, weight), in aggregate order.
    pub components: Vec<(String, f64)>,
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

/// How snapshot metrics (backlog, retention, churn) are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshots {
    /// From +1/−1 events and running sums, one pass over the rows (what queries use).
    Deltas,
    /// The definition's direct form, every bucket paired with every row: for verifying the
    /// delta form, and for dimensions that change with the bucket (the backlog's age band).
    Pairwise,
}

/// Plans one metric of a resolved query over the given buckets (which cover the period).
pub fn plan_metric(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    config: &Config,
    query: &ResolvedQuery,
    rm: &ResolvedMetric,
    buckets: &[Bucket],
) -> PlannedSql {
    plan_metric_with(
        dialect,
        catalogue,
        config,
        query,
        rm,
        buckets,
        Snapshots::Deltas,
    )
}

/// [`plan_metric`] with a choice of how snapshot metrics are computed.
pub fn plan_metric_with(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    config: &Config,
    query: &ResolvedQuery,
    rm: &ResolvedMetric,
    buckets: &[Bucket],
    snapshots: Snapshots,
) -> PlannedSql {
    let metric = MetricPlan {
        dialect,
        catalogue,
        config,
        query,
        rm,
        buckets,
    };
    planned(metric, Shape::Plain(snapshots))
}

/// One metric of a resolved query, to plan over the given buckets (which cover the period).
#[derive(Clone, Copy)]
pub struct MetricPlan<'a> {
    /// The dialect the statement is written in.
    pub dialect: &'a dyn Dialect,
    /// The catalogue.
    pub catalogue: &'a Catalogue,
    /// The configuration.
    pub config: &'a Config,
    /// The query.
    pub query: &'a ResolvedQuery,
    /// The metric, one of the query's.
    pub rm: &'a ResolvedMetric,
    /// The buckets.
    pub buckets: &'a [Bucket],
}

/// One metric's rows aggregated once per grouping set in one statement, each set the indices
/// of the metric's dimensions it groups by (with the bucket): key columns bucket, every
/// dimension, then the set's grouping id (as text: [`Dialect::grouping_id`]; a dimension not
/// in the row's set is NULL or the engine's default); aggregate columns as [`plan_metric`]'s.
/// `None` when the metric's statement cannot be grouped (per-unit steps, snapshots, cost
/// ratios, shares and composites).
pub fn plan_grouped(metric: MetricPlan, sets: &[Vec<usize>]) -> Option<PlannedSql> {
    groupable(metric.rm.metric.calculation).then(|| planned(metric, Shape::Grouped(sets)))
}

/// How a statement groups its rows.
enum Shape<'a> {
    /// By every key, snapshots computed as asked.
    Plain(Snapshots),
    /// By each of these grouping sets (row-wise metrics only).
    Grouped(&'a [Vec<usize>]),
}

/// [`plan_metric_with`], or [`plan_grouped`].
fn planned(metric: MetricPlan, shape: Shape) -> PlannedSql {
    let MetricPlan {
        dialect,
        catalogue,
        config,
        query,
        rm,
        buckets,
    } = metric;
    let (snapshots, sets) = match shape {
        Shape::Plain(snapshots) => (snapshots, None),
        Shape::Grouped(sets) => (Snapshots::Deltas, Some(sets)),
    };
    let bound = bind(dialect, catalogue, config);
    let rebound = matches!(bound, Cow::Owned(_)).then(|| bound_metric(&bound, rm));
    let rm = rebound.as_ref().unwrap_or(rm);
    let catalogue = &*bound;
    let m = &rm.metric;
    let (period_start, period_end) = match (buckets.first(), buckets.last()) {
        (Some(f), Some(l)) => (f.start_us, l.end_us),
        _ => (0, 0),
    };
    let (conds, params) = conditions(dialect, catalogue, config, m, &query.filters);
    let dims: Vec<String> = rm
        .dimension_sql
        .iter()
        .map(|d| dialect.to_text(d))
        .collect();
    let from_sql = &entity_from(catalogue, m, &[dims.clone(), conds.clone()].concat());
    let key_columns = 1 + dims.len() + usize::from(sets.is_some());
    let mut pre = preamble(dialect, catalogue, config, buckets);
    let components = if m.calculation == Calculation::Composite {
        config.engagement.components()
    } else {
        Vec::new()
    };
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
            format!("{anchor} >= {}", dialect.instant(period_start)),
            format!("{anchor} < {}", dialect.instant(period_end)),
        ]
    };
    let time_of_day = rm
        .dimensions
        .iter()
        .any(|d| TIME_OF_DAY.contains(&d.as_str()));
    // The local hour's table and join, for weekday × hour.
    let mut hours_join = None;
    if let Some((cte, join)) = local_hours(dialect, query.zone, buckets).filter(|_| time_of_day) {
        pre.push_str(&format!(",\n{cte}"));
        hours_join = Some(join);
    }

    let (sql, agg_columns) = match m.calculation {
        Calculation::Count
        | Calculation::Share
        | Calculation::Proportion
        | Calculation::Distribution
        | Calculation::Nps
        | Calculation::RepeatPurchase
        | Calculation::Composite
        | Calculation::Spread => {
            let (statement, count) = plan_rows(&RowWise {
                dialect,
                catalogue,
                config,
                rm,
                buckets,
                preamble: pre,
                hours_join,
                from: from_sql,
                in_period: in_period(&m.anchor),
                conditions: &conds,
                components: &components,
                sets,
            });
            (statement.render(dialect), count)
        }
        Calculation::Backlog | Calculation::Retention | Calculation::Churn
            if snapshots == Snapshots::Deltas
                && !dims.iter().chain(&conds).any(|sql| reads_bucket(sql)) =>
        {
            let snapshot = SnapshotSql {
                dialect,
                preamble: &pre,
                from: from_sql,
                conditions: &conds,
                dimensions: &dims,
                buckets,
            };
            if m.calculation == Calculation::Backlog {
                (snapshot.backlog("fact_resolved_spans"), 1)
            } else {
                (snapshot.retention("cu.acquired_at", "cu.churned_at"), 4)
            }
        }
        // A dimension or filter that changes with the bucket (the backlog's age band): pair
        // buckets with rows.
        Calculation::Backlog => {
            let open = OpenAtBucketEnd::new(dialect, from_sql, "fact_resolved_spans", buckets);
            let select = dims.iter().map(|d| format!(", {d}")).collect::<String>();
            let count = dialect.to_double(open.open);
            (
                format!(
                    "{pre}\nSELECT b.bucket{select}, {count} FROM {} {} GROUP BY ALL HAVING {} > 0",
                    open.from,
                    where_all(open.conditions),
                    open.open
                ),
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
            .map(|c| {
                let counted = Aggregate::of(AggregateFn::Count, None).filtered(Some(c));
                double_aggregate(dialect, &counted)
            })
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
            let cost_kind = dialect.string_literal(m.cost_kind.as_deref().unwrap_or_default());
            let per_from = m.per_from.clone().unwrap_or_default();
            let per_anchor = m.per_anchor.clone().unwrap_or_default();
            let per_filter = m
                .per_filter
                .as_ref()
                .map(|f| format!("AND ({f})"))
                .unwrap_or_default();
            // Each cost is spread over its days; a bucket takes the days it overlaps.
            let overlap = dialect.days_between(
                "greatest(k.period_start, b.d_start)",
                "least(k.period_end, b.d_end)",
            );
            let days = dialect.days_between("k.period_start", "k.period_end");
            let share = format!("k.amount * {overlap} / {days}");
            let spend = format!(
                "SELECT b.bucket, {} AS spend FROM buckets b, {from_sql} {} GROUP BY 1",
                dialect.aggregate(&Aggregate::of(AggregateFn::Sum, Some(&share))),
                where_all(vec![
                    "k.period_start < b.d_end".into(),
                    "k.period_end > b.d_start".into(),
                    format!("k.kind = {cost_kind}"),
                ])
            );
            let (join, bounds) = bucket_join(dialect, "src._ts", buckets);
            let acquired = format!(
                "SELECT b.bucket, {} AS acquired FROM (SELECT {per_anchor} AS _ts FROM {per_from} \
                 WHERE {per_anchor} >= {} {per_filter}) src {join} WHERE {bounds} GROUP BY 1",
                dialect.aggregate(&Aggregate::of(AggregateFn::Count, None)),
                dialect.instant(period_start)
            );
            (
                format!(
                    "{pre},\nspend AS ({spend}),\nacq AS ({acquired})\nSELECT b.bucket, {}, {} \
                     FROM buckets b LEFT JOIN spend ON spend.bucket = b.bucket \
                     LEFT JOIN acq ON acq.bucket = b.bucket WHERE spend.spend IS NOT NULL OR acq.acquired IS NOT NULL",
                    dialect.to_double("spend.spend"),
                    dialect.to_double("coalesce(acq.acquired, 0)"),
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
        components,
    }
}

/// SQL giving the earliest and latest anchor instant of a metric's rows, as epoch µs.
pub fn extent_sql(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    config: &Config,
    metric: &Metric,
) -> String {
    let bound = bind(dialect, catalogue, config);
    let catalogue = &*bound;
    let metric = catalogue.metric(&metric.id).unwrap_or(metric);
    let pre = preamble(dialect, catalogue, config, &[]);
    let filter = metric
        .filter
        .as_ref()
        .map(|f| format!("WHERE {f}"))
        .unwrap_or_default();
    let instant =
        |bound: &str| dialect.to_double(&dialect.epoch_us(&format!("{bound}({})", metric.anchor)));
    format!(
        "{pre}\nSELECT {}, {} FROM {} {filter}",
        instant("min"),
        instant("max"),
        entity_from(catalogue, metric, &[]),
    )
}
