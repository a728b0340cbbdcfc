//! End to end against an independent oracle: a data set neither has seen (generated with a
//! seed the demo does not use) is imported, and every metric of the vertical slice — by local
//! month in Europe/Helsinki, by ticket channel for ticket metrics, durations as mean, median
//! and p90 — must equal what `tests/oracle/metrics.py` (plain Python, written from docs/metrics.md
//! alone) computes from the CSV files: relative error ≤ 1e-6, identical `n`. Without python3
//! the test skips loudly — except with `CI=true`, where it fails.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{input_absent, ok, Workspace};
use serde_json::Value;

const FROM: &str = "2026-01-01";
const TO: &str = "2026-05-01";
const ZONE: &str = "Europe/Helsinki";

#[test]
fn every_metric_matches_the_oracle_on_unseen_data() {
    let python = Command::new("python3").arg("--version").output();
    if !python.is_ok_and(|o| o.status.success()) {
        input_absent("python3 (the oracle runs on it)");
        return;
    }
    let ws = Workspace::new();
    let data = ws.data();
    ok(&[
        "generate",
        "--out",
        &data.display().to_string(),
        "--tickets",
        "2500",
        "--months",
        "7",
        "--seed",
        "2718",
    ]);
    ws.import();

    let oracle = Command::new("python3")
        .args([
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/metrics.py"),
            &data.display().to_string(),
            ZONE,
            FROM,
            TO,
        ])
        .output()
        .expect("run oracle");
    assert!(
        oracle.status.success(),
        "{}",
        String::from_utf8_lossy(&oracle.stderr)
    );
    let expected: Vec<Value> = serde_json::from_slice(&oracle.stdout).unwrap();

    let mut by_metric: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for row in &expected {
        by_metric
            .entry(row["metric"].as_str().unwrap().to_string())
            .or_default()
            .push(row);
    }
    let required = [
        "ticket_volume",
        "channel_mix",
        "top_categories",
        "first_response_time",
        "first_response_time:median",
        "first_response_time:p90",
        "average_response_time",
        "average_response_time:median",
        "average_response_time:p90",
        "resolution_time",
        "resolution_time:median",
        "resolution_time:p90",
        "first_resolution_time",
        "first_resolution_time:median",
        "first_resolution_time:p90",
        "fcr",
        "resolution_rate",
        "reopen_rate",
        "agent_touches",
        "interactions_per_ticket",
        "backlog",
        "csat",
        "csat_mean",
        "nps",
        "nps_promoters",
        "nps_passives",
        "nps_detractors",
        "ces",
        "ces_easy",
        "average_wait_time",
        "average_wait_time:median",
        "average_wait_time:p90",
        "answer_rate",
        "abandon_rate",
        "service_level",
        "average_handle_time_calls",
        "average_handle_time_calls:median",
        "average_handle_time_calls:p90",
        "retention_rate",
        "churn_rate",
        "cac",
        "repeat_purchase_rate",
    ];
    let mut compared = 0;
    for key in required {
        let rows = by_metric
            .get(key)
            .unwrap_or_else(|| panic!("the oracle produced nothing for {key}"));
        let mut args = vec![
            "--metric",
            key,
            "--by",
            "time:month",
            "--from",
            FROM,
            "--to",
            TO,
            "--tz",
            ZONE,
        ];
        let dims: Vec<String> = rows[0]["dims"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        for d in &dims {
            if d != "time:month" {
                args.extend(["--by", d.as_str()]);
            }
        }
        let got = ws.query(&args);
        for row in rows {
            let want_dims = row["dims"].as_object().unwrap();
            let found = got["results"].as_array().unwrap().iter().find(|r| {
                want_dims.iter().all(|(k, v)| &r["dimensions"][k] == v)
                    && !r["metrics"][key].is_null()
            });
            let found = found.unwrap_or_else(|| panic!("{key} {want_dims:?}: no row from vitals"));
            let value = found["metrics"][key]["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{key} {want_dims:?}: null"));
            let want = row["value"].as_f64().unwrap();
            let rel = (value - want).abs() / want.abs().max(1e-9);
            assert!(
                rel <= 1e-6 || (value - want).abs() < 1e-9,
                "{key} {want_dims:?}: vitals {value}, oracle {want}"
            );
            assert_eq!(
                found["metrics"][key]["n"].as_u64(),
                row["n"].as_u64(),
                "{key} {want_dims:?}: n"
            );
            compared += 1;
        }
    }
    assert!(compared > 500, "compared only {compared} values");
    eprintln!("{compared} values agree with the oracle");
}
