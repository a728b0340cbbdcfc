//! Resource limits with the default settings, on hostile inputs generated lazily into named
//! pipes (never held, never written to disk): a 1 GB single-line JSON value, a 1 GB NDJSON
//! line, and 10-million-column CSV headers (canonical and a source's). Each is refused with a
//! message naming the limit, while the test process's peak memory stays far below the input.
//! Compressed files are not read.

use std::io::Write;
use std::path::{Path, PathBuf};

use vitals_core::config::Config;
use vitals_import::{
    import_paths, import_source, ImportError, ImportOptions, ImportSummary, Limits, NoProgress,
    Source,
};
use vitals_store::Store;

const GB: u64 = 1 << 30;
/// Peak resident memory the process may reach while refusing 1 GB inputs.
const PEAK_LIMIT_KB: u64 = 600 * 1024;

/// A named pipe at `path` fed by a thread with `head`, `body_len` bytes of `fill`, `tail`.
fn pipe(path: &Path, head: Vec<u8>, fill: u8, body_len: u64, tail: Vec<u8>) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let Ok(mut w) = std::fs::OpenOptions::new().write(true).open(&path) else {
            return;
        };
        let chunk = vec![fill; 1 << 20];
        let mut left = body_len;
        let mut write = || -> std::io::Result<()> {
            w.write_all(&head)?;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                w.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            w.write_all(&tail)
        };
        // The reader stops early on a refused input: the broken pipe ends the writer.
        let _ = write();
    });
}

/// A named pipe fed with a CSV header of `columns` columns (`c0,c1,…`), then one row.
fn wide_header_pipe(path: &Path, columns: u64, delimiter: u8) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let Ok(w) = std::fs::OpenOptions::new().write(true).open(&path) else {
            return;
        };
        let mut w = std::io::BufWriter::with_capacity(1 << 20, w);
        let mut write = || -> std::io::Result<()> {
            for i in 0..columns {
                if i > 0 {
                    w.write_all(&[delimiter])?;
                }
                write!(w, "c{i}")?;
            }
            w.write_all(b"\n1\n")?;
            w.flush()
        };
        let _ = write();
    });
}

fn options(dir: &Path, zone: Option<&str>) -> ImportOptions {
    ImportOptions {
        config: Config::default(),
        default_zone: zone.map(|z| z.parse().expect("zone")),
        rejects_path: dir.join("rejects.csv"),
        source: Default::default(),
        limits: Limits::default(),
    }
}

fn canonical(dir: &Path, file: PathBuf) -> Result<ImportSummary, ImportError> {
    let store = Store::open_in_memory().expect("store");
    import_paths(&store, &[file], &options(dir, None), &mut NoProgress)
}

fn from_source(
    dir: &Path,
    source: Source,
    zone: Option<&str>,
    file: PathBuf,
) -> Result<ImportSummary, ImportError> {
    let store = Store::open_in_memory().expect("store");
    import_source(
        &store,
        source,
        &[file],
        &options(dir, zone),
        &mut NoProgress,
    )
}

/// The process's peak resident memory (kB), from /proc.
fn peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn assert_bounded(what: &str) {
    let peak = peak_kb();
    println!("{what}: peak memory {peak} kB");
    assert!(
        peak < PEAK_LIMIT_KB,
        "{what}: peak memory {peak} kB (limit {PEAK_LIMIT_KB} kB)"
    );
}

#[test]
fn a_1gb_single_line_json_value_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("tickets.json");
    let head = br#"{"tickets":[{"id":1,"created_at":"2026-03-02T08:00:00Z","subject":""#.to_vec();
    pipe(&file, head, b'x', GB, br#""}]}"#.to_vec());
    let err = from_source(dir.path(), Source::Zendesk, None, file).expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("larger than 67108864 bytes")
            && message.contains("[import] max_record_bytes"),
        "{message}"
    );
    assert_bounded("1 GB JSON value");
}

#[test]
fn a_1gb_ndjson_line_is_rejected_and_the_next_line_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("tickets.ndjson");
    let head = br#"{"ticket_id":"huge","created_at":"2026-03-02T08:00:00Z","category":""#.to_vec();
    let tail = b"\"}\n{\"ticket_id\":\"t2\",\"created_at\":\"2026-03-02T09:00:00Z\",\"channel\":\"email\"}\n".to_vec();
    pipe(&file, head, b'y', GB, tail);
    let summary = canonical(dir.path(), file).expect("imported");
    let tickets = &summary.entities[0];
    assert_eq!((tickets.read, tickets.kept, tickets.rejected), (2, 1, 1));
    let reject = &summary.first_rejects[0];
    assert_eq!((reject.line, reject.code.as_str()), (1, "too_large"));
    assert!(
        reject.reason.contains("[import] max_record_bytes"),
        "{}",
        reject.reason
    );
    assert_bounded("1 GB NDJSON line");
}

#[test]
fn a_10m_column_csv_header_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("tickets.csv");
    wide_header_pipe(&file, 10_000_000, b',');
    let err = canonical(dir.path(), file).expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("more than 10000 columns") && message.contains("[import] max_columns"),
        "{message}"
    );

    let file = dir.path().join("incidents.csv");
    wide_header_pipe(&file, 10_000_000, b',');
    let err = from_source(dir.path(), Source::Servicenow, Some("UTC"), file).expect_err("refused");
    assert!(err.to_string().contains("more than 10000 columns"), "{err}");
    assert_bounded("10 M-column header");
}

#[test]
fn compressed_files_are_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("tickets.json.gz");
    std::fs::write(&file, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]).expect("write");
    let err = from_source(dir.path(), Source::Zendesk, None, file).expect_err("refused");
    assert!(err.to_string().contains("compressed"), "{err}");
    let err = canonical(dir.path(), dir.path().join("tickets.json.gz")).expect_err("refused");
    assert!(err.to_string().contains("not a data file"), "{err}");
}
