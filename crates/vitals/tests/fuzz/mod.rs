//! The fuzz harness of `import_fuzz.rs`: mutations of valid seed files (truncation, inserted
//! bytes and snippets, invalid UTF-8, NUL bytes, BOMs, CRLF, huge fields, deep JSON nesting,
//! duplicate keys and lines, timestamps at the edges of the representable range and in DST
//! gaps and overlaps), an in-process import into an in-memory store, the invariants every
//! import must keep, and a watchdog that fails the run when one case takes too long.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use vitals_core::config::Config;
use vitals_import::{import_paths, import_source, ImportOptions, Limits, NoProgress, Source};
use vitals_store::Store;

/// Cases per property: `PROPTEST_CASES`, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A runner with `cases` cases, no persistence files, and no shrinking beyond a bound (a
/// failure is reported with its input either way).
pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..RunnerConfig::default()
    })
}

/// Runs `property` until `PROPTEST_CASES` cases passed or, with `FUZZ_SECONDS` set, until that
/// many seconds are spent (the long runs of bench/fuzz_long.sh); prints the case count.
pub fn run<S: Strategy>(
    name: &str,
    default_cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let budget = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        let batch = cases(default_cases);
        let mut r = runner(batch);
        if let Err(e) = r.run(&strategy, |value| {
            let label = format!("{name}: {value:?}");
            guarded(&label, || property(value))
        }) {
            panic!("{name}: {e}");
        }
        total += u64::from(batch);
        match budget {
            Some(secs) if started.elapsed() < Duration::from_secs(secs) => continue,
            _ => break,
        }
    }
    println!(
        "fuzz {name}: {total} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Most CPU time a single case may use before the watchdog aborts the test process. CPU
/// time, not wall time: a long run at low priority on a busy machine waits without hanging.
const CASE_LIMIT: Duration = Duration::from_secs(60);
/// Longest a case may take in wall time (a case blocked without using CPU: a deadlock).
const CASE_WALL_LIMIT: Duration = Duration::from_secs(30 * 60);

/// A running case: when it started, its thread's CPU clock, its input.
type Running = Mutex<HashMap<std::thread::ThreadId, (Instant, libc::clockid_t, Duration, String)>>;

fn running() -> &'static Running {
    static RUNNING: std::sync::OnceLock<Running> = std::sync::OnceLock::new();
    RUNNING.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The CPU time a thread's clock shows.
fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write; a stale clock id only returns an error.
    if unsafe { libc::clock_gettime(clock, &mut t) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// This thread's CPU clock.
fn thread_clock() -> libc::clockid_t {
    let mut clock: libc::clockid_t = libc::CLOCK_THREAD_CPUTIME_ID;
    // SAFETY: asking for the calling thread's own CPU clock id.
    unsafe {
        libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock);
    }
    clock
}

/// Runs one case under the watchdog: a case that used more than [`CASE_LIMIT`] of CPU (or
/// ran [`CASE_WALL_LIMIT`]) is a hang, reported with its input, and the test process aborts.
fn guarded<T>(label: &str, case: impl FnOnce() -> T) -> T {
    static WATCHDOG: Once = Once::new();
    WATCHDOG.call_once(|| {
        std::thread::spawn(|| loop {
            std::thread::sleep(Duration::from_millis(500));
            let map = running().lock().unwrap_or_else(|e| e.into_inner());
            let hung = map.values().find(|(started, clock, cpu_at_start, _)| {
                cpu_time(*clock).saturating_sub(*cpu_at_start) > CASE_LIMIT
                    || started.elapsed() > CASE_WALL_LIMIT
            });
            if let Some((_, _, _, label)) = hung {
                let shown: String = label.chars().take(2000).collect();
                eprintln!("a fuzz case ran longer than {CASE_LIMIT:?} of CPU (a hang): {shown}");
                std::process::abort();
            }
        });
    });
    let id = std::thread::current().id();
    let lock = || running().lock().unwrap_or_else(|e| e.into_inner());
    let clock = thread_clock();
    lock().insert(
        id,
        (Instant::now(), clock, cpu_time(clock), label.to_string()),
    );
    let out = case();
    lock().remove(&id);
    out
}

/// A change to a seed file.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Cut the file at a point.
    Truncate(Index),
    /// Insert bytes (a nasty snippet or random bytes) at a point.
    Insert(Index, Vec<u8>),
    /// Delete up to n bytes from a point.
    Delete(Index, usize),
    /// Repeat a line (duplicate ids).
    DuplicateLine(Index),
    /// Put a byte-order mark in front.
    Bom,
    /// Line ends as CRLF.
    Crlf,
    /// A field of n bytes at a point.
    Huge(Index, usize),
    /// n nested JSON arrays (or objects) at a point.
    Deep(Index, usize, bool),
    /// Replace a timestamp-like run with an edge value.
    Timestamp(Index, &'static str),
    /// A duplicate key after an object's opening brace.
    DuplicateKey(Index),
    /// Replace one byte.
    Flip(Index, u8),
}

/// Snippets that break parsers: quotes, separators, brackets, NUL, invalid UTF-8, numbers
/// out of range, escapes.
const SNIPPETS: &[&[u8]] = &[
    b"\0",
    b"\xff\xfe",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\"",
    b"\"\"",
    b",",
    b"\t",
    b"\n",
    b"\r",
    b"\r\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"null",
    b"true",
    b"-1",
    b"1e400",
    b"-1e400",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"NaN",
    b"\\u0000",
    b"\\ud800",
    b"?",
    b"{\"a\":[1,{\"b\":null}]}",
    b"\xef\xbb\xbf",
];

/// Timestamps at the edges of what parsers and the store can hold, impossible ones, and
/// local times in DST gaps and overlaps of the zones the tests use.
const EDGE_TIMES: &[&str] = &[
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "-271821-04-20T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2262-04-11T23:47:16.854775807Z",
    "1677-09-21T00:12:43.145224192Z",
    "2026-02-30T10:00:00Z",
    "2026-03-02T24:00:00Z",
    "2026-03-02T10:00:00+25:00",
    "2026-03-29T03:30:00",
    "2026-10-25T03:30:00",
    "2026-03-29 03:30:00",
    "2026-10-25 03:30:00",
    "16/10/2016 00:30",
    "20/2/2016 23:30",
    "31/2/2016 01:16",
    "29/2/2016 25:61",
    "2018-02-17 23:32:13",
    "2018-11-04 00:30:00",
    "99999999999999999999",
    "-62135596801",
    "1e300",
    "Wed Oct 32 25:61:61 +0000 2017",
    "",
];

/// A random mutation (`json`: the seed is JSON, so nesting and duplicate keys apply).
pub fn mutation(json: bool) -> impl Strategy<Value = Mutation> {
    let snippet = prop_oneof![
        prop::sample::select(SNIPPETS).prop_map(|s| s.to_vec()),
        prop::collection::vec(any::<u8>(), 1..12),
    ];
    prop_oneof![
        3 => any::<Index>().prop_map(Mutation::Truncate),
        6 => (any::<Index>(), snippet).prop_map(|(i, s)| Mutation::Insert(i, s)),
        2 => (any::<Index>(), 1..64usize).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => Just(Mutation::Bom),
        1 => Just(Mutation::Crlf),
        1 => (any::<Index>(), prop_oneof![1000..100_000usize, Just(1_100_000usize)])
            .prop_map(|(i, n)| Mutation::Huge(i, n)),
        if json { 2 } else { 1 } => (any::<Index>(), 10..3000usize, any::<bool>())
            .prop_map(|(i, n, o)| Mutation::Deep(i, n, o)),
        4 => (any::<Index>(), prop::sample::select(EDGE_TIMES))
            .prop_map(|(i, t)| Mutation::Timestamp(i, t)),
        if json { 2 } else { 1 } => any::<Index>().prop_map(Mutation::DuplicateKey),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
    ]
}

/// Byte ranges of timestamp-like runs: digits with date or time separators.
fn timestamp_runs(bytes: &[u8]) -> Vec<(usize, usize)> {
    let part = |b: u8| b.is_ascii_digit() || b"-/:T +Z.".contains(&b);
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && part(bytes[i]) {
            i += 1;
        }
        let run = &bytes[start..i];
        let digits = run.iter().filter(|b| b.is_ascii_digit()).count();
        let dated = run.iter().any(|b| b"-/:".contains(b));
        if (dated && digits >= 6) || digits >= 9 {
            runs.push((start, i));
        }
    }
    runs
}

