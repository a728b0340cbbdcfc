//! The API property test (issue 22): generated requests — the real shapes of every route's
//! parameters and bodies, filled with hostile values (huge, negative, out of range, unicode,
//! NUL, deeply nested, the wrong type) — against a running `vitals serve`, with and without a
//! token. Whatever is sent: never a 5xx, never a panic in the server's log, and every error of
//! the API in the JSON error shape. `VITALS_PROPERTY_CASES` sets the number of requests
//! (default 3 000) and `VITALS_PROPERTY_SEED` the seed (default 22), so a failure repeats.

mod common;
#[path = "common/server.rs"]
mod server;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use server::{fresh, march, ticket, try_call, Answer, Server};

/// Scalar values that have broken parsers and planners elsewhere. Huge ones stay under the
/// HTTP layer's URI limit (64 KiB, answered 414 by hyper before vitals sees the request)
/// once percent-encoded in a URL.
fn hostile_text(rng: &mut StdRng) -> String {
    const TEXTS: &[&str] = &[
        "",
        "0",
        "-1",
        "1",
        "4294967295",
        "4294967296",
        "18446744073709551616",
        "-9223372036854775809",
        "NaN",
        "inf",
        "-inf",
        "1e309",
        "-0",
        "0.0000001",
        "-262143-01-01",
        "+262142-12-31",
        "99999-12-31",
        "9999-12",
        "0000-00-00",
        "2026-02-30",
        "2026-03-01",
        "2026-13",
        "2026-03",
        "1900-01-01",
        "2199-12-31",
        "2026-03-01T25:61:61Z",
        "9999-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "\u{0}",
        "a\u{0}b",
        "é",
        "𝔘𝔫𝔦",
        "\u{202e}",
        "' OR 1=1 --",
        "\"; DROP TABLE tickets; --",
        "../../etc/passwd",
        "%00",
        "%FF",
        "=HYPERLINK(1)",
        "ticket:channel",
        "time:day",
        "time:century",
        "csat",
        "csat:p101",
        "first_response_time:p90",
        "Europe/Helsinki",
        "Mars/Olympus",
        "UTC",
        "previous",
        "yoy",
        "breached",
        "at_risk",
        "xlsx",
        "html",
        "pdf",
        "read",
        "admin",
        "{}",
        "[]",
        "null",
        "true",
    ];
    match rng.gen_range(0..10) {
        0 => "A".repeat(rng.gen_range(1_000..20_000)),
        1 => (0..rng.gen_range(1..40))
            .map(|_| char::from_u32(rng.gen_range(0..0x3_0000)).unwrap_or('?'))
            .collect(),
        _ => TEXTS[rng.gen_range(0..TEXTS.len())].to_string(),
    }
}

/// A JSON value of any type, sometimes deeply nested.
fn hostile_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..12) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(rng.gen::<f64>() * 1e300),
        4 => json!(u64::MAX),
        5 if depth < 3 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| hostile_value(rng, depth + 1))
                .collect(),
        ),
        6 if depth < 3 => {
            json!({ "id": hostile_value(rng, depth + 1), "stat": hostile_value(rng, depth + 1) })
        }
        7 => {
            // Nesting deeper than any parser should follow.
            let n = rng.gen_range(100..5_000);
            serde_json::from_str(&format!("{}{}", "[".repeat(n), "]".repeat(n)))
                .unwrap_or(Value::Null)
        }
        _ => Value::String(hostile_text(rng)),
    }
}

/// Either a hostile value or a plausible one for a field.
fn field(rng: &mut StdRng, plausible: Value) -> Value {
    if rng.gen_bool(0.5) {
        plausible
    } else {
        hostile_value(rng, 0)
    }
}

/// A query body: the request's real fields with hostile values, sometimes a drill-down.
fn query_body(rng: &mut StdRng) -> String {
    let mut body = json!({
        "metrics": field(rng, json!(["ticket_volume", "first_response_time:p90"])),
        "by": field(rng, json!(["time:month", "ticket:channel"])),
        "filters": field(rng, json!([{"dimension": "ticket:channel", "is": ["email"]}])),
        "from": field(rng, json!("2026-03-01")),
        "to": field(rng, json!("2026-04-01")),
        "timezone": field(rng, json!("Europe/Helsinki")),
        "compare": field(rng, json!("previous")),
    });
    if rng.gen_bool(0.3) {
        body["records"] = field(rng, json!(true));
        body["cell"] = field(rng, json!({"ticket:channel": "email"}));
        body["page"] = field(rng, json!(1));
        body["page_size"] = field(rng, json!(50));
    }
    if rng.gen_bool(0.1) {
        body[hostile_text(rng)] = hostile_value(rng, 0);
    }
    body.to_string()
}

/// A "why did it move" body: its real fields with hostile values.
fn why_body(rng: &mut StdRng) -> String {
    json!({
        "metric": field(rng, json!("csat")),
        "by": field(rng, json!(["ticket:channel"])),
        "filters": field(rng, json!([{"dimension": "ticket:channel", "is": ["email"]}])),
        "from": field(rng, json!("2026-03-01")),
        "to": field(rng, json!("2026-04-01")),
        "timezone": field(rng, json!("UTC")),
        "vs": field(rng, json!("previous")),
        "min_support": field(rng, json!(30)),
    })
    .to_string()
}

