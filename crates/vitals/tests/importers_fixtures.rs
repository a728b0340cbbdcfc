//! `vitals import --from zendesk|freshdesk|chatwoot` on API-shaped fixtures
//! (`tests/fixtures/`): every row reconciles, and the numbers below are worked out by hand
//! from the fixture timelines (times in the comments).

mod common;

use std::path::PathBuf;

use common::{close, Workspace};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

const DAY: (&str, &str, &str) = ("2026-03-01", "2026-03-08", "UTC");

/// Ticket volume over `DAY` broken down by `dimension`.
fn volume_by(ws: &Workspace, dimension: &str) -> serde_json::Value {
    ws.query(&[
        "--metric",
        "ticket_volume",
        "--from",
        DAY.0,
        "--to",
        DAY.1,
        "--tz",
        DAY.2,
        "--by",
        dimension,
    ])
}

#[test]
fn zendesk_tickets_audits_and_ratings() {
    let ws = Workspace::new();
    let out = ws.import_from("zendesk", None, &[&fixture("zendesk")]);
    // 6 users + 3 tickets + 14 audits; the user without a role is skipped.
    assert!(
        out.contains("23 rows read = 22 mapped + 1 skipped + 0 rejected"),
        "{out}"
    );
    assert!(out.contains("rejected 0"), "{out}");
    let total = |m| ws.total(m, DAY.0, DAY.1, DAY.2);

    assert_eq!(total("ticket_volume").0, Some(3.0));
    // 101: customer 08:00, public reply 09:00 (the 08:30 private comment is a note);
    // 102: call 09:00, reply 11:00.
    let (frt, n) = total("first_response_time");
    assert_eq!(n, 2);
    close(frt, (3600.0 + 7200.0) / 2.0);
    // 102: solved 13:00, reopened by the customer 15:00, solved again 17:00, closed 18:00.
    close(
        total("first_resolution_time").0,
        (3600.0 + 4.0 * 3600.0) / 2.0,
    );
    close(total("resolution_time").0, (3600.0 + 8.0 * 3600.0) / 2.0);
    close(total("reopen_rate").0, 50.0);
    // good = 1, bad = 0 on 0–1: good is the top box.
    let (csat, n) = total("csat");
    assert_eq!(n, 2);
    close(csat, 50.0);

    let by_channel = volume_by(&ws, "ticket:channel");
    for channel in ["email", "phone", "web"] {
        let (v, _) = common::cell(&by_channel, &[("ticket:channel", channel)], "ticket_volume");
        assert_eq!(v, Some(1.0), "{channel}");
    }
    let by_category = volume_by(&ws, "ticket:category");
    let (billing, _) = common::cell(
        &by_category,
        &[("ticket:category", "billing")],
        "ticket_volume",
    );
    assert_eq!(billing, Some(1.0), "the category_ tag wins over the type");
}

#[test]
fn freshdesk_csv_with_conversations_and_ratings() {
    let ws = Workspace::new();
    let out = ws.import_from(
        "freshdesk",
        Some("Europe/Helsinki"),
        &[&fixture("freshdesk")],
    );
    // 3 tickets + 5 conversations (two concatenated pages) + 4 ratings; the rating without
    // a default_question is rejected with its reason.
    assert!(
        out.contains("12 rows read = 11 mapped + 0 skipped + 1 rejected"),
        "{out}"
    );
    let rejects = ws.rejects();
    assert!(rejects.contains("ratings.default_question"), "{rejects}");
    let total = |m| ws.total(m, DAY.0, DAY.1, DAY.2);

    // Ticket 1 created 10:00 Helsinki = 08:00Z, first public reply 09:00Z; ticket 2 created
    // 12:00 Helsinki = 10:00Z, reply 10:30Z. The private note does not count.
    let (frt, n) = total("first_response_time");
    assert_eq!(n, 2);
    close(frt, (3600.0 + 1800.0) / 2.0);
    // Resolved 14:00 the same day, and 48 h later.
    close(
        total("first_resolution_time").0,
        (4.0 * 3600.0 + 48.0 * 3600.0) / 2.0,
    );
    // Time tracked 0:30 and 1:15:30.
    close(total("handle_time").0, (1800.0 + 4530.0) / 2.0);
    // 103 → 7, −103 → 1, 101 → 5 on 1–7; the top box is 6–7.
    let (csat, n) = total("csat");
    assert_eq!(n, 3);
    close(csat, 100.0 / 3.0);
}

#[test]
fn freshdesk_without_conversations_takes_the_first_reply_from_the_csv() {
    let ws = Workspace::new();
    let csv = fixture("freshdesk").join("tickets.csv");
    let out = ws.import_from("freshdesk", Some("Europe/Helsinki"), &[&csv]);
    assert!(out.contains("3 rows read = 3 mapped"), "{out}");
    // Initial response 11:00 (1 h after 10:00) and 12:15 (15 min after 12:00).
    close(
        ws.total("first_response_time", DAY.0, DAY.1, DAY.2).0,
        (3600.0 + 900.0) / 2.0,
    );
}

