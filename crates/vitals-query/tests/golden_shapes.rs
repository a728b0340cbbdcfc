//! Golden SQL of the statement shapes the per-metric snapshots (`golden_sql.rs`) do not reach:
//! shared scans, snapshots from deltas and pairwise, weekday × hour, per-bucket customer rows,
//! dimensions with `is` / `is_not` filters, list membership, a whole period compared with the
//! previous one, quantile stats, `why`'s grouped scan of a period, drill-downs, the extent
//! statement, the staffing statements and a full preamble. Each test plans through the public
//! API (`run_query`, `why`, `drill`, `staffing`) on an engine that only records what it is
//! asked to run, so a change to how SQL is written shows up byte for byte as a diff to review.

use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::{Config, SurveyAttribution};
use vitals_query::plan::PlannedSql;
use vitals_query::plan::{plan_metric_with, Snapshots};
use vitals_query::{
    buckets, drill, resolve, run_query, staffing, why, AggRow, CompareMode, Dialect, DrillRequest,
    DuckDb, Engine, EngineError, FactsState, Filter, FilterOp, MetricSpec, QueryRequest, RecordRow,
    StaffingRequest, WhyRequest,
};

/// An engine with no rows that keeps every statement it is asked to run, in order.
struct Recorder {
    statements: RefCell<Vec<String>>,
    /// The stored facts it claims to hold (all of the catalogue's, or none).
    facts: FactsState,
}

impl Recorder {
    /// A store holding every stored fact, built under `config`.
    fn built(catalogue: &Catalogue, config: &Config) -> Recorder {
        let stored_facts = catalogue
            .stored_facts(config)
            .into_iter()
            .map(|f| (f.name, f.sql))
            .collect();
        Recorder {
            statements: RefCell::new(Vec::new()),
            facts: FactsState {
                stored_facts,
                ..Default::default()
            },
        }
    }

    /// A store whose stored facts were never built (they are computed in the query).
    fn unbuilt() -> Recorder {
        Recorder {
            statements: RefCell::new(Vec::new()),
            facts: FactsState::default(),
        }
    }

    fn keep(&self, sql: &str) {
        self.statements.borrow_mut().push(sql.to_string());
    }

    /// The statements run so far, each without the common preamble, one after another.
    fn own_parts(&self) -> String {
        self.statements
            .borrow()
            .iter()
            .map(|sql| own_part(sql))
            .collect::<Vec<_>>()
            .join("\n-- next statement --\n")
    }
}

impl Engine for Recorder {
    fn dialect(&self) -> &dyn Dialect {
        &DuckDb
    }

    fn aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
        self.keep(&format!("{}\n-- params: {:?}", plan.sql, plan.params));
        Ok(Vec::new())
    }

    fn extent(&self, sql: &str) -> Result<Option<(i64, i64)>, EngineError> {
        self.keep(sql);
        Ok(None)
    }

    fn facts_state(&self) -> Result<FactsState, EngineError> {
        Ok(self.facts.clone())
    }

    fn records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
        self.keep(&format!("{}\n-- params: {:?}", plan.sql, plan.params));
        Ok(Vec::new())
    }
}

