//! End to end: a small help desk in Europe/Helsinki with timestamps written in several
//! offsets, a DST change (29 March 2026) and tickets on month boundaries. Every expected
//! value below is worked out by hand from the definitions in docs/metrics.md.

mod common;

use common::{cell, close, write_csv, Workspace};

fn setup() -> Workspace {
    let ws = Workspace::new();
    let d = ws.data();
    write_csv(
        &d,
        "tickets",
        "ticket_id,created_at,channel,category,team,agent_id",
        &[
            // Sat 28 Mar 23:30 EET = 21:30Z.
            "t1,2026-03-28T23:30:00+02:00,email,technical,tier1,a1".into(),
            // Tue 31 Mar 23:50 EEST = 20:50Z (local March).
            "t2,2026-03-31T23:50:00+03:00,chat,billing,tier1,a2".into(),
            // Sat 31 Jan 23:59 EET = 21:59Z (local January).
            "t3,2026-01-31T23:59:00+02:00,email,technical,tier1,a1".into(),
            "t4,2026-02-10T09:00:00Z,EMAIL,technical,tier2,a2".into(),
            "t5,2026-02-11T08:00:00+02:00,chat,,tier1,".into(),
            // Thu 30 Apr 23:30 EEST = 20:30Z (local April).
            "t6,2026-04-30T23:30:00+03:00,phone,billing,tier1,a1".into(),
        ],
    );
    write_csv(
        &d,
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,author_id,agent_id,public,status",
        &[
            "e101,t1,2026-03-28T23:30:00+02:00,message,customer,c1,,,".into(),
            "e102,t1,2026-03-29T10:00:00+03:00,message,agent,a1,,,".into(), // 07:00Z: FRT 9.5 h = 34200 s
            "e103,t1,2026-03-29T12:00:00+03:00,status,agent,a1,,,solved".into(), // 09:00Z: 41400 s
            "e201,t2,2026-03-31T23:50:00+03:00,message,customer,c2,,,".into(),
            "e202,t2,2026-03-31T21:10:00Z,message,agent,a2,,,".into(), // 00:10 local on 1 April: FRT 1200 s
            "e301,t3,2026-01-31T23:59:00+02:00,message,customer,c3,,,".into(),
            "e302,t3,2026-01-31T22:30:00Z,message,agent,a1,,,".into(), // 00:30 local on 1 Feb: FRT 1860 s
            "e303,t3,2026-02-01T08:00:00Z,status,agent,a1,,,solved".into(), // 36060 s after creation
            "e401,t4,2026-02-10T09:00:00Z,message,customer,c4,,,".into(),
            "e402,t4,2026-02-10T09:30:00Z,assign,system,,a2,,".into(),
            "e403,t4,2026-02-10T10:00:00Z,message,agent,a2,,,".into(), // wait 3600 (FRT)
            "e404,t4,2026-02-10T11:00:00Z,message,customer,c4,,,".into(),
            "e405,t4,2026-02-10T12:00:00Z,note,agent,a2,,false,".into(), // a touch, not a reply
            "e406,t4,2026-02-10T13:00:00Z,message,agent,a2,,,".into(),   // wait 7200
            "e407,t4,2026-02-10T13:05:00Z,message,agent,a2,,,".into(), // second in a row: no clock
            "e408,t4,2026-02-10T14:00:00Z,status,agent,a2,,,solved".into(), // first solve: 18000 s
            "e409,t4,2026-02-12T09:00:00Z,message,customer,c4,,,".into(), // reopen
            "e410,t4,2026-02-12T10:00:00Z,message,agent,a2,,,".into(), // wait 3600
            "e411,t4,2026-02-12T11:00:00Z,status,agent,a2,,,solved".into(), // full: 50 h = 180000 s
            "e501,t5,2026-02-11T08:00:00+02:00,message,customer,c5,,,".into(),
            "e502,t5,2026-02-11T08:00:05+02:00,message,bot,bot,,,".into(),
            "e503,t5,2026-02-11T08:05:00+02:00,status,system,,,,solved".into(), // 300 s, no reply
            "e601,t6,2026-04-30T23:30:00+03:00,message,customer,c6,,,".into(),
            "e602,t6,2026-04-30T21:00:00Z,message,agent,a1,,,".into(), // 00:00 local on 1 May
        ],
    );
    write_csv(
        &d,
        "calls",
        "call_id,queue,offered_at,answered_at,ended_at,agent_id,ticket_id",
        &[
            "k1,support,2026-04-30T20:30:00Z,2026-04-30T20:30:40Z,2026-04-30T20:40:00Z,a1,t6"
                .into(),
        ],
    );
    write_csv(
        &d,
        "survey_responses",
        "response_id,survey,score,answered_at,ticket_id,agent_id",
        &[
            "r1,csat,3,2026-02-02T10:00:00Z,t3,a1".into(),
            "r2,csat,5,2026-02-13T10:00:00Z,t4,a2".into(),
        ],
    );
    ws.import();
    ws
}

