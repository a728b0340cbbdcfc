//! Alerts in `vitals serve`, end to end on loopback: a receiver that fails twice then succeeds
//! gets exactly one delivery, every attempt with the same idempotency key, and the retries are
//! visible in `GET /api/v1/alerts`; after `kill -9` between evaluation and delivery the alert is
//! delivered after restart, once; `GET /api/v1/anomalies` answers; records ingested through the
//! API are evaluated once ingest went quiet for the debounce — long before the schedule — and a
//! burst of commits makes one evaluation that sees all of them.

mod common;
#[path = "common/receiver.rs"]
mod receiver;
#[path = "common/server.rs"]
mod server;

use common::{write_csv, Workspace};
use receiver::Receiver;
use server::{fresh, get, ticket, Options, Server};

const NOW: &str = "2026-03-02T12:00:00Z";

/// A store with ten tickets on 2 March and a rule that fires at once when served then.
fn store(hook: &str) -> (Workspace, String) {
    let ws = Workspace::new();
    let rows: Vec<String> = (0..10)
        .map(|i| format!("T{i},2026-03-02T09:{i:02}:00Z,email"))
        .collect();
    write_csv(&ws.data(), "tickets", "ticket_id,created_at,channel", &rows);
    let config = ws.import_with_config(&format!(
        "[alerting]\ninterval = \"1h\"\n\n[[alerts]]\nname = \"busy\"\nmetric = \"ticket_volume\"\n\
         condition = \"above\"\nthreshold = 5\n[[alerts.channels]]\ntype = \"webhook\"\nurl = \"{hook}\"\n"
    ));
    (ws, config)
}

fn serve(ws: &Workspace, config: &str, now: &str) -> Server {
    Server::start_with(
        std::path::Path::new(&ws.db()),
        Options {
            args: vec!["--config", config],
            now: Some(now),
        },
    )
}

fn keys(hook: &Receiver) -> Vec<String> {
    hook.received()
        .iter()
        .map(|r| r.header("idempotency-key").expect("a key").to_string())
        .collect()
}

#[test]
fn a_receiver_that_fails_twice_gets_exactly_one_delivery_with_a_stable_key() {
    let hook = Receiver::start(2);
    let (ws, config) = store(&hook.url);
    let server = serve(&ws, &config, NOW);
    let token = server.admin();
    hook.wait_for("an accepted delivery", |r| r.iter().any(|r| r.accepted));
    let got = hook.received();
    assert_eq!(got.len(), 3, "two refusals, then the delivery: {got:#?}");
    assert_eq!(hook.accepted().len(), 1);
    let keys = keys(&hook);
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "every attempt sends the same body"
    );
    let alerts = get(&server.url("/api/v1/alerts"), Some(&token))
        .expect(200)
        .json();
    assert_eq!(alerts["states"][0]["state"], "firing", "{alerts:#}");
    assert_eq!(alerts["history"].as_array().unwrap().len(), 1, "{alerts:#}");
    let delivery = &alerts["deliveries"][0];
    assert_eq!(delivery["key"], keys[0].as_str());
    assert_eq!(delivery["attempts"], 3, "{alerts:#}");
    assert!(delivery["delivered_us"].is_i64(), "{alerts:#}");
    assert!(delivery["last_error"]
        .as_str()
        .unwrap_or_default()
        .contains("503"));
    let anomalies = get(
        &server.url("/api/v1/anomalies?metrics=ticket_volume,csat&by=ticket:channel"),
        Some(&token),
    )
    .expect(200)
    .json();
    assert_eq!(anomalies["metrics"][1], "csat");
    assert!(anomalies["anomalies"].is_array());
    let unknown = get(
        &server.url("/api/v1/anomalies?metrics=tiket_volume"),
        Some(&token),
    );
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(unknown.error_code(), "unknown_metric");
    server.stop();
    assert_eq!(hook.accepted().len(), 1);
}

