//! End-to-end tests of `vitals serve` (issue 11): the real binary on an ephemeral loopback
//! port. Ingest → query round trip and ticket detail, the same JSON as `vitals query --json`,
//! the CLI's "store is held" path, the service endpoints and the OpenAPI document, drill-down
//! over HTTP and the CLI as a client, which prints the API's numbers to the last digit.
//! (Access and errors: `server_access.rs`.)

mod common;
#[path = "common/server.rs"]
mod server;

use serde_json::{json, Value};
use server::{event, fresh, get, march, post, ticket, total, Options, Server};

/// Tickets and their events posted; the very next query counts them and their first replies.
#[test]
fn ingested_records_are_in_the_next_query_and_the_ticket_detail() {
    let (_dir, db) = fresh();
    let server = Server::start(&db);
    let admin = server.admin();
    let requests = march(&["ticket_volume", "first_response_time"]);
    let before = server.query(&admin, &requests);
    assert_eq!(total(&before, "ticket_volume").1, 0);

    let tickets = [
        ticket("r1", "2026-03-02T09:00:00Z", "email"),
        ticket("r2", "2026-03-03T09:00:00Z", "chat"),
        ticket("r3", "2026-03-04T09:00:00Z", "email"),
    ];
    assert_eq!(
        server
            .ingest(&admin, "tickets", &tickets)
            .expect(200)
            .json()["accepted"],
        3
    );
    let after = server.query(&admin, &march(&["ticket_volume"]));
    assert_eq!(total(&after, "ticket_volume").0, Some(3.0), "{after}");

    let events = [
        event("r1-1", "r1", "2026-03-02T09:00:00Z", "customer"),
        event("r1-2", "r1", "2026-03-02T09:30:00Z", "agent"),
        event("r2-1", "r2", "2026-03-03T09:00:00Z", "customer"),
        event("r2-2", "r2", "2026-03-03T11:00:00Z", "agent"),
        json!({"event_id": "r2-3", "ticket_id": "r2", "at": "2026-03-03T12:00:00Z", "kind": "status", "status": "solved"}),
    ];
    assert_eq!(
        server
            .ingest(&admin, "ticket_events", &events)
            .expect(200)
            .json()["accepted"],
        5
    );
    let frt = server.query(
        &admin,
        &json!({"metrics": ["first_response_time:median", "ticket_volume"], "from": "2026-03-01", "to": "2026-04-01", "timezone": "UTC"}),
    );
    let (median, n) = total(&frt, "first_response_time:median");
    assert_eq!(n, 2, "{frt}");
    // Median of 30 min and 2 h, in seconds: (1800 + 7200) / 2.
    assert_eq!(median, Some(4500.0), "{frt}");

    let detail = get(&server.url("/api/v1/tickets/r2"), Some(&admin))
        .expect(200)
        .json();
    assert_eq!(detail["ticket"]["ticket_id"], "r2");
    assert_eq!(detail["ticket"]["channel"], "chat");
    let timeline: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(timeline, ["r2-1", "r2-2", "r2-3"]);
    assert_eq!(detail["facts"]["frt_secs"], 7200.0);
    assert_eq!(detail["facts"]["is_resolved"], true);
    assert_eq!(detail["facts"]["resolutions"], 1);
    assert_eq!(detail["replies"].as_array().unwrap().len(), 1);
    // The server's moment, which open SLA targets are judged against.
    let as_of = detail["as_of"].as_str().expect("as_of");
    assert!(
        chrono::DateTime::parse_from_rfc3339(as_of).is_ok(),
        "{as_of}"
    );

    // A later event re-derives the ticket's facts before the answer: a reopen.
    let reopen = [event("r2-4", "r2", "2026-03-05T08:00:00Z", "customer")];
    server.ingest(&admin, "ticket_events", &reopen).expect(200);
    let detail = get(&server.url("/api/v1/tickets/r2"), Some(&admin)).json();
    assert_eq!(detail["facts"]["reopens"], 1, "{detail}");
}

