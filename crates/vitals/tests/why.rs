//! `vitals why` end to end on hand-made data with planted causes: a team whose CSAT drops is
//! the top driver (rate), a shift of volume to a channel with lower CSAT is found as mix, a
//! category that doubles is the count driver, a priority whose median resolution time triples
//! is found with the quantile's remainder shown, and noise has no significant segment; every
//! segment's value is `vitals query`'s, the parts add up to the change for every metric of a
//! generated organisation (the two-dimension view's too), and the CLI's JSON is the API's
//! answer.

mod common;
#[path = "common/server.rs"]
mod server;

use common::{generated, ok, vitals, write_csv, Workspace};
use serde_json::{json, Value};
use server::{post, Options, Server};

const MONTHS: [(&str, &str); 2] = [("2026-02", "feb"), ("2026-03", "mar")];

/// A deterministic stream of numbers in [0, 1).
fn stream(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Picks from `(item, weight)` by a uniform draw.
fn pick<'a>(items: &[(&'a str, f64)], u: f64) -> &'a str {
    let total: f64 = items.iter().map(|i| i.1).sum();
    let mut left = u * total;
    for (item, w) in items {
        if left < *w {
            return item;
        }
        left -= w;
    }
    items[items.len() - 1].0
}

/// One month's tickets: channel weights, and the chance a survey is satisfied by channel and
/// team.
struct Month<'a> {
    tickets: usize,
    channels: &'a [(&'a str, f64)],
    satisfied: &'a dyn Fn(&str, &str) -> f64,
}