const PERIOD: [&str; 8] = [
    "--by",
    "time:month",
    "--from",
    "2026-01-01",
    "--to",
    "2026-05-01",
    "--tz",
    "Europe/Helsinki",
];

fn monthly(ws: &Workspace, metric: &str) -> serde_json::Value {
    let mut args = vec!["--metric", metric];
    args.extend_from_slice(&PERIOD);
    ws.query(&args)
}

fn month(r: &serde_json::Value, m: &str, key: &str) -> (Option<f64>, u64) {
    cell(r, &[("time:month", m)], key)
}

#[test]
fn volume_counts_by_local_creation_month() {
    let ws = setup();
    let r = monthly(&ws, "ticket_volume");
    for (m, n) in [
        ("2026-01", 1.0),
        ("2026-02", 2.0),
        ("2026-03", 2.0),
        ("2026-04", 1.0),
    ] {
        close(month(&r, m, "ticket_volume").0, n);
    }
}

#[test]
fn first_response_time_counts_by_the_reply_in_helsinki_time() {
    let ws = setup();
    let mut args = vec![
        "--metric",
        "first_response_time",
        "--metric",
        "first_response_time:median",
        "--metric",
        "first_response_time:p90",
    ];
    args.extend_from_slice(&PERIOD);
    let r = ws.query(&args);
    assert_eq!(
        month(&r, "2026-01", "first_response_time"),
        (None, 0),
        "t3's reply is in February in Helsinki"
    );
    let (mean, n) = month(&r, "2026-02", "first_response_time");
    close(mean, 2730.0);
    assert_eq!(n, 2);
    close(month(&r, "2026-02", "first_response_time:median").0, 2730.0);
    close(
        month(&r, "2026-02", "first_response_time:p90").0,
        1860.0 + 0.9 * 1740.0,
    );
    close(month(&r, "2026-03", "first_response_time").0, 34200.0); // across the DST change
    close(month(&r, "2026-04", "first_response_time").0, 1200.0);
    assert_eq!(r["query"]["timezone"], "Europe/Helsinki");
    assert_eq!(r["query"]["from_utc"], "2025-12-31T22:00:00Z");
    assert_eq!(r["query"]["to_utc"], "2026-04-30T21:00:00Z");

    // In UTC, t3's reply (22:30Z on 31 January) is in January.
    let utc = ws.query(&[
        "--metric",
        "first_response_time",
        "--by",
        "time:month",
        "--from",
        "2026-01-01",
        "--to",
        "2026-05-01",
        "--tz",
        "UTC",
    ]);
    let (v, n) = month(&utc, "2026-01", "first_response_time");
    close(v, 1860.0);
    assert_eq!(n, 1);
}

#[test]
fn breakdown_by_channel_lower_cases_channels() {
    let ws = setup();
    let mut args = vec!["--metric", "first_response_time", "--by", "ticket:channel"];
    args.extend_from_slice(&PERIOD);
    let r = ws.query(&args);
    let (v, n) = cell(
        &r,
        &[("time:month", "2026-02"), ("ticket:channel", "email")],
        "first_response_time",
    );
    close(v, 2730.0);
    assert_eq!(n, 2);
}

#[test]
fn response_and_resolution_times() {
    let ws = setup();
    let r = monthly(&ws, "average_response_time");
    let (v, n) = month(&r, "2026-02", "average_response_time");
    close(v, (1860.0 + 3600.0 + 7200.0 + 3600.0) / 4.0);
    assert_eq!(n, 4, "the second reply in a row stops no clock");

    let r = monthly(&ws, "resolution_time");
    let (v, n) = month(&r, "2026-02", "resolution_time");
    close(v, (36060.0 + 180000.0 + 300.0) / 3.0);
    assert_eq!(n, 3);
    close(month(&r, "2026-03", "resolution_time").0, 41400.0);

    let r = monthly(&ws, "first_resolution_time");
    close(
        month(&r, "2026-02", "first_resolution_time").0,
        (36060.0 + 18000.0 + 300.0) / 3.0,
    );
}

