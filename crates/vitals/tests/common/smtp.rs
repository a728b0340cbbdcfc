//! A real SMTP server for the mail tests: aiosmtpd (`smtp_sink.py`) in a child process on a
//! loopback port (optionally requiring STARTTLS with a given certificate), saving each message it accepts, and Python's `email` package to read one
//! back (headers, text and HTML parts, attachments).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");

/// aiosmtpd in a child process, writing what it receives to a folder.
pub struct Sink {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    /// Starts the sink (`auth`: the only USER:PASSWORD it accepts, AUTH then required); `None`
    /// when Python or aiosmtpd is absent (a failure on CI).
    pub fn start(auth: Option<&str>) -> Option<Sink> {
        Sink::start_with(auth, None)
    }

    /// [`Sink::start`], and with `starttls` (the server's certificate and key, PEM files)
    /// STARTTLS offered and required before any mail.
    pub fn start_with(auth: Option<&str>, starttls: Option<(&Path, &Path)>) -> Option<Sink> {
        let present = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            common::input_absent("Python's aiosmtpd (pip install aiosmtpd)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("python3");
        command.arg(SINK).arg("serve").arg(dir.path());
        if let Some(auth) = auth {
            command.args(["--auth", auth]);
        }
        if let Some((cert, key)) = starttls {
            command
                .arg("--starttls")
                .arg(format!("{}:{}", cert.display(), key.display()));
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start smtp_sink.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("listening ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("smtp_sink.py said {line:?}"));
        Some(Sink { child, port, dir })
    }

    /// The messages received so far, in order.
    pub fn messages(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
    }

    /// Waits until `n` messages arrived (a minute at most) and returns them.
    pub fn wait_for(&self, n: usize) -> Vec<PathBuf> {
        let start = Instant::now();
        while self.messages().len() < n && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let got = self.messages();
        assert_eq!(got.len(), n, "messages received: {got:?}");
        got
    }

    /// The envelope and login of a received message.
    pub fn envelope(&self, message: &Path) -> Value {
        serde_json::from_str(&std::fs::read_to_string(message.with_extension("json")).unwrap())
            .unwrap()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The message in `file`, parsed by Python's email package.
pub fn parse(file: &Path) -> Value {
    let out = Command::new("python3")
        .arg(SINK)
        .arg("parse")
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
