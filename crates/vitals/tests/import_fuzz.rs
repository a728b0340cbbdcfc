//! Property and fuzz tests of every reader and adapter — canonical CSV, NDJSON and Parquet;
//! zendesk, freshdesk, chatwoot, servicenow, callcenter, twitter, reviews — and of the
//! configuration loader, in-process (the import library into an in-memory store). Inputs are
//! valid fixtures mutated (see `fuzz/mod.rs`); every case must keep the invariants: no panic,
//! no hang (a watchdog bounds each case), `read = kept + rejected` per entity and `rows read
//! = mapped + skipped + rejected` per source, and every reject written with a code, a line and
//! (for an invalid value) its column. Mixed files of good and bad rows must keep every good
//! row. Cases per property: `PROPTEST_CASES` (default 64); `FUZZ_SECONDS` repeats batches for
//! that long (bench/fuzz_long.sh).

mod fuzz;

use proptest::prelude::*;
use vitals_import::Source;

use fuzz::{apply, import, mutation, run, seeds, Mutation, Target};

const CASES: u32 = 64;

/// Which seed file to change, and how.
type Plan = (prop::sample::Index, Vec<Mutation>);

fn plan(json: bool) -> impl Strategy<Value = Plan> {
    (
        any::<prop::sample::Index>(),
        prop::collection::vec(mutation(json), 1..4),
    )
}

/// `files` with the plan applied to one of the first `mutable` files.
fn mutate(
    mut files: Vec<(String, Vec<u8>)>,
    mutable: usize,
    (which, ms): &Plan,
) -> Vec<(String, Vec<u8>)> {
    let k = which.index(mutable.min(files.len()));
    let bytes = ms.iter().fold(std::mem::take(&mut files[k].1), apply);
    files[k].1 = bytes;
    files
}

/// Fuzzes `target` with mutations of `files` (the first `mutable` of them).
fn fuzz_target(
    name: &str,
    target: Target,
    files: Vec<(String, Vec<u8>)>,
    mutable: usize,
    json: bool,
) {
    run(name, CASES, plan(json), |p| {
        import(&target, &mutate(files.clone(), mutable, &p)).map(|_| ())
    });
}

fn canonical(zone: Option<&'static str>) -> Target {
    Target { source: None, zone }
}

fn source(source: Source, zone: Option<&'static str>) -> Target {
    Target {
        source: Some(source),
        zone,
    }
}

#[test]
fn fuzz_canonical_csv() {
    let files = seeds("fuzz", Some("tickets.csv"));
    fuzz_target(
        "canonical csv",
        canonical(Some("Europe/Helsinki")),
        files,
        1,
        false,
    );
}

#[test]
fn fuzz_canonical_ndjson() {
    let mut files = seeds("fuzz", Some("ticket_events.ndjson"));
    files.extend(seeds("fuzz", Some("tickets.csv")));
    fuzz_target(
        "canonical ndjson",
        canonical(Some("Europe/Helsinki")),
        files,
        1,
        true,
    );
}

#[test]
fn fuzz_canonical_parquet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz/tickets.csv");
    let parquet = dir.path().join("tickets.parquet");
    duckdb::Connection::open_in_memory()
        .expect("duckdb")
        .execute_batch(&format!(
            "COPY (SELECT * FROM read_csv('{}', all_varchar = true)) TO '{}' (FORMAT PARQUET)",
            csv.display(),
            parquet.display()
        ))
        .expect("write the Parquet seed");
    let files = vec![(
        "tickets.parquet".to_string(),
        std::fs::read(&parquet).expect("seed"),
    )];
    fuzz_target("canonical parquet", canonical(None), files, 1, false);
}

#[test]
fn fuzz_zendesk() {
    let files = seeds("zendesk", None);
    let n = files.len();
    fuzz_target("zendesk", source(Source::Zendesk, None), files, n, true);
}

#[test]
fn fuzz_freshdesk() {
    let files = seeds("freshdesk_history", None);
    let n = files.len();
    fuzz_target(
        "freshdesk",
        source(Source::Freshdesk, Some("Europe/Helsinki")),
        files,
        n,
        true,
    );
}

#[test]
fn fuzz_chatwoot() {
    let files = seeds("chatwoot_teams", None);
    let n = files.len();
    fuzz_target("chatwoot", source(Source::Chatwoot, None), files, n, true);
}

#[test]
fn fuzz_servicenow() {
    let files = seeds("fuzz", Some("servicenow.csv"));
    fuzz_target(
        "servicenow",
        source(Source::Servicenow, Some("America/Sao_Paulo")),
        files,
        1,
        false,
    );
}

#[test]
fn fuzz_callcenter() {
    let files = seeds("fuzz", Some("callcenter.txt"));
    fuzz_target(
        "callcenter",
        source(Source::Callcenter, Some("Asia/Jerusalem")),
        files,
        1,
        false,
    );
}

#[test]
fn fuzz_twitter() {
    let files = seeds("fuzz", Some("twitter.csv"));
    fuzz_target("twitter", source(Source::Twitter, None), files, 1, false);
}

