//! Drill-down: the records behind one result cell. A drill request is a query request with
//! `"records": true`, the `cell` (one value per `by` dimension, as the result row shows it),
//! and a page. It is planned from the same row source as the aggregate — same anchor, same
//! period and buckets, same filters and dimension SQL — so the number of records listed is
//! the cell's `n`, and each record comes with its own value (and whether it counts in the
//! numerator, for proportions).
//!
//! Row-wise metrics (counts, proportions, distributions, NPS, composites) drill to their rows;
//! the backlog drills to the tickets open at the bucket's end. Metrics whose `n` counts
//! something other than rows (shares, spreads over agents, repeat purchase, retention, cost
//! ratios) say so with `drill_down_unsupported`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vitals_core::catalogue::{Calculation, Catalogue};
use vitals_core::config::Config;

use crate::bind::{bind, refuse_unsupported};
use crate::buckets::{buckets, TIME_OF_DAY};
use crate::dialect::{double_aggregate, Aggregate, AggregateFn};
use crate::engine::Engine;
use crate::error::QueryError;
use crate::limits::{check_buckets, check_span};
use crate::plan::{
    bucket_join, conditions, entity_from, local_hours, per_bucket_rows, preamble, PlannedSql,
};
use crate::request::QueryRequest;
use crate::resolve::resolve;
use crate::run::{period, stored_facts_state, FactsStateOnce};
use crate::snapshot::OpenAtBucketEnd;

/// The largest page.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// A request for the records behind one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillRequest {
    /// The query whose cell is opened (exactly one metric and stat).
    pub query: QueryRequest,
    /// The cell: a value (or null) for each `by` dimension.
    pub cell: BTreeMap<String, Option<String>>,
    /// 1-based page.
    pub page: u32,
    /// Records per page (at most [`MAX_PAGE_SIZE`]).
    pub page_size: u32,
}

/// Keys a drill request adds to a query request.
const DRILL_KEYS: [&str; 4] = ["records", "cell", "page", "page_size"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillKeys {
    records: bool,
    #[serde(default)]
    cell: BTreeMap<String, Option<String>>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    page_size: Option<u32>,
}

impl DrillRequest {
    /// Parses a request JSON that has `"records": true`; `None` when it is a plain query.
    pub fn from_json(text: &str) -> Result<Option<DrillRequest>, QueryError> {
        let invalid = |e: serde_json::Error| QueryError::InvalidRequest {
            message: e.to_string(),
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(invalid)?;
        let Some(object) = value.as_object() else {
            return Ok(None);
        };
        if !object.contains_key("records") {
            return Ok(None);
        }
        let (drill, rest): (serde_json::Map<_, _>, serde_json::Map<_, _>) = object
            .clone()
            .into_iter()
            .partition(|(k, _)| DRILL_KEYS.contains(&k.as_str()));
        let keys: DrillKeys = serde_json::from_value(drill.into()).map_err(invalid)?;
        if !keys.records {
            return Ok(None);
        }
        let query = QueryRequest::from_json(&serde_json::Value::Object(rest).to_string())?;
        Ok(Some(DrillRequest {
            query,
            cell: keys.cell,
            page: keys.page.unwrap_or(1).max(1),
            page_size: keys.page_size.unwrap_or(50).clamp(1, MAX_PAGE_SIZE),
        }))
    }
}

/// One record behind a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    /// The record's id (ticket, response, call, …).
    pub id: Option<String>,
    /// What the record is (`ticket`, `survey_response`, `call`, …).
    pub kind: String,
    /// Its ticket, when it has one.
    pub ticket_id: Option<String>,
    /// The instant it counts by (the metric's anchor), RFC 3339 UTC.
    pub at: Option<String>,
    /// Its value (a duration in seconds, a score, …), when the metric has one per record.
    pub value: Option<f64>,
    /// For proportions and NPS: whether it counts in the numerator (promoter for NPS).
    pub counted: Option<bool>,
}

/// The records behind a cell, one page of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillResponse {
    /// Metric id.
    pub metric: String,
    /// The stat asked (its key in results).
    pub stat: String,
    /// The cell.
    pub cell: BTreeMap<String, Option<String>>,
    /// Records behind the cell in all (equals the cell's `n`).
    pub n: u64,
    /// This page.
    pub page: u32,
    /// Page size.
    pub page_size: u32,
    /// The page's records, in the order they happened.
    pub records: Vec<DrillRecord>,
}

