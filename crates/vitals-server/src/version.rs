//! The data version across servers. One server's writer counts its own commits, which is all
//! a DuckDB file needs (one writer per file). Several `vitals serve` processes in front of one
//! ClickHouse cluster also need each other's: the backend's reader answers a data version of
//! the cluster (`vitals_backend::Reader::data_version`, on ClickHouse the count of
//! `vitals_commits`), which a thread polls once every [`POLL`]; each change it sees is added
//! to the writer's counter (`WriterStats::backend_changes`), so the result cache, the warmer
//! and the alert thread move on within about a second of any server's commit. This server's
//! own commits move the version at once (read-your-writes) and once more when the poll sees
//! the cluster count them: one extra recomputation of a cached answer, never a stale one.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use vitals_backend::{BackendError, Reader};

use crate::writer::WriterStats;

/// How often the backend's data version is read.
pub const POLL: Duration = Duration::from_secs(1);

/// The last data version seen from the backend.
#[derive(Debug, Default)]
pub struct BackendVersion {
    last: Option<u64>,
}

impl BackendVersion {
    /// Notes the backend's version; whether it changed since the last one seen (the first
    /// one seen is where the server starts, not a change). A version that goes back (a
    /// table emptied by hand) is a change too.
    pub fn observe(&mut self, version: u64) -> bool {
        let changed = self.last.is_some_and(|last| last != version);
        self.last = Some(version);
        changed
    }
}

/// Polls `reader`'s data version every [`POLL`] on a thread of its own, adding each change to
/// `stats`; nothing when the backend has none to poll (DuckDB).
pub fn watch(
    reader: Box<dyn Reader>,
    stats: Arc<WriterStats>,
) -> std::io::Result<Option<JoinHandle<()>>> {
    match reader.data_version() {
        Ok(None) => return Ok(None),
        Ok(Some(_)) => {}
        Err(e) => eprintln!("data version: {e}"),
    }
    poll(move || reader.data_version(), stats, POLL).map(Some)
}

/// Reads the version with `read` every `every` until it answers `None`, adding each change
/// to `stats.backend_changes`. A failed read is reported once until one succeeds again.
fn poll(
    mut read: impl FnMut() -> Result<Option<u64>, BackendError> + Send + 'static,
    stats: Arc<WriterStats>,
    every: Duration,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("vitals-data-version".into())
        .spawn(move || {
            let mut seen = BackendVersion::default();
            let mut failing = false;
            loop {
                match read() {
                    Ok(None) => return,
                    Ok(Some(version)) => {
                        failing = false;
                        if seen.observe(version) {
                            stats.backend_changes.fetch_add(1, Ordering::Release);
                        }
                    }
                    Err(e) => {
                        if !failing {
                            eprintln!("data version: {e}");
                        }
                        failing = true;
                    }
                }
                std::thread::sleep(every);
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_the_backends_version_moves_the_servers_and_so_does_a_local_commit() {
        let mut seen = BackendVersion::default();
        assert!(!seen.observe(7), "where the server starts");
        assert!(!seen.observe(7));
        assert!(seen.observe(9));
        assert!(seen.observe(0), "emptied by hand");

        let stats = Arc::new(WriterStats::default());
        let mut script = vec![
            Ok(Some(3)),
            Ok(Some(3)),
            Err(BackendError::internal("down")),
            Ok(Some(4)),
            Ok(Some(6)),
            Ok(Some(6)),
            Ok(None),
        ]
        .into_iter();
        let start = stats.data_version();
        poll(
            move || script.next().unwrap_or(Ok(None)),
            stats.clone(),
            Duration::from_millis(1),
        )
        .unwrap()
        .join()
        .unwrap();
        assert_eq!(stats.data_version(), start + 2, "two changes seen");
        stats.local_version.fetch_add(1, Ordering::Release);
        assert_eq!(
            stats.data_version(),
            start + 3,
            "a local commit moves it too"
        );
    }
}
