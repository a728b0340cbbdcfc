//! End to end with a real SMTP server (aiosmtpd, `smtp_sink.py`) on loopback: `vitals digest
//! send` delivers the month's report — the HTML part carries the report's numbers, equal to
//! `vitals query`'s, with no script and only absolute links; the workbook attachment opens —
//! and `--dry-run` writes the same message to a file and sends nothing; credentials from the
//! environment reach the server; a down server is a clear error; a team digest reports the
//! team; `vitals serve` sends a due digest once, and not again after a `kill -9` and a
//! restart. The clock is `VITALS_NOW` (2026-07-15): the last complete month is June 2026.

mod common;
mod report_common;
#[path = "common/server.rs"]
mod server;
#[path = "common/smtp.rs"]
mod smtp;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use calamine::{Reader, Xlsx};
use report_common::{close, tags, value_in, Org, NOW};
use serde_json::Value;
use server::{Options, Server};
use smtp::{parse, Sink};

/// A generated organisation with a configuration whose `[smtp]` points at `port` and whose
/// one digest (`monthly`, every recipient below) runs on `schedule`.
fn org_with_digest(port: u16, schedule: &str) -> (Org, String) {
    let org = Org::new("600");
    let config = digest_config(&org, port, schedule, "");
    (org, config)
}

/// Writes the organisation's configuration with `[smtp]` at `port` and the digest (with
/// `extra` keys); its path.
fn digest_config(org: &Org, port: u16, schedule: &str, extra: &str) -> String {
    let generated = std::fs::read_to_string(&org.config).unwrap();
    let text = generated.replacen(
        "[reporting]\n",
        "[reporting]\npublic_url = \"https://vitals.example.com\"\n",
        1,
    ) + &format!(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"vitals <vitals@example.com>\"\ntimeout_secs = 20\n\n\
         [[digests]]\nname = \"monthly\"\nschedule = \"{schedule}\"\nrecipients = [\"lead@example.com\", \"Ops <ops@example.com>\"]\n{extra}\n"
    );
    assert!(text.contains("public_url"), "no [reporting] in {generated}");
    let config = org
        .dir
        .path()
        .join(format!("digests-{port}{}.toml", extra.len()));
    std::fs::write(&config, text).unwrap();
    config.display().to_string()
}

