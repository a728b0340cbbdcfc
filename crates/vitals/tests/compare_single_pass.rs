//! A comparison with the previous bucket is answered in one pass over the period extended back
//! by one bucket. For every metric of the catalogue on a generated organisation, each month's
//! comparison value and `n` must equal what a query of the previous month alone answers — the
//! definition of "compared with the previous month" — and the months' own values must equal a
//! query without comparison. (Metrics with several rows a month, the shares, are left out.)

mod common;

use common::{generated, ok, Workspace};
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
