//! Golden SQL: the statement planned for every catalogue metric (by month over a fixed quarter
//! in Europe/Helsinki, with the default configuration and a fixed "now") is kept as a reviewed
//! snapshot in `tests/snapshots/`. A change to the planner or a catalogue expression shows up
//! as a diff to review (`cargo insta review`), and a second SQL dialect gets its own set.

mod common;

use common::plan_by_month;
use vitals_core::catalogue::Catalogue;
use vitals_query::{DuckDb, MetricSpec};

#[test]
fn every_metric_plans_to_its_reviewed_sql() {
    let catalogue = Catalogue::builtin().unwrap();
    for metric in &catalogue.metrics {
        let stat = metric.has_distribution().then(|| "median".to_string());
        let plan = plan_by_month(
            &DuckDb,
            &catalogue,
            MetricSpec {
                id: metric.id.clone(),
                stat,
            },
        );
        // The shared preamble (survey rules, query-time facts, buckets) is the same for
        // every metric; keep the part that is the metric's own.
        let own = plan
            .sql
            .split_once("\nsrc AS")
            .map(|(_, rest)| format!("src AS{rest}"))
            .or_else(|| {
                plan.sql
                    .rsplit_once("buckets(bucket, b_start, b_end, d_start, d_end, i) AS (VALUES")
                    .and_then(|(_, rest)| rest.split_once('\n'))
                    .map(|(_, rest)| rest.to_string())
            })
            .unwrap_or(plan.sql.clone());
        insta::assert_snapshot!(metric.id.as_str(), own);
    }
}