#[test]
fn fuzz_reviews() {
    let files = seeds("fuzz", Some("reviews.csv"));
    fuzz_target(
        "reviews",
        source(Source::Reviews, Some("America/Sao_Paulo")),
        files,
        1,
        false,
    );
}

/// A configuration using every section.
const RICH_CONFIG: &str = r#"
[reporting]
timezone = "Europe/Helsinki"
[surveys.csat]
scale = [1, 5]
top_box = [4, 5]
[calendars.default]
timezone = "Europe/Helsinki"
mon = ["09:00-12:00", "13:00-17:00"]
holidays = ["2026-01-01"]
[[calendars.default.exceptions]]
date = "2026-04-30"
hours = ["09:00-12:00"]
[teams.tier2]
calendar = "default"
[[sla]]
name = "priority"
when = { priority = ["urgent", "high"] }
first_reply = "1h"
resolution = "1h30m"
pause_on = ["pending"]
[targets]
csat = 85
"first_response_time:median" = "1h"
[targets.team.tier2]
fcr = 70
[quality.rubrics.v1]
empathy = 1
procedure = { weight = 2, tags = ["adherence"] }
[engagement.weights]
training_participation = 1
"#;

#[test]
fn fuzz_configuration_loader() {
    let texts = [
        vitals_core::config::DEFAULT_CONFIG.as_bytes().to_vec(),
        RICH_CONFIG.as_bytes().to_vec(),
    ];
    run(
        "configuration",
        CASES * 4,
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(mutation(false), 1..4),
        ),
        |(which, ms)| {
            let seed = texts[which.index(texts.len())].clone();
            let bytes = ms.iter().fold(seed, apply);
            let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let path = dir.path().join("vitals.toml");
            std::fs::write(&path, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            match vitals_core::config::Config::load(Some(&path)) {
                Ok(config) => {
                    // A configuration that loads is one every later step accepts.
                    prop_assert!(config.derivation_rules().is_ok());
                    prop_assert!(config.targets().is_ok());
                }
                Err(e) => prop_assert!(!e.to_string().trim().is_empty()),
            }
            Ok(())
        },
    );
}

/// A row of a mixed file: good (kept) or one of the ways to be bad (rejected).
#[derive(Debug, Clone)]
enum Row {
    Good(u8, u8, u8),
    Bad(usize),
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    let row = prop_oneof![
        (1..=28u8, 0..24u8, 0..60u8).prop_map(|(d, h, m)| Row::Good(d, h, m)),
        (0..16usize).prop_map(Row::Bad),
    ];
    prop::collection::vec(row, 1..40)
}

fn count(rows: &[Row]) -> (u64, u64) {
    let good = rows.iter().filter(|r| matches!(r, Row::Good(..))).count() as u64;
    (good, rows.len() as u64 - good)
}

#[test]
fn mixed_canonical_csv_keeps_every_good_row() {
    const BAD: &[&[u8]] = &[
        b"b{i},2026-02-01T10:00:00,email,false",
        b"b{i},,email,false",
        b"b{i},2026-02-01T10:00:00Z,email,perhaps",
        b"b{i},2026-02-01T10:00:00Z",
        b"b{i},yesterday,chat,true",
        b"b{i},2026-02-01T10:00:00Z,email,false,extra",
        b"b{i},2026-02-01T10:00:00Z,\xff\xfe,false",
        b"b{i},9999-99-99T99:99:99Z,email,false",
        b",2026-02-01T10:00:00Z,email,false",
        b"b{i},2026-02-30T10:00:00Z,email,false",
        b"b{i},+275760-09-13T00:00:00Z,email,false",
        b"b{i},2026-02-01T10:00:00+25:00,email,false",
        b"b{i},1e400,email,false",
        b"b{i},2026-02-01T10:00:00Z,email,2",
        b"b{i}",
        b"b{i},2026-02-01T24:00:00Z,email,false",
    ];
    run("mixed canonical csv", CASES, rows(), |rows| {
        let mut text = b"ticket_id,created_at,channel,is_complaint\n".to_vec();
        for (i, r) in rows.iter().enumerate() {
            match r {
                Row::Good(d, h, m) => text
                    .extend(format!("g{i},2026-02-{d:02}T{h:02}:{m:02}:00Z,email,false").bytes()),
                Row::Bad(k) => {
                    let bad = BAD[*k].to_vec();
                    text.extend(replace(&bad, b"{i}", i.to_string().as_bytes()));
                }
            }
            text.push(b'\n');
        }
        let outcome = import(&canonical(None), &[("tickets.csv".into(), text)])?;
        let (good, bad) = count(&rows);
        prop_assert_eq!(outcome.kept.get("tickets").copied().unwrap_or(0), good);
        prop_assert_eq!(outcome.rejected.get("tickets").copied().unwrap_or(0), bad);
        Ok(())
    });
}