#[test]
fn fcr_reopens_touches_and_resolution_rate() {
    let ws = setup();
    let r = monthly(&ws, "fcr");
    let (v, n) = month(&r, "2026-02", "fcr");
    close(v, 100.0 / 3.0);
    assert_eq!(n, 3);
    close(month(&r, "2026-03", "fcr").0, 100.0);

    let r = monthly(&ws, "reopen_rate");
    close(month(&r, "2026-02", "reopen_rate").0, 100.0 / 3.0);
    close(month(&r, "2026-03", "reopen_rate").0, 0.0);

    let r = monthly(&ws, "agent_touches");
    close(
        month(&r, "2026-02", "agent_touches").0,
        (2.0 + 7.0 + 0.0) / 3.0,
    );
    close(month(&r, "2026-03", "agent_touches").0, 2.0);

    let r = monthly(&ws, "resolution_rate");
    for (m, v, n) in [
        ("2026-01", 100.0, 1),
        ("2026-02", 100.0, 2),
        ("2026-03", 50.0, 2),
        ("2026-04", 0.0, 1),
    ] {
        let (got, got_n) = month(&r, m, "resolution_rate");
        close(got, v);
        assert_eq!(got_n, n, "{m}");
    }

    let r = monthly(&ws, "interactions_per_ticket");
    close(month(&r, "2026-02", "interactions_per_ticket").0, 2.0);
    close(month(&r, "2026-04", "interactions_per_ticket").0, 2.0); // one message + one linked call
}

#[test]
fn backlog_is_a_snapshot_at_each_local_month_end() {
    let ws = setup();
    let r = monthly(&ws, "backlog");
    for (m, n) in [
        ("2026-01", 1.0),
        ("2026-02", 0.0),
        ("2026-03", 1.0),
        ("2026-04", 2.0),
    ] {
        close(month(&r, m, "backlog").0, n);
    }
}

#[test]
fn shares_surveys_and_calls() {
    let ws = setup();
    let r = monthly(&ws, "channel_mix");
    let row = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["dimensions"]["time:month"] == "2026-02"
                && x["dimensions"]["ticket:channel"] == "email"
        })
        .expect("email row in February");
    close(row["metrics"]["channel_mix"]["value"].as_f64(), 50.0);
    assert_eq!(row["metrics"]["channel_mix"]["count"], 1);

    let mut args = vec!["--metric", "csat", "--by", "survey:agent"];
    args.extend_from_slice(&PERIOD);
    let r = ws.query(&args);
    close(
        cell(
            &r,
            &[("time:month", "2026-02"), ("survey:agent", "a2")],
            "csat",
        )
        .0,
        100.0,
    );
    close(
        cell(
            &r,
            &[("time:month", "2026-02"), ("survey:agent", "a1")],
            "csat",
        )
        .0,
        0.0,
    );
    let r = monthly(&ws, "csat");
    let (v, n) = month(&r, "2026-02", "csat");
    close(v, 50.0);
    assert_eq!(n, 2);
    assert!(r["meta"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "low_sample"));

    let r = monthly(&ws, "average_wait_time");
    close(month(&r, "2026-04", "average_wait_time").0, 40.0);
}

#[test]
fn status_interval_metrics() {
    // t4 (Feb): new 09:00–14:00 until its first status event (the solve) = 18000 s; reopened
    // by a customer message on 12 Feb 09:00, open until the 11:00 solve = 7200 s → 25200 s.
    // t3 (Feb): new from 21:59Z on 31 Jan until the solve at 08:00Z on 1 Feb = 36060 s.
    // t5 (Feb): new for the 300 s until the bot's solve.
    let ws = setup();
    let r = monthly(&ws, "requester_wait_time");
    let (v, n) = month(&r, "2026-02", "requester_wait_time");
    close(v, (25200.0 + 36060.0 + 300.0) / 3.0);
    assert_eq!(n, 3);
    let r = monthly(&ws, "agent_wait_time");
    close(month(&r, "2026-02", "agent_wait_time").0, 0.0);
}
