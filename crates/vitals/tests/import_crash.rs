//! Crash safety, end to end on the real binary: `vitals import` is killed with SIGKILL at
//! points spread over a bulk import (reading and merging, then deriving facts), timed from a
//! clean import of the same generated data. After each kill the store must open, show no
//! half-written entity (each record table holds all of its file's rows or none), answer a
//! query, and a rerun of the import must complete with numbers equal to the clean import's.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Tickets in the generated data set: enough for an import of a few seconds.
fn tickets() -> String {
    std::env::var("VITALS_CRASH_TICKETS").unwrap_or_else(|_| "40000".into())
}

/// The numbers compared between a recovered store and a clean one.
fn numbers(db: &str) -> Value {
    let out = common::ok(&[
        "query",
        "--db",
        db,
        "--json",
        "--metric",
        "ticket_volume",
        "--metric",
        "first_response_time:median",
        "--metric",
        "resolution_time",
        "--metric",
        "fcr",
        "--metric",
        "reopen_rate",
        "--metric",
        "csat",
        "--by",
        "time:month",
    ]);
    let v: Value = serde_json::from_str(&out).expect("query JSON");
    v["results"].clone()
}

/// Rows per record table of the store at `db` (read directly).
fn table_rows(db: &str) -> Vec<(String, i64)> {
    let conn = duckdb::Connection::open(db).expect("the store opens after a kill");
    let mut tables = Vec::new();
    for entity in [
        "tickets",
        "ticket_events",
        "calls",
        "survey_responses",
        "customers",
    ] {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{entity}\""), [], |r| {
                r.get(0)
            })
            .unwrap_or(-1);
        tables.push((entity.to_string(), n));
    }
    tables
}

/// Runs `vitals import DATA --db DB` and returns (seconds, stdout).
fn import(data: &Path, db: &str) -> (f64, String) {
    let started = Instant::now();
    let out = common::ok(&["import", &data.display().to_string(), "--db", db]);
    (started.elapsed().as_secs_f64(), out)
}

/// Seconds of each phase, from the import summary's `time:` line.
fn phases(summary: &str) -> (f64, f64, f64) {
    let line = summary
        .lines()
        .find(|l| l.starts_with("time:"))
        .expect("a time line");
    let secs: Vec<f64> = line
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|t| t.parse().ok())
        .collect();
    (secs[0], secs[1], secs[2])
}

#[test]
fn a_killed_import_recovers_to_the_clean_numbers() {
    let ws = common::Workspace::new();
    let data = ws.dir.path().join("generated");
    common::ok(&[
        "generate",
        "--out",
        &data.display().to_string(),
        "--tickets",
        &tickets(),
        "--months",
        "2",
        "--seed",
        "7",
    ]);
    let clean_db = ws.dir.path().join("clean.duckdb").display().to_string();
    let (total, summary) = import(&data, &clean_db);
    let clean = numbers(&clean_db);
    let full = table_rows(&clean_db);
    let (read, merge, derive) = phases(&summary);
    assert!(full.iter().all(|(_, n)| *n > 0), "{full:?}");
    println!("clean import: {total:.2} s (read {read:.2}, merge {merge:.2}, derive {derive:.2})");

    // Kill while reading and merging (some entity not yet in), then while deriving (every
    // entity in, the derivation queue not yet cleared); each phase tries earlier points until
    // a kill lands in it.
    let before_derive = (total - derive).max(0.05);
    let phases: [(&str, Vec<f64>); 2] = [
        (
            "reading or merging",
            vec![0.5, 0.25, 0.1]
                .into_iter()
                .map(|f| before_derive * f)
                .collect(),
        ),
        (
            "deriving",
            vec![0.5, 0.3, 0.15, 0.05, 0.0]
                .into_iter()
                .map(|f| before_derive + derive * f)
                .collect(),
        ),
    ];
    let mut attempt = 0;
    for (phase, delays) in &phases {
        let mut landed = false;
        for at in delays {
            attempt += 1;
            let db = ws
                .dir
                .path()
                .join(format!("crash{attempt}.duckdb"))
                .display()
                .to_string();
            let state = kill_at(&data, &db, *at, &full);
            println!("kill {attempt} aiming at {phase}, {at:.2} s: {state:?}");
            // The store answers queries; a rerun completes with the clean numbers.
            numbers(&db);
            let (_, again) = import(&data, &db);
            assert!(again.contains("rejected 0"), "{again}");
            assert_eq!(
                numbers(&db),
                clean,
                "kill {attempt} ({phase}): numbers differ after the rerun"
            );
            landed = match *phase {
                "deriving" => state == State::Deriving,
                _ => state == State::Importing,
            };
            if landed {
                break;
            }
        }
        assert!(
            landed,
            "no kill landed while {phase}: the run is too fast to hit it"
        );
    }
}

/// Where a kill left the store.
#[derive(Debug, PartialEq)]
enum State {
    /// Some entity not yet imported (none half imported).
    Importing,
    /// Every entity imported, the derivation still queued.
    Deriving,
    /// The import had finished.
    Done,
}

/// Starts an import into `db`, kills it after `at` seconds and checks that no entity is half
/// written (each table empty or complete against `full`).
fn kill_at(data: &Path, db: &str, at: f64, full: &[(String, i64)]) -> State {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["import", &data.display().to_string(), "--db", db])
        .env_remove("VITALS_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vitals import");
    std::thread::sleep(Duration::from_secs_f64(at));
    child.kill().ok();
    child.wait().expect("reap");
    let rows = table_rows(db);
    for ((entity, n), (_, all)) in rows.iter().zip(full) {
        assert!(
            *n <= 0 || *n == *all,
            "a kill after {at:.2} s left {entity} with {n} of {all} rows"
        );
    }
    let complete = rows.iter().zip(full).all(|((_, n), (_, all))| n == all);
    let queued: i64 = duckdb::Connection::open(db)
        .expect("the store opens after a kill")
        .query_row("SELECT count(*) FROM vitals_touched_tickets", [], |r| {
            r.get(0)
        })
        .unwrap_or(0);
    match (complete, queued > 0) {
        (false, _) => State::Importing,
        (true, true) => State::Deriving,
        (true, false) => State::Done,
    }
}
