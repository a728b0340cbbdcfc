//! Weekly digests end to end with a real SMTP server (aiosmtpd, `smtp_sink.py`) on loopback:
//! `[[digests]] period = "week"` mails the report of an ISO week — its HTML inline with the
//! week's numbers equal to `vitals query --json` for the week (and the week before beside it),
//! the days of the week as the volume's days, "What moved" against the previous week — and its
//! workbook attached, which opens; `vitals report --week` writes the same report; `vitals
//! serve` sends the week due once, not again after a `kill -9` and a restart, and the next
//! week when the clock has moved on (period keys `2026-W23`, `2026-W24`).

mod common;
mod report_common;
#[path = "common/server.rs"]
mod server;
#[path = "common/smtp.rs"]
mod smtp;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use calamine::{Data, Reader, Xlsx};
use report_common::{close, tags, value_in, Org, NOW};
use server::{Options, Server};
use smtp::{parse, Sink};

/// The week the tests report on: Monday 1 June to Sunday 7 June 2026.
const WEEK: &str = "2026-W23";

/// The organisation's configuration with `[smtp]` at `port` and one weekly digest (`weekly`)
/// on `schedule`; its path.
fn weekly_config(org: &Org, port: u16, schedule: &str) -> String {
    let generated = std::fs::read_to_string(&org.config).unwrap();
    let text = generated.replacen(
        "[reporting]\n",
        "[reporting]\npublic_url = \"https://vitals.example.com\"\n",
        1,
    ) + &format!(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"vitals <vitals@example.com>\"\ntimeout_secs = 20\n\n\
         [[digests]]\nname = \"weekly\"\nschedule = \"{schedule}\"\nperiod = \"week\"\nrecipients = [\"lead@example.com\"]\n"
    );
    assert!(text.contains("public_url"), "no [reporting] in {generated}");
    let config = org.dir.path().join(format!("weekly-{port}.toml"));
    std::fs::write(&config, text).unwrap();
    config.display().to_string()
}

/// `vitals ARGS` at `now`.
fn vitals(args: &[&str], now: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(args)
        .env_remove("VITALS_DB")
        .env_remove("VITALS_SMTP_USER")
        .env_remove("VITALS_SMTP_PASSWORD")
        .env("VITALS_NOW", now)
        .output()
        .unwrap()
}

fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `data-value` of `metric`'s (unsplit) row in the column of `period`.
fn shown(html: &str, metric: &str, period: &str) -> f64 {
    let all = tags(html);
    let row = all
        .iter()
        .position(|(name, a)| {
            name == "tr"
                && a.get("data-metric").map(String::as_str) == Some(metric)
                && !a.contains_key("data-breakdown")
        })
        .unwrap_or_else(|| panic!("no row of {metric}"));
    all[row..]
        .iter()
        .find(|(name, a)| name == "td" && a.get("data-month").map(String::as_str) == Some(period))
        .and_then(|(_, a)| a.get("data-value"))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {period} value of {metric}"))
}

/// `vitals query --json` of `metric` over `[from, to)`: its value.
fn query(org: &Org, metric: &str, from: &str, to: &str) -> f64 {
    let answer = org.query(metric, &[], from, to);
    value_in(&answer, &[], metric, "value").unwrap_or_else(|| panic!("no {metric} in {answer}"))
}

/// Checks a weekly report's HTML against `vitals query` for the week and the week before.
fn check_week_html(org: &Org, html: &str) {
    for metric in ["ticket_volume", "csat"] {
        for (period, from, to) in [
            (WEEK, "2026-06-01", "2026-06-08"),
            ("2026-W22", "2026-05-25", "2026-06-01"),
        ] {
            let (mail, expected) = (shown(html, metric, period), query(org, metric, from, to));
            assert!(
                close(mail, expected),
                "{metric} in {period}: report {mail}, query {expected}"
            );
        }
    }
    // The week's change is this week against the one before.
    let volume_change = query(org, "ticket_volume", "2026-06-01", "2026-06-08")
        - query(org, "ticket_volume", "2026-05-25", "2026-06-01");
    let all = tags(html);
    let row = all
        .iter()
        .position(|(n, a)| {
            n == "tr"
                && a.get("data-metric").map(String::as_str) == Some("ticket_volume")
                && !a.contains_key("data-breakdown")
        })
        .unwrap();
    let shown_change: f64 = all[row..]
        .iter()
        .find_map(|(n, a)| (n == "td").then(|| a.get("data-change")).flatten())
        .expect("the volume's change")
        .parse()
        .unwrap();
    assert!(
        close(shown_change, volume_change),
        "change {shown_change}, queries {volume_change}"
    );
    // The volume's days are the week's seven, Monday first.
    let days: BTreeSet<String> = all
        .iter()
        .filter_map(|(n, a)| (n == "td").then(|| a.get("data-day").cloned()).flatten())
        .collect();
    let week: BTreeSet<String> = (1..=7).map(|d| format!("2026-06-{d:02}")).collect();
    assert_eq!(days, week, "the daily volume covers the week");
    assert!(
        html.contains("Day (2026-W23, Monday to Sunday)"),
        "the chart's axis"
    );
    // What moved: the week against the week before.
    assert!(html.contains("id=\"what-moved\""), "a What moved section");
    assert!(
        html.contains("against the previous week"),
        "What moved compares weeks"
    );
    assert!(
        !html.contains("previous month"),
        "no month wording in a weekly report"
    );
}

