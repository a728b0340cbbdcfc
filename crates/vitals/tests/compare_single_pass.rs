//! A comparison with the previous bucket is answered in one pass over the period extended back
//! by one bucket. For every metric of the catalogue on a generated organisation, each month's
//! comparison value and `n` must equal what a query of the previous month alone answers — the
//! definition of "compared with the previous month" — and the months' own values must equal a
//! query without comparison. (Metrics with several rows a month, the shares, are left out.)
//! A whole period without a time dimension is compared with the period of the same length
//! before it in one pass too (the two periods as two buckets of one statement): every row,
//! value, interval and `n` of both must equal each period queried alone.

mod common;

use common::{generated, ok, same_json, Workspace};
use serde_json::Value;

fn query(ws: &Workspace, config: &str, extra: &[&str]) -> Value {
    let db = ws.db();
    let mut args = vec!["query", "--db", &db, "--config", config, "--json"];
    args.extend(extra);
    serde_json::from_str(&ok(&args)).expect("JSON")
}

/// (value, n) of `key` in the row of `month`.
fn cell(v: &Value, key: &str, month: &str) -> Option<(Option<f64>, u64)> {
    v["results"].as_array()?.iter().find_map(|row| {
        // Metrics that add a dimension of their own (shares) have several rows a month.
        let only_month = row["dimensions"].as_object().is_some_and(|d| d.len() == 1);
        let here = only_month && row["dimensions"]["time:month"].as_str() == Some(month);
        let m = &row["metrics"][key];
        (here && m.is_object()).then(|| (m["value"].as_f64(), m["n"].as_u64().unwrap_or(0)))
    })
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        (None, None) => true,
        _ => false,
    }
}

/// Each row's dimensions → its metric value without the comparison.
fn rows_of(v: &Value, key: &str) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["metrics"][key].is_object())
        .map(|row| {
            let mut value = row["metrics"][key].clone();
            value.as_object_mut().unwrap().remove("compare");
            (row["dimensions"].to_string(), value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The comparison values of each row, in the shape of a plain value (value, n).
fn compared_rows(v: &Value, key: &str) -> Vec<(String, Option<f64>, u64)> {
    let mut out: Vec<_> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["metrics"][key].is_object())
        .map(|row| {
            let c = &row["metrics"][key]["compare"];
            (
                row["dimensions"].to_string(),
                c["value"].as_f64(),
                c["n"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn a_whole_period_and_the_period_before_it_answer_as_each_queried_alone() {
    let ws = Workspace::new();
    let config = generated(&ws, 2500, 4, "2026-01-01", 5);
    let catalogue: Value = serde_json::from_str(&ok(&["catalogue", "--json"])).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    let shapes: [&[&str]; 2] = [
        &[],
        &[
            "--by",
            "ticket:channel",
            "--filter",
            "ticket:priority=high,urgent",
        ],
    ];
    for metric in catalogue.as_array().unwrap() {
        let id = metric["id"].as_str().unwrap();
        for shape in shapes {
            let ask = |from: &str, to: &str, compare: bool| {
                let db = ws.db();
                let mut args = vec!["query", "--db", &db, "--config", &config, "--json"];
                args.extend(["--metric", id, "--from", from, "--to", to]);
                args.extend(shape);
                if compare {
                    args.extend(["--compare", "previous"]);
                }
                let out = common::vitals(&args);
                out.status
                    .success()
                    .then(|| serde_json::from_slice::<Value>(&out.stdout).expect("JSON"))
            };
            // 45 days back from mid-April: the comparison spans February and March.
            let Some(compared) = ask("2026-03-16", "2026-04-30", true) else {
                continue;
            };
            let now = ask("2026-03-16", "2026-04-30", false).expect("the period alone");
            let before = ask("2026-01-30", "2026-03-16", false).expect("the period before");
            let (a, b) = (rows_of(&compared, id), rows_of(&now, id));
            if a.len() != b.len()
                || a.iter()
                    .zip(&b)
                    .any(|(x, y)| x.0 != y.0 || !same_json(&x.1, &y.1))
            {
                failures.push(format!(
                    "{id} {shape:?}: {a:?} with comparison, {b:?} alone"
                ));
            }
            let before_rows: Vec<(String, Option<f64>, u64)> = rows_of(&before, id)
                .into_iter()
                .map(|(d, v)| (d, v["value"].as_f64(), v["n"].as_u64().unwrap_or(0)))
                .collect();
            for (dims, value, n) in compared_rows(&compared, id) {
                let expected = before_rows
                    .iter()
                    .find(|(d, _, _)| *d == dims)
                    .map(|(_, v, n)| (*v, *n))
                    .unwrap_or((None, 0));
                if !close(value, expected.0) || n != expected.1 {
                    failures.push(format!(
                        "{id} {shape:?} {dims}: compared {:?}, the period before alone {expected:?}",
                        (value, n)
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 150, "only {checked} cells compared");
}

#[test]
fn comparisons_with_the_previous_month_equal_the_previous_month_queried_alone() {
    let ws = Workspace::new();
    let config = generated(&ws, 2500, 4, "2026-01-01", 5);
    let catalogue: Value = serde_json::from_str(&ok(&["catalogue", "--json"])).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for metric in catalogue.as_array().unwrap() {
        let id = metric["id"].as_str().unwrap();
        let period = [
            "--metric",
            id,
            "--by",
            "time:month",
            "--from",
            "2026-02-01",
            "--to",
            "2026-05-01",
        ];
        let compared = query(
            &ws,
            &config,
            &[&period[..], &["--compare", "previous"]].concat(),
        );
        let plain = query(&ws, &config, &period);
        let previous = query(
            &ws,
            &config,
            &[
                "--metric",
                id,
                "--by",
                "time:month",
                "--from",
                "2026-01-01",
                "--to",
                "2026-04-01",
            ],
        );
        for (month, before) in [
            ("2026-02", "2026-01"),
            ("2026-03", "2026-02"),
            ("2026-04", "2026-03"),
        ] {
            let (Some(now), Some(alone)) = (cell(&compared, id, month), cell(&plain, id, month))
            else {
                continue;
            };
            if !close(now.0, alone.0) || now.1 != alone.1 {
                failures.push(format!(
                    "{id} {month}: {now:?} with comparison, {alone:?} without"
                ));
            }
            let row = compared["results"].as_array().unwrap().iter().find(|r| {
                r["dimensions"].as_object().is_some_and(|d| d.len() == 1)
                    && r["dimensions"]["time:month"].as_str() == Some(month)
            });
            let comparison = &row.unwrap()["metrics"][id]["compare"];
            let expected = cell(&previous, id, before).unwrap_or((None, 0));
            let got = (
                comparison["value"].as_f64(),
                comparison["n"].as_u64().unwrap_or(0),
            );
            if !close(got.0, expected.0) || got.1 != expected.1 {
                failures.push(format!(
                    "{id} {month}: compared {got:?}, {before} alone {expected:?}"
                ));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 150, "only {checked} cells compared");
}
