//! Alerts and anomalies through the real binary: a rule's lifecycle under `vitals alerts run`
//! (fires once after `for` evaluations, not again within its cooldown, resolves once) against a
//! webhook receiver on loopback; rules checked at load; and anomalies planted in generated
//! data (an FRT jump on one channel, a CSAT drop on one team, a volume spike) found, while a
//! quiet series and a tiny segment are not flagged; anomalies of a filtered series, the same
//! through `vitals anomalies --filter`, `GET /api/v1/anomalies?filter=` and `--server`; SLA
//! rules split and filtered by SLA target and team.

mod common;
#[path = "common/receiver.rs"]
mod receiver;
#[path = "common/server.rs"]
mod server;

use std::process::Command;

use common::{ok, vitals, write_csv, Workspace};
use receiver::Receiver;
use serde_json::Value;

/// `vitals alerts run` at the instant `now`.
fn run_at(ws: &Workspace, config: &str, now: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["alerts", "run", "--db", &ws.db(), "--config", config])
        .env("VITALS_NOW", now)
        .env_remove("VITALS_DB")
        .output()
        .expect("run vitals");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "alerts run at {now}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn busy_rule(url: &str) -> String {
    format!(
        "[[alerts]]\nname = \"busy\"\nmetric = \"ticket_volume\"\ncondition = \"above\"\n\
         threshold = 5\nfor = 2\ncooldown = \"1d\"\n[[alerts.channels]]\ntype = \"webhook\"\nurl = \"{url}\"\n"
    )
}

#[test]
fn a_rule_fires_once_after_for_evaluations_does_not_repeat_within_its_cooldown_and_resolves_once() {
    let ws = Workspace::new();
    let mut rows: Vec<String> = (0..10)
        .map(|i| format!("T{i},2026-03-02T09:{i:02}:00Z,email"))
        .collect();
    rows.push("T99,2026-03-03T09:00:00Z,email".into());
    write_csv(&ws.data(), "tickets", "ticket_id,created_at,channel", &rows);
    let hook = Receiver::start(0);
    let config = ws.import_with_config(&busy_rule(&hook.url));
    let first = run_at(&ws, &config, "2026-03-02T12:00:00Z");
    assert!(first.contains("pending"), "{first}");
    assert!(
        hook.received().is_empty(),
        "nothing is sent before `for` evaluations"
    );
    let second = run_at(&ws, &config, "2026-03-02T12:05:00Z");
    assert!(
        second.contains("firing") && second.contains("delivered 1"),
        "{second}"
    );
    run_at(&ws, &config, "2026-03-02T12:10:00Z");
    run_at(&ws, &config, "2026-03-02T18:00:00Z");
    assert_eq!(hook.received().len(), 1, "no repeat within the cooldown");
    let resolved = run_at(&ws, &config, "2026-03-03T12:00:00Z");
    assert!(resolved.contains("resolved"), "{resolved}");
    run_at(&ws, &config, "2026-03-03T12:05:00Z");
    let got = hook.received();
    let statuses: Vec<String> = got.iter().map(|r| r.json()["status"].to_string()).collect();
    assert_eq!(statuses, ["\"firing\"", "\"resolved\""]);
    let firing = got[0].json();
    assert_eq!(firing["rule"], "busy");
    assert_eq!(firing["value"], 10.0);
    assert_eq!(firing["reference"], 5.0);
    assert_eq!(firing["series"], "total");
    assert!(firing["link"].as_str().unwrap().contains("from=2026-03-02"));
    for r in &got {
        assert_eq!(
            r.header("idempotency-key"),
            r.json()["idempotency_key"].as_str(),
            "the key is both a header and a field"
        );
    }
    assert_ne!(
        got[0].header("idempotency-key"),
        got[1].header("idempotency-key")
    );
}

