//! A real ClickHouse for tests: the loopback servers of `tests/clickhouse/chserver.py`
//! (chdb-core 26.9 in the virtual environment `.ci/run` installs), and a way to run a
//! statement on a node. Without chdb the tests say so and pass, except under
//! `CI=true`, where a missing ClickHouse is a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use vitals_clickhouse::Client;

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

/// Runs `sql` on the node at `url` in `database`, with the settings vitals runs under
/// (`vitals_clickhouse::Client`'s).
pub fn run(url: &str, database: &str, sql: &str) -> Result<(), String> {
    Client::new(url, database, None)
        .execute(sql)
        .map_err(|e| e.to_string())
}