const TEAMS: [(&str, f64); 4] = [("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 1.0)];
const CATEGORIES: [(&str, f64); 3] = [("billing", 1.0), ("login", 1.0), ("shipping", 1.0)];
const EVEN: [(&str, f64); 3] = [("email", 1.0), ("chat", 1.0), ("phone", 1.0)];

/// Writes February and March and imports them; returns the workspace.
fn store(months: [Month; 2], seed: u64) -> Workspace {
    let ws = Workspace::new();
    let mut r = stream(seed);
    let (mut tickets, mut responses) = (Vec::new(), Vec::new());
    for ((month, tag), spec) in MONTHS.iter().zip(&months) {
        for i in 0..spec.tickets {
            let channel = pick(spec.channels, r());
            let team = pick(&TEAMS, r());
            let category = pick(&CATEGORIES, r());
            let day = 1 + i % 28;
            let id = format!("{tag}{i}");
            tickets.push(format!(
                "{id},{month}-{day:02}T09:00:00Z,{channel},{team},{category}"
            ));
            let score = if r() < (spec.satisfied)(channel, team) {
                5
            } else {
                2
            };
            responses.push(format!(
                "s{id},csat,{score},{month}-{day:02}T12:00:00Z,{id}"
            ));
        }
    }
    let d = ws.data();
    write_csv(
        &d,
        "tickets",
        "ticket_id,created_at,channel,team,category",
        &tickets,
    );
    write_csv(
        &d,
        "survey_responses",
        "response_id,survey,score,answered_at,ticket_id",
        &responses,
    );
    ws.import();
    ws
}

/// `vitals why --json` for March against February.
fn why(ws: &Workspace, metric: &str, extra: &[&str]) -> Value {
    let db = ws.db();
    let mut args = vec![
        "why",
        "--db",
        &db,
        "--json",
        "--metric",
        metric,
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--tz",
        "UTC",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).expect("why JSON")
}

/// Every dimension's parts add up to the change (with the remainder, 0 but for quantiles).
fn assert_identity(answer: &Value) {
    let change = answer["change"].as_f64().expect("a change");
    let pairs = answer["pairs"].as_array().unwrap();
    for dim in answer["dimensions"].as_array().unwrap().iter().chain(pairs) {
        let parts: f64 = dim["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["contribution"].as_f64().unwrap())
            .sum();
        let remainder = dim["remainder"].as_f64().unwrap();
        let tol = 1e-9 * change.abs().max(1.0);
        assert!((parts + remainder - change).abs() <= tol, "{dim}");
        if answer["method"] != "quantile" {
            assert!(
                remainder.abs() <= tol,
                "{}: remainder {remainder}",
                dim["dimension"]
            );
        }
    }
}

fn top(answer: &Value) -> (&Value, &Value) {
    let dim = &answer["dimensions"][0];
    (dim, &dim["segments"][0])
}

fn significant_segments(answer: &Value) -> Vec<String> {
    answer["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            d["segments"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["significant"] == true)
                .map(move |s| format!("{}={}", d["dimension"], s["value"]))
        })
        .collect()
}

#[test]
fn a_team_whose_csat_drops_is_the_top_driver_by_rate() {
    let feb = |_: &str, _: &str| 0.85;
    let mar = |_: &str, team: &str| if team == "c" { 0.45 } else { 0.85 };
    let ws = store(
        [
            Month {
                tickets: 2000,
                channels: &EVEN,
                satisfied: &feb,
            },
            Month {
                tickets: 2000,
                channels: &EVEN,
                satisfied: &mar,
            },
        ],
        7,
    );
    let answer = why(&ws, "csat", &[]);
    assert_eq!(answer["method"], "ratio");
    assert_eq!(answer["comparison"]["mode"], "previous");
    assert_eq!(answer["comparison"]["from"], "2026-02-01");
    assert!(
        answer["change"].as_f64().unwrap() < -5.0,
        "{}",
        answer["change"]
    );
    assert_identity(&answer);
    let (dim, seg) = top(&answer);
    assert_eq!(dim["dimension"], "ticket:team", "{}", dim);
    assert_eq!(seg["value"], "c");
    assert_eq!(seg["kind"], "rate");
    assert_eq!(seg["driver"], true);
    assert_eq!(seg["significant"], true);
    assert_eq!(dim["segments_needed"], 1);
    assert!(dim["explained"].as_f64().unwrap() > 0.8, "{dim}");
    // Together with the next dimension, team c's segments lead.
    let pair = &answer["pairs"][0];
    assert!(pair["dimension"]
        .as_str()
        .unwrap()
        .starts_with("ticket:team × "));
    assert!(
        pair["segments"][0]["value"]
            .as_str()
            .unwrap()
            .starts_with("c × "),
        "{pair}"
    );
    // Agents are not split unless asked; time dimensions are not segments.
    let dims: Vec<&str> = answer["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dimension"].as_str().unwrap())
        .collect();
    assert!(!dims.iter().any(|d| d.ends_with("agent")), "{dims:?}");
    let out = vitals(&[
        "why",
        "--db",
        &ws.db(),
        "--metric",
        "csat",
        "--by",
        "time:month",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // The segment's values are the query's, exactly.
    let q = ws.query(&[
        "--metric",
        "csat",
        "--by",
        "ticket:team",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--tz",
        "UTC",
    ]);
    let row = q["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dimensions"]["ticket:team"] == "c")
        .expect("team c");
    assert_eq!(seg["current"]["value"], row["metrics"]["csat"]["value"]);
    assert_eq!(seg["current"]["n"], row["metrics"]["csat"]["n"]);
    // The default period is the latest complete month against the one before: the data ends
    // on 28 March, so that is February (against January).
    let db = ws.db();
    let default: Value = serde_json::from_str(&ok(&[
        "why", "--db", &db, "--json", "--metric", "csat", "--tz", "UTC",
    ]))
    .unwrap();
    assert_eq!(
        default["period"],
        json!({"from": "2026-02-01", "to": "2026-03-01"})
    );
    assert_eq!(default["comparison"]["from"], "2026-01-01");
    // A mean splits with no residual too.
    assert_identity(&why(&ws, "csat_mean", &[]));
    // The table names the driver.
    let table = ok(&[
        "why",
        "--db",
        &db,
        "--metric",
        "csat",
        "--tz",
        "UTC",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
    ]);
    assert!(
        table.contains("1. ticket:team") && table.contains("▶ c"),
        "{table}"
    );
}

#[test]
fn a_shift_of_volume_to_a_channel_with_lower_csat_is_mix() {
    let rate = |channel: &str, _: &str| match channel {
        "email" => 0.9,
        "phone" => 0.6,
        _ => 0.85,
    };
    let ws = store(
        [
            Month {
                tickets: 2000,
                channels: &[("email", 0.6), ("phone", 0.2), ("chat", 0.2)],
                satisfied: &rate,
            },
            Month {
                tickets: 2000,
                channels: &[("email", 0.3), ("phone", 0.5), ("chat", 0.2)],
                satisfied: &rate,
            },
        ],
        11,
    );
    let answer = why(&ws, "csat", &[]);
    assert_identity(&answer);
    let (dim, seg) = top(&answer);
    assert_eq!(dim["dimension"], "ticket:channel", "{dim}");
    assert_eq!(seg["value"], "phone");
    assert_eq!(seg["kind"], "mix");
    assert_eq!(seg["significant"], true);
    assert!(dim["mix_effect"].as_f64().unwrap() < -3.0, "{dim}");
    assert!(dim["rate_effect"].as_f64().unwrap().abs() < 2.0, "{dim}");
}

#[test]
fn a_category_that_doubles_is_the_count_driver() {
    let ws = Workspace::new();
    let mut tickets = Vec::new();
    let mut r = stream(3);
    for ((month, tag), billing) in MONTHS.iter().zip([300, 600]) {
        for (category, count) in [("billing", billing), ("login", 300), ("shipping", 300)] {
            for i in 0..count {
                let channel = pick(&EVEN, r());
                let day = 1 + i % 28;
                tickets.push(format!(
                    "{tag}{category}{i},{month}-{day:02}T09:00:00Z,{channel},a,{category}"
                ));
            }
        }
    }
    write_csv(
        &ws.data(),
        "tickets",
        "ticket_id,created_at,channel,team,category",
        &tickets,
    );
    ws.import();
    let answer = why(&ws, "ticket_volume", &[]);
    assert_eq!(answer["method"], "count");
    assert_eq!(answer["change"], 300.0);
    assert_identity(&answer);
    let (dim, seg) = top(&answer);
    assert_eq!(dim["dimension"], "ticket:category", "{dim}");
    assert_eq!(seg["value"], "billing");
    assert_eq!(seg["kind"], "count");
    assert_eq!(seg["contribution"], 300.0);
    assert_eq!(seg["significant"], true);
    assert!(seg["rate_effect"].is_null());
    // Asked for one dimension, the answer has only it; --vs takes a range.
    let one = why(
        &ws,
        "ticket_volume",
        &["--by", "ticket:team", "--vs", "2026-02-01..2026-03-01"],
    );
    assert_eq!(one["dimensions"].as_array().unwrap().len(), 1);
    assert_eq!(one["comparison"]["mode"], "range");
    assert_eq!(one["dimensions"][0]["segments"][0]["contribution"], 300.0);
}

#[test]
fn a_priority_whose_median_resolution_time_triples_is_found_with_a_remainder() {
    let ws = Workspace::new();
    let (mut tickets, mut events) = (Vec::new(), Vec::new());
    let mut r = stream(17);
    for (month, tag) in MONTHS {
        for i in 0..900 {
            let priority = pick(&[("high", 1.0), ("normal", 1.0), ("low", 1.0)], r());
            let channel = pick(&EVEN, r());
            // Hours to resolve: about 4, but high-priority tickets take 2 in February, 6 in March.
            let hours = match (priority, tag) {
                ("high", "feb") => 2.0,
                ("high", _) => 6.0,
                _ => 4.0,
            } * (0.5 + r());
            let day = 1 + i % 28;
            let id = format!("{tag}{i}");
            tickets.push(format!(
                "{id},{month}-{day:02}T06:00:00Z,{channel},{priority}"
            ));
            events.push(format!(
                "{id}a,{id},{month}-{day:02}T06:00:00Z,message,customer,c,,,"
            ));
            let minutes = (hours * 60.0) as u32;
            events.push(format!(
                "{id}b,{id},{month}-{day:02}T{:02}:{:02}:00Z,status,agent,x,,,solved",
                6 + minutes / 60,
                minutes % 60
            ));
        }
    }
    let d = ws.data();
    write_csv(
        &d,
        "tickets",
        "ticket_id,created_at,channel,priority",
        &tickets,
    );
    write_csv(
        &d,
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,author_id,agent_id,public,status",
        &events,
    );
    ws.import();
    let answer = why(&ws, "resolution_time:median", &[]);
    assert_eq!(answer["method"], "quantile");
    assert_identity(&answer);
    let (dim, seg) = top(&answer);
    assert_eq!(dim["dimension"], "ticket:priority", "{dim}");
    assert_eq!(seg["value"], "high");
    assert_eq!(seg["kind"], "rate");
    assert_eq!(seg["driver"], true);
    assert!(
        seg["significant"].is_null(),
        "no test of a quantile's own change"
    );
    let change = seg["change"].as_f64().unwrap();
    assert!(change > 3.0 * 3600.0, "{seg}");
    assert!(dim["remainder"].as_f64().unwrap() != 0.0);
    // The table shows the remainder as its own line.
    let db = ws.db();
    let table = ok(&[
        "why",
        "--db",
        &db,
        "--metric",
        "resolution_time:median",
        "--by",
        "ticket:priority",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--tz",
        "UTC",
    ]);
    assert!(table.contains("(remainder)"), "{table}");
}

#[test]
fn noise_has_no_significant_segment() {
    let same = |_: &str, _: &str| 0.8;
    let ws = store(
        [
            Month {
                tickets: 1500,
                channels: &EVEN,
                satisfied: &same,
            },
            Month {
                tickets: 1500,
                channels: &EVEN,
                satisfied: &same,
            },
        ],
        5,
    );
    let answer = why(&ws, "csat", &[]);
    assert_identity(&answer);
    assert_eq!(answer["significant"], false);
    assert_eq!(significant_segments(&answer), Vec::<String>::new());
    for dim in answer["dimensions"].as_array().unwrap() {
        assert_eq!(dim["segments_needed"], 0, "{dim}");
    }
}

#[test]
fn parts_add_up_for_every_metric_and_the_cli_equals_the_api() {
    let ws = Workspace::new();
    let config = generated(&ws, 3000, 3, "2026-01-01", 42);
    let db = ws.db();
    let catalogue: Value = serde_json::from_str(&ok(&["catalogue", "--json"])).unwrap();
    let mut explained = 0;
    for metric in catalogue.as_array().unwrap() {
        let id = metric["id"].as_str().unwrap();
        let out = vitals(&[
            "why", "--db", &db, "--config", &config, "--json", "--metric", id, "--tz", "UTC",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            assert_eq!(out.status.code(), Some(1), "{id}: {stderr}");
            assert!(
                stderr.contains("cannot be explained by segments")
                    || stderr.contains("no complete month"),
                "{id}: {stderr}"
            );
            continue;
        }
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        if answer["change"].is_number() {
            assert_identity(&answer);
            explained += 1;
        }
    }
    assert!(explained >= 20, "only {explained} metrics explained");
    // A metric always broken down is explained within one pinned value.
    let sla: Value = serde_json::from_str(&ok(&[
        "why",
        "--db",
        &db,
        "--config",
        &config,
        "--json",
        "--metric",
        "sla_compliance",
        "--filter",
        "sla:target=first_reply",
        "--tz",
        "UTC",
    ]))
    .unwrap();
    assert_eq!(sla["method"], "ratio");
    assert_identity(&sla);
    assert!(sla["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["dimension"] != "sla:target"));
    // A quantile shows its remainder; the CLI's JSON is the API's.
    let cli: Value = serde_json::from_str(&ok(&[
        "why",
        "--db",
        &db,
        "--config",
        &config,
        "--json",
        "--metric",
        "first_response_time:median",
        "--vs",
        "same-last-year",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--tz",
        "UTC",
    ]))
    .unwrap();
    assert_eq!(cli["method"], "quantile");
    let cli: Value = serde_json::from_str(&ok(&[
        "why",
        "--db",
        &db,
        "--config",
        &config,
        "--json",
        "--metric",
        "first_response_time:median",
        "--tz",
        "UTC",
    ]))
    .unwrap();
    assert_identity(&cli);
    let server = Server::start_with(
        std::path::Path::new(&db),
        Options {
            args: vec!["--config", &config],
            ..Default::default()
        },
    );
    let token = server.admin();
    let request = json!({"metric": "first_response_time:median", "timezone": "UTC"});
    let api = post(
        &server.url("/api/v1/why"),
        Some(&token),
        &request.to_string(),
    )
    .expect(200)
    .json();
    assert_eq!(api, cli);
    let bad = post(
        &server.url("/api/v1/why"),
        Some(&token),
        &json!({"metric": "csat", "vs": "soon"}).to_string(),
    );
    assert_eq!(bad.expect(400).error_code(), "invalid_request");
    // Behind the `read` scope, as a query is.
    let anonymous = post(&server.url("/api/v1/why"), None, &request.to_string());
    assert_eq!(anonymous.status, 401);
    let (read, _) = server.token(&token, &["read"]);
    let (ingest, _) = server.token(&token, &["ingest"]);
    post(
        &server.url("/api/v1/why"),
        Some(&read),
        &request.to_string(),
    )
    .expect(200);
    let denied = post(
        &server.url("/api/v1/why"),
        Some(&ingest),
        &request.to_string(),
    );
    assert_eq!(denied.expect(403).error_code(), "forbidden");
}