#[test]
fn mixed_canonical_ndjson_keeps_every_good_row() {
    const BAD: &[&[u8]] = &[
        br#"{"event_id":"b{i}","#,
        br#"[1,2]"#,
        br#"42"#,
        br#"{"event_id":"b{i}","ticket_id":"t1","at":"yesterday","kind":"message","author_role":"agent"}"#,
        br#"{"event_id":"b{i}","ticket_id":"t1","at":"2026-02-01T10:00:00Z","kind":"teleport","author_role":"agent"}"#,
        br#"{"ticket_id":"t1","at":"2026-02-01T10:00:00Z","kind":"message","author_role":"agent"}"#,
        br#"{"event_id":"b{i}","ticket_id":"t1","at":{"x":1},"kind":"message","author_role":"agent"}"#,
        b"{\"event_id\":\"b\xff{i}\",\"ticket_id\":\"t1\"}",
        br#"{"event_id":"b{i}","ticket_id":"t1","at":"2026-02-01T10:00:00Z","kind":"message"}"#,
        br#"{"event_id":"b{i}","ticket_id":"t1","at":"2026-02-01T10:00:00Z","kind":"status","author_role":"agent"}"#,
        br#"{"event_id":"b{i}","ticket_id":"t1","at":"2026-02-01T10:00:00","kind":"message","author_role":"agent"}"#,
        br#"{"event_id":"b{i}","ticket_id":"t1","at":"2026-02-01T10:00:00Z","kind":"message","author_role":"robot"}"#,
        b"\0",
        br#"{"event_id":"b{i}","ticket_id":"t1","at":"2026-02-01T10:00:00Z","kind":"message","author_role":"agent","public":"maybe"}"#,
        br#"{"event_id":"b{i}","ticket_id":"t1","at":"2026-13-01T10:00:00Z","kind":"message","author_role":"agent"}"#,
        br#"{"event_id":"b{i}""#,
    ];
    run("mixed canonical ndjson", CASES, rows(), |rows| {
        let mut text = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            match r {
                Row::Good(d, h, m) => text.extend(format!(
                    r#"{{"event_id":"g{i}","ticket_id":"t1","at":"2026-02-{d:02}T{h:02}:{m:02}:00Z","kind":"message","author_role":"customer"}}"#
                ).bytes()),
                Row::Bad(k) => text.extend(replace(BAD[*k], b"{i}", i.to_string().as_bytes())),
            }
            text.push(b'\n');
        }
        let outcome = import(&canonical(None), &[("ticket_events.ndjson".into(), text)])?;
        let (good, bad) = count(&rows);
        prop_assert_eq!(
            outcome.kept.get("ticket_events").copied().unwrap_or(0),
            good
        );
        prop_assert_eq!(
            outcome.rejected.get("ticket_events").copied().unwrap_or(0),
            bad
        );
        Ok(())
    });
}

#[test]
fn mixed_zendesk_tickets_keep_every_good_row() {
    const BAD: &[&[u8]] = &[
        br#"{"id":"b{i}","#,
        br#"{"id":"b{i}","created_at":"yesterday","via":{"channel":"email"}}"#,
        br#"{"id":null,"created_at":"2026-02-01T10:00:00Z"}"#,
        br#"42"#,
        br#""a ticket""#,
        br#"{"id":"b{i}","created_at":"2026-02-01T10:00:00"}"#,
        br#"{"id":"b{i}","created_at":"2026-02-30T10:00:00Z"}"#,
        br#"{"id":"b{i}","created_at":{"at":"2026-02-01T10:00:00Z"}}"#,
        b"{\"id\":\"b{i}\xff\"",
        br#"{"id":"b{i}","created_at":"2026-02-01T10:00:00Z","is_public":true"#,
        br#"{}"#,
        br#"{"id":"b{i}","created_at":"+275760-09-13T00:00:00Z"}"#,
        br#"{"id":"b{i}","created_at":"2026-02-01T10:00:00+99:00"}"#,
        br#"{"id":"b{i}","created_at":1e400}"#,
        br#"{"id":"b{i}","created_at":"2026-02-01T10:00:00Z""#,
        br#"]"#,
    ];
    run("mixed zendesk", CASES, rows(), |rows| {
        let mut text = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            match r {
                Row::Good(d, h, m) => text.extend(format!(
                    r#"{{"id":"g{i}","created_at":"2026-02-{d:02}T{h:02}:{m:02}:00Z","requester_id":7,"via":{{"channel":"email"}},"tags":["category_billing"]}}"#
                ).bytes()),
                Row::Bad(k) => text.extend(replace(BAD[*k], b"{i}", i.to_string().as_bytes())),
            }
            text.push(b'\n');
        }
        let outcome = import(
            &source(Source::Zendesk, None),
            &[("tickets.ndjson".into(), text)],
        )?;
        let (good, bad) = count(&rows);
        prop_assert_eq!(
            outcome.source_read,
            good + bad,
            "every line is a source row"
        );
        prop_assert_eq!(outcome.kept.get("tickets").copied().unwrap_or(0), good);
        Ok(())
    });
}

/// `bytes` with every `from` replaced by `to`.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}
