//! Shared by the SQL snapshot tests: one metric planned by month over the first quarter of
//! 2026 in Europe/Helsinki, with the default configuration and a fixed "now".

use chrono::NaiveDate;
use chrono_tz::Tz;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::plan::{plan_metric, PlannedSql};
use vitals_query::{buckets, resolve, Dialect, MetricSpec, QueryRequest};

/// The statement `metric` plans to in `dialect`, by month over 2026-01-01 .. 2026-04-01.
pub fn plan_by_month(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    metric: MetricSpec,
) -> PlannedSql {
    std::env::set_var("VITALS_NOW", "2026-04-01T00:00:00Z");
    let request = QueryRequest {
        metrics: vec![metric],
        by: vec!["time:month".into()],
        timezone: Some("Europe/Helsinki".into()),
        ..Default::default()
    };
    let resolved = resolve(catalogue, &request, Tz::UTC).unwrap();
    let bucket_list = buckets(
        resolved.zone,
        resolved.grain,
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
    );
    plan_metric(
        dialect,
        catalogue,
        &Config::default(),
        &resolved,
        &resolved.metrics[0],
        &bucket_list,
    )
}