/// `bytes` with `m` applied.
pub fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let at = |i: &Index, len: usize| i.index(len + 1);
    match m {
        Mutation::Truncate(i) => {
            let n = at(i, bytes.len());
            bytes.truncate(n);
        }
        Mutation::Insert(i, s) => {
            let n = at(i, bytes.len());
            bytes.splice(n..n, s.iter().copied());
        }
        Mutation::Delete(i, k) => {
            let n = at(i, bytes.len());
            let end = (n + k).min(bytes.len());
            bytes.drain(n..end);
        }
        Mutation::DuplicateLine(i) => {
            let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
            if !lines.is_empty() {
                let k = i.index(lines.len());
                let mut out = Vec::with_capacity(bytes.len() * 2);
                for (j, line) in lines.iter().enumerate() {
                    out.extend_from_slice(line);
                    if j == k {
                        if !line.ends_with(b"\n") {
                            out.push(b'\n');
                        }
                        out.extend_from_slice(line);
                    }
                }
                bytes = out;
            }
        }
        Mutation::Bom => {
            bytes.splice(0..0, *b"\xef\xbb\xbf");
        }
        Mutation::Crlf => {
            let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 20);
            for b in bytes {
                if b == b'\n' {
                    out.push(b'\r');
                }
                out.push(b);
            }
            bytes = out;
        }
        Mutation::Huge(i, n) => {
            let at = at(i, bytes.len());
            let field = std::iter::repeat_n(b'x', *n);
            bytes.splice(at..at, field);
        }
        Mutation::Deep(i, n, objects) => {
            let at = at(i, bytes.len());
            let (open, close): (&[u8], &[u8]) = if *objects {
                (b"{\"a\":", b"}")
            } else {
                (b"[", b"]")
            };
            let mut nest = open.repeat(*n);
            nest.extend_from_slice(b"1");
            nest.extend(close.repeat(*n));
            bytes.splice(at..at, nest);
        }
        Mutation::Timestamp(i, value) => {
            let runs = timestamp_runs(&bytes);
            if !runs.is_empty() {
                let (start, end) = runs[i.index(runs.len())];
                bytes.splice(start..end, value.bytes());
            }
        }
        Mutation::DuplicateKey(i) => {
            let opens: Vec<usize> = bytes
                .windows(2)
                .enumerate()
                .filter(|(_, w)| w == b"{\"")
                .map(|(k, _)| k)
                .collect();
            if !opens.is_empty() {
                let k = opens[i.index(opens.len())] + 1;
                bytes.splice(k..k, *b"\"id\":\"dup\",\"id\":[],");
            }
        }
        Mutation::Flip(i, b) => {
            if !bytes.is_empty() {
                let k = i.index(bytes.len());
                bytes[k] = *b;
            }
        }
    }
    bytes
}

