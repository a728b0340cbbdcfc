//! A second SQL dialect overrides only what differs: dialects that spell one construct their
//! own way (the quantile function; filtered aggregates with ClickHouse's `-If` combinator)
//! plan statements that differ from DuckDB's exactly in that construct, byte for byte.

mod common;

use common::plan_by_month;
use vitals_core::catalogue::Catalogue;
use vitals_query::dialect::{Aggregate, AggregateFn};
use vitals_query::{Dialect, DuckDb, MetricSpec};

/// DuckDB, but with an exact quantile function spelled as ClickHouse spells it.
struct ExactQuantiles;

impl Dialect for ExactQuantiles {
    fn quantile(&self, argument: &str, q: f64) -> String {
        format!("quantileExactInclusive({q})({argument})")
    }
}

/// DuckDB, but with filtered aggregates written with the `-If` combinator.
struct IfCombinators;

impl Dialect for IfCombinators {
    fn aggregate(&self, aggregate: &Aggregate) -> String {
        match (aggregate.function, aggregate.argument, aggregate.filter) {
            (AggregateFn::Count, None, Some(condition)) => format!("countIf({condition})"),
            _ => DuckDb.aggregate(aggregate),
        }
    }
}

/// The statement `metric` plans to in `dialect`, by month over the first quarter of 2026.
fn planned(dialect: &dyn Dialect, metric: &str) -> String {
    let catalogue = Catalogue::builtin().unwrap();
    plan_by_month(dialect, &catalogue, MetricSpec::parse(metric)).sql
}

#[test]
fn a_dialect_that_changes_the_quantile_changes_only_the_quantile() {
    let duckdb = planned(&DuckDb, "first_response_time:p90");
    let exact = planned(&ExactQuantiles, "first_response_time:p90");
    assert!(duckdb.contains("quantile_cont(_v, 0.9)"), "{duckdb}");
    assert_eq!(
        exact,
        duckdb.replace("quantile_cont(_v, 0.9)", "quantileExactInclusive(0.9)(_v)")
    );
}

#[test]
fn a_dialect_without_filter_clauses_changes_only_the_filtered_counts() {
    let duckdb = planned(&DuckDb, "fcr");
    let combinators = planned(&IfCombinators, "fcr");
    assert!(duckdb.contains("count(*) FILTER (WHERE _num)"), "{duckdb}");
    assert_eq!(
        combinators,
        duckdb.replace("count(*) FILTER (WHERE _num)", "countIf(_num)")
    );
}