#[test]
fn a_server_killed_between_evaluation_and_delivery_delivers_after_restart_and_not_twice() {
    let hook = Receiver::start(0);
    hook.closed.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ws, config) = store(&hook.url);
    let first = serve(&ws, &config, NOW);
    let token = first.admin();
    // The evaluation is stored and a delivery was tried (and refused): kill it there.
    hook.wait_for("a refused attempt", |r| !r.is_empty());
    first.kill9();
    hook.closed
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let second = serve(&ws, &config, NOW);
    hook.wait_for("the delivery after restart", |r| {
        r.iter().any(|r| r.accepted)
    });
    let alerts = get(&second.url("/api/v1/alerts"), Some(&token))
        .expect(200)
        .json();
    assert_eq!(
        alerts["history"].as_array().unwrap().len(),
        1,
        "one message decided: {alerts:#}"
    );
    second.stop();
    // A third run, a minute later, evaluates again: the alert is still firing, within its
    // cooldown, so nothing more is sent.
    let third = serve(&ws, &config, "2026-03-02T12:01:00Z");
    let evaluated = "2026-03-02T12:01:00Z";
    let wanted = chrono::DateTime::parse_from_rfc3339(evaluated)
        .unwrap()
        .timestamp_micros();
    for _ in 0..1200 {
        let alerts = get(&third.url("/api/v1/alerts"), Some(&token))
            .expect(200)
            .json();
        if alerts["states"][0]["evaluated_us"].as_i64() == Some(wanted) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let alerts = get(&third.url("/api/v1/alerts"), Some(&token))
        .expect(200)
        .json();
    assert_eq!(
        alerts["states"][0]["evaluated_us"].as_i64(),
        Some(wanted),
        "{alerts:#}"
    );
    third.stop();
    assert_eq!(hook.accepted().len(), 1, "{:#?}", hook.received());
    let keys = keys(&hook);
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
}

/// `vitals_alert_evaluations_total` of `trigger` in `/metrics`.
fn evaluations(server: &Server, token: &str, trigger: &str) -> f64 {
    server.metric(
        token,
        &format!("vitals_alert_evaluations_total{{trigger=\"{trigger}\"}}"),
    )
}

#[test]
fn a_burst_of_commits_is_evaluated_once_after_the_debounce_not_at_the_schedule() {
    let hook = Receiver::start(0);
    let (dir, db) = fresh();
    let config = dir.path().join("vitals.toml");
    // The schedule is an hour away: an alert this test sees came from the commits.
    std::fs::write(
        &config,
        format!(
            "[alerting]\ninterval = \"1h\"\ndebounce = \"2s\"\n\n[[alerts]]\nname = \"busy\"\n\
             metric = \"ticket_volume\"\ncondition = \"above\"\nthreshold = 5\n\
             [[alerts.channels]]\ntype = \"webhook\"\nurl = \"{}\"\n",
            hook.url
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let server = Server::start_with(
        &db,
        Options {
            args: vec!["--config", &config],
            now: Some(NOW),
        },
    );
    let admin = server.admin();
    for _ in 0..1200 {
        if evaluations(&server, &admin, "start") == 1.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        evaluations(&server, &admin, "start"),
        1.0,
        "{}",
        server.log()
    );
    assert_eq!(evaluations(&server, &admin, "commit"), 0.0);
    assert!(
        hook.received().is_empty(),
        "nothing fires on an empty store"
    );
    // A burst: four commits of two tickets each, one after the other, each acknowledged.
    for c in 0..4 {
        let tickets = [
            ticket(&format!("b{c}a"), "2026-03-02T09:00:00Z", "email"),
            ticket(&format!("b{c}b"), "2026-03-02T10:00:00Z", "chat"),
        ];
        let answer = server.ingest(&admin, "tickets", &tickets).expect(200);
        assert_eq!(answer.json()["accepted"], 2);
    }
    hook.wait_for("the alert after the burst", |r| {
        r.iter().any(|r| r.accepted)
    });
    let sent = hook.accepted();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let body = sent[0].json();
    assert_eq!(
        (body["rule"].as_str(), body["status"].as_str()),
        (Some("busy"), Some("firing"))
    );
    assert_eq!(
        body["value"], 8.0,
        "the one evaluation saw every commit of the burst: {body:#}"
    );
    assert_eq!(
        evaluations(&server, &admin, "commit"),
        1.0,
        "one evaluation for the burst"
    );
    assert_eq!(evaluations(&server, &admin, "schedule"), 0.0);
    let alerts = get(&server.url("/api/v1/alerts"), Some(&admin))
        .expect(200)
        .json();
    assert_eq!(alerts["states"][0]["state"], "firing", "{alerts:#}");
    assert_eq!(alerts["states"][0]["value"], 8.0, "{alerts:#}");
    assert_eq!(alerts["history"].as_array().unwrap().len(), 1, "{alerts:#}");
    server.stop();
}
