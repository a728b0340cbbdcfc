//! End-to-end tests of `vitals serve` (issue 11), access and errors: tokens, scopes,
//! revocation and session cookies; error bodies with stable codes, statuses and suggestions.

mod common;
#[path = "common/server.rs"]
mod server;

use serde_json::{json, Value};
use server::{call, fresh, get, march, post, ticket, total, Options, Server};

#[test]
fn tokens_scopes_revocation_and_session_cookies() {
    let (_dir, db) = fresh();
    let server = Server::start(&db);
    let admin = server.admin();
    let query = server.url("/api/v1/query");
    let request = march(&["ticket_volume"]).to_string();

    // No token, an unknown token, a malformed one: 401 with the error body.
    let none = post(&query, None, &request).expect(401);
    assert_eq!(none.error_code(), "unauthorized");
    assert!(none.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Bearer"));
    let forged = "vt_000000000000_00000000000000000000000000000000000000000000000000";
    assert_eq!(
        post(&query, Some(forged), &request)
            .expect(401)
            .error_code(),
        "unauthorized"
    );
    assert_eq!(
        get(&server.url("/api/v1/catalogue"), Some("nonsense"))
            .expect(401)
            .error_code(),
        "unauthorized"
    );
    // The survey pages and the service endpoints need no token; everything under /api does.
    get(&server.url("/healthz"), None).expect(200);
    for path in [
        "/api/v1/catalogue",
        "/api/v1/openapi.json",
        "/api/v1/tokens",
    ] {
        get(&server.url(path), None).expect(401);
    }

    let (read, read_id) = server.token(&admin, &["read"]);
    let (ingest, _) = server.token(&admin, &["ingest"]);

    // read: queries, cannot ingest or administer.
    post(&query, Some(&read), &request).expect(200);
    get(&server.url("/api/v1/catalogue/csat"), Some(&read)).expect(200);
    let denied = server.ingest(
        &read,
        "tickets",
        &[ticket("t1", "2026-03-02T09:00:00Z", "email")],
    );
    assert_eq!(denied.expect(403).error_code(), "forbidden");
    get(&server.url("/api/v1/tokens"), Some(&read)).expect(403);
    // Nothing was stored by the refused ingest.
    assert_eq!(
        total(
            &server.query(&admin, &march(&["ticket_volume"])),
            "ticket_volume"
        )
        .1,
        0
    );

    // ingest: ingests, cannot list or create tokens.
    let accepted = server
        .ingest(
            &ingest,
            "tickets",
            &[ticket("t1", "2026-03-02T09:00:00Z", "email")],
        )
        .expect(200)
        .json();
    assert_eq!(accepted["accepted"], 1);
    assert_eq!(
        get(&server.url("/api/v1/tokens"), Some(&ingest))
            .expect(403)
            .error_code(),
        "forbidden"
    );
    let created = post(
        &server.url("/api/v1/tokens"),
        Some(&ingest),
        &json!({"name": "x", "scopes": ["admin"]}).to_string(),
    );
    assert_eq!(created.expect(403).error_code(), "forbidden");

    // admin lists tokens, never their secrets.
    let listed = get(&server.url("/api/v1/tokens"), Some(&admin)).expect(200);
    assert_eq!(
        listed.json().as_array().unwrap().len(),
        3,
        "{}",
        listed.body
    );
    for secret in [&admin, &read, &ingest] {
        let tail = secret.rsplit('_').next().unwrap();
        assert!(!listed.body.contains(tail), "a secret in the listing");
    }
    assert_eq!(
        post(
            &server.url("/api/v1/tokens"),
            Some(&admin),
            &json!({"name": "x", "scopes": ["superuser"]}).to_string()
        )
        .expect(422)
        .error_code(),
        "invalid_scope"
    );

    // A session cookie from a read token: HttpOnly, SameSite=Strict, not Secure over plain HTTP.
    let login = post(
        &server.url("/api/v1/session"),
        None,
        &json!({"token": read}).to_string(),
    )
    .expect(200);
    let cookie = login.header("set-cookie").expect("a cookie").to_string();
    assert!(cookie.starts_with("vitals_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let with_cookie = |method: &str, path: &str, body: Option<&str>| {
        call(method, &server.url(path), None, body, &[("Cookie", &pair)])
    };
    assert_eq!(
        with_cookie("GET", "/api/v1/session", None)
            .expect(200)
            .json()["scopes"],
        json!(["read"])
    );
    with_cookie("POST", "/api/v1/query", Some(&request)).expect(200);
    // The session carries its token's scopes, no more.
    with_cookie("GET", "/api/v1/tokens", None).expect(403);
    // A token that cannot read gets no session; nor does a wrong one.
    post(
        &server.url("/api/v1/session"),
        None,
        &json!({"token": ingest}).to_string(),
    )
    .expect(401);
    post(
        &server.url("/api/v1/session"),
        None,
        &json!({"token": forged}).to_string(),
    )
    .expect(401);

    // Revoking the read token ends its bearer use and its session.
    call(
        "DELETE",
        &server.url(&format!("/api/v1/tokens/{read_id}")),
        Some(&admin),
        None,
        &[],
    )
    .expect(204);
    assert_eq!(
        post(&query, Some(&read), &request).expect(401).error_code(),
        "unauthorized"
    );
    with_cookie("POST", "/api/v1/query", Some(&request)).expect(401);
    post(
        &server.url("/api/v1/session"),
        None,
        &json!({"token": read}).to_string(),
    )
    .expect(401);
    call(
        "DELETE",
        &server.url(&format!("/api/v1/tokens/{read_id}")),
        Some(&admin),
        None,
        &[],
    )
    .expect(404);

    // Logging out ends a session.
    let (read2, _) = server.token(&admin, &["read"]);
    let login = post(
        &server.url("/api/v1/session"),
        None,
        &json!({"token": read2}).to_string(),
    )
    .expect(200);
    let pair2 = login
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let session = server.url("/api/v1/session");
    call("GET", &session, None, None, &[("Cookie", &pair2)]).expect(200);
    call("DELETE", &session, None, None, &[("Cookie", &pair2)]).expect(204);
    call("GET", &session, None, None, &[("Cookie", &pair2)]).expect(401);

    // Tokens survive a restart (stored hashed); no new admin token is printed then.
    server.stop();
    let again = Server::start(&db);
    assert!(again.initial_token.is_none(), "{}", again.log());
    post(&again.url("/api/v1/query"), Some(&admin), &request).expect(200);
    post(&again.url("/api/v1/query"), Some(&read), &request).expect(401);
    post(&again.url("/api/v1/query"), Some(&read2), &request).expect(200);
}

#[test]
fn errors_have_codes_statuses_and_suggestions() {
    let (_dir, db) = fresh();
    let server = Server::start_with(
        &db,
        Options {
            args: vec!["--max-body-bytes", "2000"],
            ..Options::default()
        },
    );
    let admin = server.admin();
    let query = server.url("/api/v1/query");

    // Unknown metric: 422 with a suggestion.
    let unknown = post(&query, Some(&admin), &march(&["csatt"]).to_string()).expect(422);
    assert_eq!(unknown.error_code(), "unknown_metric");
    assert_eq!(unknown.json()["error"]["suggestions"], json!(["csat"]));
    // Malformed JSON and unknown keys: 400.
    let malformed = post(&query, Some(&admin), "{\"metrics\": [").expect(400);
    assert_eq!(malformed.error_code(), "invalid_request");
    post(
        &query,
        Some(&admin),
        &json!({"metric": ["csat"]}).to_string(),
    )
    .expect(400);
    // Every JSON endpoint answers a malformed body or a missing field with the error body.
    for path in ["/api/v1/tokens", "/api/v1/session", "/api/v1/surveys/links"] {
        let url = server.url(path);
        let malformed = post(&url, Some(&admin), "{").expect(400);
        assert_eq!(malformed.error_code(), "invalid_request", "{path}");
        let incomplete = post(&url, Some(&admin), "{}").expect(422);
        assert_eq!(incomplete.error_code(), "invalid_request", "{path}");
    }
    // An unknown catalogue entry, entity, ticket or endpoint: 404.
    let metric = get(&server.url("/api/v1/catalogue/csatt"), Some(&admin)).expect(404);
    assert_eq!(metric.error_code(), "unknown_metric");
    assert!(metric.json()["error"]["suggestions"]
        .as_array()
        .unwrap()
        .contains(&json!("csat")));
    let entity = server.ingest(
        &admin,
        "tikets",
        &[ticket("t", "2026-03-02T09:00:00Z", "x")],
    );
    let entity = entity.expect(404);
    assert_eq!(entity.error_code(), "unknown_entity");
    assert!(entity.json()["error"]["suggestions"]
        .as_array()
        .unwrap()
        .contains(&json!("tickets")));
    assert_eq!(
        get(&server.url("/api/v1/tickets/nope"), Some(&admin))
            .expect(404)
            .error_code(),
        "unknown_ticket"
    );
    assert_eq!(
        get(&server.url("/api/v1/nothing-here"), Some(&admin))
            .expect(404)
            .error_code(),
        "not_found"
    );
    assert_eq!(
        get(&server.url("/api/v1/sla?state=late"), Some(&admin))
            .expect(422)
            .error_code(),
        "invalid_state"
    );

    // A body over --max-body-bytes: 413, nothing stored.
    let big: Vec<Value> = (0..40)
        .map(|i| ticket(&format!("big{i}"), "2026-03-02T09:00:00Z", "email"))
        .collect();
    let too_large = server.ingest(&admin, "tickets", &big).expect(413);
    assert_eq!(too_large.error_code(), "too_large");

    // Rejected records are listed with line, column, code and reason; good ones are accepted.
    let body = [
        ticket("g1", "2026-03-02T09:00:00Z", "email").to_string(),
        ticket("b1", "yesterday", "email").to_string(),
        json!({"ticket_id": "b2", "channel": "chat"}).to_string(),
        "{not json".to_string(),
        ticket("g2", "2026-03-03T10:00:00+02:00", "chat").to_string(),
    ]
    .join("\n");
    let answer = call(
        "POST",
        &server.url("/api/v1/records/tickets"),
        Some(&admin),
        Some(&body),
        &[("Content-Type", "application/x-ndjson")],
    )
    .expect(200)
    .json();
    assert_eq!(answer["accepted"], 2, "{answer}");
    let rejected = answer["rejected"].as_array().unwrap();
    let lines: Vec<u64> = rejected
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4], "{answer}");
    for r in rejected {
        assert!(r["code"].is_string() && r["reason"].is_string(), "{r}");
    }
    assert_eq!(rejected[0]["column"], "created_at");
    assert_eq!(rejected[1]["column"], "created_at");
    assert!(rejected[1]["reason"].as_str().unwrap().contains("missing"));
    assert!(rejected[0]["reason"]
        .as_str()
        .unwrap()
        .contains("yesterday"));
    // A timestamp without an offset is rejected, unless the request names a zone.
    let local = ticket("l1", "2026-03-04T09:00:00", "email").to_string();
    let no_zone = post(&server.url("/api/v1/records/tickets"), Some(&admin), &local).json();
    assert_eq!(
        (
            no_zone["accepted"].as_u64(),
            no_zone["rejected"].as_array().map(Vec::len)
        ),
        (Some(0), Some(1))
    );
    let zoned = post(
        &server.url("/api/v1/records/tickets?tz=Europe/Helsinki"),
        Some(&admin),
        &local,
    )
    .json();
    assert_eq!(zoned["accepted"], 1, "{zoned}");
    assert_eq!(
        post(
            &server.url("/api/v1/records/tickets?tz=Mars/Olympus"),
            Some(&admin),
            &local
        )
        .expect(422)
        .error_code(),
        "unknown_timezone"
    );
    // A JSON array is accepted as well as NDJSON.
    let array = json!([ticket("a1", "2026-03-05T09:00:00Z", "web")]).to_string();
    assert_eq!(
        post(&server.url("/api/v1/records/tickets"), Some(&admin), &array).json()["accepted"],
        1
    );
    let volume = server.query(&admin, &march(&["ticket_volume"]));
    assert_eq!(total(&volume, "ticket_volume").0, Some(4.0), "{volume}");
}