/// An ingest body: NDJSON or a JSON array of records with hostile values.
fn records_body(rng: &mut StdRng) -> String {
    let records: Vec<Value> = (0..rng.gen_range(1..5))
        .map(|i| {
            json!({
                "ticket_id": field(rng, json!(format!("prop-{i}"))),
                "created_at": field(rng, json!("2026-03-02T09:00:00Z")),
                "channel": field(rng, json!("email")),
                "category": field(rng, json!("billing")),
                "priority": field(rng, json!("high")),
            })
        })
        .collect();
    if rng.gen_bool(0.5) {
        records.iter().map(|r| format!("{r}\n")).collect()
    } else {
        Value::Array(records).to_string()
    }
}

/// Percent-encodes every byte but the unreserved ones.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A query string of some of `names` with hostile values.
fn params(rng: &mut StdRng, names: &[&str]) -> String {
    let mut pairs = Vec::new();
    for name in names {
        if rng.gen_bool(0.6) {
            pairs.push(format!("{name}={}", encode(&hostile_text(rng))));
        }
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// One generated request: method, path, body, content type.
fn request(rng: &mut StdRng) -> (&'static str, String, Option<String>, &'static str) {
    let json = "application/json";
    let segment = |rng: &mut StdRng| encode(&hostile_text(rng));
    match rng.gen_range(0..17) {
        0..=2 => ("POST", "/api/v1/query".into(), Some(query_body(rng)), json),
        16 => ("POST", "/api/v1/why".into(), Some(why_body(rng)), json),
        3..=4 => {
            let entity = if rng.gen_bool(0.7) {
                "tickets".to_string()
            } else {
                segment(rng)
            };
            let tz = params(rng, &["tz"]);
            (
                "POST",
                format!("/api/v1/records/{entity}{tz}"),
                Some(records_body(rng)),
                "application/x-ndjson",
            )
        }
        5 => (
            "GET",
            format!(
                "/api/v1/spikes{}",
                params(
                    rng,
                    &[
                        "by",
                        "from",
                        "to",
                        "timezone",
                        "baseline_weeks",
                        "threshold",
                        "min_excess"
                    ]
                )
            ),
            None,
            json,
        ),
        6 => (
            "GET",
            format!(
                "/api/v1/staffing{}",
                params(rng, &["month", "timezone", "top"])
            ),
            None,
            json,
        ),
        7 => (
            "GET",
            format!("/api/v1/sla{}", params(rng, &["state", "now"])),
            None,
            json,
        ),
        8 => (
            "GET",
            format!("/api/v1/tickets/{}", segment(rng)),
            None,
            json,
        ),
        9 => (
            "GET",
            format!("/api/v1/catalogue/{}", segment(rng)),
            None,
            json,
        ),
        10 => {
            let body = json!({"date": field(rng, json!("2026-03-14")), "text": field(rng, json!("Launch")),
                              "category": field(rng, json!("launch"))});
            (
                "POST",
                "/api/v1/annotations".into(),
                Some(body.to_string()),
                json,
            )
        }
        11 => (
            "DELETE",
            format!("/api/v1/annotations/{}", segment(rng)),
            None,
            json,
        ),
        12 => {
            let body = json!({"survey": field(rng, json!("csat")), "ticket_id": field(rng, json!("p1")),
                              "score": field(rng, json!(5)), "expires_in_days": field(rng, json!(30))});
            (
                "POST",
                "/api/v1/surveys/links".into(),
                Some(body.to_string()),
                json,
            )
        }
        13 => {
            let body =
                json!({"name": field(rng, json!("prop")), "scopes": field(rng, json!(["read"]))});
            (
                "POST",
                "/api/v1/tokens".into(),
                Some(body.to_string()),
                json,
            )
        }
        14 => (
            "GET",
            format!(
                "/api/v1/report{}",
                params(rng, &["month", "format", "team", "timezone"])
            ),
            None,
            json,
        ),
        _ => ("GET", format!("/s/{}", segment(rng)), None, json),
    }
}

/// Checks one answer: no 5xx, and an API error in the JSON shape.
fn check(what: &str, path: &str, answer: &Answer) {
    assert!(
        answer.status < 500,
        "{what}: {} {}",
        answer.status,
        answer.body
    );
    if path.starts_with("/api/") && answer.status >= 400 {
        let is_json = answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"));
        assert!(is_json, "{what}: not JSON: {answer:?}");
        answer.error_code();
    }
}

#[test]
fn generated_hostile_requests_never_get_a_5xx_or_a_panic() {
    let cases: usize = std::env::var("VITALS_PROPERTY_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000);
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
    let seed = std::env::var("VITALS_PROPERTY_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(22);
    let mut rng = StdRng::seed_from_u64(seed);
    for case in 0..cases {
        let (method, path, body, media) = request(&mut rng);
        let token = if rng.gen_bool(0.85) {
            Some(admin.as_str())
        } else {
            None
        };
        let what = format!("case {case}: {method} {}", &path[..path.len().min(200)]);
        let answer = try_call(
            method,
            &server.url(&path),
            token,
            body.as_deref(),
            &[("Content-Type", media)],
        );
        let answer = match (answer, token) {
            (Ok(answer), _) => answer,
            // An anonymous request is answered 401 before its body is read, and the
            // connection closed under a body still being sent: that is the point.
            (Err(_), None) => continue,
            (Err(e), Some(_)) => panic!("{what}: no answer ({e}):\n{}", server.log()),
        };
        check(&what, &path, &answer);
        if token.is_none() && path.starts_with("/api/") {
            assert_eq!(answer.status, 401, "{what}: {}", answer.body);
        }
    }
    // The server is still well, answers as before, and never panicked or failed inside.
    let answer = server.query(&admin, &march(&["ticket_volume"]));
    assert!(answer["results"].is_array());
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        !log.contains("vitals serve: error "),
        "a server-side failure:\n{log}"
    );
}
