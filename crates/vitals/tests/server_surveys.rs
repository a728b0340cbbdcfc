//! End-to-end tests of `vitals serve`'s signed survey links (issue 11): a GET never stores, a
//! POST stores one answer (in CSAT's n and the response rate), reuse answers 409, forged and
//! tampered links 400, expired ones 410 — and none of those stores anything.

mod common;
#[path = "common/server.rs"]
mod server;

use serde_json::{json, Value};
use server::{get, post, post_form, ticket, total, Answer, Options, Server};

const CONFIG: &str = "[surveys.nps]\nscale = [0, 10]\nlanguage = \"fi\"\n";

fn march(metrics: &[&str]) -> Value {
    json!({"metrics": metrics, "from": "2026-03-01", "to": "2026-04-01", "timezone": "UTC"})
}

/// (csat n, nps n, the response rate's (value, n)) over March.
fn survey_counts(server: &Server, token: &str) -> (u64, u64, (Option<f64>, u64)) {
    let answer = server.query(token, &march(&["csat", "nps", "survey_response_rate"]));
    (
        total(&answer, "csat").1,
        total(&answer, "nps").1,
        total(&answer, "survey_response_rate"),
    )
}

fn link(server: &Server, token: &str, request: Value) -> Answer {
    post(
        &server.url("/api/v1/surveys/links"),
        Some(token),
        &request.to_string(),
    )
}

fn is_page(answer: &Answer, status: u16, says: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("text/html"),
        "{answer:?}"
    );
    assert!(answer.body.contains(says), "no `{says}` in {}", answer.body);
}

