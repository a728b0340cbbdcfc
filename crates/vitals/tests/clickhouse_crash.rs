//! `kill -9` of a ClickHouse-backed `vitals serve` during ingest (issue 23): several writers
//! stream records through the API with an ingest token; the server is killed with SIGKILL
//! mid-stream and restarted on the same database; every record whose request was
//! acknowledged (2xx) is there, with its facts derived, and a batch sent again changes
//! nothing. The ClickHouse is a real one on loopback (`tests/clickhouse/chserver.py`, as in
//! `clickhouse_agreement.rs`): without chdb the test says so and passes, except under
//! `CI=true`, where it fails.

#[allow(dead_code)]
mod clickhouse;
mod common;
#[path = "common/server.rs"]
mod server;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::{assert_acknowledged_survived, event, get, ticket, try_call, Answer, Server};

/// Concurrent writers.
const WRITERS: usize = 6;
/// Tickets per request (each with two events, sent in a second request).
const PER: usize = 10;
/// Acknowledged records after which the server is killed.
const KILL_AFTER: usize = 600;

/// Posts NDJSON; `Err` when no HTTP answer came.
fn send(base: &str, token: &str, entity: &str, lines: &[Value]) -> Result<Answer, String> {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    try_call(
        "POST",
        &format!("{base}/api/v1/records/{entity}"),
        Some(token),
        Some(&body),
        &[("Content-Type", "application/x-ndjson")],
    )
}

/// Writer `w`'s request `r`: `PER` tickets, and for each a customer message and an agent
/// reply a few minutes later.
fn batch(w: usize, r: usize) -> (Vec<Value>, Vec<Value>) {
    let (mut tickets, mut events) = (Vec::new(), Vec::new());
    for k in 0..PER {
        let id = format!("w{w}-r{r}-k{k}");
        let day = 1 + (w + r + k) % 28;
        let created = format!("2026-03-{day:02}T09:00:00Z");
        tickets.push(ticket(
            &id,
            &created,
            if k % 2 == 0 { "email" } else { "chat" },
        ));
        events.push(event(&format!("{id}-a"), &id, &created, "customer"));
        events.push(event(
            &format!("{id}-b"),
            &id,
            &format!("2026-03-{day:02}T09:{:02}:00Z", 1 + k % 50),
            "agent",
        ));
    }
    (tickets, events)
}

/// March 2026's ticket volume, through `vitals query` on the store.
fn stored_tickets(db: &str) -> u64 {
    let out = common::ok(&[
        "query",
        "--db",
        db,
        "--metric",
        "ticket_volume",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--tz",
        "UTC",
        "--json",
    ]);
    let answer: Value = serde_json::from_str(&out).expect("query JSON");
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .find_map(|r| r["metrics"]["ticket_volume"]["value"].as_f64())
        .unwrap_or(0.0) as u64
}

