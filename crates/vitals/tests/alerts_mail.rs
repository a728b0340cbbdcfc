//! Alert e-mail end to end, with a real SMTP server (aiosmtpd) on loopback: `vitals serve`
//! mails a firing rule's message through `[smtp]` — subject, text and HTML with the link to
//! the dashboard — once, with the outbox row's idempotency key as the mail's key; a rule with
//! an `email` channel and no `[smtp]`, or a recipient that is not an address, is refused when
//! the configuration loads.

mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/smtp.rs"]
mod smtp;

use common::{vitals, write_csv, Workspace};
use server::{get, Options, Server};
use smtp::{parse, Sink};

const NOW: &str = "2026-03-02T12:00:00Z";

/// The rule of these tests: more than five tickets today, mailed to `channel`'s recipients.
fn rule(channel: &str) -> String {
    format!(
        "[alerting]\ninterval = \"1h\"\ndashboard_url = \"https://vitals.example.com\"\n\n\
         [[alerts]]\nname = \"busy\"\nmetric = \"ticket_volume\"\ncondition = \"above\"\n\
         threshold = 5\n[[alerts.channels]]\ntype = \"email\"\n{channel}\n"
    )
}

fn smtp(port: u16) -> String {
    format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         from = \"vitals <vitals@example.com>\"\ntimeout_secs = 20\n\n"
    )
}

/// A store with ten tickets on 2 March, imported with `config`; the configuration's path.
fn store(config: &str) -> (Workspace, String) {
    let ws = Workspace::new();
    let rows: Vec<String> = (0..10)
        .map(|i| format!("T{i},2026-03-02T09:{i:02}:00Z,email"))
        .collect();
    write_csv(&ws.data(), "tickets", "ticket_id,created_at,channel", &rows);
    let path = ws.import_with_config(config);
    (ws, path)
}

#[test]
fn a_firing_rule_is_mailed_once_with_its_idempotency_key() {
    let Some(sink) = Sink::start(None) else {
        return;
    };
    let config = smtp(sink.port) + &rule("to = [\"lead@example.com\", \"Ops <ops@example.com>\"]");
    let (ws, config) = store(&config);
    let server = Server::start_with(
        std::path::Path::new(&ws.db()),
        Options {
            args: vec!["--config", &config],
            now: Some(NOW),
        },
    );
    let token = server.admin();
    let received = sink.wait_for(1);
    let mail = parse(&received[0]);
    let subject = mail["subject"].as_str().unwrap();
    assert!(subject.contains("busy"), "{mail:#}");
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("condition: above"), "{text}");
    let html = mail["html"].as_str().unwrap();
    assert!(
        html.contains("href=\"https://vitals.example.com"),
        "the HTML links to the dashboard: {html}"
    );
    let envelope = sink.envelope(&received[0]);
    let recipients = envelope["rcpt_tos"].to_string();
    assert!(
        recipients.contains("lead@example.com") && recipients.contains("ops@example.com"),
        "{envelope:#}"
    );
    let alerts = get(&server.url("/api/v1/alerts"), Some(&token))
        .expect(200)
        .json();
    let delivery = &alerts["deliveries"][0];
    assert_eq!(delivery["kind"], "email", "{alerts:#}");
    assert!(delivery["delivered_us"].is_i64(), "{alerts:#}");
    assert_eq!(
        mail["idempotency_key"], delivery["key"],
        "the mail carries the outbox row's key"
    );
    assert!(mail["message_id"].as_str().is_some_and(|m| !m.is_empty()));
    server.stop();
    assert_eq!(sink.messages().len(), 1, "mailed once");
}

#[test]
fn an_email_channel_needs_smtp_and_addresses() {
    let ws = Workspace::new();
    let check = |text: &str| {
        let path = ws.dir.path().join("check.toml");
        std::fs::write(&path, text).unwrap();
        let out = vitals(&["--config", &path.display().to_string(), "config"]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = check(&rule("to = [\"lead@example.com\"]"));
    assert!(!ok && err.contains("[smtp]"), "{err}");
    let (ok, err) = check(&(smtp(2525) + &rule("to = [\"lead at example\"]")));
    assert!(!ok && err.contains("not a mail address"), "{err}");
    let (ok, err) = check(&(smtp(2525) + &rule("to = []")));
    assert!(!ok && err.contains("at least one recipient"), "{err}");
    let (ok, err) = check(&(smtp(2525) + &rule("to = [\"lead@example.com\"]")));
    assert!(ok, "{err}");
}