/// A statement without the common table expressions up to and including the buckets (the
/// same for every statement of a period; `full_preamble` keeps one whole).
fn own_part(sql: &str) -> String {
    sql.rsplit_once("buckets(bucket, b_start, b_end, d_start, d_end, i) AS (VALUES")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map_or_else(|| sql.to_string(), |(_, rest)| rest.to_string())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A request over the first quarter of 2026 in Helsinki (a DST change at its end).
fn quarter(metrics: &[&str], by: &[&str]) -> QueryRequest {
    std::env::set_var("VITALS_NOW", "2026-04-01T00:00:00Z");
    QueryRequest {
        metrics: metrics.iter().map(|m| MetricSpec::parse(m)).collect(),
        by: by.iter().map(|d| d.to_string()).collect(),
        from: Some(date(2026, 1, 1)),
        to: Some(date(2026, 4, 1)),
        timezone: Some("Europe/Helsinki".into()),
        ..Default::default()
    }
}

/// The statements `run_query` sends for `request` under `config`.
fn run_with(config: &Config, request: &QueryRequest) -> String {
    let catalogue = Catalogue::builtin().unwrap();
    let engine = Recorder::built(&catalogue, config);
    run_query(&engine, &catalogue, config, request).unwrap();
    engine.own_parts()
}

fn run(request: &QueryRequest) -> String {
    run_with(&Config::default(), request)
}

fn filter(dimension: &str, op: FilterOp, values: &[&str]) -> Filter {
    Filter {
        dimension: dimension.into(),
        op,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

#[test]
fn shared_scan_of_ticket_metrics_by_creation() {
    let request = quarter(
        &["first_resolution_time:median", "fcr", "reopen_rate"],
        &["time:month"],
    );
    insta::assert_snapshot!("shared_scan_tickets", run(&request));
}

#[test]
fn quantile_stats_median_and_p90() {
    let request = quarter(
        &["first_response_time:median", "first_response_time:p90"],
        &["time:month"],
    );
    insta::assert_snapshot!("quantiles_median_p90", run(&request));
}

#[test]
fn why_one_grouped_scan_per_period() {
    std::env::set_var("VITALS_NOW", "2026-04-01T00:00:00Z");
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let engine = Recorder::built(&catalogue, &config);
    let request = WhyRequest {
        metric: MetricSpec::parse("first_response_time:p90"),
        by: vec!["ticket:channel".into(), "ticket:team".into()],
        filters: Vec::new(),
        from: Some(date(2026, 3, 1)),
        to: Some(date(2026, 4, 1)),
        timezone: Some("Europe/Helsinki".into()),
        vs: None,
        min_support: None,
    };
    why(&engine, &catalogue, &config, &request).unwrap();
    insta::assert_snapshot!("why_grouped_p90", engine.own_parts());
}

#[test]
fn backlog_by_channel_from_deltas() {
    let request = quarter(&["backlog"], &["time:month", "ticket:channel"]);
    insta::assert_snapshot!("backlog_deltas_by_channel", run(&request));
}

#[test]
fn backlog_by_age_band_pairs_buckets_with_rows() {
    let request = quarter(&["backlog"], &["time:month", "backlog:age_band"]);
    insta::assert_snapshot!("backlog_pairwise_age_band", run(&request));
}

#[test]
fn retention_by_tier_from_deltas() {
    let request = quarter(&["retention_rate"], &["time:month", "customer:tier"]);
    insta::assert_snapshot!("retention_deltas_by_tier", run(&request));
}

#[test]
fn retention_pairwise() {
    let request = quarter(&["retention_rate"], &["time:month"]);
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let resolved = resolve(&catalogue, &request, Tz::UTC).unwrap();
    let bucket_list = buckets(
        resolved.zone,
        resolved.grain,
        date(2026, 1, 1),
        date(2026, 4, 1),
    );
    let plan = plan_metric_with(
        &DuckDb,
        &catalogue,
        &config,
        &resolved,
        &resolved.metrics[0],
        &bucket_list,
        Snapshots::Pairwise,
    );
    insta::assert_snapshot!("retention_pairwise", own_part(&plan.sql));
}

#[test]
fn weekday_by_hour_in_local_time() {
    let request = quarter(
        &["average_handle_time_calls"],
        &["time:weekday", "time:hour"],
    );
    insta::assert_snapshot!("weekday_hour", run(&request));
}

#[test]
fn per_bucket_customer_metric_with_bucket_events() {
    let request = quarter(&["referral_rate"], &["time:month", "customer:tier"]);
    insta::assert_snapshot!("bucket_events_by_tier", run(&request));
}

#[test]
fn dimension_with_is_and_is_not_filters() {
    let mut request = quarter(&["csat"], &["time:month", "ticket:channel"]);
    request.filters = vec![
        filter("ticket:priority", FilterOp::Is, &["high", "urgent"]),
        filter("ticket:team", FilterOp::IsNot, &["billing"]),
    ];
    insta::assert_snapshot!("dimension_and_filters", run(&request));
}

#[test]
fn every_replying_agent_filters_by_list_membership() {
    let mut config = Config::default();
    config.attribution.surveys = SurveyAttribution::EveryReplyingAgent;
    let mut request = quarter(&["csat"], &["survey:agent"]);
    request.filters = vec![filter("survey:agent", FilterOp::IsNot, &["a1", "a2"])];
    insta::assert_snapshot!("survey_agent_list_membership", run_with(&config, &request));
}

#[test]
fn whole_period_compared_with_the_previous() {
    let mut request = quarter(&["csat", "first_response_time:p90"], &[]);
    request.compare = Some(CompareMode::Previous);
    insta::assert_snapshot!("whole_period_compare_previous", run(&request));
}

#[test]
fn extent_of_the_data_when_no_period_is_asked() {
    let mut request = quarter(&["first_response_time"], &["time:month"]);
    request.from = None;
    request.to = None;
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let engine = Recorder::built(&catalogue, &config);
    run_query(&engine, &catalogue, &config, &request).unwrap();
    // Whole: its preamble has the placeholder row of an empty bucket list.
    insta::assert_snapshot!("extent", engine.statements.borrow().join("\n"));
}

fn drill_statements(query: QueryRequest, cell: &[(&str, Option<&str>)]) -> String {
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let engine = Recorder::built(&catalogue, &config);
    let request = DrillRequest {
        query,
        cell: cell
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect::<BTreeMap<_, _>>(),
        page: 2,
        page_size: 10,
    };
    drill(&engine, &catalogue, &config, &request).unwrap();
    engine.own_parts()
}

#[test]
fn drill_down_of_a_proportion_cell() {
    let mut query = quarter(&["fcr"], &["time:month", "ticket:channel"]);
    query.filters = vec![filter("ticket:priority", FilterOp::Is, &["high"])];
    let cell = [("time:month", Some("2026-02")), ("ticket:channel", None)];
    insta::assert_snapshot!("drill_proportion", drill_statements(query, &cell));
}

#[test]
fn drill_down_of_the_backlog() {
    let query = quarter(&["backlog"], &["time:month"]);
    let cell = [("time:month", Some("2026-03"))];
    insta::assert_snapshot!("drill_backlog", drill_statements(query, &cell));
}

#[test]
fn drill_down_of_a_per_bucket_metric() {
    let query = quarter(&["loyalty_participation"], &["time:month"]);
    let cell = [("time:month", Some("2026-01"))];
    insta::assert_snapshot!("drill_per_bucket", drill_statements(query, &cell));
}

#[test]
fn staffing_statements_of_a_month() {
    std::env::set_var("VITALS_NOW", "2026-04-01T00:00:00Z");
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let engine = Recorder::built(&catalogue, &config);
    let request = StaffingRequest {
        month: Some("2026-03".into()),
        timezone: Some("Europe/Helsinki".into()),
        top: Some(3),
    };
    staffing(&engine, &catalogue, &config, &request).unwrap();
    insta::assert_snapshot!("staffing_month", engine.own_parts());
}

/// One whole statement, preamble included, with its stored facts computed in the query (a
/// store that never derived them): query-time facts, configuration tables and buckets.
#[test]
fn full_preamble_with_facts_computed_in_the_query() {
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let engine = Recorder::unbuilt();
    let request = quarter(&["csat"], &["time:month"]);
    run_query(&engine, &catalogue, &config, &request).unwrap();
    insta::assert_snapshot!("full_preamble", engine.statements.borrow().join("\n"));
}
