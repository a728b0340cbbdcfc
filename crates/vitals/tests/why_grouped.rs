//! `vitals why` reads a period's total and every dimension's breakdown from one grouped scan
//! (`run_grouped`; two adjacent periods in one). On a generated organisation, each grouped answer must be exactly the
//! answer `run_query` gives for that breakdown asked alone — every row, value, `n`, interval,
//! warning and echo — for a ratio (CSAT), a mean, a median and a p90, a count and NPS; metrics
//! whose statement cannot be grouped (the backlog's snapshot) are left to `run_query`.

mod common;

use std::path::Path;

use chrono::NaiveDate;
use common::{generated, Workspace};
use serde_json::Value;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::{run_grouped, run_query, MetricSpec, QueryRequest, QueryResponse};
use vitals_store::Reader;

const JAN: (&str, &str) = ("2026-01-01", "2026-02-01");
const FEB: (&str, &str) = ("2026-02-01", "2026-03-01");
const MAR: (&str, &str) = ("2026-03-01", "2026-04-01");

/// The answer as JSON with its rows in a fixed order (rows come in the engine's order).
fn sorted(answer: &QueryResponse) -> Value {
    let mut json = serde_json::to_value(answer).unwrap();
    if let Some(rows) = json["results"].as_array_mut() {
        rows.sort_by_key(|row| row["dimensions"].to_string());
    }
    json
}

#[test]
fn grouped_answers_equal_each_breakdown_asked_alone() {
    let ws = Workspace::new();
    let config_path = generated(&ws, 3000, 3, "2026-01-01", 7);
    let config = Config::load(Some(Path::new(&config_path))).unwrap();
    let catalogue = Catalogue::builtin().unwrap();
    let reader = Reader::open(&ws.db()).unwrap();
    let date = |text: &str| text.parse::<NaiveDate>().unwrap();
    let metrics = [
        "csat",
        "first_response_time:mean",
        "first_response_time:median",
        "first_response_time:p90",
        "ticket_volume",
        "nps",
    ];
    for key in metrics {
        let spec = MetricSpec::parse(key);
        let metric = catalogue
            .metrics
            .iter()
            .find(|m| m.id == spec.key().split(':').next().unwrap())
            .unwrap();
        let dimensions: Vec<String> = catalogue
            .dimensions_of(metric)
            .into_keys()
            .filter(|d| !d.ends_with("agent"))
            .take(4)
            .collect();
        assert!(dimensions.len() >= 2, "{key}: {dimensions:?}");
        let mut sets = vec![Vec::new()];
        sets.extend(dimensions.iter().map(|d| vec![d.clone()]));
        let request = QueryRequest {
            metrics: vec![spec],
            timezone: Some("UTC".into()),
            ..Default::default()
        };
        // February with January (adjacent: one statement), then March with January (two).
        for periods in [[FEB, JAN], [MAR, JAN]] {
            let periods = periods.map(|(f, t)| (date(f), date(t)));
            let grouped = run_grouped(&reader, &catalogue, &config, &request, &periods, &sets)
                .unwrap()
                .unwrap_or_else(|| panic!("{key} is grouped"));
            assert_eq!(grouped.len(), periods.len());
            for ((from, to), answers) in periods.into_iter().zip(grouped) {
                assert_eq!(answers.len(), sets.len());
                for (set, answer) in sets.iter().zip(answers) {
                    let alone = QueryRequest {
                        by: set.clone(),
                        from: Some(from),
                        to: Some(to),
                        ..request.clone()
                    };
                    let alone = run_query(&reader, &catalogue, &config, &alone).unwrap();
                    let answer = answer.unwrap();
                    let what = format!("{key} by {set:?} from {from}");
                    assert!(!answer.results.is_empty(), "{what}");
                    assert_eq!(sorted(&answer), sorted(&alone), "{what}");
                }
            }
        }
    }
    let backlog = QueryRequest {
        metrics: vec![MetricSpec::parse("backlog")],
        ..Default::default()
    };
    let sets = [Vec::new(), vec!["ticket:channel".to_string()]];
    let periods = [(date(FEB.0), date(FEB.1))];
    assert!(
        run_grouped(&reader, &catalogue, &config, &backlog, &periods, &sets)
            .unwrap()
            .is_none()
    );
}