#[test]
fn freshdesk_history_comes_from_the_activities_export() {
    let history = fixture("freshdesk_history");
    // 1: reply 09:00Z, resolved 10:00Z, the customer reopens at 11:00Z, reply 13:00Z,
    // resolved 14:00Z (the CSV's `Resolved time` 16:00 Helsinki). 2: routed to Anna, who
    // passes it to Ben; Ben's one reply, resolved after 3 h. 3: Anna, one reply, 2 h.
    let csv_only = Workspace::new();
    let out = csv_only.import_from(
        "freshdesk",
        Some("Europe/Helsinki"),
        &[
            &history.join("tickets.csv"),
            &history.join("conversations.json"),
        ],
    );
    assert!(
        out.contains("8 rows read = 8 mapped + 0 skipped + 0 rejected"),
        "{out}"
    );
    assert!(
        out.contains(
            "cannot measure: the Freshdesk ticket CSV shows only the latest `Resolved time`"
        ),
        "{out}"
    );
    let total = |m| csv_only.total(m, DAY.0, DAY.1, DAY.2);
    // The CSV alone: no reopen, first resolution = last resolution, Ben alone on 2.
    close(total("reopen_rate").0, 0.0);
    close(
        total("first_resolution_time").0,
        (6.0 + 3.0 + 2.0) * 3600.0 / 3.0,
    );
    close(total("fcr").0, 200.0 / 3.0);

    let ws = Workspace::new();
    let out = ws.import_from("freshdesk", Some("Europe/Helsinki"), &[&history]);
    // 3 tickets + 5 conversations + 13 activities; the note-only activity is skipped.
    assert!(
        out.contains("21 rows read = 20 mapped + 1 skipped + 0 rejected"),
        "{out}"
    );
    assert!(!out.contains("cannot measure"), "{out}");
    let total = |m| ws.total(m, DAY.0, DAY.1, DAY.2);
    close(total("reopen_rate").0, 100.0 / 3.0);
    close(
        total("first_resolution_time").0,
        (2.0 + 3.0 + 2.0) * 3600.0 / 3.0,
    );
    close(total("resolution_time").0, (6.0 + 3.0 + 2.0) * 3600.0 / 3.0);
    close(total("fcr").0, 100.0 / 3.0);
    close(total("first_response_time").0, 3600.0);
}

