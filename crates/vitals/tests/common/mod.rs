//! Helpers for end-to-end tests: run the real `vitals` binary, write small data sets, read
//! JSON results.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub mod store;
#[allow(unused_imports)]
pub use store::{on_clickhouse, skip_on_clickhouse};

/// Runs `vitals` with arguments (in a ClickHouse store's working folder when one is named:
/// see `store.rs`).
pub fn vitals(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vitals"));
    command.args(args).env_remove("VITALS_DB");
    if let Some(folder) = store::cli_folder(args) {
        command.current_dir(folder);
    }
    command.output().expect("run vitals")
}

/// Runs `vitals`, asserting success, and returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = vitals(args);
    assert!(
        out.status.success(),
        "vitals {args:?} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `NAME.csv` with a header and rows.
pub fn write_csv(dir: &Path, name: &str, header: &str, rows: &[String]) -> PathBuf {
    let path = dir.join(format!("{name}.csv"));
    let mut text = format!("{header}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write csv");
    path
}

/// A fresh folder with a data folder, and a store (a file inside, or a ClickHouse database:
/// see `store.rs`).
pub struct Workspace {
    pub dir: tempfile::TempDir,
    store: String,
}

impl Workspace {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store::store(dir.path(), "test");
        Workspace { dir, store }
    }
    pub fn data(&self) -> PathBuf {
        let d = self.dir.path().join("data");
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }
    /// The store, as `--db` takes it.
    pub fn db(&self) -> String {
        self.store.clone()
    }
    /// Imports the data folder; returns stdout.
    pub fn import(&self) -> String {
        ok(&[
            "import",
            &self.data().display().to_string(),
            "--db",
            &self.db(),
        ])
    }
    /// Writes `vitals.toml` with `text` into the workspace and imports the data folder with it;
    /// returns the configuration's path.
    pub fn import_with_config(&self, text: &str) -> String {
        let config = self.dir.path().join("vitals.toml");
        std::fs::write(&config, text).expect("write config");
        let config = config.display().to_string();
        ok(&[
            "import",
            &self.data().display().to_string(),
            "--db",
            &self.db(),
            "--config",
            &config,
        ]);
        config
    }
    /// `vitals query --json` with extra arguments.
    pub fn query(&self, args: &[&str]) -> Value {
        let db = self.db();
        let mut all: Vec<&str> = vec!["query", "--db", &db, "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&ok(&all)).expect("query JSON")
    }
}

impl Workspace {
    /// `vitals import --from SOURCE [--tz TZ] PATHS...` into this workspace's store; stdout.
    pub fn import_from(&self, source: &str, tz: Option<&str>, paths: &[&Path]) -> String {
        let db = self.db();
        let mut args = vec!["import", "--db", &db, "--from", source];
        if let Some(tz) = tz {
            args.extend(["--tz", tz]);
        }
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        args.extend(paths.iter().map(String::as_str));
        ok(&args)
    }

    /// The text of the import's rejects file (empty when nothing was rejected).
    pub fn rejects(&self) -> String {
        store::folders(&self.store)
            .into_iter()
            .flat_map(|folder| std::fs::read_dir(folder).expect("workspace"))
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().contains(".rejects-"))
            .map(|e| std::fs::read_to_string(e.path()).expect("rejects file"))
            .unwrap_or_default()
    }

    /// (value, n) of one metric over `[from, to)` in `zone`, with no breakdown.
    pub fn total(&self, metric: &str, from: &str, to: &str, zone: &str) -> (Option<f64>, u64) {
        let r = self.query(&["--metric", metric, "--from", from, "--to", to, "--tz", zone]);
        cell(&r, &[], metric)
    }
}

/// The (value, n) of `key` in the result row whose dimensions contain every `(dim, value)`.
pub fn cell(result: &Value, dims: &[(&str, &str)], key: &str) -> (Option<f64>, u64) {
    let rows = result["results"].as_array().expect("results");
    let row = rows
        .iter()
        .find(|r| {
            dims.iter()
                .all(|(d, v)| r["dimensions"][*d].as_str() == Some(*v))
                && !r["metrics"][key].is_null()
        })
        .unwrap_or_else(|| panic!("no row {dims:?} with {key} in {result:#}"));
    let m = &row["metrics"][key];
    (m["value"].as_f64(), m["n"].as_u64().expect("n"))
}

/// Asserts two numbers agree to a relative error of 1e-9 (or absolutely near zero).
pub fn close(actual: Option<f64>, expected: f64) {
    let a = actual.unwrap_or_else(|| panic!("no value, expected {expected}"));
    let tol = 1e-9 * expected.abs().max(1.0);
    assert!((a - expected).abs() <= tol, "got {a}, expected {expected}");
}

/// Whether two JSON values agree: numbers to a relative error of 1e-9 (or absolutely near
/// zero), objects and arrays member by member, anything else exactly.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_json(v, w))
        }
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
            _ => a == b,
        },
    }
}

/// Runs `vitals` with arguments in the folder `dir` (where a `vitals.toml` is picked up).
pub fn vitals_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(args)
        .current_dir(dir)
        .env_remove("VITALS_DB")
        .env_remove("VITALS_CONFIG")
        .output()
        .expect("run vitals")
}

/// Whether this is a CI run (`CI=true`, as CI services set it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A test's input (`what`) is absent. On CI that fails the test — a CI run must exercise it;
/// elsewhere it says so loudly and the caller skips.
pub fn input_absent(what: &str) {
    assert!(
        !in_ci(),
        "{what} is absent, and CI=true: this test must run on CI, not skip"
    );
    eprintln!("\n*** SKIPPED: {what} is absent (with CI=true this test fails instead) ***\n");
}

/// The `value` of `key` in every result row of a `vitals query --json` response (`None` for
/// a null), whether a row's metrics are an object by key or a list of `{key, …}` entries.
pub fn values_of(result: &Value, key: &str) -> Vec<Option<f64>> {
    let rows = result["results"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .filter_map(|row| match &row["metrics"] {
            Value::Object(m) => m.get(key).cloned(),
            Value::Array(list) => list
                .iter()
                .find(|m| ["key", "metric", "id"].iter().any(|k| m[*k] == key))
                .cloned(),
            _ => None,
        })
        .map(|m| m["value"].as_f64())
        .collect()
}

/// Generates an organisation into the workspace (`vitals generate`: `tickets` over `months`
/// from `start`, with `seed`) and imports it with the configuration it ships; returns the
/// configuration's path.
pub fn generated(ws: &Workspace, tickets: u32, months: u32, start: &str, seed: u64) -> String {
    let data = ws.data().display().to_string();
    let (tickets, months, seed) = (tickets.to_string(), months.to_string(), seed.to_string());
    ok(&[
        "generate",
        "--out",
        &data,
        "--tickets",
        &tickets,
        "--months",
        &months,
        "--start",
        start,
        "--seed",
        &seed,
    ]);
    let config = ws.data().join("vitals.toml").display().to_string();
    ok(&["import", &data, "--db", &ws.db(), "--config", &config]);
    config
}
