//! End to end: `--compare previous | yoy` with significance, and targets (global and per
//! team) with on/off-target verdicts by the metric's direction. Expected values by hand.

mod common;

use common::{cell, close, ok, write_csv, Workspace};

fn setup(config_text: &str) -> (Workspace, String) {
    let ws = Workspace::new();
    let d = ws.data();
    let mut tickets = Vec::new();
    let mut responses = Vec::new();
    for i in 1..=10 {
        let team = if i <= 5 { "a" } else { "b" };
        tickets.push(format!(
            "j{i},2026-01-0{}T09:00:00Z,email,{team}",
            1 + i % 9
        ));
        tickets.push(format!(
            "f{i},2026-02-0{}T09:00:00Z,email,{team}",
            1 + i % 9
        ));
        // January: j1–j8 satisfied (5), j9–j10 not (2). February: f1–f3 satisfied.
        let jan = if i <= 8 { 5 } else { 2 };
        let feb = if i <= 3 { 5 } else { 2 };
        responses.push(format!("rj{i},csat,{jan},2026-01-15T10:00:00Z,j{i}"));
        responses.push(format!("rf{i},csat,{feb},2026-02-15T10:00:00Z,f{i}"));
    }
    write_csv(&d, "tickets", "ticket_id,created_at,channel,team", &tickets);
    write_csv(
        &d,
        "survey_responses",
        "response_id,survey,score,answered_at,ticket_id",
        &responses,
    );
    let config = ws.import_with_config(config_text);
    (ws, config)
}

#[test]
fn previous_period_with_a_two_proportion_test() {
    let (ws, config) = setup("");
    let r = ws.query(&[
        "--config",
        &config,
        "--metric",
        "csat",
        "--by",
        "time:month",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-01",
        "--tz",
        "UTC",
        "--compare",
        "previous",
    ]);
    assert_eq!(r["query"]["compare"]["from"], "2025-12-01");
    let feb = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["dimensions"]["time:month"] == "2026-02")
        .unwrap();
    let c = &feb["metrics"]["csat"]["compare"];
    close(c["value"].as_f64(), 80.0);
    close(c["change"].as_f64(), -50.0);
    // Pooled 11/20: z = −0.5 / √(0.55 · 0.45 · (1/10 + 1/10)) = −2.2473 → p = 0.02462.
    assert_eq!(c["test"], "two_proportion_z");
    assert!(
        (c["p_value"].as_f64().unwrap() - 0.02462).abs() < 1e-4,
        "{c}"
    );
    assert_eq!(c["significant"], true);
    // January against December, which has no responses: no comparison value, no test.
    let jan = &r["results"][0]["metrics"]["csat"]["compare"];
    assert!(
        jan["value"].is_null() && jan["significant"].is_null(),
        "{jan}"
    );
    // Year over year: the same months of 2025.
    let y = ws.query(&[
        "--config",
        &config,
        "--metric",
        "csat",
        "--by",
        "time:month",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-01",
        "--tz",
        "UTC",
        "--compare",
        "yoy",
    ]);
    assert_eq!(y["query"]["compare"]["from"], "2025-01-01");
    assert_eq!(y["query"]["compare"]["to"], "2025-03-01");
}

#[test]
fn targets_per_team_win_over_the_global_one() {
    let (ws, config) = setup("[targets]\ncsat = 50\n[targets.team.b]\ncsat = 90\n");
    let r = ws.query(&[
        "--config",
        &config,
        "--metric",
        "csat",
        "--by",
        "ticket:team",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
        "--tz",
        "UTC",
    ]);
    let team = |t: &str| {
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["dimensions"]["ticket:team"] == t)
            .unwrap()["metrics"]["csat"]
            .clone()
    };
    // Team a: j1–j5 all satisfied → 100 % against the global 50.
    let a = team("a");
    close(a["value"].as_f64(), 100.0);
    close(a["target"].as_f64(), 50.0);
    assert_eq!(a["on_target"], true);
    // Team b: j6–j8 of j6–j10 → 60 % against its own 90.
    let b = team("b");
    close(b["value"].as_f64(), 60.0);
    close(b["target"].as_f64(), 90.0);
    assert_eq!(b["on_target"], false);
    // The table marks them too.
    let table = ok(&[
        "query",
        "--db",
        &ws.db(),
        "--config",
        &config,
        "--metric",
        "csat",
        "--by",
        "ticket:team",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
        "--tz",
        "UTC",
    ]);
    assert!(
        table.contains("50.0 % ✓") && table.contains("90.0 % ✗"),
        "{table}"
    );
    let (v, n) = cell(&r, &[("ticket:team", "b")], "csat");
    assert_eq!((v, n), (Some(60.0), 5));
}