#[test]
fn freshdesk_needs_a_zone() {
    let ws = Workspace::new();
    let db = ws.db();
    let path = fixture("freshdesk").display().to_string();
    let out = common::vitals(&["import", "--db", &db, "--from", "freshdesk", &path]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tz"), "{err}");
}

#[test]
fn chatwoot_conversations_messages_and_csat() {
    let ws = Workspace::new();
    let out = ws.import_from("chatwoot", None, &[&fixture("chatwoot")]);
    // 2 conversations + 15 messages + 2 CSAT; the label activity is skipped.
    assert!(
        out.contains("19 rows read = 18 mapped + 1 skipped + 0 rejected"),
        "{out}"
    );
    let total = |m| ws.total(m, DAY.0, DAY.1, DAY.2);
    // 1: created 10:00; the template and the bot's 10:02 message are not replies; Dana's
    // private note at 10:03 is not either; her reply at 10:10 is. 2: 11:00 → 12:00.
    let (frt, n) = total("first_response_time");
    assert_eq!(n, 2);
    close(frt, (600.0 + 3600.0) / 2.0);
    // 1 resolved 10:20; 2 resolved 12:30, reopened by Finn 13:00, resolved 14:00.
    close(total("first_resolution_time").0, (1200.0 + 5400.0) / 2.0);
    close(total("resolution_time").0, (1200.0 + 3.0 * 3600.0) / 2.0);
    close(total("reopen_rate").0, 50.0);
    let (csat, n) = total("csat");
    assert_eq!(n, 2);
    close(csat, 50.0);
}

#[test]
fn chatwoot_team_assignments_are_not_agents() {
    let ws = Workspace::new();
    let out = ws.import_from("chatwoot", None, &[&fixture("chatwoot_teams")]);
    // 5 conversations + 28 messages; the four team changes ("Assigned to Billing by …",
    // "Unassigned from Billing by …") are skipped with their reason.
    assert!(
        out.contains("33 rows read = 29 mapped + 4 skipped + 0 rejected"),
        "{out}"
    );
    assert!(out.contains("skipped 4: Chatwoot team change"), "{out}");
    let total = |m| ws.total(m, DAY.0, DAY.1, DAY.2);
    // 11: team Billing, then Dana self-assigns, one reply, resolved → FCR. 12: "Assigned to
    // Eve via Tier 2", one reply by Eve, resolved → FCR. 13: Dana replies, then the ticket
    // moves to Eve who replies again → not FCR. 14: reopened → not FCR. 15: unresolved.
    close(total("fcr").0, 50.0);
    close(total("reopen_rate").0, 25.0);
    // Replies after 10, 30, 20 and 15 minutes; 15 has only a bot message.
    let (frt, n) = total("first_response_time");
    assert_eq!(n, 4);
    close(frt, (600.0 + 1800.0 + 1200.0 + 900.0) / 4.0);
    // No team (nor "AGENT via TEAM") becomes an agent: 15 stays unassigned.
    let by_agent = volume_by(&ws, "ticket:agent");
    let agents: Vec<&str> = by_agent["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["dimensions"]["ticket:agent"].as_str())
        .collect();
    for agent in &agents {
        assert!(["Dana", "Eve"].contains(agent), "{agent} in {by_agent:#}");
    }
    for (agent, tickets) in [("Dana", 2.0), ("Eve", 2.0)] {
        let (v, _) = common::cell(&by_agent, &[("ticket:agent", agent)], "ticket_volume");
        assert_eq!(v, Some(tickets), "{agent}");
    }
}

/// Imports the Zendesk bots fixture with `config` (a vitals.toml text, or none).
fn zendesk_bots(config: Option<&str>) -> Workspace {
    let ws = Workspace::new();
    let db = ws.db();
    let path = fixture("zendesk_bots").display().to_string();
    let mut args = vec!["import", "--db", &db, "--from", "zendesk", &path];
    let config_path = ws.dir.path().join("vitals.toml").display().to_string();
    if let Some(text) = config {
        std::fs::write(&config_path, text).expect("write config");
        args.extend(["--config", &config_path]);
    }
    let out = common::ok(&args);
    // 6 users + 3 tickets + 8 audits.
    assert!(
        out.contains("17 rows read = 17 mapped + 0 skipped + 0 rejected"),
        "{out}"
    );
    ws
}

#[test]
fn zendesk_bots_are_not_human_replies() {
    let ws = zendesk_bots(Some("[import.zendesk]\nbot_user_ids = [701]\n"));
    let total = |m| ws.total(m, DAY.0, DAY.1, DAY.2);
    // 201: the AI agent (role agent) answers at 08:01 through the answer bot's widget — a
    // bot, recognised by the audit's via; Ana replies at 08:30 and solves. 202: the
    // messaging bot 701 (configured) acknowledges at 09:02; Ana replies at 09:20 and solves.
    // 203: the AI agent answers and solves alone (via id 66, answer_bot_api): no FRT.
    let (frt, n) = total("first_response_time");
    assert_eq!(n, 2);
    close(frt, (1800.0 + 1200.0) / 2.0);
    // One human reply before the solve on 201 and 202; 203 had none.
    close(total("fcr").0, 200.0 / 3.0);

    // Without the configured id, 701's acknowledgement is a human reply (its role is agent).
    let ws = zendesk_bots(None);
    let total = |m| ws.total(m, DAY.0, DAY.1, DAY.2);
    close(total("first_response_time").0, (1800.0 + 120.0) / 2.0);
    close(total("fcr").0, 100.0 / 3.0);
}

#[test]
fn an_unknown_source_is_a_usage_error_naming_the_sources() {
    let out = common::vitals(&["import", "--from", "salesforce", "x"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("zendesk, freshdesk, chatwoot"), "{err}");
}

#[test]
fn a_broken_ndjson_line_is_rejected_with_its_line_and_the_rest_imported() {
    let ws = Workspace::new();
    let dir = ws.data();
    std::fs::write(
        dir.join("tickets.json"),
        r#"{"id":1,"created_at":"2026-03-02T08:00:00Z","requester_id":7,"via":{"channel":"email"}}
{"id":2,"created_at":"2026-03-02T09:00:00Z","requester_id":8,"via":{"channel":"email"}}
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("ticket_audits.jsonl"),
        r#"{"id":10,"ticket_id":1,"created_at":"2026-03-02T08:30:00Z","author_id":5,"events":[{"id":1,"type":"Comment","public":true,"body":"hi"}]}
{"id":11,"ticket_id":2,"created_at":"2026-03-02T09:30:00Z","author_id":5,"events":[{"id":2,"type":"Comment","public":true,
{"id":12,"ticket_id":2,"created_at":"2026-03-02T10:00:00Z","author_id":5,"events":[{"id":3,"type":"Comment","public":true,"body":"hello"}]}
"#,
    )
    .unwrap();
    let out = ws.import_from("zendesk", None, &[&dir]);
    assert!(
        out.contains("5 rows read = 4 mapped + 0 skipped + 1 rejected"),
        "{out}"
    );
    let rejects = ws.rejects();
    assert!(
        rejects.contains("ticket_audits.jsonl,2,,invalid JSON"),
        "{rejects}"
    );
    // Ticket 1 answered after 30 min; ticket 2's surviving reply came after 60 min.
    close(
        ws.total("first_response_time", DAY.0, DAY.1, DAY.2).0,
        (1800.0 + 3600.0) / 2.0,
    );

    // Importing the same export again changes nothing.
    let before = ws.query(&[
        "--metric",
        "first_response_time",
        "--from",
        DAY.0,
        "--to",
        DAY.1,
    ]);
    let again = ws.import_from("zendesk", None, &[&dir]);
    assert!(again.contains("5 rows read = 4 mapped"), "{again}");
    let after = ws.query(&[
        "--metric",
        "first_response_time",
        "--from",
        DAY.0,
        "--to",
        DAY.1,
    ]);
    assert_eq!(before["results"], after["results"]);
}
