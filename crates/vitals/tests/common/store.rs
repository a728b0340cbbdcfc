//! The backend matrix: every store an end-to-end suite creates comes from [`store`], so one
//! switch runs the same suites on either engine. Unset (or `VITALS_TEST_BACKEND=duckdb`), a
//! store is a DuckDB file in the test's folder, as it always was. With
//! `VITALS_TEST_BACKEND=clickhouse` and `VITALS_TEST_CLICKHOUSE=http://127.0.0.1:PORT` (a
//! running server, e.g. `tests/clickhouse/chserver.py`), a store is a fresh ClickHouse
//! database on that server, `clickhouse://127.0.0.1:PORT/t_<unique>`, created with
//! `vitals store init` before use. `.ci/run` runs the suites both ways.
//!
//! A ClickHouse store has no folder of its own, so the harness keeps one per store: the
//! command line runs there (an import's rejects file lands there, and no `vitals.toml` of the
//! test's folder is picked up by accident), and `vitals serve` runs in the test's folder, as
//! it does beside a DuckDB file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The engine the suites' stores are on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestBackend {
    /// A DuckDB file per store (the default).
    DuckDb,
    /// A database per store on the ClickHouse server at this HTTP URL.
    ClickHouse(String),
}

/// The backend `VITALS_TEST_BACKEND` names (panics on a name it does not know, or on
/// `clickhouse` without `VITALS_TEST_CLICKHOUSE`).
pub fn backend() -> TestBackend {
    match std::env::var("VITALS_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("duckdb") => TestBackend::DuckDb,
        Ok("clickhouse") => {
            let url = std::env::var("VITALS_TEST_CLICKHOUSE").unwrap_or_else(|_| {
                panic!(
                    "VITALS_TEST_BACKEND=clickhouse needs VITALS_TEST_CLICKHOUSE=http://127.0.0.1:PORT \
                     (a running server: tests/clickhouse/chserver.py prints its URL)"
                )
            });
            TestBackend::ClickHouse(url.trim_end_matches('/').to_string())
        }
        Ok(other) => panic!("VITALS_TEST_BACKEND={other}: duckdb (default) or clickhouse"),
    }
}

/// Whether the suites run on ClickHouse.
pub fn on_clickhouse() -> bool {
    matches!(backend(), TestBackend::ClickHouse(_))
}

/// Skips a test that checks DuckDB-only behaviour when the suites run on ClickHouse, saying
/// why: `if skip_on_clickhouse("…") { return; }`.
pub fn skip_on_clickhouse(why: &str) -> bool {
    let skip = on_clickhouse();
    if skip {
        eprintln!("\n*** SKIPPED on ClickHouse: {why} ***\n");
    }
    skip
}

/// A ClickHouse store's folders: the test's folder (where `vitals serve` runs, as beside a
/// DuckDB file) and the command line's working folder.
#[derive(Debug, Clone)]
struct Folders {
    serve: PathBuf,
    cli: PathBuf,
}

fn registry() -> &'static Mutex<HashMap<String, Folders>> {
    static STORES: OnceLock<Mutex<HashMap<String, Folders>>> = OnceLock::new();
    STORES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A fresh store named `name` for a test whose folder is `dir`, as the `--db` value: the
/// file `dir/NAME.duckdb` (not created: vitals creates it), or a new ClickHouse database,
/// initialised.
pub fn store(dir: &Path, name: &str) -> String {
    match backend() {
        TestBackend::DuckDb => dir.join(format!("{name}.duckdb")).display().to_string(),
        TestBackend::ClickHouse(url) => clickhouse_store(&url, dir, name),
    }
}

/// A fresh database on the ClickHouse server at `url` (`http://HOST:PORT`), initialised with
/// `vitals store init`, as a store for a test whose folder is `dir` (see [`store`]).
pub fn clickhouse_store(url: &str, dir: &Path, name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let database = format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let host = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("VITALS_TEST_CLICKHOUSE={url}: an http:// URL"));
    let target = format!("clickhouse://{host}/{database}");
    let cli = dir.join(format!("{name}.work"));
    std::fs::create_dir_all(&cli).expect("the store's working folder");
    registry().lock().unwrap().insert(
        target.clone(),
        Folders {
            serve: dir.to_path_buf(),
            cli: cli.clone(),
        },
    );
    // `store init` creates the database too; creating it first costs nothing and
    // keeps a schema error apart from a missing database.
    ureq::post(url)
        .send_string(&format!("CREATE DATABASE IF NOT EXISTS {database}"))
        .unwrap_or_else(|e| panic!("ClickHouse at {url}: {e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["store", "init", "--db", &target])
        .current_dir(&cli)
        .env_remove("VITALS_DB")
        .env_remove("VITALS_CONFIG")
        .output()
        .expect("run vitals store init");
    assert!(
        out.status.success(),
        "vitals store init --db {target} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    target
}

/// The folder the command line runs in for a ClickHouse store named among `args` (`None`
/// for DuckDB files: the command line runs where it always did).
pub fn cli_folder(args: &[&str]) -> Option<PathBuf> {
    let stores = registry().lock().unwrap();
    args.iter()
        .find_map(|a| stores.get(*a).map(|f| f.cli.clone()))
}

/// The folder `vitals serve` runs in for `store`: a DuckDB file's folder, or the test's
/// folder a ClickHouse store was made for.
pub fn serve_folder(store: &str) -> PathBuf {
    if let Some(folders) = registry().lock().unwrap().get(store) {
        return folders.serve.clone();
    }
    Path::new(store)
        .parent()
        .expect("the store's folder")
        .to_path_buf()
}

/// The folders files beside `store` can be in (its rejects file).
pub fn folders(store: &str) -> Vec<PathBuf> {
    match registry().lock().unwrap().get(store) {
        Some(f) => vec![f.serve.clone(), f.cli.clone()],
        None => Path::new(store)
            .parent()
            .map(Path::to_path_buf)
            .into_iter()
            .collect(),
    }
}

/// `vitals demo --tickets TICKETS` in `dir` (its configuration, `vitals-demo.toml`, written
/// there) and the store holding the demo's organisation: the demo's own DuckDB file, or — the
/// demo writes only a file — its generated data imported with its configuration into a fresh
/// ClickHouse store.
pub fn demo(dir: &Path, tickets: &str) -> String {
    let data = dir.join("demo-data");
    let data = data.to_str().expect("a UTF-8 folder");
    let mut args = vec!["demo", "--tickets", tickets];
    if on_clickhouse() {
        args.extend(["--out", data]);
    }
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vitals"))
            .args(args)
            .current_dir(dir)
            .env_remove("VITALS_DB")
            .env_remove("VITALS_CONFIG")
            .output()
            .expect("run vitals");
        assert!(
            out.status.success(),
            "vitals {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&args);
    if !on_clickhouse() {
        return dir.join("vitals-demo.duckdb").display().to_string();
    }
    let store = store(dir, "demo");
    let config = dir.join("vitals-demo.toml");
    run(&[
        "import",
        data,
        "--db",
        &store,
        "--config",
        config.to_str().expect("a UTF-8 path"),
    ]);
    store
}
