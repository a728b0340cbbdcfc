//! A real ClickHouse for tests: the loopback servers of `tests/clickhouse/chserver.py`
//! (chdb-core 26.9 in the virtual environment `.ci/run` installs), an HTTP client, and an
//! [`Engine`] that runs the query library's statements on it — just enough to compare
//! ClickHouse's numbers with DuckDB's. Without chdb the tests say so and pass, except under
//! `CI=true`, where a missing ClickHouse is a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use vitals_clickhouse::ClickHouse;
use vitals_query::plan::PlannedSql;
use vitals_query::{AggRow, Dialect, Engine, EngineError, FactsState, RecordRow};

/// The Python with chdb: `VITALS_CHDB_PYTHON`, else the virtual environment `.ci/run` makes.
fn chdb_python() -> Option<PathBuf> {
    let path = std::env::var_os("VITALS_CHDB_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/vitals/chdb-venv/bin/python"))
        })?;
    let has_chdb = Command::new(&path)
        .args(["-c", "import chdb"])
        .status()
        .is_ok_and(|s| s.success());
    has_chdb.then_some(path)
}

/// Running ClickHouse nodes (one, or the shards of cluster `vitals`), stopped when dropped.
pub struct Servers {
    child: Child,
    _stdin: ChildStdin,
    /// Each node's HTTP URL.
    pub urls: Vec<String>,
}

impl Servers {
    /// Starts `shards` nodes; `None` (with a note) when chdb is not installed outside CI.
    pub fn start(shards: usize) -> Option<Servers> {
        let Some(python) = chdb_python() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and no chdb: .ci/run installs chdb-core into $HOME/.cache/vitals/chdb-venv"
            );
            eprintln!("skipped: no chdb (see .ci/run, or set VITALS_CHDB_PYTHON)");
            return None;
        };
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/clickhouse/chserver.py"
        );
        let mut child = Command::new(python)
            .args([script, "--shards", &shards.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start chserver.py");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut urls = Vec::new();
        for line in stdout.lines() {
            let line = line.expect("chserver.py output");
            if line == "ready" {
                break;
            }
            if let Some(url) = line.split_whitespace().nth(2) {
                urls.push(url.to_string());
            }
        }
        assert_eq!(urls.len(), shards, "chserver.py did not start every node");
        Some(Servers {
            child,
            _stdin: stdin,
            urls,
        })
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        // SIGTERM: the launcher stops its nodes and removes their directories.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// Runs `sql` on the node at `url` in `database`, with the settings vitals runs under (`final
/// = 1`: superseded record versions and fact rows never show); the body of the answer
/// (TabSeparated unless the statement says otherwise). On a cluster a join
/// of two `Distributed` tables reads the right one whole (`distributed_product_mode =
/// global`): the stored facts the test copies are not sharded by ticket, so a shard-local join
/// would miss rows.
pub fn run(url: &str, database: &str, sql: &str) -> Result<String, String> {
    ureq::post(url)
        .query("database", database)
        .query("join_use_nulls", "1")
        .query("distributed_foreground_insert", "1")
        .query("distributed_product_mode", "global")
        .query("final", "1")
        .send_string(sql)
        .map_err(|e| match e {
            ureq::Error::Status(_, r) => r.into_string().unwrap_or_default(),
            e => e.to_string(),
        })?
        .into_string()
        .map_err(|e| e.to_string())
}

/// The statement with its `?` placeholders (outside string literals) bound to `params` as
/// ClickHouse string literals.
fn bind(sql: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut params = params.iter();
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => match params.next() {
                Some(p) => out.push_str(&ClickHouse.string_literal(p)),
                None => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out
}

/// One TabSeparated field: `\N` is NULL, escapes are read back.
fn field(text: &str) -> Option<String> {
    (text != "\\N").then(|| {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('t') => out.push('\t'),
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    })
}

fn number(text: &str) -> Option<f64> {
    field(text)
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|x| !x.is_nan())
}

/// The rows of a TabSeparated answer, as fields.
fn rows(body: &str) -> Vec<Vec<&str>> {
    body.lines().map(|l| l.split('\t').collect()).collect()
}

/// The query library's statements on ClickHouse.
pub struct ClickHouseEngine {
    /// A node's HTTP URL.
    pub url: String,
    /// The database.
    pub database: String,
    /// What the facts' derivation state is (that of the store the data came from).
    pub facts: FactsState,
}

impl ClickHouseEngine {
    fn query(&self, sql: &str) -> Result<String, EngineError> {
        run(&self.url, &self.database, sql).map_err(|e| EngineError(format!("{e}\n{sql}")))
    }
}

impl Engine for ClickHouseEngine {
    fn dialect(&self) -> &dyn Dialect {
        &ClickHouse
    }

    fn aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
        let body = self.query(&bind(&plan.sql, &plan.params))?;
        Ok(rows(&body)
            .into_iter()
            .map(|r| AggRow {
                keys: r[..plan.key_columns].iter().map(|f| field(f)).collect(),
                aggs: r[plan.key_columns..].iter().map(|f| number(f)).collect(),
            })
            .collect())
    }

    fn extent(&self, sql: &str) -> Result<Option<(i64, i64)>, EngineError> {
        let body = self.query(sql)?;
        let row = rows(&body).into_iter().next().unwrap_or_default();
        Ok(match row.as_slice() {
            [a, b] => number(a).zip(number(b)).map(|(a, b)| (a as i64, b as i64)),
            _ => None,
        })
    }

    fn facts_state(&self) -> Result<FactsState, EngineError> {
        Ok(self.facts.clone())
    }

    fn records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
        let body = self.query(&bind(&plan.sql, &plan.params))?;
        Ok(rows(&body)
            .into_iter()
            .map(|r| RecordRow {
                id: field(r[0]),
                ticket: field(r[1]),
                at_us: number(r[2]).map(|x| x as i64),
                value: number(r[3]),
                counted: field(r[4]).map(|c| c == "true" || c == "1"),
            })
            .collect())
    }
}
