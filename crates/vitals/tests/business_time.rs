//! End to end: business time. Split shifts, a holiday, a calendar change (valid_from), a DST
//! change and two teams on calendars in different zones; every expected value is worked out by
//! hand below. Without a calendar, business stats are null with a warning, never 0; changing
//! a calendar re-derives business time and says so.

mod common;

use common::{cell, close, vitals, write_csv, Workspace};

const CALENDARS: &str = r#"
[calendars.default]
timezone = "Europe/Helsinki"
mon = ["09:00-12:00", "13:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-16:00"]
holidays = ["2026-01-06"]
[[calendars.default.changes]]
valid_from = "2026-03-02"
mon = ["08:00-16:00"]

[calendars.us]
timezone = "America/New_York"
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-17:00"]

[teams.tier2]
calendar = "us"
"#;

fn setup() -> (Workspace, String) {
    let ws = Workspace::new();
    let config = ws.dir.path().join("vitals.toml");
    std::fs::write(&config, CALENDARS).unwrap();
    let d = ws.data();
    write_csv(
        &d,
        "tickets",
        "ticket_id,created_at,channel,team",
        &[
            "b1,2026-01-05T08:00:00+02:00,email,tier1".into(), // Mon, before opening
            "b2,2026-01-05T17:30:00+02:00,email,tier1".into(), // Mon, after closing
            "b3,2026-03-02T08:00:00+02:00,email,tier1".into(), // Mon, new hours 08–16
            "b4,2026-03-27T15:00:00+02:00,email,tier1".into(), // Fri before the DST change
            "b5,2026-01-05T14:00:00Z,email,tier2".into(),      // Mon 09:00 New York
            "b6,2026-01-09T21:30:00Z,email,tier2".into(),      // Fri 16:30 New York
        ],
    );
    write_csv(
        &d,
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,author_id",
        &[
            // 09–12 + 13–14 = 4 h (calendar 6 h).
            "x1,b1,2026-01-05T14:00:00+02:00,message,agent,a1".into(),
            // Tue 6 Jan is a holiday; Wed 09–10 = 1 h.
            "x2,b2,2026-01-07T10:00:00+02:00,message,agent,a1".into(),
            // From 2 March Mondays open 08:00: 08:00–12:30 = 4.5 h.
            "x3,b3,2026-03-02T12:30:00+02:00,message,agent,a1".into(),
            // Fri 15–16 = 1 h; Mon 30 March (EEST) 08:00–09:30 = 1.5 h → 2.5 h.
            "x4,b4,2026-03-30T09:30:00+03:00,message,agent,a1".into(),
            // New York 09:00–15:00 = 6 h.
            "x5,b5,2026-01-05T20:00:00Z,message,agent,a2".into(),
            // Fri 16:30–17:00 + Mon 09:00–10:00 New York = 1.5 h.
            "x6,b6,2026-01-12T15:00:00Z,message,agent,a2".into(),
        ],
    );
    let db = ws.db();
    common::ok(&[
        "import",
        &d.display().to_string(),
        "--db",
        &db,
        "--config",
        &config.display().to_string(),
    ]);
    (ws, config.display().to_string())
}

fn frt(ws: &Workspace, config: &str, extra: &[&str]) -> serde_json::Value {
    let db = ws.db();
    let mut args = vec![
        "query",
        "--db",
        &db,
        "--config",
        config,
        "--json",
        "--metric",
        "first_response_time:business_mean",
        "--metric",
        "first_response_time:business_median",
        "--metric",
        "first_response_time",
        "--by",
        "time:month",
        "--from",
        "2026-01-01",
        "--to",
        "2026-04-01",
        "--tz",
        "Europe/Helsinki",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&common::ok(&args)).unwrap()
}

#[test]
fn business_stats_follow_each_teams_calendar() {
    let (ws, config) = setup();
    let r = frt(&ws, &config, &[]);
    let jan = [("time:month", "2026-01")];
    let (mean, n) = cell(&r, &jan, "first_response_time:business_mean");
    close(mean, (14400.0 + 3600.0 + 21600.0 + 5400.0) / 4.0);
    assert_eq!(n, 4);
    close(
        cell(&r, &jan, "first_response_time:business_median").0,
        (5400.0 + 14400.0) / 2.0,
    );
    let mar = [("time:month", "2026-03")];
    close(
        cell(&r, &mar, "first_response_time:business_mean").0,
        (16200.0 + 9000.0) / 2.0,
    );
    // Calendar time is unaffected: b4 waited 65.5 h across the DST change.
    close(
        cell(&r, &mar, "first_response_time").0,
        (4.5 * 3600.0 + 65.5 * 3600.0) / 2.0,
    );

    let by_team = frt(&ws, &config, &["--by", "ticket:team"]);
    close(
        cell(
            &by_team,
            &[("time:month", "2026-01"), ("ticket:team", "tier2")],
            "first_response_time:business_mean",
        )
        .0,
        13500.0,
    );
}

#[test]
fn without_a_calendar_business_stats_are_null_with_a_warning() {
    let (ws, _) = setup();
    let empty = ws.dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let db = ws.db();
    let empty_path = empty.display().to_string();
    let derive = common::ok(&["derive", "--db", &db, "--config", &empty_path]);
    assert!(
        derive.contains("calendars, teams or SLA policies changed"),
        "changing the calendars says so: {derive}"
    );
    let out = vitals(&[
        "query",
        "--db",
        &db,
        "--config",
        &empty.display().to_string(),
        "--json",
        "--metric",
        "first_response_time:business_mean",
        "--from",
        "2026-01-01",
        "--to",
        "2026-04-01",
    ]);
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &r["results"][0]["metrics"]["first_response_time:business_mean"];
    assert!(v["value"].is_null(), "{v}");
    assert_eq!(v["n"], 0);
    assert!(r["meta"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "no_calendar"));
}

#[test]
fn non_durations_have_no_business_variant() {
    let (ws, config) = setup();
    let db = ws.db();
    let out = vitals(&[
        "query",
        "--db",
        &db,
        "--config",
        &config,
        "--metric",
        "agent_touches:business_mean",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no business-time variant"));
}
