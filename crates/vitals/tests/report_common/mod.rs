//! Helpers for the report tests: a generated organisation imported into a store, the real
//! binary run with a fixed clock, and a small reader of the HTML report's `data-*` values.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// The clock every report test runs at (after the generated months).
pub const NOW: &str = "2026-07-15T12:00:00Z";

/// Runs `vitals` at [`NOW`].
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(args)
        .env_remove("VITALS_DB")
        .env("VITALS_NOW", NOW)
        .output()
        .expect("run vitals")
}

/// Runs `vitals` at [`NOW`], asserting success; stdout.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "vitals {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A generated organisation (Dec 2025 – Jun 2026) in a store, with its configuration.
pub struct Org {
    pub dir: tempfile::TempDir,
    pub db: String,
    pub config: String,
}

impl Org {
    pub fn new(tickets: &str) -> Org {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let data_s = data.display().to_string();
        ok(&[
            "generate",
            "--out",
            &data_s,
            "--tickets",
            tickets,
            "--months",
            "7",
            "--seed",
            "7",
        ]);
        let db = dir.path().join("org.duckdb").display().to_string();
        let config = data.join("vitals.toml").display().to_string();
        ok(&["import", &data_s, "--db", &db, "--config", &config]);
        Org { dir, db, config }
    }

    /// `vitals report` into `out`; the paths of the two files.
    pub fn report(&self, month: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
        let out = self.dir.path().join("out");
        let out_s = out.display().to_string();
        let mut args = vec![
            "report",
            "--month",
            month,
            "--db",
            &self.db,
            "--config",
            &self.config,
            "--out",
            &out_s,
        ];
        args.extend_from_slice(extra);
        ok(&args);
        (
            out.join(format!("vitals-report-{month}.xlsx")),
            out.join(format!("vitals-report-{month}.html")),
        )
    }

    /// `vitals query --json`.
    pub fn query(&self, metric: &str, by: &[&str], from: &str, to: &str) -> Value {
        let mut args = vec![
            "query",
            "--db",
            &self.db,
            "--config",
            &self.config,
            "--json",
            "--metric",
            metric,
            "--from",
            from,
            "--to",
            to,
        ];
        for d in by {
            args.extend(["--by", *d]);
        }
        serde_json::from_str(&ok(&args)).unwrap()
    }
}

/// Every start tag of an HTML text with its attributes, in order.
pub fn tags(html: &str) -> Vec<(String, HashMap<String, String>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('/') || tag.starts_with('!') {
            out.push((tag.to_string(), HashMap::new()));
            continue;
        }
        let name: String = tag.chars().take_while(|c| c.is_alphanumeric()).collect();
        let mut attrs = HashMap::new();
        let mut a = &tag[name.len()..];
        while let Some(eq) = a.find("=\"") {
            let key = a[..eq].trim().to_string();
            let after = &a[eq + 2..];
            let Some(close) = after.find('"') else { break };
            attrs.insert(key, unescape(&after[..close]));
            a = &after[close + 1..];
        }
        out.push((name, attrs));
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Close enough for numbers written and read back as text or doubles.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The value of `metric` in a query row whose dimensions match `dims`.
pub fn value_in(response: &Value, dims: &[(&str, &str)], metric: &str, part: &str) -> Option<f64> {
    response["results"]
        .as_array()?
        .iter()
        .find(|r| {
            dims.iter()
                .all(|(d, v)| r["dimensions"][*d].as_str() == Some(*v))
        })
        .and_then(|r| r["metrics"][metric][part].as_f64())
}
