//! End to end: SLA policies. Two policies (an urgent one on a business clock that pauses while
//! pending, a standard one on the calendar clock), a holiday, targets met, breached and still
//! open; every expected value is worked out by hand below. Also: `vitals sla` lists open
//! targets with elapsed and remaining time, a policy change re-derives, and the complaint
//! resolution time has a business variant.

mod common;

use common::{cell, close, ok, vitals, write_csv, Workspace};

const CONFIG: &str = r#"
[calendars.default]
timezone = "Europe/Helsinki"
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-17:00"]
holidays = ["2026-01-06"]

[[sla]]
name = "urgent"
when = { priority = ["urgent"] }
first_reply = "1h"
next_reply = "2h"
resolution = "8h"
clock = "business"
pause_on = ["pending"]

[[sla]]
name = "standard"
first_reply = "4h"
resolution = "2d"
clock = "calendar"
"#;

const HOUR: f64 = 3600.0;

fn setup(config_text: &str) -> (Workspace, String) {
    let ws = Workspace::new();
    let d = ws.data();
    write_csv(
        &d,
        "tickets",
        "ticket_id,created_at,channel,priority,is_complaint",
        &[
            "u1,2026-01-05T08:30:00+02:00,email,urgent,false".into(), // Mon, before opening
            "u2,2026-01-05T16:30:00+02:00,email,urgent,true".into(),  // Mon, late; Tue is a holiday
            "s1,2026-01-08T10:00:00+02:00,email,normal,false".into(), // never answered
            "s2,2026-01-12T09:00:00+02:00,email,normal,false".into(),
        ],
    );
    write_csv(
        &d,
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,author_id,status",
        &[
            "e1,u1,2026-01-05T09:45:00+02:00,message,agent,a1,".into(),
            "e2,u1,2026-01-05T10:00:00+02:00,message,customer,c1,".into(),
            "e3,u1,2026-01-05T10:30:00+02:00,status,agent,a1,pending".into(),
            "e4,u1,2026-01-05T13:00:00+02:00,message,customer,c1,".into(),
            "e5,u1,2026-01-05T14:00:00+02:00,message,agent,a1,".into(),
            "e6,u1,2026-01-05T15:00:00+02:00,status,agent,a1,solved".into(),
            "e7,u2,2026-01-07T10:30:00+02:00,message,agent,a2,".into(),
            "e8,u2,2026-01-07T11:00:00+02:00,status,agent,a2,solved".into(),
            "e9,s2,2026-01-12T10:00:00+02:00,message,agent,a1,".into(),
            "e10,s2,2026-01-12T12:00:00+02:00,status,agent,a1,solved".into(),
        ],
    );
    let config = ws.import_with_config(config_text);
    (ws, config)
}

fn compliance(ws: &Workspace, config: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--config",
        config,
        "--metric",
        "sla_compliance",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
        "--tz",
        "Europe/Helsinki",
    ];
    args.extend_from_slice(extra);
    ws.query(&args)
}

#[test]
fn compliance_per_target_follows_the_policies() {
    let (ws, config) = setup(CONFIG);
    let r = compliance(&ws, &config, &[]);
    // first_reply: u1 met (business 09:00–09:45 = 45 min ≤ 1 h); u2 breached (Mon 16:30–17:00
    // + Wed 09:00–10:30 = 2 h; the holiday does not count); s1 breached (never answered:
    // 4 h calendar, breached Thu 14:00); s2 met (1 h) → 2 of 4.
    let (v, n) = cell(&r, &[("sla:target", "first_reply")], "sla_compliance");
    assert_eq!(n, 4);
    close(v, 50.0);
    // next_reply: u1's customer message at 10:00 is answered at 14:00, but 10:30–13:00 was
    // pending (paused): 30 min + 60 min = 1.5 h ≤ 2 h → met.
    let (v, n) = cell(&r, &[("sla:target", "next_reply")], "sla_compliance");
    assert_eq!(n, 1);
    close(v, 100.0);
    // resolution: u1 3.5 business hours (09:00–10:30, 13:00–15:00) ≤ 8 h; u2 2.5 h; s2 3 h;
    // s1 still open and breached at Sat 10 Jan 10:00 (2 calendar days) → 3 of 4.
    let (v, n) = cell(&r, &[("sla:target", "resolution")], "sla_compliance");
    assert_eq!(n, 4);
    close(v, 75.0);
    // By policy: the urgent policy's first replies are 1 of 2.
    let r = compliance(
        &ws,
        &config,
        &["--by", "sla:policy", "--filter", "sla:policy=urgent"],
    );
    let (v, n) = cell(
        &r,
        &[("sla:target", "first_reply"), ("sla:policy", "urgent")],
        "sla_compliance",
    );
    assert_eq!(n, 2);
    close(v, 50.0);
    // The breach of u2's first reply counts when it happened: Wed 7 Jan 09:30, in week 2.
    let r = compliance(&ws, &config, &["--by", "time:week"]);
    let (v, n) = cell(
        &r,
        &[("time:week", "2026-W02"), ("sla:target", "first_reply")],
        "sla_compliance",
    );
    assert_eq!(n, 3, "u1 and u2 (Mon/Wed of W02) and s1 (Thu of W02)");
    close(v, 100.0 / 3.0);
}

