//! Stored facts end to end on the real binary: a store kept by small imports of changed survey
//! responses, quality reviews, mentions and calls answers exactly as a store imported from
//! scratch with the final data; after a change of survey rules or rubric weights a query warns
//! and names `vitals derive`, which rebuilds the tables to the numbers of a fresh import under
//! the new configuration.

mod common;

use std::path::Path;

use common::{generated, ok, Workspace};
use serde_json::Value;

/// Every metric that reads a stored fact (survey responses, reviews, mentions, calls).
const METRICS: &[&str] = &[
    "csat",
    "csat_mean",
    "nps",
    "ces_easy",
    "esat",
    "iqs",
    "adherence",
    "consistency_csat",
    "average_wait_time",
    "abandon_rate",
    "service_level",
    "social_sentiment",
    "social_topics",
];

fn query(db: &str, config: &str) -> Value {
    let mut args = vec!["query", "--db", db, "--config", config, "--json"];
    for m in METRICS {
        args.extend_from_slice(&["--metric", m]);
    }
    args.extend_from_slice(&["--by", "time:month", "--tz", "UTC"]);
    serde_json::from_str(&ok(&args)).expect("query JSON")
}

/// The results, with values to 12 significant digits (DuckDB's parallel sums of doubles may
/// differ in the last bits from one run to the next).
fn numbers(answer: &Value) -> String {
    fn round(v: &Value) -> Value {
        match v {
            Value::Number(n) if n.is_f64() => {
                let x = n.as_f64().unwrap_or_default();
                Value::String(format!("{x:.12e}"))
            }
            Value::Array(items) => Value::Array(items.iter().map(round).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), round(v))).collect())
            }
            other => other.clone(),
        }
    }
    round(&answer["results"]).to_string()
}

fn warnings(answer: &Value) -> Vec<String> {
    answer["meta"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_string())
        .filter(|c| c != "low_sample")
        .collect()
}

/// Rewrites every `step`-th data row of `data/NAME.csv` (rows without quoted cells) with
/// `change` into `out/NAME.csv` (header kept), and applies the same change to the original.
fn change_rows(
    data: &Path,
    out: &Path,
    name: &str,
    step: usize,
    change: &dyn Fn(&mut Vec<String>),
) {
    let path = data.join(format!("{name}.csv"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let (mut all, mut changed) = (vec![header.clone()], vec![header]);
    for (i, line) in lines.enumerate() {
        if i % step == 0 && !line.contains('"') {
            let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
            change(&mut cells);
            let line = cells.join(",");
            changed.push(line.clone());
            all.push(line);
        } else {
            all.push(line.to_string());
        }
    }
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join(format!("{name}.csv")), changed.join("\n") + "\n").unwrap();
    std::fs::write(&path, all.join("\n") + "\n").unwrap();
}

#[test]
fn small_imports_and_configuration_changes_keep_stored_facts_equal_to_a_fresh_import() {
    let kept = Workspace::new();
    let config = generated(&kept, 400, 3, "2026-01-01", 5);
    let data = kept.data();
    let batch = kept.dir.path().join("batch");
    // Scores moved, a criterion rescored, texts rewritten (no commas: the files are plain
    // CSV), calls answered later.
    change_rows(&data, &batch, "survey_responses", 7, &|c| {
        c[2] = if c[2] == "5" { "2".into() } else { "5".into() };
    });
    change_rows(&data, &batch, "quality_reviews", 5, &|c| c[7] = "1".into());
    change_rows(&data, &batch, "social_mentions", 3, &|c| {
        let last = c.len() - 1;
        c[last] = "still waiting and the app is broken".into();
        c[3] = String::new();
    });
    change_rows(&data, &batch, "calls", 4, &|c| {
        if !c[3].is_empty() {
            c[3] = c[4].clone();
        }
    });
    let out = ok(&[
        "import",
        &batch.display().to_string(),
        "--db",
        &kept.db(),
        "--config",
        &config,
    ]);
    assert!(out.contains("updated"), "{out}");

    let fresh = Workspace::new();
    ok(&[
        "import",
        &data.display().to_string(),
        "--db",
        &fresh.db(),
        "--config",
        &config,
    ]);
    let (a, b) = (query(&kept.db(), &config), query(&fresh.db(), &config));
    assert!(warnings(&a).is_empty(), "{:?}", a["meta"]);
    assert_eq!(
        numbers(&a),
        numbers(&b),
        "kept by small imports = imported at once"
    );

    // Survey rules and rubric weights changed: the kept store warns until derived again.
    let changed = kept.dir.path().join("changed.toml");
    let text = std::fs::read_to_string(&config).unwrap()
        + "\n[surveys.csat]\ntop_box = [5]\n\n[quality.rubrics.stored_test]\nempathy = 2\n";
    std::fs::write(&changed, text).unwrap();
    let changed = changed.display().to_string();
    let stale = query(&kept.db(), &changed);
    assert_eq!(warnings(&stale), ["stale_facts", "stale_facts"]);
    assert!(stale["meta"]["warnings"]
        .to_string()
        .contains("vitals derive"));
    let out = ok(&["derive", "--db", &kept.db(), "--config", &changed]);
    assert!(out.contains("2 stored facts were rebuilt"), "{out}");
    let derived = query(&kept.db(), &changed);
    assert!(warnings(&derived).is_empty(), "{:?}", derived["meta"]);
    let again = Workspace::new();
    ok(&[
        "import",
        &data.display().to_string(),
        "--db",
        &again.db(),
        "--config",
        &changed,
    ]);
    assert_eq!(numbers(&derived), numbers(&query(&again.db(), &changed)));
    assert_ne!(numbers(&derived), numbers(&a), "the top box changed csat");
}
