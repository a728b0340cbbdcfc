//! The row-wise metric statement as a logical plan (`logical.rs`): counts, shares,
//! proportions, distributions, NPS, composites, spreads and repeat purchase read a row source
//! `src` (the anchor instant or the bucket, the dimensions, the value, numerator, unit and
//! components of each row) and aggregate it per bucket and dimension values; spreads and
//! repeat purchase aggregate per unit (`per`) first. The aggregates are planned here as
//! function, argument and filter, and only the dialect writes them.

use crate::buckets::Bucket;
use crate::dialect::{AggregateFn, Dialect};
use crate::logical::{Expr, Item, Select, Statement};
use crate::plan::quantiles;
use crate::resolve::ResolvedMetric;
use crate::sql::{bucket_join, per_bucket_rows};
use vitals_core::catalogue::{Calculation, Catalogue};
use vitals_core::config::Config;

/// What a row-wise statement is planned from, as `plan_metric` has resolved it.
pub(crate) struct RowWise<'a> {
    /// The dialect the statement is written in.
    pub dialect: &'a dyn Dialect,
    /// The catalogue.
    pub catalogue: &'a Catalogue,
    /// The configuration.
    pub config: &'a Config,
    /// The metric as asked.
    pub rm: &'a ResolvedMetric,
    /// The buckets, in time order.
    pub buckets: &'a [Bucket],
    /// The common table expressions, with the local hours when a dimension reads them.
    pub preamble: String,
    /// The local hours' join, when a dimension reads them.
    pub hours_join: Option<String>,
    /// The entity's FROM clause.
    pub from: &'a str,
    /// The rows' instant in the period (conditions on the anchor).
    pub in_period: Vec<String>,
    /// The row conditions (metric filter, request filters).
    pub conditions: &'a [String],
    /// The engagement components of a composite (program, weight).
    pub components: &'a [(String, f64)],
    /// Grouping sets, each the indices of the dimensions it groups by (with the bucket), and a
    /// grouping id key column after the dimensions (`None`: every dimension, `GROUP BY ALL`).
    /// Only for metrics aggregated straight from the row source ([`groupable`]).
    pub sets: Option<&'a [Vec<usize>]>,
}

/// Whether a metric's rows can be aggregated per grouping set in one statement: its aggregates
/// read the row source directly (not through a per-unit step, nor a snapshot).
pub(crate) fn groupable(calculation: Calculation) -> bool {
    matches!(
        calculation,
        Calculation::Count | Calculation::Proportion | Calculation::Distribution | Calculation::Nps
    )
}