/// Demo data plus ingested records: the server's answers are byte-for-byte the JSON of
/// `vitals query --json` for the same requests on the same store (one code path).
#[test]
fn the_server_answers_the_same_json_as_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::store::demo(dir.path(), "400");
    let config = dir.path().join("vitals-demo.toml");
    let config = config.to_str().unwrap();
    let now = "2026-07-01T12:00:00Z";
    let server = Server::start_with(
        &db,
        Options {
            args: vec!["--config", config],
            now: Some(now),
        },
    );
    let admin = server.admin();
    server
        .ingest(
            &admin,
            "tickets",
            &[
                ticket("cli-1", "2026-05-02T09:00:00Z", "email"),
                ticket("cli-2", "2026-05-03T09:00:00Z", "chat"),
            ],
        )
        .expect(200);
    let requests = [
        json!({"metrics": ["csat", "nps"], "by": ["time:month"], "from": "2026-01-01", "to": "2026-07-01", "timezone": "Europe/Helsinki"}),
        json!({"metrics": ["first_response_time:median", "ticket_volume"], "by": ["time:month", "ticket:channel"], "from": "2026-01-01", "to": "2026-07-01", "timezone": "Europe/Helsinki"}),
        json!({"metrics": ["ticket_volume"], "by": ["time:week"], "from": "2026-04-01", "to": "2026-06-01", "compare": "previous", "timezone": "UTC"}),
        json!({"metrics": ["csat", "survey_response_rate"], "filters": ["ticket:channel=email"]}),
    ];
    let mut served = Vec::new();
    for request in &requests {
        let answer = post(
            &server.url("/api/v1/query"),
            Some(&admin),
            &request.to_string(),
        );
        served.push((request.clone(), answer.expect(200).body));
    }
    // Cached answers are the same text.
    let (first, body) = &served[0];
    assert_eq!(
        &post(
            &server.url("/api/v1/query"),
            Some(&admin),
            &first.to_string()
        )
        .body,
        body
    );
    server.stop();

    for (i, (request, body)) in served.iter().enumerate() {
        let file = dir.path().join(format!("request-{i}.json"));
        std::fs::write(&file, request.to_string()).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vitals"))
            .args(["query", "--db"])
            .arg(&db)
            .args(["--config", config, "--json", "--request"])
            .arg(&file)
            .current_dir(dir.path())
            .env("VITALS_NOW", now)
            .env_remove("VITALS_DB")
            .env_remove("VITALS_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cli: Value = serde_json::from_slice(&out.stdout).expect("CLI JSON");
        let api: Value = serde_json::from_str(body).unwrap();
        assert!(
            api["results"].as_array().is_some_and(|r| !r.is_empty()),
            "{api}"
        );
        assert_eq!(api, cli, "request {request}");
    }
}