#[test]
fn survey_links_store_once_on_post_and_refuse_misuse() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::store::store(dir.path(), "serve");
    let config = dir.path().join("surveys.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let config = config.to_str().unwrap();
    let server = Server::start_with(
        &db,
        Options {
            args: vec!["--config", config],
            now: Some("2026-03-10T12:00:00Z"),
        },
    );
    let admin = server.admin();
    let (ingest, _) = server.token(&admin, &["ingest"]);
    let (read, _) = server.token(&admin, &["read"]);
    let mut s1 = ticket("s1", "2026-03-09T08:00:00Z", "email");
    s1["customer_id"] = json!("c1");
    server.ingest(&ingest, "tickets", &[s1]).expect(200);

    // Creating links needs the ingest scope and a valid request.
    let csat = json!({"survey": "csat", "ticket_id": "s1", "agent_id": "a1", "expires_in_days": 2});
    assert_eq!(
        link(&server, &read, csat.clone()).expect(403).error_code(),
        "forbidden"
    );
    post(
        &server.url("/api/v1/surveys/links"),
        None,
        &csat.to_string(),
    )
    .expect(401);
    let bad = [
        (
            json!({"survey": "happiness", "ticket_id": "s1"}),
            "unknown_survey",
        ),
        (json!({"survey": "csat"}), "invalid_link"),
        (
            json!({"survey": "csat", "ticket_id": "s1", "score": 6}),
            "invalid_score",
        ),
    ];
    for (request, code) in bad {
        assert_eq!(
            link(&server, &ingest, request).expect(422).error_code(),
            code
        );
    }
    assert_eq!(survey_counts(&server, &read).0, 0);

    let created = link(&server, &ingest, csat).expect(201).json();
    let url = server.url(created["url"].as_str().unwrap());
    assert!(created["url"].as_str().unwrap().starts_with("/s/"));
    assert_eq!(created["expires_at"], "2026-03-12T12:00:00Z");
    let one_click = created["one_click"].as_array().unwrap();
    assert_eq!(
        one_click
            .iter()
            .map(|c| c["score"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    // The send is recorded (surveys_sent), so the response rate has a denominator.
    let (csat_n, _, rate) = survey_counts(&server, &read);
    assert_eq!(csat_n, 0);
    assert_eq!(rate, (Some(0.0), 1));

    // GET (twice, as a mail scanner and then the customer would) shows the form, stores nothing.
    for _ in 0..2 {
        let page = get(&url, None);
        is_page(&page, 200, "<form method=\"post\"");
        assert!(page.body.contains("How satisfied"), "{}", page.body);
        assert!(
            !page.body.contains("required checked"),
            "no score is pre-chosen"
        );
    }
    let four = server.url(one_click[3]["url"].as_str().unwrap());
    let page = get(&four, None);
    is_page(&page, 200, "value=\"4\" required checked");
    assert_eq!(page.body.matches("required checked").count(), 1);
    assert_eq!(survey_counts(&server, &read).0, 0, "a GET stored an answer");

    // A POST without a valid score is asked again and stores nothing; the link stays usable.
    is_page(&post_form(&url, &[("score", "9")]), 422, "choose a score");
    is_page(
        &post_form(&url, &[("comment", "hm")]),
        422,
        "choose a score",
    );
    assert_eq!(survey_counts(&server, &read).0, 0);

    // The POST stores one answer.
    is_page(
        &post_form(&four, &[("score", "4"), ("comment", "quick and kind")]),
        200,
        "Thank you",
    );
    let (csat_n, _, rate) = survey_counts(&server, &read);
    assert_eq!(csat_n, 1);
    assert_eq!(rate, (Some(100.0), 1));
    let answer = server.query(&read, &march(&["csat"]));
    assert_eq!(total(&answer, "csat").0, Some(100.0), "{answer}");

    // Reuse — by the same link or another score's link of it — is refused: 409, nothing stored.
    is_page(
        &post_form(&url, &[("score", "1")]),
        409,
        "already been answered",
    );
    is_page(
        &post_form(&four, &[("score", "4")]),
        409,
        "already been answered",
    );
    is_page(&get(&url, None), 409, "already been answered");
    let answer = server.query(&read, &march(&["csat"]));
    assert_eq!(total(&answer, "csat"), (Some(100.0), 1), "{answer}");

    // Forged and tampered links: 400, nothing stored.
    let second = link(
        &server,
        &ingest,
        json!({"survey": "csat", "ticket_id": "s1", "expires_in_days": 30}),
    )
    .expect(201)
    .json();
    let token = second["url"].as_str().unwrap().strip_prefix("/s/").unwrap();
    let (payload, signature) = token.split_once('.').unwrap();
    let mut flipped = payload.as_bytes().to_vec();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{}.{signature}", String::from_utf8(flipped).unwrap());
    let other_link = created["url"]
        .as_str()
        .unwrap()
        .strip_prefix("/s/")
        .unwrap();
    let spliced = format!("{payload}.{}", other_link.split_once('.').unwrap().1);
    let forged = format!("{payload}.{}", "A".repeat(signature.len()));
    for bad in [
        tampered,
        spliced,
        forged,
        "nonsense".to_string(),
        payload.to_string(),
    ] {
        let bad_url = server.url(&format!("/s/{bad}"));
        is_page(&get(&bad_url, None), 400, "not valid");
        is_page(&post_form(&bad_url, &[("score", "1")]), 400, "not valid");
    }
    assert_eq!(survey_counts(&server, &read).0, 1);

    // A configured language: the NPS page is in Finnish.
    let nps = link(
        &server,
        &ingest,
        json!({"survey": "nps", "customer_id": "c2", "expires_in_days": 1}),
    )
    .expect(201)
    .json();
    let nps_url = nps["url"].as_str().unwrap().to_string();
    let page = get(&server.url(&nps_url), None);
    is_page(&page, 200, "lang=\"fi\"");
    assert!(
        page.body.contains("Kuinka todennäköisesti"),
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("type=\"radio\"").count(), 11);
    server.stop();

    // Three days later: the 1- and 2-day links have expired (410, nothing stored); the 30-day
    // link still works.
    let later = Server::start_with(
        &db,
        Options {
            args: vec!["--config", config],
            now: Some("2026-03-13T12:00:00Z"),
        },
    );
    is_page(&get(&later.url(&nps_url), None), 410, "expired");
    is_page(
        &post_form(&later.url(&nps_url), &[("score", "10")]),
        410,
        "expired",
    );
    let unused = created["one_click"][0]["url"].as_str().unwrap();
    is_page(&get(&later.url(unused), None), 410, "expired");
    let (csat_n, nps_n, _) = survey_counts(&later, &read);
    assert_eq!((csat_n, nps_n), (1, 0));
    let second_url = later.url(second["url"].as_str().unwrap());
    is_page(&post_form(&second_url, &[("score", "2")]), 200, "Thank you");
    let answer = later.query(&read, &march(&["csat", "csat_mean"]));
    assert_eq!(total(&answer, "csat"), (Some(50.0), 2), "{answer}");
    assert_eq!(total(&answer, "csat_mean").0, Some(3.0), "{answer}");
}
