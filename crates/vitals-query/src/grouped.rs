//! One metric broken down several ways in one statement: [`run_grouped`] answers a query for
//! each of several lists of dimensions (the total is the empty list) and periods from one
//! grouped scan of the metric's rows per period (or of two adjacent periods together) (`GROUPING SETS`, written by the dialect), each answer exactly the one
//! [`run_query`](crate::run_query) gives for that list — the same finalisation, merge, targets,
//! limits and warnings. `vitals why` asks this for the total and every dimension of a period.

use chrono::NaiveDate;

use crate::buckets::{buckets, Bucket};
use crate::engine::Engine;
use crate::error::QueryError;
use crate::limits::{check_buckets, check_span};
use crate::plan::{plan_grouped, quantiles, MetricPlan};
use crate::request::QueryRequest;
use crate::resolve::{resolve, ResolvedQuery};
use crate::response::QueryResponse;
use crate::result::{finalize, merge, AggRow};
use crate::rowwise::groupable;
use crate::run::{respond, stored_facts_state, Answered, FactsStateOnce};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;

/// Each set's answer, or the error its own query would have stopped with (too many rows).
pub type SetAnswers = Vec<Result<QueryResponse, QueryError>>;

/// The answers of `request` (one metric, no time dimension, no comparison; its own `from`,
/// `to` and `by` are ignored) over each of `periods` (`[from, to)` in local dates) broken
/// down by each of `sets`, per period in order: one statement per period, or one for two
/// periods where one ends as the other starts (a month and the month before). `None` when
/// the query is not of that form or its metric's statement cannot be grouped (see
/// [`plan_grouped`]): then ask [`run_query`](crate::run_query) once per period and set.
pub fn run_grouped(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &QueryRequest,
    periods: &[(NaiveDate, NaiveDate)],
    sets: &[Vec<String>],
) -> Result<Option<Vec<SetAnswers>>, QueryError> {
    let zone = config.reporting_zone();
    let asked = |by: &[String], (from, to): (NaiveDate, NaiveDate)| QueryRequest {
        by: by.to_vec(),
        from: Some(from),
        to: Some(to),
        ..request.clone()
    };
    let Some(&first) = periods.first() else {
        return Ok(None);
    };
    let mut every: Vec<String> = Vec::new();
    for d in sets.iter().flatten() {
        if !every.contains(d) {
            every.push(d.clone());
        }
    }
    let all = resolve(catalogue, &asked(&every, first), zone)?;
    let (None, None, [rm]) = (request.compare, all.grain, &all.metrics[..]) else {
        return Ok(None);
    };
    if rm.dimensions.is_empty() || !groupable(rm.metric.calculation) {
        return Ok(None);
    }
    let each: Vec<ResolvedQuery> = sets
        .iter()
        .map(|set| resolve(catalogue, &asked(set, first), zone))
        .collect::<Result<_, _>>()?;
    // Each set as the indices of its metric's dimensions among all of them.
    let indices: Vec<Vec<usize>> = each
        .iter()
        .map(|q| {
            q.metrics[0]
                .dimensions
                .iter()
                .filter_map(|d| rm.dimensions.iter().position(|a| a == d))
                .collect()
        })
        .collect();
    let facts = FactsStateOnce::new(engine);
    let (stored_warnings, in_query) = stored_facts_state(&facts, catalogue, config, &all)?;
    let catalogue = in_query.as_ref().unwrap_or(catalogue);
    let mut lists = Vec::new();
    for &(from, to) in periods {
        check_span(&config.limits, from, to)?;
        let list = buckets(all.zone, None, from, to);
        check_buckets(&config.limits, list.len(), "period")?;
        lists.push(list);
    }
    let mut rows = Vec::new();
    for (scanned, labels) in scans(&lists) {
        let metric = MetricPlan {
            dialect: engine.dialect(),
            catalogue,
            config,
            query: &all,
            rm,
            buckets: &scanned,
        };
        let Some(plan) = plan_grouped(metric, &indices) else {
            return Ok(None);
        };
        let answered = if scanned.is_empty() {
            Vec::new()
        } else {
            engine.aggregate(&plan)?
        };
        for (k, label) in labels {
            let mine = answered
                .iter()
                .filter(|r| r.keys[0].as_deref() == Some(&label));
            rows.push((k, plan.key_columns, mine.cloned().collect::<Vec<_>>()));
        }
    }
    rows.sort_by_key(|(k, _, _)| *k);
    let mut answers = Vec::new();
    for ((&period, list), (_, key_columns, period_rows)) in periods.iter().zip(&lists).zip(rows) {
        let mut per_set = Vec::new();
        for ((set, q), set_indices) in sets.iter().zip(&each).zip(&indices) {
            let set_rm = &q.metrics[0];
            let label = list.first().map(|b| b.label.clone());
            let mine = set_rows(
                &period_rows,
                key_columns,
                label,
                rm.dimensions.len(),
                set_indices,
            );
            let finalised = finalize(set_rm, &quantiles(set_rm), &[], &mine);
            let results = merge(q, list, vec![(set_rm, finalised)]);
            let request = asked(set, period);
            per_set.push(respond(
                Answered {
                    facts: &facts,
                    catalogue,
                    config,
                    request: &request,
                    resolved: q,
                    stored_warnings: stored_warnings.clone(),
                    period: (Some(period.0), Some(period.1)),
                    buckets: list,
                    compared: None,
                },
                results,
            ));
        }
        answers.push(per_set);
    }
    Ok(Some(answers))
}

