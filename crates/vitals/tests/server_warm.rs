//! End-to-end tests of the result cache's refresh-ahead (`vitals serve`): after a commit the
//! queries asked most recently are computed again in the background, so their next asking is
//! a cache hit with the new data; a restarted server warms the same queries before anyone
//! asks them. `POST /api/v1/why` answers are cached too, until the next commit.

mod common;
#[path = "common/server.rs"]
mod server;

use std::time::{Duration, Instant};

use serde_json::Value;
use server::{fresh, march, post, ticket, total, Server};

/// Waits until the warmer has computed `at_least` answers in all.
fn wait_warmed(server: &Server, token: &str, at_least: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.metric(token, "vitals_query_cache_warmed_total") < at_least {
        assert!(
            Instant::now() < deadline,
            "the warmer did not run:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn volume(answer: &Value) -> Option<f64> {
    total(answer, "ticket_volume").0
}

#[test]
fn after_a_commit_and_after_a_restart_recent_queries_are_answered_from_the_cache() {
    let (_dir, db) = fresh();
    let server = Server::start(&db);
    let admin = server.admin();
    let request = march(&["ticket_volume"]);
    assert_eq!(volume(&server.query(&admin, &request)), Some(0.0));

    // A commit empties the cache; the warmer computes the recent query again, with the new
    // ticket, before it is asked.
    let warmed = server.metric(&admin, "vitals_query_cache_warmed_total");
    server
        .ingest(
            &admin,
            "tickets",
            &[ticket("w1", "2026-03-02T09:00:00Z", "email")],
        )
        .expect(200);
    wait_warmed(&server, &admin, warmed + 1.0);
    let hits = server.metric(&admin, "vitals_query_cache_hits_total");
    assert_eq!(volume(&server.query(&admin, &request)), Some(1.0));
    assert_eq!(
        server.metric(&admin, "vitals_query_cache_hits_total"),
        hits + 1.0,
        "the answer came from the cache"
    );

    // The list of recent queries outlives the process.
    server.stop();
    assert!(std::path::Path::new(&db)
        .with_extension("duckdb.warm.json")
        .exists());
    let restarted = Server::start(&db);
    wait_warmed(&restarted, &admin, 1.0);
    assert_eq!(volume(&restarted.query(&admin, &request)), Some(1.0));
    assert_eq!(
        restarted.metric(&admin, "vitals_query_cache_hits_total"),
        1.0
    );
    assert_eq!(
        restarted.metric(&admin, "vitals_query_cache_misses_total"),
        0.0
    );
}

#[test]
fn why_answers_are_cached_until_a_commit() {
    let (_dir, db) = fresh();
    let server = Server::start(&db);
    let admin = server.admin();
    let march_ticket = |id: &str| ticket(id, "2026-03-02T09:00:00Z", "email");
    server
        .ingest(&admin, "tickets", &[march_ticket("m1")])
        .expect(200);
    let request = r#"{"metric": "ticket_volume", "from": "2026-03-01", "to": "2026-04-01", "timezone": "UTC"}"#;
    let why = || {
        post(&server.url("/api/v1/why"), Some(&admin), request)
            .expect(200)
            .json()
    };
    let hits = server.metric(&admin, "vitals_query_cache_hits_total");
    let first = why();
    assert_eq!(first["value"], 1.0);
    assert_eq!(why(), first);
    assert_eq!(
        server.metric(&admin, "vitals_query_cache_hits_total"),
        hits + 1.0,
        "the second answer came from the cache"
    );
    // A commit empties the cache: the next answer has the new ticket.
    server
        .ingest(&admin, "tickets", &[march_ticket("m2")])
        .expect(200);
    assert_eq!(why()["value"], 2.0);
    assert_eq!(
        server.metric(&admin, "vitals_query_cache_hits_total"),
        hits + 1.0
    );
}
