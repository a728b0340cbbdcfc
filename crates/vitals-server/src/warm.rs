//! Refresh-ahead for the result cache. A commit moves the data version and so empties the
//! cache: without help, the dashboard's next refresh (a wall display re-asks every minute)
//! would recompute every panel while people watch. So the queries asked most recently are
//! computed again in the background once the data has settled, one at a time on a reader
//! connection, and kept at the new version. Their list is saved beside the store
//! (`STORE.warm.json`), so a restarted server warms the same queries before they are asked.
//! Only requests that answered within the warm budget are listed, and one that fails or runs
//! long when warmed is dropped from the list: a poison request is never replayed unasked.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vitals_query::QueryRequest;

use crate::api::answer_query;
use crate::state::{Shared, WARM_BUDGET};

/// How long the data version must stay put before warming starts (a burst of ingest commits
/// is warmed once, after it).
const SETTLE: Duration = Duration::from_millis(500);

/// How often the warmer looks at the data version.
const POLL: Duration = Duration::from_millis(250);

/// The file beside `store` that keeps the recent queries across restarts.
pub fn recent_queries_file(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".warm.json");
    PathBuf::from(name)
}

/// Keeps the recent queries warm until the server stops.
pub async fn run(state: Shared, file: PathBuf) {
    if let Some(keys) = read_list(&file) {
        if let Ok(mut cache) = state.cache.lock() {
            cache.remember(keys);
        }
    }
    let mut warmed: Option<u64> = None;
    let mut saved: Option<Vec<String>> = None;
    loop {
        let version = state.data_version();
        if warmed != Some(version) {
            tokio::time::sleep(SETTLE).await;
            if state.data_version() == version {
                warm(&state, version).await;
                warmed = Some(version);
            }
            continue;
        }
        let recent = match state.cache.lock() {
            Ok(cache) => cache.recent(),
            Err(_) => return,
        };
        if saved.as_ref() != Some(&recent) {
            if let Ok(text) = serde_json::to_string(&recent) {
                // A few kilobytes; losing them only costs the next start its warm-up.
                let _ = std::fs::write(&file, text);
            }
            saved = Some(recent);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The largest list file read back (64 requests of at most 8 KiB each, as JSON).
const MAX_LIST_BYTES: u64 = 1 << 20;

/// The list kept by an earlier run, unless it is not one (too large, or not a JSON list of
/// requests): a damaged list only costs the start its warm-up.
fn read_list(file: &Path) -> Option<Vec<String>> {
    if std::fs::metadata(file).ok()?.len() > MAX_LIST_BYTES {
        return None;
    }
    serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()
}

/// Computes each recent query not yet cached at `version`, most recent first; stops when the
/// data moves on (the next round starts over at the new version).
async fn warm(state: &Shared, version: u64) {
    let recent = match state.cache.lock() {
        Ok(cache) => cache.recent(),
        Err(_) => return,
    };
    for key in recent {
        if state.data_version() != version {
            return;
        }
        let cached = state
            .cache
            .lock()
            .map(|cache| cache.contains(version, &key))
            .unwrap_or(true);
        if cached {
            continue;
        }
        let Ok(request) = QueryRequest::from_json(&key) else {
            if let Ok(mut cache) = state.cache.lock() {
                cache.forget(&key);
            }
            continue;
        };
        let started = Instant::now();
        let answer = state
            .read(move |state, reader| answer_query(state, reader, &request))
            .await;
        let Ok(mut cache) = state.cache.lock() else {
            return;
        };
        match answer {
            Ok(answer) if started.elapsed() <= WARM_BUDGET => {
                cache.put(version, key, Arc::new(answer));
                cache.warmed += 1;
            }
            // A request that fails or runs long now is not warmed again: its asker gets the
            // error (or the wait) when they ask, and only then is it listed again.
            _ => cache.forget(&key),
        }
    }
}
