//! Golden ClickHouse SQL for representative shapes — months; Helsinki days across DST; weeks ×
//! channel; weekday × hour in New York; a filter; compare with the previous period; median and
//! p90; a drill-down page — planned through the public API (`run_query`, `drill`) on an engine
//! that only records the statements it is asked to run. A change to how ClickHouse SQL is
//! written shows up byte for byte as a diff to review. A metric ClickHouse cannot compute as
//! DuckDB does answers `not_on_engine` before anything is planned.

use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use vitals_clickhouse::ClickHouse;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::plan::PlannedSql;
use vitals_query::{
    drill, run_query, AggRow, CompareMode, Dialect, DrillRequest, Engine, EngineError, FactsState,
    Filter, FilterOp, MetricSpec, QueryRequest, RecordRow,
};

/// An engine with no rows that keeps every statement it is asked to run.
struct Recorder {
    statements: RefCell<Vec<String>>,
    facts: FactsState,
}

impl Recorder {
    fn new(catalogue: &Catalogue, config: &Config) -> Recorder {
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

    fn keep(&self, plan: &PlannedSql) {
        self.statements
            .borrow_mut()
            .push(format!("{}\n-- params: {:?}", plan.sql, plan.params));
    }

    fn statements(&self) -> String {
        self.statements.borrow().join("\n-- next statement --\n")
    }
}

impl Engine for Recorder {
    fn dialect(&self) -> &dyn Dialect {
        &ClickHouse
    }

    fn aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
        self.keep(plan);
        Ok(Vec::new())
    }

    fn extent(&self, _sql: &str) -> Result<Option<(i64, i64)>, EngineError> {
        Ok(None)
    }

    fn facts_state(&self) -> Result<FactsState, EngineError> {
        Ok(self.facts.clone())
    }

    fn records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
        self.keep(plan);
        Ok(Vec::new())
    }
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// `metrics` by `by` over the first quarter of 2026 in `zone`.
fn quarter(metrics: &[&str], by: &[&str], zone: &str) -> QueryRequest {
    std::env::set_var("VITALS_NOW", "2026-04-01T00:00:00Z");
    QueryRequest {
        metrics: metrics.iter().map(|m| MetricSpec::parse(m)).collect(),
        by: by.iter().map(|d| d.to_string()).collect(),
        from: date(2026, 1, 1),
        to: date(2026, 4, 1),
        timezone: Some(zone.into()),
        ..Default::default()
    }
}

/// The statements `run_query` sends to ClickHouse for `request`.
fn statements(request: &QueryRequest) -> String {
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let engine = Recorder::new(&catalogue, &config);
    run_query(&engine, &catalogue, &config, request).unwrap();
    engine.statements()
}

#[test]
fn months() {
    let request = quarter(
        &["ticket_volume", "csat", "answer_rate"],
        &["time:month"],
        "Europe/Helsinki",
    );
    insta::assert_snapshot!("months", statements(&request));
}

#[test]
fn helsinki_days_across_dst() {
    let request = QueryRequest {
        from: date(2026, 3, 27),
        to: date(2026, 3, 31),
        ..quarter(
            &["first_response_time:median"],
            &["time:day"],
            "Europe/Helsinki",
        )
    };
    insta::assert_snapshot!("helsinki_days_across_dst", statements(&request));
}

#[test]
fn weeks_by_channel() {
    let request = quarter(&["fcr", "backlog"], &["time:week", "ticket:channel"], "UTC");
    insta::assert_snapshot!("weeks_by_channel", statements(&request));
}

#[test]
fn weekday_by_hour_in_new_york() {
    let request = QueryRequest {
        from: date(2026, 3, 1),
        to: date(2026, 3, 15),
        ..quarter(
            &["ticket_volume"],
            &["time:weekday", "time:hour"],
            "America/New_York",
        )
    };
    insta::assert_snapshot!("weekday_by_hour_new_york", statements(&request));
}

#[test]
fn a_filter() {
    let request = QueryRequest {
        filters: vec![Filter {
            dimension: "ticket:channel".into(),
            op: FilterOp::IsNot,
            values: vec!["email".into(), "it's \\ odd".into()],
        }],
        ..quarter(&["csat", "nps"], &["time:month"], "Europe/Helsinki")
    };
    insta::assert_snapshot!("filter", statements(&request));
}

#[test]
fn compare_with_the_previous_period() {
    let request = QueryRequest {
        compare: Some(CompareMode::Previous),
        ..quarter(&["resolution_rate"], &["time:month"], "Europe/Helsinki")
    };
    insta::assert_snapshot!("compare_previous", statements(&request));
}

#[test]
fn median_and_p90() {
    let request = quarter(
        &["first_response_time:median", "first_response_time:p90"],
        &["time:month"],
        "Europe/Helsinki",
    );
    insta::assert_snapshot!("median_p90", statements(&request));
}

#[test]
fn drill_down_page() {
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let engine = Recorder::new(&catalogue, &config);
    let request = DrillRequest {
        query: quarter(
            &["fcr"],
            &["time:month", "ticket:channel"],
            "Europe/Helsinki",
        ),
        cell: BTreeMap::from([
            ("time:month".to_string(), Some("2026-02".to_string())),
            ("ticket:channel".to_string(), Some("chat".to_string())),
        ]),
        page: 2,
        page_size: 25,
    };
    drill(&engine, &catalogue, &config, &request).unwrap();
    insta::assert_snapshot!("drill_down_page", engine.statements());
}

#[test]
fn a_metric_clickhouse_cannot_compute_as_duckdb_does_is_refused() {
    let catalogue = Catalogue::builtin().unwrap();
    let config = Config::default();
    let engine = Recorder::new(&catalogue, &config);
    let request = quarter(&["clv_simple"], &["time:month"], "Europe/Helsinki");
    let e = run_query(&engine, &catalogue, &config, &request).unwrap_err();
    assert_eq!(e.code(), "not_on_engine");
    assert!(e.to_string().contains("correlated subquery"), "{e}");
    assert!(engine.statements().is_empty(), "nothing is planned or run");
}
