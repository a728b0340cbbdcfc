//! Metrics that read the same rows share one statement (shared scans). On a generated
//! organisation, every entity's metrics asked together must answer exactly what each metric
//! asked alone answers — every row, value, `n` and interval — by month, by a dimension with a
//! filter, and by weekday × hour.

mod common;

use std::collections::BTreeMap;

use common::{generated, ok, same_json, Workspace};
use serde_json::Value;

fn query(ws: &Workspace, config: &str, metrics: &[String], shape: &[&str]) -> Value {
    let db = ws.db();
    let mut args = vec!["query", "--db", &db, "--config", config, "--json"];
    for m in metrics {
        args.extend(["--metric", m.as_str()]);
    }
    args.extend(shape);
    serde_json::from_str(&ok(&args)).expect("JSON")
}

/// Every numeric leaf of a result row's metric value, by path.
fn leaves(v: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                leaves(x, format!("{path}.{k}"), out);
            }
        }
        Value::Array(list) => {
            for (i, x) in list.iter().enumerate() {
                leaves(x, format!("{path}[{i}]"), out);
            }
        }
        other => {
            out.insert(path, other.clone());
        }
    }
}

/// Each row's dimensions → the metric's value leaves.
fn answers(v: &Value, key: &str) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for row in v["results"].as_array().unwrap() {
        if row["metrics"][key].is_null() {
            continue;
        }
        let mut values = BTreeMap::new();
        leaves(&row["metrics"][key], String::new(), &mut values);
        out.insert(row["dimensions"].to_string(), values);
    }
    out
}

#[test]
fn metrics_asked_together_answer_what_each_answers_alone() {
    let ws = Workspace::new();
    let config = generated(&ws, 2500, 4, "2026-01-01", 9);
    let catalogue: Value = serde_json::from_str(&ok(&["catalogue", "--json"])).unwrap();
    let mut by_entity: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in catalogue.as_array().unwrap() {
        let id = m["id"].as_str().unwrap();
        let keys = if m["calculation"] == "distribution" {
            vec![format!("{id}:median"), format!("{id}:p90")]
        } else {
            vec![id.to_string()]
        };
        by_entity
            .entry(m["entity"].as_str().unwrap().to_string())
            .or_default()
            .extend(keys);
    }
    let shapes: [&[&str]; 3] = [
        &[
            "--by",
            "time:month",
            "--from",
            "2026-01-01",
            "--to",
            "2026-05-01",
        ],
        &[
            "--by",
            "ticket:team",
            "--filter",
            "ticket:channel=email,chat",
            "--from",
            "2026-02-01",
            "--to",
            "2026-04-01",
        ],
        &[
            "--by",
            "time:weekday",
            "--by",
            "time:hour",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-01",
        ],
    ];
    let mut compared = 0;
    let mut failures = Vec::new();
    for metrics in by_entity.values() {
        for shape in shapes {
            // The metrics that take this shape (a call has no ticket team), each asked alone.
            let mut alone = Vec::new();
            for key in metrics {
                let db = ws.db();
                let mut args = vec!["query", "--db", &db, "--config", &config, "--json"];
                args.extend(["--metric", key.as_str()]);
                args.extend(shape);
                let out = common::vitals(&args);
                if out.status.success() {
                    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
                    alone.push((key.clone(), v));
                }
            }
            if alone.len() < 2 {
                continue;
            }
            let keys: Vec<String> = alone.iter().map(|(k, _)| k.clone()).collect();
            let together = query(&ws, &config, &keys, shape);
            for (key, own) in &alone {
                let (a, b) = (answers(&together, key), answers(own, key));
                if a.keys().ne(b.keys()) {
                    failures.push(format!("{key} {shape:?}: rows differ"));
                    continue;
                }
                for (row, values) in &a {
                    for (leaf, x) in values {
                        if !b[row].get(leaf).is_some_and(|y| same_json(x, y)) {
                            failures.push(format!(
                                "{key} {shape:?} {row} {leaf}: {x} vs {:?}",
                                b[row].get(leaf)
                            ));
                        }
                    }
                }
                compared += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}",
        failures[..failures.len().min(10)].join("\n")
    );
    assert!(compared > 60, "only {compared} metric answers compared");
}
