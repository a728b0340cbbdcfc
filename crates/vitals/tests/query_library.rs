//! End to end: the query library's typed surface through the binary — `--request` replays the
//! `--json` echo, structured filters (`is_not`, values with commas), error codes and
//! suggestions, reads that never derive, and the message when another process holds the
//! store.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{cell, ok, vitals, write_csv, Workspace};
use serde_json::Value;

fn setup() -> Workspace {
    let ws = Workspace::new();
    write_csv(
        &ws.data(),
        "tickets",
        "ticket_id,created_at,channel,category",
        &[
            "t1,2026-01-05T10:00:00Z,email,\"billing, refunds\"".into(),
            "t2,2026-01-06T10:00:00Z,chat,login".into(),
            "t3,2026-01-07T10:00:00Z,email,login".into(),
            "t4,2026-02-02T10:00:00Z,phone,\"billing, refunds\"".into(),
        ],
    );
    ws.import();
    ws
}

/// Runs `vitals query --db DB --json --request -` with `request` on standard input.
fn query_stdin(ws: &Workspace, request: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["query", "--db", &ws.db(), "--json", "--request", "-"])
        .env_remove("VITALS_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vitals");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.as_bytes())
        .expect("write request");
    child.wait_with_output().expect("vitals output")
}

#[test]
fn the_json_echo_replays_as_a_request() {
    let ws = setup();
    let first = ws.query(&[
        "--metric",
        "ticket_volume",
        "--by",
        "time:month",
        "--filter",
        "ticket:channel!=phone",
        "--tz",
        "Europe/Helsinki",
        "--compare",
        "previous",
    ]);
    // The period was taken from the data; the echo states it absolutely.
    assert_eq!(first["query"]["from"], "2026-01-05");
    assert_eq!(first["query"]["period_explicit"]["from"], false);
    let request = ws.dir.path().join("request.json");
    std::fs::write(&request, first["query"].to_string()).unwrap();
    let db = ws.db();
    let replay: Value = serde_json::from_str(&ok(&[
        "query",
        "--db",
        &db,
        "--json",
        "--request",
        &request.display().to_string(),
    ]))
    .unwrap();
    assert_eq!(replay["results"], first["results"]);
    let mut echo = replay["query"].clone();
    echo["period_explicit"] = first["query"]["period_explicit"].clone();
    assert_eq!(echo, first["query"]);
    // A replay of the replay is a fixed point, from a file or standard input alike.
    let again = query_stdin(&ws, &replay.to_string());
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["query"], replay["query"]);
    assert_eq!(again["results"], replay["results"]);
}

#[test]
fn structured_filters_take_values_with_commas_and_exclusions() {
    let ws = setup();
    let out = query_stdin(
        &ws,
        r#"{"metrics": ["ticket_volume"],
            "filters": [{"dimension": "ticket:category", "is": ["billing, refunds"]}],
            "from": "2026-01-01", "to": "2026-03-01", "timezone": "UTC"}"#,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cell(&r, &[], "ticket_volume").0, Some(2.0));
    assert_eq!(
        r["query"]["filters"][0]["is"][0], "billing, refunds",
        "the echo carries the structured filter"
    );
    // The CLI writes a comma inside a value as `\,`; `!=` excludes.
    let r = ws.query(&[
        "--metric",
        "ticket_volume",
        "--filter",
        r"ticket:category!=billing\, refunds",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-01",
    ]);
    assert_eq!(cell(&r, &[], "ticket_volume").0, Some(2.0));
}

#[test]
fn request_errors_have_codes_and_suggestions() {
    let ws = setup();
    let out = query_stdin(&ws, r#"{"metrics": ["ticket_volum"]}"#);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean `ticket_volume`"), "{stderr}");
    let out = query_stdin(&ws, r#"{"metric": ["ticket_volume"]}"#);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `metric`"));
    let out = vitals(&[
        "query",
        "--db",
        &ws.db(),
        "--metric",
        "ticket_volume",
        "--tz",
        "Europe/Helsinky",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did you mean `Europe/Helsinki`"),
        "{stderr}"
    );
}

#[test]
fn reads_never_derive_and_say_when_facts_are_stale() {
    let ws = setup();
    let config = ws.dir.path().join("calendar.toml");
    std::fs::write(
        &config,
        "[calendars.default]\ntimezone = \"UTC\"\nmon = [\"09:00-17:00\"]\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let db = ws.db();
    let before = std::fs::read(&db).unwrap();
    let out = vitals(&[
        "query",
        "--db",
        &db,
        "--config",
        &config,
        "--json",
        "--metric",
        "ticket_volume",
    ]);
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = r["meta"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"stale_facts"), "{codes:?}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "a query wrote nothing");
    let derived = ok(&["derive", "--db", &db, "--config", &config]);
    assert!(derived.contains("4 tickets were re-derived"), "{derived}");
    let nothing = ok(&["derive", "--db", &db, "--config", &config]);
    assert!(nothing.contains("nothing to derive"), "{nothing}");
}

#[test]
fn a_store_held_by_another_process_is_named() {
    let ws = setup();
    let db = ws.db();
    let holder = duckdb::Connection::open(&db).expect("hold the store");
    let out = vitals(&["query", "--db", &db, "--metric", "ticket_volume"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a held store is the user's to resolve"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("in use by another process"), "{stderr}");
    assert!(
        stderr.contains(&format!("PID {}", std::process::id())),
        "{stderr}"
    );
    let out = vitals(&["import", &ws.data().display().to_string(), "--db", &db]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another process"));
    drop(holder);
    ok(&["query", "--db", &db, "--metric", "ticket_volume"]);
}
