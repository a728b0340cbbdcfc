//! End-to-end tests of `vitals serve`'s budgets at the connection and request level (issue
//! 22): clients that send their headers slowly, connections left idle and bodies that stall
//! are closed; a query past its time budget is stopped; a query whose client disconnects is
//! interrupted; a request that failed or ran long is never warmed again unasked, and the warm
//! list stays bounded.

mod common;
#[path = "common/server.rs"]
mod server;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::{fresh, get, march, post, ticket, Options, Server};

/// `host:port` of a server.
fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Whether the server closed `stream` within `within` (end of stream or a reset), reading
/// and discarding whatever it sent first.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(10))))
            .unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn slow_idle_and_stalling_clients_are_closed() {
    let (_dir, db) = fresh();
    let server = Server::start_with(
        &db,
        Options {
            args: vec!["--header-timeout-secs", "1", "--body-timeout-secs", "1"],
            now: None,
        },
    );
    let admin = server.admin();
    let addr = address(&server);
    // Slowloris: 40 clients send part of their headers and then nothing.
    let mut slow: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    // The server answers others meanwhile.
    get(&server.url("/healthz"), None).expect(200);
    let started = Instant::now();
    let closed = slow
        .iter_mut()
        .map(|s| closed_within(s, Duration::from_secs(5)))
        .filter(|closed| *closed)
        .count();
    assert_eq!(closed, 40, "{closed} of 40 slow clients closed");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A kept-alive connection left idle after its answer is closed.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(5)),
        "idle connection kept open"
    );

    // A body that stalls halfway: the request is cut off and answered or closed.
    let mut stalled = TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /api/v1/records/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{{\"ticket_id\""
    );
    stalled.write_all(head.as_bytes()).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stalled.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "a stalled body got: {answer}"
    );
    get(&server.url("/healthz"), None).expect(200);
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

/// A store with a generated organisation; the configuration's path.
fn generated_store() -> (common::Workspace, String) {
    let ws = common::Workspace::new();
    let config = common::generated(&ws, 3000, 4, "2026-01-01", 7);
    (ws, config)
}

/// A heavy request: many metrics, by day and by agent over the whole store.
fn heavy() -> Value {
    json!({"metrics": ["ticket_volume", "first_response_time:p90", "resolution_time:median",
                       "fcr", "reopen_rate", "interactions_per_ticket", "csat", "nps",
                       "first_response_time:business_median", "resolution_time:business_p90"],
           "by": ["time:day", "ticket:agent", "ticket:channel"],
           "from": "2026-01-01", "to": "2026-05-01", "compare": "previous"})
}

#[test]
fn a_query_past_its_budget_is_stopped_and_a_departed_clients_query_is_interrupted() {
    let (ws, config) = generated_store();
    let db = std::path::PathBuf::from(ws.db());
    // A budget of a millisecond: every query runs past it.
    let server = Server::start_with(
        &db,
        Options {
            args: vec!["--config", &config, "--query-timeout-secs", "0.001"],
            now: None,
        },
    );
    let admin = server.admin();
    let answer = post(
        &server.url("/api/v1/query"),
        Some(&admin),
        &heavy().to_string(),
    );
    let answer = answer.expect(503);
    assert_eq!(answer.error_code(), "query_timeout");
    assert!(answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("query_timeout_secs"));
    assert!(
        server.metric(
            &admin,
            "vitals_queries_interrupted_total{reason=\"timeout\"}"
        ) >= 1.0
    );
    // The timed-out request is not kept for warming.
    server.stop();
    let warm = std::fs::read_to_string(format!("{}.warm.json", ws.db())).unwrap_or_default();
    assert!(!warm.contains("resolution_time:business_p90"), "{warm}");

    // Without a budget, a client that disconnects mid-query gets its query interrupted: the
    // engine stops, rather than computing an answer nobody will read.
    let server = Server::start_with(
        &db,
        Options {
            args: vec!["--config", &config, "--query-timeout-secs", "0"],
            now: None,
        },
    );
    let addr = address(&server);
    let gone = "vitals_queries_interrupted_total{reason=\"client_gone\"}";
    let mut interrupted = false;
    for attempt in 0..5 {
        // Another period each time, so no answer comes from the cache.
        let mut request = heavy();
        request["from"] = Value::String(format!("2026-01-0{}", attempt + 1));
        let body = request.to_string();
        let mut client = TcpStream::connect(&addr).unwrap();
        let head = format!(
            "POST /api/v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        client.write_all(head.as_bytes()).unwrap();
        client.write_all(body.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        drop(client);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !interrupted {
            interrupted = server.metric(&admin, gone) >= 1.0;
            std::thread::sleep(Duration::from_millis(100));
        }
        if interrupted {
            break;
        }
    }
    assert!(
        interrupted,
        "no query was interrupted when its client left:\n{}",
        server.log()
    );
    // The server goes on answering.
    server.query(&admin, &march(&["ticket_volume"]));
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[test]
fn a_poison_request_in_the_warm_list_is_refused_dropped_and_never_replayed() {
    let (_dir, db) = fresh();
    let server = Server::start(&db);
    let admin = server.admin();
    server
        .ingest(
            &admin,
            "tickets",
            &[ticket("p1", "2026-03-02T09:00:00Z", "email")],
        )
        .expect(200);
    server.stop();
    // A list as a poisoned server might have left it: a request over the limits, a request
    // that is not one, and far more than the list keeps.
    let poison = json!({"metrics": ["ticket_volume"], "by": ["time:day"],
                        "from": "1900-01-01", "to": "2199-12-31"})
    .to_string();
    let mut list = vec![poison.clone(), "not a request".to_string()];
    for day in 1..=28 {
        for channel in ["email", "chat", "phone"] {
            list.push(
                json!({"metrics": ["ticket_volume"], "from": format!("2026-02-{day:02}"),
                       "to": "2026-04-01",
                       "filters": [{"dimension": "ticket:channel", "is": [channel]}]})
                .to_string(),
            );
        }
    }
    let file = std::path::PathBuf::from(format!("{db}.warm.json"));
    std::fs::write(&file, serde_json::to_string(&list).unwrap()).unwrap();
    let server = Server::start(&db);
    let deadline = Instant::now() + Duration::from_secs(30);
    let kept: Vec<String> = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let kept: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
        if !kept.is_empty() && !kept.contains(&poison) {
            break kept;
        }
        assert!(
            Instant::now() < deadline,
            "the poison stayed listed: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(kept.len() <= 64, "{} requests kept", kept.len());
    assert!(!kept.iter().any(|k| k == "not a request"));
    // The server is well and answers.
    let answer = server.query(&admin, &march(&["ticket_volume"]));
    assert_eq!(server::total(&answer, "ticket_volume").1, 1);
    // A request refused by a limit when asked is not listed either.
    let refused = post(&server.url("/api/v1/query"), Some(&admin), &poison);
    assert_eq!(refused.expect(422).error_code(), "limit_exceeded");
    server.stop();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("2199-12-31"), "{text}");
}