/// One statement to run: its buckets and, per period it answers, the period's index and the
/// label its rows carry.
type Scan = (Vec<Bucket>, Vec<(usize, String)>);

/// The statements to run for the periods' bucket lists. Two single-bucket periods where one
/// ends as the other starts are one statement, in time order, labelled by index.
fn scans(lists: &[Vec<Bucket>]) -> Vec<Scan> {
    if let [[a], [b]] = lists.iter().map(Vec::as_slice).collect::<Vec<_>>()[..] {
        let order = if a.end_us == b.start_us {
            Some([(0, a), (1, b)])
        } else if b.end_us == a.start_us {
            Some([(1, b), (0, a)])
        } else {
            None
        };
        if let Some(order) = order {
            let labelled = order.map(|(k, bucket)| Bucket {
                label: k.to_string(),
                ..bucket.clone()
            });
            let labels = labelled
                .iter()
                .zip(order)
                .map(|(b, (k, _))| (k, b.label.clone()))
                .collect();
            return vec![(labelled.to_vec(), labels)];
        }
    }
    lists
        .iter()
        .enumerate()
        .map(|(k, list)| {
            let labels = list.iter().map(|b| (k, b.label.clone())).take(1).collect();
            (list.clone(), labels)
        })
        .collect()
}

/// The grouping id of the set grouping by the dimensions at `indices` among `dimensions`:
/// a bit per dimension, the first the most significant, 1 when it is not grouped.
fn grouping_id(dimensions: usize, indices: &[usize]) -> u64 {
    (0..dimensions)
        .filter(|i| !indices.contains(i))
        .map(|i| 1u64 << (dimensions - 1 - i))
        .sum()
}

/// The rows of one grouping set (told by the grouping id, the last of `key_columns`), keyed
/// as its own query's statement keys them: the period's bucket `label`, then the set's
/// dimensions in order.
fn set_rows(
    rows: &[AggRow],
    key_columns: usize,
    label: Option<String>,
    dimensions: usize,
    indices: &[usize],
) -> Vec<AggRow> {
    let id = grouping_id(dimensions, indices).to_string();
    rows.iter()
        .filter(|row| row.keys.get(key_columns - 1).and_then(|k| k.as_deref()) == Some(id.as_str()))
        .map(|row| AggRow {
            keys: std::iter::once(label.clone())
                .chain(indices.iter().map(|&i| row.keys[1 + i].clone()))
                .collect(),
            aggs: row.aggs.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_ids_mark_the_dimensions_left_out() {
        assert_eq!(grouping_id(3, &[0, 1, 2]), 0);
        assert_eq!(grouping_id(3, &[]), 0b111);
        assert_eq!(grouping_id(3, &[0]), 0b011);
        assert_eq!(grouping_id(3, &[2]), 0b110);
        assert_eq!(grouping_id(3, &[0, 2]), 0b010);
    }
}
