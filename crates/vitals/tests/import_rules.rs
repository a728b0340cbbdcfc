//! End to end: bad input gets a clear error and loses nothing — rejects carry file, line,
//! column and reason; read = kept + rejected; re-imports change nothing; duplicate ids keep the
//! last; NDJSON and Parquet go through the same validation as CSV.

mod common;

use common::{cell, close, ok, vitals, write_csv, Workspace};

fn rejects_file(ws: &Workspace) -> String {
    let entry = std::fs::read_dir(ws.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().contains(".rejects-"))
        .expect("a rejects file beside the store");
    std::fs::read_to_string(entry.path()).unwrap()
}

#[test]
fn every_kind_of_bad_row_is_rejected_with_file_line_column_and_reason() {
    let ws = Workspace::new();
    let d = ws.data();
    write_csv(
        &d,
        "tickets",
        "ticket_id,created_at,channel,is_complaint",
        &[
            "t1,2026-01-05T10:00:00Z,email,false".into(), // line 2: good
            "t2,2026-01-05T10:00:00,email,false".into(),  // line 3: no offset
            "t3,,email,false".into(),                     // line 4: required empty
            "t4,2026-01-05T10:00:00Z,email,perhaps".into(), // line 5: not a boolean
            "t5,2026-01-05T10:00:00Z".into(),             // line 6: too few fields
            "t6,yesterday,chat,true".into(),              // line 7: not a timestamp
        ],
    );
    write_csv(
        &d,
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,status",
        &[
            "e1,t1,2026-01-05T10:00:00Z,message,customer,".into(), // good
            "e2,t1,2026-01-05T10:01:00Z,teleport,agent,".into(),   // unknown enum
            "e3,t1,2026-01-05T10:02:00Z,status,agent,".into(),     // status event without status
            "e4,t1,2026-01-05T10:03:00Z,message,,".into(),         // message without author_role
        ],
    );
    write_csv(
        &d,
        "calls",
        "call_id,offered_at,ended_at",
        &["k1,2026-01-05T10:00:00Z,2026-01-05T09:00:00Z".into()],
    );
    write_csv(
        &d,
        "survey_responses",
        "response_id,survey,score,answered_at",
        &[
            "r1,csat,6,2026-01-05T10:00:00Z".into(),
            "r2,csat,4,2026-01-05T10:00:00Z".into(),
        ],
    );
    let out = vitals(&["import", &d.display().to_string(), "--db", &ws.db()]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("read 13 = kept 3 + rejected 10"),
        "{stdout}"
    );
    assert!(
        stderr
            .contains("tickets.csv:3 column `created_at`: `2026-01-05T10:00:00` has no UTC offset"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tickets.csv:4 column `created_at`: required column `created_at` is empty"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tickets.csv:5 column `is_complaint`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tickets.csv:6: the row has 2 fields; the header has 4"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ticket_events.csv:3 column `kind`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ticket_events.csv:4 column `status`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ticket_events.csv:5 column `author_role`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("calls.csv:2 column `ended_at`: `ended_at` is before `offered_at`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("survey_responses.csv:2 column `score`: score 6 is outside the scale 1–5"),
        "{stderr}"
    );
    let rejects = rejects_file(&ws);
    assert_eq!(
        rejects.lines().count(),
        11,
        "header + 10 rejects:\n{rejects}"
    );
    assert!(rejects.starts_with("file,line,column,reason,record"));
    assert!(
        rejects.contains("t6,yesterday,chat,true"),
        "the raw row is kept:\n{rejects}"
    );

    // With --tz the offset-less timestamp is read in that zone.
    let out = ok(&[
        "import",
        &d.join("tickets.csv").display().to_string(),
        "--db",
        &ws.db(),
        "--tz",
        "Europe/Helsinki",
    ]);
    assert!(out.contains("read 6 = kept 2 + rejected 4"), "{out}");
}

#[test]
fn reimport_changes_nothing_and_duplicates_keep_the_last() {
    let ws = Workspace::new();
    let d = ws.data();
    write_csv(
        &d,
        "tickets",
        "ticket_id,created_at,channel",
        &[
            "t1,2026-01-05T10:00:00Z,email".into(),
            "t2,2026-01-06T10:00:00Z,chat".into(),
            "t1,2026-01-05T10:00:00Z,phone".into(),
        ],
    );
    write_csv(
        &d,
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,author_id",
        &[
            "e1,t1,2026-01-05T10:00:00Z,message,customer,c".into(),
            "e2,t1,2026-01-05T10:10:00Z,message,agent,a".into(),
        ],
    );
    let first = ws.import();
    assert!(first.contains("read 5 = kept 5 + rejected 0"), "{first}");
    let q = |ws: &Workspace| {
        ws.query(&[
            "--metric",
            "ticket_volume",
            "--metric",
            "first_response_time",
            "--by",
            "ticket:channel",
        ])
    };
    let before = q(&ws);
    close(
        cell(&before, &[("ticket:channel", "phone")], "ticket_volume").0,
        1.0,
    );
    assert!(before["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["dimensions"]["ticket:channel"] != "email"));

    let second = ws.import();
    assert!(
        second.contains("ticket facts derived for 0 tickets"),
        "{second}"
    );
    let after = q(&ws);
    assert_eq!(before["results"], after["results"]);

    // A changed event re-derives its ticket only.
    write_csv(
        &d,
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,author_id",
        &["e2,t1,2026-01-05T10:20:00Z,message,agent,a".into()],
    );
    std::fs::remove_file(d.join("tickets.csv")).unwrap();
    let third = ws.import();
    assert!(
        third.contains("ticket facts derived for 1 tickets"),
        "{third}"
    );
    let (frt, n) = cell(
        &q(&ws),
        &[("ticket:channel", "phone")],
        "first_response_time",
    );
    close(frt, 1200.0);
    assert_eq!(n, 1);
}

/// A file is read on a second thread in batches of several thousand rows: across batch
/// boundaries the later record of a key still wins and every reject keeps its line.
#[test]
fn a_file_longer_than_one_batch_keeps_the_last_of_each_key_and_every_reject() {
    let ws = Workspace::new();
    let d = ws.data();
    // Rows 0..20 000 write tickets t0..t9999 twice (first as email, then as chat); every
    // thousandth row has a broken timestamp.
    let rows: Vec<String> = (0..20_000)
        .map(|i| {
            let created = if i % 1000 == 999 {
                "yesterday"
            } else {
                "2026-01-05T10:00:00Z"
            };
            let channel = if i < 10_000 { "email" } else { "chat" };
            format!("t{},{created},{channel}", i % 10_000)
        })
        .collect();
    write_csv(&d, "tickets", "ticket_id,created_at,channel", &rows);
    let out = ws.import();
    assert!(
        out.contains("read 20000 = kept 19980 + rejected 20"),
        "{out}"
    );
    // Tickets t999, t1999, … were rejected both times; every other ticket's chat row won.
    let volume = ws.query(&["--metric", "ticket_volume", "--by", "ticket:channel"]);
    close(
        cell(&volume, &[("ticket:channel", "chat")], "ticket_volume").0,
        9990.0,
    );
    assert!(volume["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["dimensions"]["ticket:channel"] != "email"));
    let rejects = rejects_file(&ws);
    let lines: Vec<u64> = rejects
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let expected: Vec<u64> = (0..20).map(|k| 1000 * k + 999 + 2).collect();
    assert_eq!(lines, expected, "{rejects}");
}

#[test]
fn ndjson_and_parquet_use_the_same_rules() {
    let ws = Workspace::new();
    let d = ws.data();
    std::fs::write(
        d.join("tickets.ndjson"),
        concat!(
            "{\"ticket_id\":\"t1\",\"created_at\":\"2026-01-05T10:00:00+02:00\",\"channel\":\"Chat\",\"handle_secs\":120}\n",
            "\n",
            "{\"ticket_id\":\"t2\",\"created_at\":\"2026-01-05T10:00:00Z\",\"channel\":\"email\",\"tags\":[\"x\"]}\n",
            "{\"ticket_id\":\"t3\",\"channel\":\"email\"}\n",
            "not json\n",
            "{\"ticket_id\":7,\"created_at\":\"2026-01-05T10:00:00Z\",\"channel\":\"web\",\"agent_id\":[1]}\n",
        ),
    )
    .unwrap();
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let parquet = d.join("survey_responses.parquet");
    conn.execute_batch(&format!(
        "COPY (SELECT * FROM (VALUES ('r1', 'csat', 5.0, TIMESTAMP '2026-01-05 10:00:00', 't1'),
                                     ('r2', 'csat', 9.0, TIMESTAMP '2026-01-05 10:00:00', 't1'),
                                     ('r3', 'nps', 9.0, TIMESTAMP '2026-01-06 10:00:00', NULL))
               AS v(response_id, survey, score, answered_at, ticket_id)) TO '{}' (FORMAT PARQUET)",
        parquet.display()
    ))
    .unwrap();
    let out = vitals(&[
        "import",
        &d.display().to_string(),
        "--db",
        &ws.db(),
        "--tz",
        "UTC",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("read 8 = kept 4 + rejected 4"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains(
            "tickets.ndjson:4 column `created_at`: required column `created_at` is missing"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("tickets.ndjson:5: invalid JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tickets.ndjson:6 column `agent_id`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("survey_responses.parquet:2 column `score`"),
        "{stderr}"
    );
    assert!(stderr.contains("ignored column tags"), "{stderr}");
    let r = ws.query(&[
        "--metric",
        "csat",
        "--metric",
        "nps",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
    ]);
    close(cell(&r, &[], "csat").0, 100.0);
    close(cell(&r, &[], "nps").0, 100.0);
    let v = ws.query(&[
        "--metric",
        "ticket_volume",
        "--by",
        "ticket:channel",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
    ]);
    close(
        cell(&v, &[("ticket:channel", "chat")], "ticket_volume").0,
        1.0,
    );
}

#[test]
fn a_file_that_is_not_an_entity_is_a_user_error() {
    let ws = Workspace::new();
    let f = ws.data().join("notes.csv");
    std::fs::write(&f, "a,b\n1,2\n").unwrap();
    let out = vitals(&["import", &f.display().to_string(), "--db", &ws.db()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name it after its entity"));
}