#[test]
fn kill_9_of_a_clickhouse_backed_server_during_ingest_loses_no_acknowledged_record() {
    let Some(clickhouse) = clickhouse::Servers::start(1) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::store::clickhouse_store(&clickhouse.urls[0], dir.path(), "crash");
    let server = Server::start(&db);
    let admin = server.admin();
    let (ingest, _) = server.token(&admin, &["ingest"]);

    let acked_tickets = Mutex::new(BTreeSet::<String>::new());
    let acked_events = Mutex::new(Vec::<(String, String)>::new());
    let first_acked = Mutex::new(None::<Vec<Value>>);
    let acked_records = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (base, ingest) = (server.base.clone(), ingest.clone());
            let (acked_tickets, acked_events, acked_records, stop, first_acked) = (
                &acked_tickets,
                &acked_events,
                &acked_records,
                &stop,
                &first_acked,
            );
            scope.spawn(move || {
                for r in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let (tickets, events) = batch(w, r);
                    match send(&base, &ingest, "tickets", &tickets) {
                        Ok(a) if (200..300).contains(&a.status) => {
                            assert_eq!(a.json()["accepted"], PER, "{}", a.body);
                            acked_tickets.lock().unwrap().extend(
                                tickets
                                    .iter()
                                    .map(|t| t["ticket_id"].as_str().unwrap().to_string()),
                            );
                            first_acked
                                .lock()
                                .unwrap()
                                .get_or_insert_with(|| tickets.clone());
                            acked_records.fetch_add(PER, Ordering::SeqCst);
                        }
                        Ok(a) if a.status == 503 => continue,
                        Ok(a) => panic!("status {}: {}", a.status, a.body),
                        Err(_) => return, // the server is gone
                    }
                    match send(&base, &ingest, "ticket_events", &events) {
                        Ok(a) if (200..300).contains(&a.status) => {
                            acked_events.lock().unwrap().extend(events.iter().map(|e| {
                                (
                                    e["ticket_id"].as_str().unwrap().to_string(),
                                    e["event_id"].as_str().unwrap().to_string(),
                                )
                            }));
                            acked_records.fetch_add(2 * PER, Ordering::SeqCst);
                        }
                        Ok(a) if a.status == 503 => continue,
                        Ok(a) => panic!("status {}: {}", a.status, a.body),
                        Err(_) => return,
                    }
                }
            });
        }
        // Kill once a good number of records is acknowledged, with the writers still sending.
        while acked_records.load(Ordering::SeqCst) < KILL_AFTER {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "ingest too slow: {} records acknowledged in 300 s",
                acked_records.load(Ordering::SeqCst)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(server.pid() as i32, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::SeqCst);
    });
    server.kill9();

    let tickets = acked_tickets.into_inner().unwrap();
    let events = acked_events.into_inner().unwrap();
    assert!(
        tickets.len() >= 100,
        "too few acknowledged: {}",
        tickets.len()
    );

    // Restarted on the same database: the tokens are there, and so is every acknowledged
    // record, with its facts.
    let again = Server::start(&db);
    let stored = stored_tickets(&db);
    assert!(
        stored >= tickets.len() as u64,
        "{stored} tickets stored, {} acknowledged",
        tickets.len()
    );
    assert_acknowledged_survived(&again, &admin, &tickets, &events);

    // A batch sent again (an acknowledged one, as a client that never saw its answer would)
    // changes nothing: the same tickets, each event once.
    let resent = first_acked
        .into_inner()
        .unwrap()
        .expect("an acknowledged batch");
    let answer = send(&again.base, &ingest, "tickets", &resent).expect("an answer");
    assert!((200..300).contains(&answer.status), "{answer:?}");
    let (_, resent_events) = {
        let id = resent[0]["ticket_id"].as_str().unwrap();
        let mut parts = id.trim_start_matches('w').split("-r");
        let w: usize = parts.next().unwrap().parse().unwrap();
        let r: usize = parts
            .next()
            .unwrap()
            .split("-k")
            .next()
            .unwrap()
            .parse()
            .unwrap();
        batch(w, r)
    };
    for _ in 0..2 {
        let answer =
            send(&again.base, &ingest, "ticket_events", &resent_events).expect("an answer");
        assert!((200..300).contains(&answer.status), "{answer:?}");
    }
    let volume = again.query(
        &admin,
        &json!({"metrics": ["ticket_volume"], "from": "2026-03-01", "to": "2026-04-01", "timezone": "UTC"}),
    );
    let after = server::total(&volume, "ticket_volume").0.unwrap_or(0.0) as u64;
    assert_eq!(after, stored, "a batch sent again changed the ticket count");
    assert_eq!(stored_tickets(&db), stored);
    for t in &resent {
        let id = t["ticket_id"].as_str().unwrap();
        let detail = get(&again.url(&format!("/api/v1/tickets/{id}")), Some(&admin))
            .expect(200)
            .json();
        let timeline = detail["timeline"].as_array().unwrap();
        for suffix in ["a", "b"] {
            let event_id = format!("{id}-{suffix}");
            assert_eq!(
                timeline
                    .iter()
                    .filter(|e| e["event_id"] == event_id.as_str())
                    .count(),
                1,
                "event {event_id} not exactly once after being sent again: {detail}"
            );
        }
        assert!(detail["facts"]["frt_secs"].is_number(), "{detail}");
    }
    eprintln!(
        "ClickHouse: kill -9 after {} acknowledged tickets and {} events; {stored} tickets stored",
        tickets.len(),
        events.len()
    );
    again.stop();
}
