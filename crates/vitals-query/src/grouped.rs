//! One metric broken down several ways in one statement: [`run_grouped`] answers a query for
//! each of several lists of dimensions (the total is the empty list) from one grouped scan of
//! the metric's rows (`GROUPING SETS`, written by the dialect), each answer exactly the one
//! [`run_query`](crate::run_query) gives for that list — the same finalisation, merge, targets,
//! limits and warnings. `vitals why` asks this for the total and every dimension of a period.

use crate::buckets::buckets;
use crate::engine::Engine;
use crate::error::QueryError;
use crate::limits::{check_buckets, check_span};
use crate::plan::{plan_grouped, quantiles, MetricPlan, PlannedSql};
use crate::request::QueryRequest;
use crate::resolve::{resolve, ResolvedQuery};
use crate::response::QueryResponse;
use crate::result::{finalize, merge, AggRow};
use crate::run::{respond, stored_facts_state, Answered, FactsStateOnce};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;

/// Each set's answer, or the error its own query would have stopped with (too many rows).
pub type SetAnswers = Vec<Result<QueryResponse, QueryError>>;

/// The answers of `request` (one metric, `from` and `to` given, no time dimension, no
/// comparison; its own `by` is ignored) broken down by each of `sets`, in order, from one
/// statement; `None` when the query is not of that form or its metric's statement cannot be
/// grouped (see [`plan_grouped`]): then ask [`run_query`](crate::run_query) once per set.
pub fn run_grouped(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &QueryRequest,
    sets: &[Vec<String>],
) -> Result<Option<SetAnswers>, QueryError> {
    let zone = config.reporting_zone();
    let asked = |by: &[String]| QueryRequest {
        by: by.to_vec(),
        ..request.clone()
    };
    let mut every: Vec<String> = Vec::new();
    for d in sets.iter().flatten() {
        if !every.contains(d) {
            every.push(d.clone());
        }
    }
    let all = resolve(catalogue, &asked(&every), zone)?;
    let (Some(from), Some(to), None, None, [rm]) = (
        request.from,
        request.to,
        request.compare,
        all.grain,
        &all.metrics[..],
    ) else {
        return Ok(None);
    };
    if rm.dimensions.is_empty() {
        return Ok(None);
    }
    let each: Vec<ResolvedQuery> = sets
        .iter()
        .map(|set| resolve(catalogue, &asked(set), zone))
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
    check_span(&config.limits, from, to)?;
    let bucket_list = buckets(all.zone, None, from, to);
    check_buckets(&config.limits, bucket_list.len(), "period")?;
    let metric = MetricPlan {
        dialect: engine.dialect(),
        catalogue,
        config,
        query: &all,
        rm,
        buckets: &bucket_list,
    };
    let Some(plan) = plan_grouped(metric, &indices) else {
        return Ok(None);
    };
    let rows = if bucket_list.is_empty() {
        Vec::new()
    } else {
        engine.aggregate(&plan)?
    };
    let mut answers = Vec::new();
    for ((set, q), set_indices) in sets.iter().zip(&each).zip(&indices) {
        let set_rm = &q.metrics[0];
        let mine = set_rows(&plan, &rows, rm.dimensions.len(), set_indices);
        let finalised = finalize(set_rm, &quantiles(set_rm), &plan.components, &mine);
        let results = merge(q, &bucket_list, vec![(set_rm, finalised)]);
        let request = asked(set);
        answers.push(respond(
            Answered {
                facts: &facts,
                catalogue,
                config,
                request: &request,
                resolved: q,
                stored_warnings: stored_warnings.clone(),
                period: (Some(from), Some(to)),
                buckets: &bucket_list,
                compared: None,
            },
            results,
        ));
    }
    Ok(Some(answers))
}

/// The grouping id of the set grouping by the dimensions at `indices` among `dimensions`:
/// a bit per dimension, the first the most significant, 1 when it is not grouped.
fn grouping_id(dimensions: usize, indices: &[usize]) -> u64 {
    (0..dimensions)
        .filter(|i| !indices.contains(i))
        .map(|i| 1u64 << (dimensions - 1 - i))
        .sum()
}

/// The rows of one grouping set, keyed as its own query's statement keys them (bucket, then
/// its dimensions in order).
fn set_rows(
    plan: &PlannedSql,
    rows: &[AggRow],
    dimensions: usize,
    indices: &[usize],
) -> Vec<AggRow> {
    let id = grouping_id(dimensions, indices).to_string();
    let id_column = plan.key_columns - 1;
    rows.iter()
        .filter(|row| row.keys.get(id_column).and_then(|k| k.as_deref()) == Some(id.as_str()))
        .map(|row| AggRow {
            keys: std::iter::once(row.keys[0].clone())
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