/// `vitals ARGS` at [`NOW`] with extra environment variables.
fn vitals(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vitals"));
    command
        .args(args)
        .env_remove("VITALS_DB")
        .env_remove("VITALS_SMTP_USER")
        .env_remove("VITALS_SMTP_PASSWORD")
        .env("VITALS_NOW", NOW);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn send(org: &Org, config: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec![
        "digest", "send", "monthly", "--db", &org.db, "--config", config,
    ];
    args.extend_from_slice(extra);
    vitals(args.as_slice(), env)
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

/// The `data-value` of `metric`'s June cell in the HTML.
fn june_value(html: &str, metric: &str) -> f64 {
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
        .find(|(name, a)| {
            name == "td" && a.get("data-month").map(String::as_str) == Some("2026-06")
        })
        .and_then(|(_, a)| a.get("data-value"))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no June value of {metric}"))
}

#[test]
fn a_digest_reaches_a_real_smtp_server_and_the_dry_run_writes_the_same_message() {
    let Some(sink) = Sink::start(None) else {
        return;
    };
    let (org, config) = org_with_digest(sink.port, "0 8 1 * *");
    let said = assert_ok(&send(&org, &config, &[], &[]));
    assert!(said.contains("sent digest monthly (2026-06)"), "{said}");
    let received = sink.wait_for(1);
    let envelope = sink.envelope(&received[0]);
    assert_eq!(
        envelope["rcpt_tos"],
        serde_json::json!(["lead@example.com", "ops@example.com"])
    );
    let mail = parse(&received[0]);
    assert!(
        mail["subject"].as_str().unwrap().contains("June 2026"),
        "{mail}"
    );
    assert_eq!(mail["idempotency_key"], "digest:monthly:2026-06");
    assert_eq!(mail["content_type"], "multipart/mixed");

    // The HTML part: the report's numbers, equal to `vitals query`'s; mail-safe.
    let html = mail["html"].as_str().expect("an HTML part");
    for unsafe_part in ["<script", "<form", "<input", "<img"] {
        assert!(
            !html.contains(unsafe_part),
            "{unsafe_part} in the mail's HTML"
        );
    }
    for metric in ["ticket_volume", "csat"] {
        let query = org.query(metric, &[], "2026-06-01", "2026-07-01");
        let expected = value_in(&query, &[], metric, "value").unwrap();
        let shown = june_value(html, metric);
        assert!(
            close(shown, expected),
            "{metric}: mail {shown}, query {expected}"
        );
    }
    let links: Vec<String> = tags(html)
        .into_iter()
        .filter_map(|(name, mut a)| (name == "a").then(|| a.remove("href")).flatten())
        .collect();
    assert!(!links.is_empty(), "the mail links to the dashboard");
    for link in &links {
        assert!(
            link.starts_with("https://vitals.example.com/"),
            "{link} is not absolute"
        );
    }
    let text = mail["text"].as_str().expect("a text part");
    assert!(
        text.contains("Customer service report — June 2026"),
        "{text}"
    );

    // The workbook attachment opens.
    let attachments = mail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{mail}");
    assert_eq!(attachments[0]["filename"], "vitals-report-2026-06.xlsx");
    let path = attachments[0]["path"].as_str().unwrap();
    let mut workbook: Xlsx<_> = calamine::open_workbook(path).expect("the workbook opens");
    assert!(workbook.sheet_names().iter().any(|s| s == "Metrics"));
    assert!(workbook.worksheet_range("Metrics").unwrap().height() > 10);

    // The dry run: the same message in a file, nothing sent.
    let eml = org.dir.path().join("digest.eml");
    let said = assert_ok(&send(
        &org,
        &config,
        &["--dry-run", "--out", &eml.display().to_string()],
        &[],
    ));
    assert!(said.contains("nothing was sent"), "{said}");
    let dry = parse(&eml);
    for key in [
        "subject",
        "message_id",
        "idempotency_key",
        "to",
        "text",
        "html",
    ] {
        assert_eq!(dry[key], mail[key], "{key} differs in the dry run");
    }
    assert_eq!(
        dry["attachments"][0]["filename"],
        attachments[0]["filename"]
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), 1, "the dry run sent nothing");
}

#[test]
fn credentials_come_from_the_environment_and_a_down_server_is_a_clear_error() {
    let Some(sink) = Sink::start(Some("digest-user:s3cret")) else {
        return;
    };
    let (org, config) = org_with_digest(sink.port, "0 8 1 * *");
    let refused = send(&org, &config, &[], &[]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "refused without credentials"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot send through the SMTP server 127.0.0.1:{}",
            sink.port
        )),
        "{stderr}"
    );
    let only_user = send(&org, &config, &[], &[("VITALS_SMTP_USER", "digest-user")]);
    assert_eq!(only_user.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&only_user.stderr).contains("VITALS_SMTP_PASSWORD is not"));
    let env = [
        ("VITALS_SMTP_USER", "digest-user"),
        ("VITALS_SMTP_PASSWORD", "s3cret"),
    ];
    assert_ok(&send(&org, &config, &[], &env));
    let received = sink.wait_for(1);
    assert_eq!(sink.envelope(&received[0])["login"], "digest-user");

    // Nothing listens on a port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = digest_config(&org, port, "0 8 1 * *", "");
    let out = send(&org, &down, &[], &[]);
    assert_eq!(out.status.code(), Some(1), "a user error, not a crash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot send through the SMTP server 127.0.0.1:{port}"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn serve_sends_a_due_digest_once_and_not_again_after_a_restart() {
    let Some(sink) = Sink::start(None) else {
        return;
    };
    // Due every minute: the latest run reports on June, which is sent once.
    let (org, config) = org_with_digest(sink.port, "* * * * *");
    let options = Options {
        args: vec!["--config", &config],
        now: Some(NOW),
    };
    let db = PathBuf::from(&org.db);
    let first = Server::start_with(&db, options.clone());
    first.wait_for_log("digest monthly: 2026-06 sent to");
    sink.wait_for(1);
    // No chance to clean up: what was sent is already in the store.
    first.kill9();
    let second = Server::start_with(&db, options);
    second.wait_for_log("digest monthly: 2026-06 was sent already");
    second.stop();
    let list = assert_ok(&vitals(
        &["digest", "list", "--db", &org.db, "--config", &config],
        &[],
    ));
    assert!(
        list.contains("2026-06 ("),
        "the last sent period is listed:\n{list}"
    );
    assert_eq!(sink.messages().len(), 1, "June was sent once");
}

#[test]
fn a_team_digest_reports_the_team() {
    let Some(sink) = Sink::start(None) else {
        return;
    };
    let org = Org::new("600");
    let config = digest_config(&org, sink.port, "0 8 1 * *", "team = \"tier2\"");
    let eml = org.dir.path().join("team.eml");
    let eml_s = eml.display().to_string();
    assert_ok(&send(&org, &config, &["--dry-run", "--out", &eml_s], &[]));
    let mail = parse(&eml);
    assert!(
        mail["subject"].as_str().unwrap().contains("team tier2"),
        "{mail}"
    );
    assert_eq!(
        mail["attachments"][0]["filename"],
        "vitals-report-2026-06-tier2.xlsx"
    );
    let query = assert_ok(&vitals(
        &[
            "query",
            "--db",
            &org.db,
            "--config",
            &org.config,
            "--json",
            "--metric",
            "ticket_volume",
            "--from",
            "2026-06-01",
            "--to",
            "2026-07-01",
            "--filter",
            "ticket:team=tier2",
        ],
        &[],
    ));
    let query: Value = serde_json::from_str(&query).unwrap();
    let expected = value_in(&query, &[], "ticket_volume", "value").unwrap();
    let shown = june_value(mail["html"].as_str().unwrap(), "ticket_volume");
    assert!(
        close(shown, expected),
        "tier2's June: mail {shown}, query {expected}"
    );
    assert_eq!(sink.messages().len(), 0, "a dry run sends nothing");
}