/// The statement and how many aggregate columns it returns.
pub(crate) fn plan_rows(p: &RowWise) -> (Statement, usize) {
    let (dialect, config, rm) = (p.dialect, p.config, p.rm);
    let m = &rm.metric;
    let per_bucket = per_bucket_rows(dialect, p.catalogue, m, p.buckets);

    let mut src = Select::default();
    src.items.push(match &per_bucket {
        Some(_) => Item::named(Expr::sql("b.bucket"), "_bucket"),
        None => Item::named(Expr::sql(&m.anchor), "_ts"),
    });
    // Dimensions computed in the row source (`_dN`), or from the local hour (`h.…`).
    let mut keys = Vec::new();
    for (i, (name, sql)) in rm.dimensions.iter().zip(&rm.dimension_sql).enumerate() {
        let alias = format!("_d{i}");
        match name.as_str() {
            "time:weekday" => keys.push(Item::named(Expr::sql("h.weekday"), &alias)),
            "time:hour" => keys.push(Item::named(Expr::sql("h.hour"), &alias)),
            _ => {
                src.items.push(Item::named(Expr::sql(sql).text(), &alias));
                keys.push(Item::plain(Expr::sql(alias)));
            }
        }
    }
    let value = match m.calculation {
        Calculation::Nps => Some("s.score".to_string()),
        Calculation::RepeatPurchase => Some("o.customer_id".to_string()),
        _ => m.value.clone(),
    };
    if let Some(v) = &value {
        src.items.push(Item::named(Expr::sql(v), "_v"));
    }
    let business = rm.asks.iter().any(|a| a.business);
    if let (true, Some(vb)) = (business, &m.business_value) {
        src.items.push(Item::named(Expr::sql(vb), "_vb"));
    }
    if let Some(n) = &m.numerator {
        src.items
            .push(Item::named(Expr::sql(format!("({n})")), "_num"));
    }
    if let Some(per) = &m.per {
        src.items.push(Item::named(Expr::sql(per), "_u"));
    }
    let template = m.component.clone().unwrap_or_default();
    for (i, (program, _)) in p.components.iter().enumerate() {
        let sql = template.replace("{program}", &program.replace('\'', "''"));
        src.items.push(Item::named(
            Expr::sql(format!("({sql})")),
            &format!("_c{i}"),
        ));
    }

    // How the row source is read: by the bucket its rows carry, or by the bucket its
    // instants fall in (and the local hour).
    let (bucket, joins, bounds) = match per_bucket {
        Some(rows) => {
            src.from = rows;
            src.conditions = p.conditions.to_vec();
            ("_bucket", Vec::new(), Vec::new())
        }
        None => {
            src.from = p.from.to_string();
            src.conditions = [p.in_period.as_slice(), p.conditions].concat();
            let (join, bounds) = bucket_join(dialect, "src._ts", p.buckets);
            let joins = std::iter::once(join).chain(p.hours_join.clone()).collect();
            ("b.bucket", joins, vec![bounds])
        }
    };
    let read_src = |items: Vec<Item>, conditions: Vec<String>| Select {
        items,
        from: "src".into(),
        joins: joins.clone(),
        conditions: [bounds.clone(), conditions].concat(),
        grouped: true,
        sets: Vec::new(),
        having: Vec::new(),
    };

    let aggregates = match m.calculation {
        Calculation::Composite => composite_aggregates(p.components.len()),
        Calculation::Spread => vec![
            Expr::aggregate(AggregateFn::Count, None, None).double(),
            Expr::aggregate(AggregateFn::Avg, Some("_x"), None).double(),
            Expr::aggregate(AggregateFn::StddevSamp, Some("_x"), None).double(),
        ],
        calc => row_aggregates(calc, &quantiles(rm), business, &Columns::default()),
    };
    let count = aggregates.len();
    let rows = Expr::aggregate(AggregateFn::Count, None, None);
    // A per-unit step: its rows are keyed by `bucket` and the plain dimension aliases.
    let per_unit = |unit: Vec<Item>, conditions: Vec<String>, having: Vec<String>| {
        let mut items = vec![Item::named(Expr::sql(bucket), "bucket")];
        items.extend(keys.iter().cloned());
        items.extend(unit);
        let per = Select {
            having,
            ..read_src(items, conditions)
        };
        let mut body = Select {
            items: vec![Item::plain(Expr::sql("bucket"))],
            from: "per".into(),
            grouped: true,
            ..Select::default()
        };
        body.items
            .extend((0..keys.len()).map(|i| Item::plain(Expr::sql(format!("_d{i}")))));
        body.items
            .extend(aggregates.iter().cloned().map(Item::plain));
        (
            vec![("src".to_string(), src.clone()), ("per".to_string(), per)],
            body,
        )
    };
    let (ctes, body) = match m.calculation {
        Calculation::RepeatPurchase => per_unit(
            vec![Item::plain(Expr::sql("_v")), Item::named(rows.clone(), "k")],
            Vec::new(),
            Vec::new(),
        ),
        Calculation::Spread => {
            let x = if m.numerator.is_some() {
                let share = "CASE WHEN _num THEN 1.0 ELSE 0.0 END";
                Expr::aggregate(AggregateFn::Avg, Some(share), None).percent()
            } else {
                Expr::aggregate(AggregateFn::Avg, Some("_v"), None)
            };
            let min = config.statistics.min_agent_sample.max(1);
            per_unit(
                vec![Item::plain(Expr::sql("_u")), Item::named(x, "_x")],
                vec!["_u IS NOT NULL".into()],
                vec![format!("{} >= {min}", rows.render(dialect))],
            )
        }
        _ => {
            let mut items = vec![Item::plain(Expr::sql(bucket))];
            items.extend(keys.iter().cloned());
            let mut sets = Vec::new();
            if let Some(asked) = p.sets {
                let columns: Vec<String> = keys.iter().map(|k| k.expr.render(dialect)).collect();
                let id = Expr::sql(dialect.grouping_id(&columns)).text();
                items.push(Item::named(id, "_set"));
                sets = asked
                    .iter()
                    .map(|set| {
                        std::iter::once(bucket.to_string())
                            .chain(set.iter().map(|&i| columns[i].clone()))
                            .collect()
                    })
                    .collect();
            }
            items.extend(aggregates.into_iter().map(Item::plain));
            let body = Select {
                sets,
                ..read_src(items, Vec::new())
            };
            (vec![("src".to_string(), src)], body)
        }
    };
    let statement = Statement {
        preamble: p.preamble.clone(),
        ctes,
        body,
    };
    (statement, count)
}