/// While a server holds the store, the CLI says so (naming the process) and exits 1.
#[test]
fn the_cli_says_when_the_server_holds_the_store() {
    if common::skip_on_clickhouse("a server holding the store is a DuckDB file's lock") {
        return;
    }
    let (dir, db) = fresh();
    let server = Server::start(&db);
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("tickets.csv"),
        "ticket_id,created_at,channel\nh1,2026-03-02T09:00:00Z,email\n",
    )
    .unwrap();
    let db_arg = db.as_str();
    let data_arg = data.to_str().unwrap();
    for args in [
        vec![
            "query",
            "--db",
            db_arg,
            "--metric",
            "ticket_volume",
            "--json",
        ],
        vec!["import", data_arg, "--db", db_arg],
        vec!["token", "list", "--db", db_arg],
    ] {
        let out = common::vitals_in(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("in use by another process"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("PID {}", server.pid())),
            "{args:?} does not name the server's process: {stderr}"
        );
        assert!(stderr.contains("vitals serve"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // The import stored nothing: the server still counts no ticket.
    let admin = server.admin();
    assert_eq!(
        total(
            &server.query(&admin, &march(&["ticket_volume"])),
            "ticket_volume"
        )
        .1,
        0
    );
    server.stop();
    // Once the server stopped, the CLI opens the store.
    common::ok(&["import", data_arg, "--db", db_arg]);
}

#[test]
fn health_metrics_and_the_openapi_document() {
    let (dir, db) = fresh();
    let server = Server::start(&db);
    let admin = server.admin();
    let health = get(&server.url("/healthz"), None).expect(200).json();
    assert_eq!(health["status"], "ok");
    assert!(health["data_version"].is_u64());
    // Security headers on every answer.
    let h = get(&server.url("/healthz"), None);
    assert_eq!(h.header("x-content-type-options"), Some("nosniff"));
    assert!(h.header("content-security-policy").is_some());

    server.query(&admin, &march(&["ticket_volume"]));
    post(&server.url("/api/v1/query"), Some(&admin), "{").expect(400);
    let body = [
        ticket("m1", "2026-03-02T09:00:00Z", "email").to_string(),
        ticket("m2", "not a time", "email").to_string(),
        "[".to_string(),
    ]
    .join("\n");
    let answer = post(&server.url("/api/v1/records/tickets"), Some(&admin), &body).json();
    assert_eq!(answer["accepted"], 1, "{answer}");
    let version = get(&server.url("/healthz"), None).json()["data_version"]
        .as_u64()
        .unwrap();
    assert!(version > health["data_version"].as_u64().unwrap());

    get(&server.url("/metrics"), None).expect(401);
    let metrics = get(&server.url("/metrics"), Some(&admin)).expect(200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.body;
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no `{series}` in\n{text}"))
    };
    assert_eq!(
        value("vitals_http_requests_total{route=\"/api/v1/query\",status=\"200\"}"),
        1.0
    );
    assert_eq!(
        value("vitals_http_requests_total{route=\"/api/v1/query\",status=\"400\"}"),
        1.0
    );
    assert_eq!(value("vitals_ingest_queue_depth"), 0.0);
    assert_eq!(value("vitals_records_accepted_total"), 1.0);
    assert_eq!(value("vitals_records_committed_total"), 1.0);
    assert_eq!(
        value("vitals_records_rejected_total{code=\"invalid\"}"),
        1.0
    );
    assert_eq!(
        value("vitals_records_rejected_total{code=\"unreadable\"}"),
        1.0
    );
    assert!(
        value("vitals_http_request_duration_seconds_count{route=\"/api/v1/records/{entity}\"}")
            >= 1.0
    );
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let number = line.rsplit(' ').next().unwrap();
        assert!(number.parse::<f64>().is_ok(), "not a sample line: {line}");
    }

    // The OpenAPI document needs a token, lists every endpoint and is a valid OpenAPI 3.1.
    get(&server.url("/api/v1/openapi.json"), None).expect(401);
    let doc = get(&server.url("/api/v1/openapi.json"), Some(&admin)).expect(200);
    let parsed = doc.json();
    assert!(parsed["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/query",
        "/api/v1/records/{entity}",
        "/api/v1/tickets/{id}",
        "/api/v1/surveys/links",
        "/s/{token}",
        "/healthz",
        "/metrics",
    ] {
        assert!(
            parsed["paths"][path].is_object(),
            "{path} is not documented"
        );
    }
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &doc.body).unwrap();
    validate_openapi(&file);
}

/// Validates an OpenAPI document with Python's `openapi-spec-validator` (PyPI). Absent: skipped
/// with a message locally, a failure on CI (`.ci/run` installs it).
fn validate_openapi(file: &std::path::Path) {
    let script = "import json, sys\n\
                  from openapi_spec_validator import validate\n\
                  validate(json.load(open(sys.argv[1])))\n\
                  print('valid')\n";
    let probe = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        common::input_absent(
            "Python's openapi-spec-validator (pip install openapi-spec-validator)",
        );
        return;
    }
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(file)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the OpenAPI document does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Drill-down over HTTP: the records behind a cell, paged, number exactly its `n`, follow an
/// ingest at once, and are the CLI's drill-down JSON; the CLI as a client (`--server`).
#[test]
fn drill_down_over_http_and_the_cli_as_a_client() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::store::demo(dir.path(), "600");
    let config = dir.path().join("vitals-demo.toml");
    let config = config.to_str().unwrap();
    let server = Server::start_with(
        &db,
        Options {
            args: vec!["--config", config],
            now: Some("2026-07-01T12:00:00Z"),
        },
    );
    let admin = server.admin();
    let (read, _) = server.token(&admin, &["read"]);
    let query = json!({"metrics": ["first_response_time:median"], "by": ["time:month", "ticket:channel"], "from": "2026-01-01", "to": "2026-07-01", "timezone": "UTC"});
    let busiest = |answer: &Value| -> (String, String, u64) {
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| {
                let n = r["metrics"]["first_response_time:median"]["n"].as_u64()?;
                let month = r["dimensions"]["time:month"].as_str()?.to_string();
                let channel = r["dimensions"]["ticket:channel"].as_str()?.to_string();
                Some((month, channel, n))
            })
            .max_by_key(|(_, _, n)| *n)
            .expect("a cell")
    };
    let (month, channel, n) = busiest(&server.query(&read, &query));
    assert!(n > 5, "too small a cell: {n}");
    let drill = |page: u32, page_size: u32| -> Value {
        let mut body = query.clone();
        body["records"] = json!(true);
        body["cell"] = json!({"time:month": month, "ticket:channel": channel});
        body["page"] = json!(page);
        body["page_size"] = json!(page_size);
        server.query(&read, &body)
    };
    // Pages of 4 partition the records; together they are exactly the cell's n.
    let page_size = 4;
    let mut ids = std::collections::BTreeSet::new();
    let mut page = 1;
    loop {
        let answer = drill(page, page_size);
        assert_eq!(answer["n"], n, "{answer}");
        let records = answer["records"].as_array().unwrap();
        assert!(records.len() <= page_size as usize);
        for r in records {
            assert!(r["value"].is_number(), "{r}");
            assert!(
                ids.insert(r["id"].as_str().unwrap().to_string()),
                "{r} twice"
            );
        }
        if records.len() < page_size as usize {
            break;
        }
        page += 1;
    }
    assert_eq!(ids.len() as u64, n);

    // A ticket ingested into that cell is in the next answer and its drill-down.
    let created = format!("{month}-10T09:00:00Z");
    let mut new_ticket = ticket("drilled-1", &created, &channel);
    new_ticket["team"] = json!("tier1");
    server.ingest(&admin, "tickets", &[new_ticket]).expect(200);
    server
        .ingest(
            &admin,
            "ticket_events",
            &[
                event("drilled-1a", "drilled-1", &created, "customer"),
                event(
                    "drilled-1b",
                    "drilled-1",
                    &format!("{month}-10T09:05:00Z"),
                    "agent",
                ),
            ],
        )
        .expect(200);
    assert_eq!(
        busiest(&server.query(&read, &query)),
        (month.clone(), channel.clone(), n + 1)
    );
    let all = drill(1, 1000);
    assert_eq!(all["n"], n + 1);
    let listed: Vec<&str> = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&"drilled-1"), "{all}");
    assert_eq!(listed.len() as u64, n + 1);

    // The CLI as the server's client: the same JSON, a token from VITALS_TOKEN.
    let request_file = dir.path().join("request.json");
    std::fs::write(&request_file, query.to_string()).unwrap();
    let cli = |token: Option<&str>, args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vitals"));
        command
            .args(args)
            .args(["--server", &server.base])
            .current_dir(dir.path())
            .env_remove("VITALS_DB")
            .env_remove("VITALS_CONFIG")
            .env_remove("VITALS_TOKEN")
            .env_remove("VITALS_SERVER");
        if let Some(token) = token {
            command.env("VITALS_TOKEN", token);
        }
        command.output().unwrap()
    };
    let request_arg = request_file.to_str().unwrap();
    let out = cli(Some(&read), &["query", "--json", "--request", request_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let via_cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(via_cli, server.query(&read, &query));
    for (token, says) in [(None, "VITALS_TOKEN"), (Some("vt_nope_nope"), "401")] {
        let out = cli(token, &["query", "--json", "--request", request_arg]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
    let data = dir.path().join("more");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("tickets.csv"),
        "ticket_id,created_at,channel\nvia-cli-1,2026-06-02T09:00:00Z,email\nvia-cli-2,not a time,email\n",
    )
    .unwrap();
    let (ingest, _) = server.token(&admin, &["ingest"]);
    let out = cli(Some(&ingest), &["import", data.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 accepted, 1 rejected"), "{stdout}");
    get(&server.url("/api/v1/tickets/via-cli-1"), Some(&read)).expect(200);
    get(&server.url("/api/v1/tickets/via-cli-2"), Some(&read)).expect(404);
    // An import with a read-only token is refused and stores nothing.
    std::fs::write(
        data.join("tickets.csv"),
        "ticket_id,created_at,channel\nvia-cli-3,2026-06-02T09:00:00Z,email\n",
    )
    .unwrap();
    let out = cli(Some(&read), &["import", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));
    get(&server.url("/api/v1/tickets/via-cli-3"), Some(&read)).expect(404);
}

/// The `"value": NUMBER` texts of a JSON text, in order.
fn value_texts(json: &str) -> Vec<String> {
    json.split("\"value\":")
        .skip(1)
        .map(|rest| {
            rest.trim_start()
                .chars()
                .take_while(|c| !matches!(c, ',' | '}' | '\n' | ' '))
                .collect()
        })
        .collect()
}

#[test]
fn query_over_the_server_prints_the_api_numbers_exactly() {
    let (dir, db) = fresh();
    let server = Server::start(&db);
    let admin = server.admin();
    let scores = [1, 2, 2, 4, 5, 3, 5];
    let responses: Vec<Value> = (0..7)
        .map(|i| {
            json!({"response_id": format!("r{i}"), "survey": "csat", "score": scores[i],
                   "answered_at": format!("2026-03-0{}T10:00:00Z", i / 3 + 1), "ticket_id": "h1"})
        })
        .collect();
    server
        .ingest(&admin, "survey_responses", &responses)
        .expect(200);
    let request = json!({"metrics": ["csat", "csat_mean", "ticket_volume"], "by": ["time:day"],
                         "from": "2026-03-01", "to": "2026-03-10", "timezone": "UTC"});
    let api = post(
        &server.url("/api/v1/query"),
        Some(&admin),
        &request.to_string(),
    )
    .expect(200)
    .body;
    let file = dir.path().join("request.json");
    std::fs::write(&file, request.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["query", "--server", &server.base, "--request"])
        .arg(&file)
        .arg("--json")
        .env("VITALS_TOKEN", &admin)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli = String::from_utf8(out.stdout).unwrap();
    let (a, c) = (value_texts(&api), value_texts(&cli));
    assert!(a.len() >= 9, "{api}");
    assert_eq!(a, c, "the CLI printed other digits than the API sent");
}