/// An import target: canonical files, or one source's export.
pub struct Target {
    /// The source, or `None` for a canonical import.
    pub source: Option<Source>,
    /// The zone for local times.
    pub zone: Option<&'static str>,
}

/// Limits small enough that the huge-field mutations cross them.
pub const FUZZ_LIMITS: Limits = Limits {
    max_record_bytes: 1 << 20,
    max_columns: 1000,
};

/// What an import did, as far as the invariants go.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Rows kept, by entity.
    pub kept: HashMap<String, u64>,
    /// Rows rejected, by entity.
    pub rejected: HashMap<String, u64>,
    /// Source rows read, when through an adapter.
    pub source_read: u64,
}

/// Writes `files` into a fresh folder and imports it in-process into an in-memory store;
/// checks the invariants: counts reconcile (`read = kept + rejected` per entity, `rows read
/// = mapped + skipped + rejected` for the source), the rejects file holds exactly the
/// rejected rows, and each reject has a known code, a line ≥ 1 and — when a value is at
/// fault — its column. An import that stops must say why.
pub fn import(target: &Target, files: &[(String, Vec<u8>)]) -> Result<Outcome, TestCaseError> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let data = dir.path().join("data");
    std::fs::create_dir(&data).map_err(fail)?;
    for (name, bytes) in files {
        std::fs::write(data.join(name), bytes).map_err(fail)?;
    }
    let rejects = dir.path().join("rejects.csv");
    let store = Store::open_in_memory().map_err(fail)?;
    let options = ImportOptions {
        config: Config::default(),
        default_zone: target.zone.map(|z| z.parse().expect("zone")),
        rejects_path: rejects.clone(),
        source: Default::default(),
        limits: FUZZ_LIMITS,
    };
    let paths = [data];
    let result = match target.source {
        None => import_paths(&store, &paths, &options, &mut NoProgress),
        Some(source) => import_source(&store, source, &paths, &options, &mut NoProgress),
    };
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            let message = e.to_string();
            prop_assert!(!message.trim().is_empty(), "an error without a message");
            return Ok(Outcome::default());
        }
    };
    let mut outcome = Outcome::default();
    let mut rejected_total = 0;
    for e in &summary.entities {
        prop_assert_eq!(
            e.read,
            e.kept + e.rejected,
            "{}: read ≠ kept + rejected",
            e.entity
        );
        *outcome.kept.entry(e.entity.clone()).or_default() += e.kept;
        *outcome.rejected.entry(e.entity.clone()).or_default() += e.rejected;
        rejected_total += e.rejected;
    }
    if let Some(rows) = &summary.source_rows {
        let skipped: u64 = rows.skipped.values().sum();
        prop_assert!(
            skipped + rows.rejected <= rows.read,
            "source rows: {} skipped + {} rejected > {} read",
            skipped,
            rows.rejected,
            rows.read
        );
        rejected_total += rows.rejected;
        outcome.source_read = rows.read;
    }
    check_rejects(&rejects, rejected_total)?;
    Ok(outcome)
}