/// Composite aggregates: the rows, then the rows meeting each component.
fn composite_aggregates(components: usize) -> Vec<Expr> {
    let mut list = vec![Expr::aggregate(AggregateFn::Count, None, None).double()];
    list.extend(
        (0..components)
            .map(|i| Expr::aggregate(AggregateFn::Count, None, Some(&format!("_c{i}"))).double()),
    );
    list
}

/// The row source's columns a metric's aggregates read, and the condition that picks its
/// rows when several metrics share one row source (`shared.rs`).
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    /// Calendar value.
    pub value: String,
    /// Business value.
    pub business: String,
    /// Numerator flag.
    pub numerator: String,
    /// The metric's rows among shared ones (`None`: every row).
    pub rows: Option<String>,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            value: "_v".into(),
            business: "_vb".into(),
            numerator: "_num".into(),
            rows: None,
        }
    }
}

/// Aggregates for row-wise kinds, as doubles. Distributions get one block (count, mean,
/// standard deviation, quantiles…) over calendar values (`_v`) and, when business stats are
/// asked, a second block over business values (`_vb`).
pub(crate) fn row_aggregates(
    calc: Calculation,
    quantiles: &[f64],
    business: bool,
    cols: &Columns,
) -> Vec<Expr> {
    // An aggregate over the metric's rows meeting `cond`.
    let over = |function: AggregateFn, argument: Option<&str>, cond: Option<&str>| {
        let all: Vec<&str> = cols.rows.as_deref().into_iter().chain(cond).collect();
        let filter = (!all.is_empty()).then(|| all.join(" AND "));
        Expr::aggregate(function, argument, filter.as_deref()).double()
    };
    let count = |cond: Option<&str>| over(AggregateFn::Count, None, cond);
    let (v, num) = (&cols.value, &cols.numerator);
    match calc {
        Calculation::Count | Calculation::Share => vec![count(None)],
        Calculation::Proportion => vec![count(Some(num)), count(None)],
        Calculation::Nps => vec![
            count(Some(&format!("{v} >= 9"))),
            count(Some(&format!("{v} < 7"))),
            count(None),
        ],
        // Never shared: the customers buying twice or more, and all of them.
        Calculation::RepeatPurchase => vec![
            Expr::aggregate(AggregateFn::Count, None, Some("k >= 2")).double(),
            Expr::aggregate(AggregateFn::Count, None, None).double(),
        ],
        _ => {
            let block = |col: &str| {
                let mut functions = vec![
                    AggregateFn::Count,
                    AggregateFn::Avg,
                    AggregateFn::StddevSamp,
                ];
                functions.extend(quantiles.iter().map(|&q| AggregateFn::Quantile(q)));
                functions
                    .into_iter()
                    .map(|function| over(function, Some(col), None))
                    .collect::<Vec<_>>()
            };
            let mut list = block(&cols.value);
            if business {
                list.extend(block(&cols.business));
            }
            list
        }
    }
}
