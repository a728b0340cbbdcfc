//! Golden SQL: the statement planned for every catalogue metric (by month over a fixed quarter
//! in Europe/Helsinki, with the default configuration and a fixed "now") is kept as a reviewed
//! snapshot in `tests/snapshots/`. A change to the planner or a catalogue expression shows up
//! as a diff to review (`cargo insta review`), and a second SQL dialect gets its own set.

use chrono::NaiveDate;
use chrono_tz::Tz;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::plan::plan_metric;
use vitals_query::{buckets, resolve, DuckDb, MetricSpec, QueryRequest};

#[test]
fn every_metric_plans_to_its_reviewed_sql() {
    std::env::set_var("VITALS_NOW", "2026-04-01T00:00:00Z");
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    for metric in &catalogue.metrics {
        let stat = metric.has_distribution().then(|| "median".to_string());
        let request = QueryRequest {
            metrics: vec![MetricSpec {
                id: metric.id.clone(),
                stat,
            }],
            by: vec!["time:month".into()],
            timezone: Some("Europe/Helsinki".into()),
            ..Default::default()
        };
        let resolved = resolve(&catalogue, &request, Tz::UTC).unwrap();
        let bucket_list = buckets(
            resolved.zone,
            resolved.grain,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        );
        let plan = plan_metric(
            &DuckDb,
            &catalogue,
            &config,
            &resolved,
            &resolved.metrics[0],
            &bucket_list,
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
