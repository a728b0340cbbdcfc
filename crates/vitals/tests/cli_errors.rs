//! End to end: the CLI's contract for mistakes — "did you mean", exit codes, no panics.

mod common;

use common::{vitals, write_csv, Workspace};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unknown_metric_or_dimension_exits_1_with_a_suggestion() {
    let ws = Workspace::new();
    write_csv(
        &ws.data(),
        "tickets",
        "ticket_id,created_at,channel",
        &["t1,2026-01-01T10:00:00Z,email".into()],
    );
    ws.import();
    let db = ws.db();
    let out = vitals(&["query", "--db", &db, "--metric", "frist_response_time"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean `first_response_time`"),
        "{}",
        stderr(&out)
    );
    let out = vitals(&[
        "query",
        "--db",
        &db,
        "--metric",
        "csat",
        "--by",
        "ticket:chanel",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean `ticket:channel`"),
        "{}",
        stderr(&out)
    );
    let out = vitals(&[
        "query",
        "--db",
        &db,
        "--metric",
        "csat",
        "--tz",
        "Mars/Olympus",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = vitals(&[
        "query",
        "--db",
        &db,
        "--metric",
        "csat",
        "--from",
        "2026-13-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = vitals(&["explain", "nsp"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("did you mean `nps`"));
    let out = vitals(&["query", "--db", &db]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "missing --metric is a usage error"
    );
}

#[test]
fn explain_and_catalogue_come_from_the_catalogue() {
    let out = common::ok(&["explain", "fcr"]);
    assert!(out.contains("first_contact_resolved"), "{out}");
    assert!(out.contains("Counts by:"));
    let json: serde_json::Value =
        serde_json::from_str(&common::ok(&["catalogue", "--json"])).unwrap();
    assert!(json.as_array().unwrap().len() >= 30);
    let text = common::ok(&["catalogue"]);
    assert!(text.contains("service_level"));
}

#[test]
fn table_and_csv_outputs() {
    let ws = Workspace::new();
    write_csv(
        &ws.data(),
        "tickets",
        "ticket_id,created_at,channel",
        &["t1,2026-01-01T10:00:00Z,email".into()],
    );
    ws.import();
    let db = ws.db();
    let table = common::ok(&[
        "query",
        "--db",
        &db,
        "--metric",
        "ticket_volume",
        "--by",
        "time:month",
    ]);
    assert!(
        table.contains("2026-01") && table.contains("ticket_volume"),
        "{table}"
    );
    let csv = common::ok(&[
        "query",
        "--db",
        &db,
        "--metric",
        "ticket_volume",
        "--by",
        "time:month",
        "--csv",
    ]);
    assert!(
        csv.starts_with("time:month,ticket_volume,ticket_volume.n"),
        "{csv}"
    );
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["catalogue", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vitals");
    // Read a little, then close the pipe while vitals still has output to write.
    let mut first = [0u8; 16];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("read");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