#[test]
fn rules_are_checked_at_load_with_did_you_mean() {
    let ws = Workspace::new();
    write_csv(
        &ws.data(),
        "tickets",
        "ticket_id,created_at,channel",
        &["T1,2026-03-02T09:00:00Z,email".into()],
    );
    ws.import();
    let path = ws.dir.path().join("bad.toml");
    let cases = [
        (
            busy_rule("http://127.0.0.1:9/").replace("ticket_volume", "tiket_volume"),
            "ticket_volume",
        ),
        (
            busy_rule("http://127.0.0.1:9/").replace("cooldown", "coldown"),
            "cooldown",
        ),
        (
            busy_rule("http://127.0.0.1:9/").replace("\"1d\"", "\"a day\""),
            "cooldown",
        ),
        (
            busy_rule("http://127.0.0.1:9/").replace("\"above\"", "\"abov\""),
            "above",
        ),
        (
            busy_rule("http://127.0.0.1:9/")
                .replace("threshold = 5", "threshold = 5\nby = \"ticket:chanel\""),
            "ticket:channel",
        ),
        (
            sla_rule("by = \"sla:targt\""),
            "alerts.late.by: SLA rules split and filter by ticket:team, ticket:priority, ticket:agent, sla:target, sla:policy only, not `sla:targt`; did you mean `sla:target`?",
        ),
        (
            sla_rule("filters = [\"ticket:channel=email\"]"),
            "alerts.late.filters",
        ),
    ];
    for (text, hint) in cases {
        std::fs::write(&path, &text).unwrap();
        let out = vitals(&[
            "alerts",
            "run",
            "--db",
            &ws.db(),
            "--config",
            &path.display().to_string(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text}\n{err}");
        assert!(err.contains(hint), "expected `{hint}` in: {err}");
    }
    // SLA rules split and filter by what the SLA report knows of a target.
    std::fs::write(
        &path,
        sla_rule("by = \"sla:target\"\nfilters = [\"ticket:agent=a1\", \"sla:policy!=bronze\"]"),
    )
    .unwrap();
    let db = ws.db();
    ok(&[
        "alerts",
        "run",
        "--db",
        &db,
        "--config",
        &path.display().to_string(),
    ]);
}

/// An SLA rule (`late`) with `extra` keys.
fn sla_rule(extra: &str) -> String {
    format!(
        "[[alerts]]\nname = \"late\"\ncondition = \"sla_breached\"\n{extra}\n\
         [[alerts.channels]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n"
    )
}

/// A deterministic stream of numbers in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Ten weeks of tickets, first replies and CSAT answers on three channels and teams A, B and a
/// tiny one, with three planted anomalies.
fn planted(ws: &Workspace) {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let (mut tickets, mut events, mut answers) = (Vec::new(), Vec::new(), Vec::new());
    let mut rng = Lcg(7);
    let mut id = 0;
    for day in 0..70 {
        let date = start + chrono::Duration::days(day);
        let date_text = date.to_string();
        let weekend = day % 7 >= 5;
        let mut add =
            |channel: &str, team: &str, frt: f64, satisfied: Option<f64>, rng: &mut Lcg| {
                id += 1;
                let minute = id % 600;
                let at = format!("{date_text}T{:02}:{:02}:00Z", 8 + minute / 60, minute % 60);
                tickets.push(format!("T{id},{at},{channel},{team}"));
                events.push(format!("E{id}a,T{id},{at},message,customer"));
                let replied = chrono::DateTime::parse_from_rfc3339(&at).unwrap()
                    + chrono::Duration::seconds((frt * (0.5 + rng.next())) as i64);
                events.push(format!(
                    "E{id}b,T{id},{},message,agent",
                    replied.to_rfc3339()
                ));
                if let Some(p) = satisfied {
                    let score = if rng.next() < p { 5 } else { 2 };
                    answers.push(format!("S{id},csat,{score},{},T{id}", replied.to_rfc3339()));
                }
            };
        let per_channel = if weekend { 12 } else { 30 };
        for (channel, frt) in [("email", 3600.0), ("chat", 120.0), ("phone", 600.0)] {
            for k in 0..per_channel {
                let team = if k % 2 == 0 { "A" } else { "B" };
                let frt = if channel == "phone" && date_text == "2026-03-11" {
                    frt * 5.0
                } else {
                    frt
                };
                let p = if team == "B" && date_text == "2026-03-10" {
                    0.3
                } else {
                    0.85
                };
                add(channel, team, frt, Some(p), &mut rng);
            }
        }
        let tiny = if date_text == "2026-03-09" { 0.0 } else { 0.85 };
        for _ in 0..2 {
            add("email", "tiny", 3600.0, Some(tiny), &mut rng);
        }
        if date_text == "2026-03-12" {
            for _ in 0..120 {
                add("email", "A", 3600.0, None, &mut rng);
            }
        }
    }
    write_csv(
        &ws.data(),
        "tickets",
        "ticket_id,created_at,channel,team",
        &tickets,
    );
    write_csv(
        &ws.data(),
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role",
        &events,
    );
    write_csv(
        &ws.data(),
        "survey_responses",
        "response_id,survey,score,answered_at,ticket_id",
        &answers,
    );
    ws.import();
}

fn anomalies(ws: &Workspace, metric: &str, by: Option<&str>) -> Vec<Value> {
    anomalies_with(ws, metric, by, &[])
}

fn anomalies_with(ws: &Workspace, metric: &str, by: Option<&str>, extra: &[&str]) -> Vec<Value> {
    let db = ws.db();
    let mut args = vec![
        "anomalies",
        "--db",
        &db,
        "--json",
        "--metric",
        metric,
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-16",
    ];
    if let Some(by) = by {
        args.extend(["--by", by]);
    }
    args.extend_from_slice(extra);
    let report: Value = serde_json::from_str(&ok(&args)).expect("JSON");
    report["anomalies"].as_array().unwrap().clone()
}

fn flagged(found: &[Value], date: &str, value: Option<&str>) -> Option<Value> {
    found
        .iter()
        .find(|a| a["date"] == date && a["value"].as_str() == value)
        .cloned()
}

#[test]
fn planted_anomalies_are_flagged_and_a_quiet_series_and_a_tiny_segment_are_not() {
    let ws = Workspace::new();
    planted(&ws);
    let frt = anomalies(&ws, "first_response_time", Some("ticket:channel"));
    let jump = flagged(&frt, "2026-03-11", Some("phone")).unwrap_or_else(|| panic!("{frt:#?}"));
    assert_eq!(
        (jump["direction"].as_str(), jump["worse"].as_bool()),
        (Some("up"), Some(true))
    );
    assert!(
        frt.iter().all(|a| a["value"] != "chat"),
        "the quiet chat series is never flagged: {frt:#?}"
    );
    let csat = anomalies(&ws, "csat", Some("ticket:team"));
    let drop = flagged(&csat, "2026-03-10", Some("B")).unwrap_or_else(|| panic!("{csat:#?}"));
    assert_eq!(drop["direction"], "down");
    assert!(drop["band_low"].as_f64().unwrap() > drop["observed"].as_f64().unwrap());
    assert!(
        csat.iter().all(|a| a["value"] != "tiny"),
        "0 of 2 answers is noise for a tiny team: {csat:#?}"
    );
    let volume = anomalies(&ws, "ticket_volume", None);
    assert!(
        flagged(&volume, "2026-03-12", None).is_some(),
        "{volume:#?}"
    );
    assert_eq!(volume.len(), 1, "{volume:#?}");
    // A reversed period is refused in the dates asked (not the baseline's).
    let db = ws.db();
    let reversed = vitals(&[
        "anomalies",
        "--db",
        &db,
        "--from",
        "2026-03-16",
        "--to",
        "2026-03-02",
    ]);
    let err = String::from_utf8_lossy(&reversed.stderr);
    assert!(!reversed.status.success());
    assert!(
        err.contains("from 2026-03-16 must be before to 2026-03-02"),
        "{err}"
    );
    // The method is documented.
    assert!(ok(&["explain", "anomalies"]).contains("Wilson"));
    assert!(ok(&["explain", "alerts"]).contains("idempotency key"));
}

#[test]
fn anomalies_of_a_filtered_series_agree_in_the_cli_the_api_and_through_a_server() {
    let ws = Workspace::new();
    planted(&ws);
    // Phone alone: its FRT jump is the series' own anomaly; chat alone is quiet.
    let phone = ["--filter", "ticket:channel=phone"];
    let cli = anomalies_with(&ws, "first_response_time", None, &phone);
    assert!(flagged(&cli, "2026-03-11", None).is_some(), "{cli:#?}");
    let chat = anomalies_with(
        &ws,
        "first_response_time",
        None,
        &["--filter", "ticket:channel=chat"],
    );
    assert!(chat.is_empty(), "{chat:#?}");
    let server = server::Server::start(std::path::Path::new(&ws.db()));
    let token = server.admin();
    let ask = |query: &str| {
        server::get(
            &server.url(&format!("/api/v1/anomalies?{query}")),
            Some(&token),
        )
    };
    let api = ask(
        "metrics=first_response_time&from=2026-03-02&to=2026-03-16&filter=ticket:channel=phone",
    )
    .expect(200)
    .json();
    assert_eq!(
        api["anomalies"].as_array().unwrap(),
        &cli,
        "the API's = the CLI's"
    );
    assert_eq!(
        api["filters"],
        serde_json::json!([{"dimension": "ticket:channel", "is": ["phone"]}])
    );
    // Two filters (repeated), and a value list.
    let two = ask("metrics=first_response_time&from=2026-03-02&to=2026-03-16&filter=ticket:channel=phone,chat&filter=ticket:team!=tiny")
        .expect(200)
        .json();
    assert_eq!(two["filters"].as_array().unwrap().len(), 2, "{two:#}");
    let bad = ask("metrics=first_response_time&filter=ticket:chanel=phone");
    assert_eq!(bad.status, 422, "{}", bad.body);
    let unknown = ask("metrics=first_response_time&filtre=ticket:channel=phone");
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    // `--server` passes the filters on.
    let out = Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["anomalies", "--json", "--metric", "first_response_time"])
        .args([
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-16",
            "--server",
            &server.base,
        ])
        .args(phone)
        .env("VITALS_TOKEN", &token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let remote: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(remote["anomalies"].as_array().unwrap(), &cli);
    server.stop();
}

#[test]
fn sla_rules_split_and_filter_by_sla_target_and_team() {
    let ws = Workspace::new();
    // At 12:00 two first replies (t1 from 08:00, t3 from 07:00) are past their hour; t2 was
    // answered; no resolution is past its day.
    write_csv(
        &ws.data(),
        "tickets",
        "ticket_id,created_at,channel,team",
        &[
            "t1,2026-03-02T08:00:00Z,email,A".into(),
            "t2,2026-03-02T09:00:00Z,email,B".into(),
            "t3,2026-03-02T07:00:00Z,chat,B".into(),
        ],
    );
    write_csv(
        &ws.data(),
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,author_id",
        &["e1,t2,2026-03-02T09:10:00Z,message,agent,a1".into()],
    );
    let hook = "[[alerts.channels]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n";
    let config = ws.import_with_config(&format!(
        "[[sla]]\nname = \"standard\"\nfirst_reply = \"1h\"\nresolution = \"1d\"\nclock = \"calendar\"\n\n\
         [[alerts]]\nname = \"late\"\ncondition = \"sla_breached\"\nby = \"sla:target\"\n{hook}\n\
         [[alerts]]\nname = \"late-b\"\ncondition = \"sla_breached\"\n\
         filters = [\"ticket:team=B\", \"sla:policy=standard\"]\nby = \"sla:target\"\n{hook}\n\
         [[alerts]]\nname = \"late-resolution\"\ncondition = \"sla_breached\"\n\
         filters = [\"sla:target=resolution\"]\n{hook}"
    ));
    let test = |rule: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_vitals"))
            .args(["alerts", "test", rule, "--dry-run", "--db", &ws.db()])
            .args(["--config", &config])
            .env("VITALS_NOW", "2026-03-02T12:00:00Z")
            .env_remove("VITALS_DB")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let late = test("late");
    assert!(
        late.contains(
            "late [sla:target=first_reply]: the condition holds — 2 open SLA targets breached"
        ),
        "{late}"
    );
    assert!(
        late.contains("tab=sla"),
        "the link opens the SLA tab: {late}"
    );
    let team_b = test("late-b");
    assert!(
        team_b.contains(
            "late-b [sla:target=first_reply]: the condition holds — 1 open SLA targets breached"
        ),
        "{team_b}"
    );
    let resolution = test("late-resolution");
    assert!(
        resolution.contains(
            "late-resolution [total]: the condition does not hold — 0 open SLA targets breached"
        ),
        "no resolution is breached: {resolution}"
    );
}