#[test]
fn open_targets_are_listed_with_elapsed_and_remaining() {
    let (ws, config) = setup(CONFIG);
    let db = ws.db();
    let list = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["sla", "--db", &db, "--config", &config, "--json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&ok(&args)).unwrap()
    };
    // Fri 9 Jan 12:00: s1 has waited 26 h of calendar time.
    let all = list(&["--now", "2026-01-09T12:00:00+02:00"]);
    let targets = all["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{all:#}");
    let by_target = |name: &str| {
        targets
            .iter()
            .find(|t| t["target"] == name)
            .unwrap_or_else(|| panic!("no {name} in {all:#}"))
    };
    let first = by_target("first_reply");
    assert_eq!(first["ticket_id"], "s1");
    assert_eq!(first["state"], "breached");
    close(first["elapsed_secs"].as_f64(), 26.0 * HOUR);
    close(first["remaining_secs"].as_f64(), -22.0 * HOUR);
    let resolution = by_target("resolution");
    assert_eq!(resolution["state"], "ok");
    close(resolution["remaining_secs"].as_f64(), 22.0 * HOUR);
    assert_eq!(resolution["due_at"], "2026-01-10T08:00:00+00:00");
    let breached = list(&["--breached", "--now", "2026-01-09T12:00:00+02:00"]);
    assert_eq!(breached["targets"].as_array().unwrap().len(), 1);
    // Sat 10 Jan 00:00: 10 h of 48 left, within the default at-risk quarter (12 h).
    let at_risk = list(&["--at-risk", "--now", "2026-01-10T00:00:00+02:00"]);
    let at_risk = at_risk["targets"].as_array().unwrap();
    assert_eq!(at_risk.len(), 1);
    assert_eq!(at_risk[0]["target"], "resolution");
    close(at_risk[0]["remaining_secs"].as_f64(), 10.0 * HOUR);
}

#[test]
fn changing_a_policy_re_derives() {
    let (ws, config) = setup(CONFIG);
    std::fs::write(
        &config,
        CONFIG.replace("first_reply = \"1h\"", "first_reply = \"30m\""),
    )
    .unwrap();
    let db = ws.db();
    let compliance = || {
        vitals(&[
            "query",
            "--db",
            &db,
            "--config",
            &config,
            "--json",
            "--metric",
            "sla_compliance",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
            "--tz",
            "Europe/Helsinki",
        ])
    };
    // A query never derives: it answers from the facts it has and says they are stale.
    let stale = compliance();
    assert!(stale.status.success());
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("vitals derive"),
        "the stale facts are announced with the command that fixes them"
    );
    let r: serde_json::Value = serde_json::from_slice(&stale.stdout).unwrap();
    assert!(r["meta"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "stale_facts"));
    let derive = ok(&["derive", "--db", &db, "--config", &config]);
    assert!(
        derive.contains("re-derived"),
        "the re-derivation is announced"
    );
    let out = compliance();
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["meta"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["code"] != "stale_facts"));
    // u1's 45 business minutes now breach the 30-minute first-reply target: 1 of 4.
    let (v, _) = cell(&r, &[("sla:target", "first_reply")], "sla_compliance");
    close(v, 25.0);
}

#[test]
fn complaint_resolution_time_in_business_time() {
    let (ws, config) = setup(CONFIG);
    let r = ws.query(&[
        "--config",
        &config,
        "--metric",
        "complaint_resolution_time",
        "--metric",
        "complaint_resolution_time:business_mean",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
        "--tz",
        "Europe/Helsinki",
    ]);
    // u2, a complaint: Mon 16:30 → Wed 11:00 = 42.5 h of calendar time; business: Mon
    // 16:30–17:00 and Wed 09:00–11:00 (Tue 6 Jan is a holiday) = 2.5 h.
    let (v, n) = cell(&r, &[], "complaint_resolution_time");
    assert_eq!(n, 1);
    close(v, 42.5 * HOUR);
    close(
        cell(&r, &[], "complaint_resolution_time:business_mean").0,
        2.5 * HOUR,
    );
}

#[test]
fn a_business_policy_without_a_calendar_is_a_config_error() {
    let ws = Workspace::new();
    let config = ws.dir.path().join("vitals.toml");
    std::fs::write(&config, "[[sla]]\nname = \"x\"\nfirst_reply = \"1h\"\n").unwrap();
    let out = vitals(&[
        "sla",
        "--db",
        &ws.db(),
        "--config",
        &config.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("calendar"));
}