/// A planned drill: the count statement and the page statement (columns: id, ticket, anchor
/// µs, value, counted).
#[derive(Debug, Clone)]
pub struct PlannedRecords {
    /// Counts the records (one aggregate column).
    pub count: PlannedSql,
    /// Lists one page.
    pub page: PlannedSql,
}

fn unsupported(metric: &str, why: &str) -> QueryError {
    QueryError::DrillDownUnsupported {
        metric: metric.to_string(),
        why: why.to_string(),
    }
}

/// Lists the records behind one cell.
pub fn drill(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &DrillRequest,
) -> Result<DrillResponse, QueryError> {
    let bound = bind(engine.dialect(), catalogue, config);
    let catalogue = &*bound;
    let resolved = resolve(catalogue, &request.query, config.reporting_zone())?;
    refuse_unsupported(engine.dialect(), &resolved)?;
    let [rm] = resolved.metrics.as_slice() else {
        return Err(QueryError::InvalidRequest {
            message: "a drill-down opens one metric's cell: ask exactly one metric".into(),
        });
    };
    let [ask] = rm.asks.as_slice() else {
        return Err(QueryError::InvalidRequest {
            message: "a drill-down opens one cell: ask the metric with one stat".into(),
        });
    };
    let m = &rm.metric;
    // The cell names a value for each asked dimension and nothing else.
    let time_dimension = resolved.grain.map(|g| g.dimension());
    let asked: Vec<&str> = request.query.by.iter().map(String::as_str).collect();
    for key in request.cell.keys() {
        let known = asked.contains(&key.as_str()) || rm.dimensions.contains(key);
        if !known {
            return Err(QueryError::InvalidRequest {
                message: format!("the cell names `{key}`, which the query is not broken down by"),
            });
        }
    }
    for dimension in &asked {
        if !request.cell.contains_key(*dimension) {
            return Err(QueryError::InvalidRequest {
                message: format!("the cell needs a value for `{dimension}`"),
            });
        }
    }
    // A drill-down carries no warnings; a stored fact never built is computed in the query.
    let (_, in_query) =
        stored_facts_state(&FactsStateOnce::new(engine), catalogue, config, &resolved)?;
    let catalogue = in_query.as_ref().unwrap_or(catalogue);
    let (from, to) = period(engine, catalogue, config, &resolved)?;
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(DrillResponse {
            metric: m.id.clone(),
            stat: ask.key.clone(),
            cell: request.cell.clone(),
            n: 0,
            page: request.page,
            page_size: request.page_size,
            records: Vec::new(),
        });
    };
    check_span(&config.limits, from, to)?;
    let all_buckets = buckets(resolved.zone, resolved.grain, from, to);
    check_buckets(
        &config.limits,
        all_buckets.len(),
        resolved.grain.map_or("period", |g| g.dimension()),
    )?;
    let bucket_list: Vec<_> = match time_dimension.and_then(|d| request.cell.get(d)) {
        Some(label) => all_buckets
            .into_iter()
            .filter(|b| Some(&b.label) == label.as_ref())
            .collect(),
        None => all_buckets,
    };
    if bucket_list.is_empty() {
        return Err(QueryError::InvalidRequest {
            message: "the cell's time bucket is not in the query's period".into(),
        });
    }
    let entity = &catalogue.entities[&m.entity];
    let (Some(record), Some(kind)) = (&entity.record, &entity.kind) else {
        return Err(unsupported(
            &m.id,
            "is counted over rows that are not single records",
        ));
    };
    let ticket = entity.ticket.clone().unwrap_or_else(|| "NULL".into());
    let dialect = engine.dialect();

    // Conditions: the metric's filter, the request's filters, the cell's dimension values.
    let (conds, params) = conditions(dialect, catalogue, config, m, &resolved.filters);
    let mut outer: Vec<String> = Vec::new();
    let mut outer_params: Vec<String> = Vec::new();
    let mut src_dims: Vec<String> = Vec::new();
    let mut share_counted: Option<(String, Option<String>)> = None;
    for (i, (name, sql)) in rm.dimensions.iter().zip(&rm.dimension_sql).enumerate() {
        let column = match name.as_str() {
            "time:weekday" => "h.weekday".to_string(),
            "time:hour" => "h.hour".to_string(),
            _ => {
                let text = dialect.to_text(sql);
                src_dims.push(format!("{text} AS _d{i}"));
                format!("_d{i}")
            }
        };
        let share_of = m.calculation == Calculation::Share && m.share_of.as_ref() == Some(name);
        match request.cell.get(name) {
            // A share's cell counts its member rows among all rows of its group.
            Some(value) if share_of => {
                share_counted = Some((column, value.clone()));
            }
            Some(Some(value)) => {
                outer.push(format!("{column} = ?"));
                outer_params.push(value.clone());
            }
            Some(None) => outer.push(format!("{column} IS NULL")),
            // A dimension the metric adds on its own (a share's denominator): all of them.
            None => {}
        }
    }
    let time_of_day = rm
        .dimensions
        .iter()
        .any(|d| TIME_OF_DAY.contains(&d.as_str()));
    let mut pre = preamble(dialect, catalogue, config, &bucket_list);
    let mut hours = String::new();
    if let Some((cte, join)) =
        local_hours(dialect, resolved.zone, &bucket_list).filter(|_| time_of_day)
    {
        pre.push_str(&format!(",\n{cte}"));
        hours = format!(" {join}");
    }
    let (period_start, period_end) = (
        bucket_list.first().map_or(0, |b| b.start_us),
        bucket_list.last().map_or(0, |b| b.end_us),
    );
    let dims = src_dims
        .iter()
        .map(|d| format!(", {d}"))
        .collect::<String>();
    let business = ask.business;
    let (value, counted) = match m.calculation {
        Calculation::Count | Calculation::Composite | Calculation::Share => (None, None),
        Calculation::Proportion => (
            m.value.clone().or_else(|| entity.record_value.clone()),
            m.numerator.clone(),
        ),
        Calculation::Nps => (Some("s.score".to_string()), Some("s.score >= 9".into())),
        Calculation::Distribution => (
            if business {
                m.business_value.clone()
            } else {
                m.value.clone()
            },
            None,
        ),
        Calculation::Backlog => (None, None),
        _ => {
            return Err(unsupported(
                &m.id,
                "counts something other than its rows in `n`",
            ))
        }
    };
    let value_sql = value.unwrap_or_else(|| "NULL".into());
    let counted_sql = counted.map_or("NULL".to_string(), |c| format!("({c})"));
    let where_sql = |extra: Vec<String>| {
        let all: Vec<String> = extra.into_iter().chain(conds.iter().cloned()).collect();
        if all.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", all.join(" AND "))
        }
    };
    let from_sql = &entity_from(
        catalogue,
        m,
        &[
            src_dims.clone(),
            conds.clone(),
            vec![
                record.clone(),
                ticket.clone(),
                value_sql.clone(),
                counted_sql.clone(),
            ],
        ]
        .concat(),
    );
    let select = format!(
        "{} AS _id, {} AS _ticket, {} AS _v, {} AS _num{dims}",
        dialect.to_text(record),
        dialect.to_text(&ticket),
        dialect.to_double(&value_sql),
        dialect.to_boolean(&counted_sql),
    );
    let (src, joined) = if m.calculation == Calculation::Backlog {
        if !request
            .cell
            .keys()
            .any(|k| Some(k.as_str()) == time_dimension)
            && bucket_list.len() > 1
        {
            return Err(QueryError::InvalidRequest {
                message:
                    "the backlog is a snapshot at each bucket's end: name the cell's time bucket"
                        .into(),
            });
        }
        (
            {
                let open =
                    OpenAtBucketEnd::new(dialect, from_sql, "fact_resolved_spans", &bucket_list);
                format!(
                    "SELECT {select}, t.created_at AS _ts FROM {} {} GROUP BY ALL HAVING {} > 0",
                    open.from,
                    where_sql(open.conditions),
                    open.open
                )
            },
            "FROM src".to_string(),
        )
    } else if let Some(rows) = per_bucket_rows(dialect, catalogue, m, &bucket_list) {
        (
            format!(
                "SELECT {select}, {} AS _ts FROM {rows} {}",
                m.anchor,
                where_sql(Vec::new())
            )
            .trim_end()
            .to_string(),
            "FROM src".to_string(),
        )
    } else {
        let (join, bounds) = bucket_join(dialect, "src._ts", &bucket_list);
        (
            format!(
                "SELECT {select}, {a} AS _ts FROM {from_sql} {}",
                where_sql(vec![
                    format!("{} >= {}", m.anchor, dialect.instant(period_start)),
                    format!("{} < {}", m.anchor, dialect.instant(period_end)),
                ]),
                a = m.anchor
            ),
            format!("FROM src {join}{hours} WHERE {bounds}"),
        )
    };
    // Distributions count the rows that have a value; the rest count every row.
    if m.calculation == Calculation::Distribution {
        outer.push("_v IS NOT NULL".into());
    }
    let filter = if outer.is_empty() {
        String::new()
    } else if joined.contains(" WHERE ") {
        format!(" AND {}", outer.join(" AND "))
    } else {
        format!(" WHERE {}", outer.join(" AND "))
    };
    let body = format!("{pre},\nsrc AS ({src})\n");
    let mut all_params = params;
    all_params.extend(outer_params);
    let count = PlannedSql {
        sql: format!(
            "{body}SELECT {} {joined}{filter}",
            double_aggregate(dialect, &Aggregate::of(AggregateFn::Count, None))
        ),
        params: all_params.clone(),
        key_columns: 0,
        agg_columns: 1,
        components: Vec::new(),
    };
    let offset = u64::from(request.page - 1) * u64::from(request.page_size);
    let (counted_column, page_params) = match share_counted {
        Some((column, Some(value))) => (
            format!("{column} = ?"),
            std::iter::once(value).chain(all_params.clone()).collect(),
        ),
        Some((column, None)) => (format!("{column} IS NULL"), all_params.clone()),
        None => ("_num".to_string(), all_params.clone()),
    };
    let page = PlannedSql {
        sql: format!(
            "{body}SELECT _id, _ticket, {}, _v, {counted_column} {joined}{filter} \
             ORDER BY src._ts, _id LIMIT {} OFFSET {offset}",
            dialect.epoch_us("src._ts"),
            request.page_size
        ),
        params: page_params,
        key_columns: 2,
        agg_columns: 0,
        components: Vec::new(),
    };
    let planned = PlannedRecords { count, page };
    let n = engine
        .aggregate(&planned.count)?
        .first()
        .and_then(|r| r.aggs.first().copied().flatten())
        .unwrap_or(0.0) as u64;
    let records = engine
        .records(&planned.page)?
        .into_iter()
        .map(|r| DrillRecord {
            id: r.id,
            kind: kind.clone(),
            ticket_id: r.ticket,
            at: r
                .at_us
                .and_then(chrono::DateTime::from_timestamp_micros)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            value: r.value,
            counted: r.counted,
        })
        .collect();
    Ok(DrillResponse {
        metric: m.id.clone(),
        stat: ask.key.clone(),
        cell: request.cell.clone(),
        n,
        page: request.page,
        page_size: request.page_size,
        records,
    })
}