#[test]
fn a_weekly_digest_mails_the_weeks_report_with_the_workbook_attached() {
    let Some(sink) = Sink::start(None) else {
        return;
    };
    let org = Org::new("600");
    let config = weekly_config(&org, sink.port, "0 8 * * MON");
    let said = assert_ok(&vitals(
        &[
            "digest", "send", "weekly", "--period", WEEK, "--db", &org.db, "--config", &config,
        ],
        NOW,
    ));
    assert!(said.contains("sent digest weekly (2026-W23)"), "{said}");
    let received = sink.wait_for(1);
    assert_eq!(
        sink.envelope(&received[0])["rcpt_tos"],
        serde_json::json!(["lead@example.com"])
    );
    let mail = parse(&received[0]);
    let subject = mail["subject"].as_str().unwrap();
    assert!(
        subject.contains("week 2026-W23 (1 June – 7 June 2026)"),
        "{subject}"
    );
    assert!(!subject.contains("partial"), "{subject}");
    assert_eq!(mail["idempotency_key"], "digest:weekly:2026-W23");
    let html = mail["html"].as_str().expect("an HTML part");
    check_week_html(&org, html);
    for unsafe_part in ["<script", "<form", "<input"] {
        assert!(!html.contains(unsafe_part), "{unsafe_part} in the mail");
    }
    let links: Vec<String> = tags(html)
        .into_iter()
        .filter_map(|(name, mut a)| (name == "a").then(|| a.remove("href")).flatten())
        .collect();
    assert!(
        links
            .iter()
            .any(|l| l == "https://vitals.example.com/api/v1/report?week=2026-W23&format=xlsx"),
        "the workbook's link asks for the week: {links:?}"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("on the week before"), "{text}");

    // The workbook attachment opens and its Metrics sheet has the six weeks.
    let attachments = mail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{mail}");
    assert_eq!(attachments[0]["filename"], "vitals-report-2026-W23.xlsx");
    let path = attachments[0]["path"].as_str().unwrap();
    let mut workbook: Xlsx<_> = calamine::open_workbook(path).expect("the workbook opens");
    let metrics = workbook.worksheet_range("Metrics").unwrap();
    let cells: Vec<String> = metrics
        .cells()
        .filter_map(|(_, _, c)| match c {
            Data::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    for week in ["2026-W18", "2026-W22", WEEK] {
        assert!(cells.iter().any(|c| c == week), "no column {week}");
    }
    assert!(workbook.worksheet_range("What moved").is_ok());

    // `vitals report --week` writes the same report; a month is not a week.
    let out = org.dir.path().join("out");
    let out_s = out.display().to_string();
    let args = [
        "report",
        "--week",
        WEEK,
        "--db",
        &org.db,
        "--config",
        &org.config,
        "--out",
        &out_s,
    ];
    assert_ok(&vitals(&args, NOW));
    let report = std::fs::read_to_string(out.join("vitals-report-2026-W23.html")).unwrap();
    check_week_html(&org, &report);
    assert!(out.join("vitals-report-2026-W23.xlsx").exists());
    let wrong = vitals(
        &[
            "digest",
            "send",
            "weekly",
            "--period",
            "2026-06",
            "--dry-run",
            "--db",
            &org.db,
            "--config",
            &config,
        ],
        NOW,
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("reports an ISO week"));
    assert_eq!(sink.messages().len(), 1, "one mail");
}

#[test]
fn serve_sends_each_week_once_across_restarts() {
    let Some(sink) = Sink::start(None) else {
        return;
    };
    let org = Org::new("300");
    // Due every minute: the latest run reports on the last complete week.
    let config = weekly_config(&org, sink.port, "* * * * *");
    let db = PathBuf::from(&org.db);
    let at = |now| Options {
        args: vec!["--config", &config],
        now: Some(now),
    };
    // Wednesday 10 June: the last complete week is 1–7 June.
    let first = Server::start_with(&db, at("2026-06-10T12:00:00Z"));
    first.wait_for_log("digest weekly: 2026-W23 sent to");
    sink.wait_for(1);
    first.kill9();
    let second = Server::start_with(&db, at("2026-06-10T12:00:00Z"));
    second.wait_for_log("digest weekly: 2026-W23 was sent already");
    second.stop();
    // Monday 15 June, after the run: the week of 8–14 June is due, and only it.
    let third = Server::start_with(&db, at("2026-06-15T12:00:00Z"));
    third.wait_for_log("digest weekly: 2026-W24 sent to");
    let received = sink.wait_for(2);
    third.stop();
    let keys: Vec<String> = received
        .iter()
        .map(|m| parse(m)["idempotency_key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        keys,
        ["digest:weekly:2026-W23", "digest:weekly:2026-W24"],
        "each week once, in order"
    );
    let list = assert_ok(&vitals(
        &["digest", "list", "--db", &org.db, "--config", &config],
        "2026-06-15T12:00:00Z",
    ));
    assert!(list.contains("2026-W24 ("), "the last week sent:\n{list}");
    assert_eq!(sink.messages().len(), 2);
}
