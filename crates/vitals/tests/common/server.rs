//! A real `vitals serve` for end-to-end tests: started as a child process on an ephemeral
//! loopback port, killed when dropped; and a small HTTP client over `ureq` that returns every
//! status (4xx and 5xx included) as an answer to look at rather than an error.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// A running server.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The admin token printed at start-up (only when the store had no active token).
    pub initial_token: Option<String>,
    stderr: Arc<Mutex<String>>,
    /// The store, as `--db` takes it (a DuckDB file or a ClickHouse database: `store.rs`).
    pub db: String,
    /// The folder the server runs in (beside a DuckDB file; the test's folder for a
    /// ClickHouse database).
    pub folder: PathBuf,
}

/// How to start a server.
#[derive(Default, Clone)]
pub struct Options<'a> {
    /// Extra arguments after `serve --db STORE --addr 127.0.0.1:0`.
    pub args: Vec<&'a str>,
    /// `VITALS_NOW` for the server's clock.
    pub now: Option<&'a str>,
}

impl Server {
    /// `vitals serve --db STORE --addr 127.0.0.1:0` with no other option.
    pub fn start(db: impl AsRef<OsStr>) -> Server {
        Server::start_with(db, Options::default())
    }

    /// Starts a server on the store `db` (a file path, or a store of `common::store`) and
    /// waits until it listens (or panics with its stderr).
    pub fn start_with(db: impl AsRef<OsStr>, options: Options) -> Server {
        let db = db.as_ref().to_string_lossy().into_owned();
        let folder = crate::common::store::serve_folder(&db);
        let mut command = Command::new(env!("CARGO_BIN_EXE_vitals"));
        command
            .arg("serve")
            .arg("--db")
            .arg(&db)
            .args(["--addr", "127.0.0.1:0"])
            .args(&options.args)
            .current_dir(&folder)
            .env_remove("VITALS_DB")
            .env_remove("VITALS_ADDR")
            .env_remove("VITALS_CONFIG")
            .env_remove("VITALS_TOKEN")
            .env_remove("VITALS_NOW")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(now) = options.now {
            command.env("VITALS_NOW", now);
        }
        let mut child = command.spawn().expect("start vitals serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready, listening) = mpsc::channel::<(String, Option<String>)>();
        let thread_log = log.clone();
        std::thread::spawn(move || {
            let mut token = None;
            let mut ready = Some(ready);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                thread_log.lock().unwrap().push_str(&format!("{line}\n"));
                let trimmed = line.trim();
                if trimmed.starts_with("vt_") && token.is_none() {
                    token = Some(trimmed.to_string());
                }
                if let Some(rest) = line.strip_prefix("vitals serve: http://") {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    if let Some(ready) = ready.take() {
                        let _ = ready.send((format!("http://{addr}"), token.clone()));
                    }
                }
            }
        });
        let (base, initial_token) = match listening.recv_timeout(Duration::from_secs(120)) {
            Ok(found) => found,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "vitals serve did not start listening:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        Server {
            child,
            base,
            initial_token,
            stderr: log,
            db,
            folder,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server printed to stderr so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the server's log has `line` (two minutes at most).
    pub fn wait_for_log(&self, line: &str) {
        let start = std::time::Instant::now();
        while !self.log().contains(line) {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no `{line}` in:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `BASE` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The initial admin token (panics when the store already had one).
    pub fn admin(&self) -> String {
        self.initial_token
            .clone()
            .unwrap_or_else(|| panic!("no initial token printed:\n{}", self.log()))
    }

    /// Stops the server as Ctrl-C would (SIGTERM) and waits for it to exit.
    pub fn stop(mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let status = self.child.wait().expect("wait for vitals serve");
        assert!(
            status.success(),
            "vitals serve exited with {status}:\n{}",
            self.log()
        );
    }

    /// `kill -9`: no chance to flush or clean anything up.
    pub fn kill9(mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer, whatever its status.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }

    /// A header's first value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The error body's code, asserting the `{"error": {code, message, suggestions}}` shape.
    pub fn error_code(&self) -> String {
        let v = self.json();
        let e = &v["error"];
        assert!(
            e["code"].is_string() && e["message"].is_string() && e["suggestions"].is_array(),
            "not an error body: {}",
            self.body
        );
        e["code"].as_str().unwrap().to_string()
    }

    /// Asserts the status, showing the body otherwise.
    pub fn expect(self, status: u16) -> Answer {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .redirects(0)
        .build()
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Result<Answer, String> {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .flat_map(|name| {
            response
                .all(&name)
                .into_iter()
                .map(|v| (name.clone(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let body = response.into_string().map_err(|e| e.to_string())?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A request: method, URL, optional bearer token, optional body (sent as JSON/NDJSON text),
/// extra headers. `Err` only when no HTTP answer came (connection refused or reset).
pub fn try_call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<Answer, String> {
    let mut request = agent().request(method, url);
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.set(name, value);
    }
    match body {
        Some(body) => {
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                request = request.set("Content-Type", "application/json");
            }
            answer(request.send_string(body))
        }
        None => answer(request.call()),
    }
}

/// Like [`try_call`], panicking when no answer came.
pub fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    try_call(method, url, token, body, headers)
        .unwrap_or_else(|e| panic!("{method} {url}: no answer: {e}"))
}

/// `GET url` with a token.
pub fn get(url: &str, token: Option<&str>) -> Answer {
    call("GET", url, token, None, &[])
}

/// `POST url` with a token and a body.
pub fn post(url: &str, token: Option<&str>, body: &str) -> Answer {
    call("POST", url, token, Some(body), &[])
}

/// `POST url` with a form (as a browser submits the survey page).
pub fn post_form(url: &str, fields: &[(&str, &str)]) -> Answer {
    answer(agent().post(url).send_form(fields)).unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

impl Server {
    /// `POST /api/v1/query` with a request; the answer's JSON (asserting 200).
    pub fn query(&self, token: &str, request: &Value) -> Value {
        post(
            &self.url("/api/v1/query"),
            Some(token),
            &request.to_string(),
        )
        .expect(200)
        .json()
    }

    /// `POST /api/v1/records/{entity}` with NDJSON lines.
    pub fn ingest(&self, token: &str, entity: &str, lines: &[Value]) -> Answer {
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        call(
            "POST",
            &self.url(&format!("/api/v1/records/{entity}")),
            Some(token),
            Some(&body),
            &[("Content-Type", "application/x-ndjson")],
        )
    }

    /// One series' value in `/metrics` (read with `token`), e.g.
    /// `vitals_queries_interrupted_total{reason="timeout"}`.
    pub fn metric(&self, token: &str, series: &str) -> f64 {
        let text = get(&self.url("/metrics"), Some(token)).expect(200).body;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no `{series}` in /metrics:\n{text}"))
    }

    /// Creates a token with scopes through the API (with an admin token).
    pub fn token(&self, admin: &str, scopes: &[&str]) -> (String, String) {
        let body = serde_json::json!({"name": scopes.join("+"), "scopes": scopes});
        let v = post(&self.url("/api/v1/tokens"), Some(admin), &body.to_string())
            .expect(201)
            .json();
        (
            v["token"].as_str().expect("token").to_string(),
            v["info"]["id"].as_str().expect("token id").to_string(),
        )
    }
}

/// The (value, n) of a metric with no breakdown in a query answer (n = 0 when no row).
pub fn total(result: &Value, metric: &str) -> (Option<f64>, u64) {
    let rows = result["results"].as_array().expect("results");
    match rows.iter().find(|r| !r["metrics"][metric].is_null()) {
        Some(row) => {
            let m = &row["metrics"][metric];
            (m["value"].as_f64(), m["n"].as_u64().unwrap_or(0))
        }
        None => (None, 0),
    }
}

/// A ticket record.
pub fn ticket(id: &str, created_at: &str, channel: &str) -> Value {
    serde_json::json!({"ticket_id": id, "created_at": created_at, "channel": channel})
}

/// A ticket event record.
pub fn event(id: &str, ticket: &str, at: &str, role: &str) -> Value {
    serde_json::json!({"event_id": id, "ticket_id": ticket, "at": at, "kind": "message", "author_role": role})
}

/// A fresh folder and a fresh store for it (`common::store`: a file `vitals serve` creates
/// in the folder, or a ClickHouse database).
pub fn fresh() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = crate::common::store::store(dir.path(), "serve");
    (dir, db)
}

/// A request for March 2026 (UTC) of the given metrics.
pub fn march(metrics: &[&str]) -> Value {
    serde_json::json!({"metrics": metrics, "from": "2026-03-01", "to": "2026-04-01", "timezone": "UTC"})
}

/// After a crash and a restart (`server`): every acknowledged ticket answers with its derived
/// facts, and every acknowledged event `(ticket, event)` is in its ticket's timeline with the
/// facts derived from it — facts are derived before an ingest is acknowledged.
pub fn assert_acknowledged_survived(
    server: &Server,
    admin: &str,
    tickets: &std::collections::BTreeSet<String>,
    events: &[(String, String)],
) {
    let mut timelines = std::collections::BTreeMap::<String, Value>::new();
    for id in tickets {
        let detail = get(&server.url(&format!("/api/v1/tickets/{id}")), Some(admin));
        assert_eq!(detail.status, 200, "acknowledged ticket {id} is missing");
        let detail = detail.json();
        assert!(
            detail["facts"]["created_at"].is_string(),
            "no facts for {id}: {detail}"
        );
        timelines.insert(id.clone(), detail);
    }
    for (ticket_id, event_id) in events {
        let detail = timelines
            .get(ticket_id)
            .unwrap_or_else(|| panic!("the ticket {ticket_id} of an acknowledged event"));
        let timeline = detail["timeline"].as_array().unwrap();
        assert!(
            timeline.iter().any(|e| e["event_id"] == event_id.as_str()),
            "acknowledged event {event_id} is missing from {ticket_id}"
        );
        assert!(detail["facts"]["frt_secs"].is_number(), "{detail}");
    }
}