/// The rejects file holds `expected` rows, each with a code, a line and (for invalid
/// values) a column.
fn check_rejects(path: &Path, expected: u64) -> Result<(), TestCaseError> {
    if expected == 0 {
        prop_assert!(!path.exists(), "a rejects file without rejects");
        return Ok(());
    }
    let mut reader = csv::Reader::from_path(path).map_err(fail)?;
    let headers = reader.headers().map_err(fail)?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .expect("rejects column")
    };
    let (file, line, column, reason, code) = (
        col("file"),
        col("line"),
        col("column"),
        col("reason"),
        col("code"),
    );
    let mut count = 0;
    for record in reader.records() {
        let r = record.map_err(fail)?;
        count += 1;
        prop_assert!(!r[file].is_empty(), "a reject without a file: {:?}", r);
        let n: u64 = r[line].parse().map_err(fail)?;
        prop_assert!(n >= 1, "a reject without a line: {:?}", r);
        prop_assert!(!r[reason].is_empty(), "a reject without a reason: {:?}", r);
        prop_assert!(
            ["unreadable", "invalid", "unmappable", "too_large"].contains(&&r[code]),
            "a reject without a known code: {:?}",
            r
        );
        if &r[code] == "invalid" {
            prop_assert!(
                !r[column].is_empty(),
                "an invalid value without its column: {:?}",
                r
            );
        }
    }
    prop_assert_eq!(count, expected, "rejects file rows ≠ rejected rows");
    Ok(())
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// The seed files of a fixture folder (`tests/fixtures/NAME`), or one file of it.
pub fn seeds(folder: &str, only: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| only.is_none_or(|o| o == name))
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).expect("fixture file");
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}
