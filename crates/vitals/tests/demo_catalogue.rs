//! End to end on a small demo organisation (`vitals generate` + the configuration it ships):
//! every metric of the catalogue (`vitals catalogue --json`) is planned and run by every
//! dimension it allows (`vitals explain ID --json`), by month and by local weekday × hour where
//! it is counted by one instant per row — each query must succeed — and every metric must
//! return at least one value on the demo data, so no metric goes unexercised. Durations must
//! have business-time values (the demo ships calendars), `vitals sla` must list targets, and
//! configured targets must come back with on/off-target verdicts.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{ok, values_of, vitals, Workspace};
use serde_json::Value;

/// The metrics of `vitals catalogue --json` (a list, or an object holding `metrics`).
fn catalogue() -> Vec<Value> {
    let all: Value = serde_json::from_str(&ok(&["catalogue", "--json"])).expect("catalogue JSON");
    match all {
        Value::Array(list) => list,
        other => other["metrics"].as_array().cloned().expect("metrics"),
    }
}

/// The names in a metric's `dimensions` (strings, objects with an id or name, or a map).
fn dimensions(metric: &Value) -> Vec<String> {
    match &metric["dimensions"] {
        Value::Array(list) => list
            .iter()
            .filter_map(|d| match d {
                Value::String(s) => Some(s.clone()),
                other => ["id", "name", "key"]
                    .iter()
                    .find_map(|k| other[*k].as_str().map(str::to_string)),
            })
            .collect(),
        Value::Object(map) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

struct Demo {
    ws: Workspace,
    config: String,
}

impl Demo {
    fn new() -> Demo {
        let ws = Workspace::new();
        let data = ws.data();
        ok(&[
            "generate",
            "--out",
            &data.display().to_string(),
            "--tickets",
            "3000",
            "--months",
            "3",
            "--seed",
            "42",
        ]);
        let config = data.join("vitals.toml").display().to_string();
        ok(&[
            "import",
            &data.display().to_string(),
            "--db",
            &ws.db(),
            "--config",
            &config,
        ]);
        Demo { ws, config }
    }

    /// `vitals query` with the demo's configuration: the response, or the error text.
    fn query(&self, metrics: &[&str], by: &[&str]) -> Result<Value, String> {
        let db = self.ws.db();
        let mut args: Vec<&str> = vec!["query", "--db", &db, "--config", &self.config, "--json"];
        for m in metrics {
            args.extend(["--metric", *m]);
        }
        for d in by {
            args.extend(["--by", *d]);
        }
        let out = vitals(&args);
        if !out.status.success() {
            return Err(format!(
                "vitals {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("vitals {args:?}: {e}"))
    }
}

#[test]
fn every_metric_by_every_dimension_runs_and_has_data_on_the_demo() {
    let demo = Demo::new();
    let metrics = catalogue();
    assert!(metrics.len() > 60, "only {} metrics", metrics.len());

    // Metrics of one fact entity share their dimensions: one query per dimension serves all.
    let mut groups: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    let mut distributions = Vec::new();
    for m in &metrics {
        let id = m["id"].as_str().expect("id").to_string();
        let explained: Value =
            serde_json::from_str(&ok(&["explain", &id, "--json"])).expect("explain JSON");
        let mut dims: Vec<String> = dimensions(&explained)
            .into_iter()
            .filter(|d| !d.starts_with("time:"))
            .collect();
        dims.sort();
        let has_stats = |v: &Value| {
            v["stats"].as_array().is_some_and(|s| !s.is_empty())
                || v["calculation"].as_str() == Some("distribution")
        };
        if has_stats(&explained) || has_stats(m) {
            distributions.push(id.clone());
        }
        groups.entry(dims).or_default().push(id);
    }

    let mut failures = Vec::new();
    let mut queries = 0;
    // Metrics seen with a value: over the whole period, or (cohort metrics, whose cohort at
    // the start of the data is empty) in some month.
    let mut valued = BTreeSet::new();
    let mut note_values = |r: &Value, ids: &[&str]| {
        for id in ids {
            if values_of(r, id).iter().any(Option::is_some) {
                valued.insert(id.to_string());
            }
        }
    };
    for (dims, ids) in &groups {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        // Over the whole period, by month, and by month and each dimension in turn.
        let mut breakdowns = vec![vec![], vec!["time:month"]];
        breakdowns.extend(dims.iter().map(|d| vec!["time:month", d.as_str()]));
        for (i, by) in breakdowns.iter().enumerate() {
            queries += 1;
            match demo.query(&ids, by) {
                Ok(r) if i < 2 => note_values(&r, &ids),
                Ok(_) => {}
                Err(e) => failures.push(e),
            }
        }
        // By local weekday × hour, where the metric counts by one instant per row.
        queries += 1;
        if demo.query(&ids, &["time:weekday", "time:hour"]).is_err() {
            for id in &ids {
                queries += 1;
                if let Err(e) = demo.query(&[*id], &["time:weekday", "time:hour"]) {
                    if !e.contains("time:weekday") {
                        failures.push(e);
                    }
                }
            }
        }
    }

    for m in &metrics {
        let id = m["id"].as_str().expect("id");
        if !valued.contains(id) {
            failures.push(format!("{id}: no value on the demo data"));
        }
    }

    // Durations between two instants have business-time values: the demo ships calendars.
    let mut business = 0;
    for id in &distributions {
        let key = format!("{id}:business_median");
        queries += 1;
        match demo.query(&[key.as_str()], &[]) {
            Ok(r) => {
                business += 1;
                if !values_of(&r, &key).iter().any(Option::is_some) {
                    failures.push(format!("{key}: null with the demo's calendars"));
                }
            }
            Err(e) if e.contains("business") => {}
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {queries} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(business >= 5, "only {business} metrics have business time");
    eprintln!(
        "{} metrics in {} dimension groups: {queries} queries, {business} with business time",
        metrics.len(),
        groups.len()
    );
}

/// Whether a JSON value holds `key` with a boolean anywhere inside.
fn has_bool(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| (k == key && x.is_boolean()) || has_bool(x, key)),
        Value::Array(list) => list.iter().any(|x| has_bool(x, key)),
        _ => false,
    }
}

#[test]
fn the_shipped_configuration_gives_sla_targets_and_target_marks() {
    let demo = Demo::new();
    let db = demo.ws.db();
    let sla = ok(&["sla", "--db", &db, "--config", &demo.config]);
    assert!(!sla.to_lowercase().contains("no sla policy"), "{sla}");
    assert!(
        sla.contains("first_reply") || sla.contains("resolution"),
        "{sla}"
    );

    let r = demo
        .query(
            &["sla_compliance", "csat", "first_response_time:median"],
            &["ticket:team"],
        )
        .expect("query");
    assert!(values_of(&r, "sla_compliance").iter().any(Option::is_some));
    assert!(
        has_bool(&r, "on_target"),
        "no on/off-target verdicts: {r:#}"
    );
}
