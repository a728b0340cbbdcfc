//! `--server URL`: the CLI as a client of a running `vitals serve` (which holds its store for
//! good). Queries post the same request JSON to `/api/v1/query`; imports send each canonical
//! file's records to `/api/v1/records/{entity}` in batches, validated by the server exactly as
//! a local import would validate them; reports download from `/api/v1/report`. The token
//! comes from `VITALS_TOKEN`.

use std::path::Path;

use anyhow::Result;
use serde_json::{Map, Value};
use vitals_import::{discover, BodyReject, Format};

use crate::UserError;

/// Records per ingest request.
const BATCH: usize = 10_000;

/// A client of one server.
pub struct Remote {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Remote {
    /// A client of `url`, with the token from `VITALS_TOKEN`.
    pub fn new(url: &str) -> Result<Remote> {
        let token = std::env::var("VITALS_TOKEN").map_err(|_| {
            UserError("--server needs an API token in VITALS_TOKEN (vitals token create --scope read,ingest)".into())
        })?;
        Ok(Remote {
            base: url.trim_end_matches('/').to_string(),
            token,
            agent: ureq::AgentBuilder::new().build(),
        })
    }

    /// POSTs `body` to `path`; the answer's text, or the server's error as a user error.
    pub fn post(&self, path: &str, content_type: &str, body: &str) -> Result<String> {
        let url = format!("{}{path}", self.base);
        let answer = self
            .agent
            .post(&url)
            .set("Authorization", &format!("Bearer {}", self.token))
            .set("Content-Type", content_type)
            .send_string(body);
        match answer {
            Ok(response) => Ok(response.into_string()?),
            Err(e) => Err(refusal(&url, e)),
        }
    }

    /// GETs `path` (with its query string) and returns the body's bytes, or the server's error.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let answer = self
            .agent
            .get(&url)
            .set("Authorization", &format!("Bearer {}", self.token))
            .call();
        match answer {
            Ok(response) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes)?;
                Ok(bytes)
            }
            Err(e) => Err(refusal(&url, e)),
        }
    }

    /// GETs `path` and parses the JSON answer.
    pub fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        Ok(serde_json::from_slice(&self.get_bytes(path)?)?)
    }

    /// DELETEs `path`: true when it was there, false when the server answers 404.
    pub fn delete(&self, path: &str) -> Result<bool> {
        let url = format!("{}{path}", self.base);
        match self
            .agent
            .delete(&url)
            .set("Authorization", &format!("Bearer {}", self.token))
            .call()
        {
            Ok(_) => Ok(true),
            Err(ureq::Error::Status(404, _)) => Ok(false),
            Err(e) => Err(refusal(&url, e)),
        }
    }

    /// Sends every canonical file under `paths`; returns the printed summary lines and whether
    /// anything was rejected.
    pub fn import(
        &self,
        paths: &[std::path::PathBuf],
        tz: Option<&str>,
    ) -> Result<(Vec<String>, u64)> {
        let (files, skipped) = discover::discover(paths)?;
        let mut lines: Vec<String> = skipped
            .iter()
            .map(|(p, why)| format!("skipped {}: {why}", p.display()))
            .collect();
        let mut rejected_total = 0;
        for file in &files {
            if file.format == Format::Parquet {
                return Err(UserError(format!(
                    "{}: Parquet files cannot be sent with --server; import them locally while the server is stopped",
                    file.path.display()
                ))
                .into());
            }
            let query = tz.map(|z| format!("?tz={z}")).unwrap_or_default();
            let path = format!("/api/v1/records/{}{query}", file.entity.name);
            let (mut read, mut accepted, mut rejects) = (0u64, 0u64, Vec::new());
            for batch in batches(&file.path, file.format)? {
                let body = batch.records.join("\n");
                let answer: Value =
                    serde_json::from_str(&self.post(&path, "application/x-ndjson", &body)?)?;
                read += batch.records.len() as u64;
                accepted += answer["accepted"].as_u64().unwrap_or(0);
                let batch_rejects: Vec<BodyReject> = answer["rejected"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| BodyReject {
                        line: r["line"]
                            .as_u64()
                            .and_then(|k| batch.lines.get(k as usize - 1).copied())
                            .unwrap_or(0),
                        column: r["column"].as_str().map(str::to_string),
                        code: "invalid",
                        reason: format!(
                            "{} ({})",
                            r["reason"].as_str().unwrap_or_default(),
                            r["code"].as_str().unwrap_or_default()
                        ),
                    })
                    .collect();
                rejects.extend(batch_rejects);
            }
            rejected_total += rejects.len() as u64;
            lines.push(format!(
                "{:18} {} read, {} accepted, {} rejected  ({})",
                file.entity.name,
                read,
                accepted,
                rejects.len(),
                file.path.display()
            ));
            for r in rejects.iter().take(20) {
                let column = r
                    .column
                    .as_deref()
                    .map(|c| format!(" column `{c}`"))
                    .unwrap_or_default();
                lines.push(format!(
                    "  {}:{}{column}: {}",
                    file.path.display(),
                    r.line,
                    r.reason
                ));
            }
        }
        Ok((lines, rejected_total))
    }
}

/// `key=value&…` with the values percent-encoded, leaving out absent ones.
pub fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let encode = |value: &str| -> String {
        value
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// A failed request as a user error: the server's error message, or why it was not reached.
fn refusal(url: &str, error: ureq::Error) -> anyhow::Error {
    match error {
        ureq::Error::Status(status, response) => {
            let text = response.into_string().unwrap_or_default();
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            UserError(format!("{url}: {status}: {message}")).into()
        }
        e => UserError(format!("cannot reach {url}: {e}")).into(),
    }
}

/// A batch of records as JSON lines, with the file line of each.
struct Batch {
    lines: Vec<u64>,
    records: Vec<String>,
}

/// A file's records as JSON lines, in batches.
fn batches(path: &Path, format: Format) -> Result<Vec<Batch>> {
    let mut all: Vec<(u64, String)> = Vec::new();
    match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
            let headers: Vec<String> = reader
                .headers()?
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
                .collect();
            for row in reader.records() {
                let row = row?;
                let line = row.position().map_or(0, |p| p.line());
                let object: Map<String, Value> = headers
                    .iter()
                    .zip(row.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                    .collect();
                all.push((line, Value::Object(object).to_string()));
            }
        }
        Format::Ndjson => {
            let text = std::fs::read_to_string(path)?;
            for (i, line) in text.lines().enumerate() {
                if !line.trim().is_empty() {
                    all.push((i as u64 + 1, line.to_string()));
                }
            }
        }
        Format::Parquet => {}
    }
    Ok(all
        .chunks(BATCH)
        .map(|chunk| Batch {
            lines: chunk.iter().map(|(l, _)| *l).collect(),
            records: chunk.iter().map(|(_, r)| r.clone()).collect(),
        })
        .collect())
}
