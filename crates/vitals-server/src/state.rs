//! What every request handler shares: the catalogue and configuration, a pool of reader
//! connections, the writer's queue, the tokens and login sessions, the result cache and the
//! request counters.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_store::{Reader, TokenInfo};

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::writer::WriterHandle;

/// Limits and switches of a running server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted, in bytes (larger gets 413).
    pub max_body_bytes: usize,
    /// Results kept in the cache.
    pub cache_entries: usize,
    /// Whether the server is reached over HTTPS (session cookies get `Secure`).
    pub secure_cookies: bool,
}

/// The shared state.
pub struct AppState {
    /// The metric catalogue.
    pub catalogue: Catalogue,
    /// The configuration the server was started with.
    pub config: Config,
    /// Idle reader connections.
    readers: Mutex<Vec<Reader>>,
    /// A reader to clone new ones from.
    template: Mutex<Reader>,
    /// The writer's queue.
    pub writer: WriterHandle,
    /// Every token (the writer updates it after creating or revoking one).
    pub tokens: RwLock<Vec<TokenInfo>>,
    /// Dashboard login sessions: session id → token id.
    pub sessions: Mutex<HashMap<String, String>>,
    /// Query results by (data version, request).
    pub cache: Mutex<ResultCache>,
    /// Request and ingest counters.
    pub metrics: Metrics,
    /// Key of survey-link signatures.
    pub link_key: Vec<u8>,
    /// Limits and switches.
    pub limits: Limits,
}

/// Shared state behind an `Arc`.
pub type Shared = Arc<AppState>;

impl AppState {
    /// Builds the state around a first reader.
    pub fn new(
        catalogue: Catalogue,
        config: Config,
        reader: Reader,
        writer: WriterHandle,
        tokens: Vec<TokenInfo>,
        link_key: Vec<u8>,
        limits: Limits,
    ) -> Self {
        AppState {
            catalogue,
            config,
            readers: Mutex::new(Vec::new()),
            template: Mutex::new(reader),
            writer,
            tokens: RwLock::new(tokens),
            sessions: Mutex::new(HashMap::new()),
            cache: Mutex::new(ResultCache::new(limits.cache_entries)),
            metrics: Metrics::default(),
            link_key,
            limits,
        }
    }

    /// Runs `work` with a reader on a blocking thread (queries are CPU-bound).
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState, &Reader) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let reader = state.checkout()?;
            let result = work(&state, &reader);
            state.readers.lock().map_err(poisoned)?.push(reader);
            result
        })
        .await
        .map_err(|e| ApiError::internal(format!("query task failed: {e}")))?
    }

    fn checkout(&self) -> Result<Reader, ApiError> {
        if let Some(reader) = self.readers.lock().map_err(poisoned)?.pop() {
            return Ok(reader);
        }
        self.template
            .lock()
            .map_err(poisoned)?
            .try_clone()
            .map_err(|e| ApiError::internal(e.to_string()))
    }

    /// The current data version (changes with every commit).
    pub fn data_version(&self) -> u64 {
        self.writer
            .stats
            .data_version
            .load(std::sync::atomic::Ordering::Acquire)
    }
}

/// A lock poisoned by a panicking thread.
pub fn poisoned<T>(_: std::sync::PoisonError<T>) -> ApiError {
    ApiError::internal("a lock was poisoned by an earlier failure")
}

/// Serialised responses by request, valid for one data version: any commit empties it. It
/// also remembers which requests were asked most recently, for the warmer (`warm.rs`).
pub struct ResultCache {
    version: u64,
    entries: HashMap<String, Arc<String>>,
    capacity: usize,
    /// Requests most recently asked, most recent first.
    recent: VecDeque<String>,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that ran the query.
    pub misses: u64,
    /// Answers computed ahead by the warmer.
    pub warmed: u64,
}

/// How many recently asked requests are kept warm (a dashboard tab asks up to about a dozen).
const RECENT: usize = 64;

impl ResultCache {
    fn new(capacity: usize) -> Self {
        ResultCache {
            version: 0,
            entries: HashMap::new(),
            capacity,
            recent: VecDeque::new(),
            hits: 0,
            misses: 0,
            warmed: 0,
        }
    }

    /// Moves to `version` when it is newer (versions only grow): older answers are dropped.
    fn advance(&mut self, version: u64) {
        if version > self.version {
            self.entries.clear();
            self.version = version;
        }
    }

    /// The cached answer to `key` at `version`; notes `key` as recently asked.
    pub fn get(&mut self, version: u64, key: &str) -> Option<Arc<String>> {
        self.advance(version);
        self.note_recent(key);
        let found = (version == self.version)
            .then(|| self.entries.get(key).cloned())
            .flatten();
        match found {
            Some(_) => self.hits += 1,
            None => self.misses += 1,
        }
        found
    }

    /// Whether an answer to `key` at `version` is kept (not counted as a lookup).
    pub fn contains(&self, version: u64, key: &str) -> bool {
        version == self.version && self.entries.contains_key(key)
    }

    /// Keeps an answer computed at `version` (dropped when the data moved on meanwhile).
    pub fn put(&mut self, version: u64, key: String, value: Arc<String>) {
        self.advance(version);
        if version != self.version || self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.clear();
        }
        self.entries.insert(key, value);
    }

    fn note_recent(&mut self, key: &str) {
        if self.capacity == 0 {
            return;
        }
        if let Some(i) = self.recent.iter().position(|k| k == key) {
            self.recent.remove(i);
        }
        self.recent.push_front(key.to_string());
        self.recent.truncate(RECENT.min(self.capacity));
    }

    /// The requests most recently asked, most recent first.
    pub fn recent(&self) -> Vec<String> {
        self.recent.iter().cloned().collect()
    }

    /// Takes a list of recent requests kept from an earlier run (when none was asked yet).
    pub fn remember(&mut self, keys: Vec<String>) {
        if self.recent.is_empty() {
            for key in keys.iter().rev() {
                self.note_recent(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_forgets_everything_when_the_data_version_moves() {
        let mut cache = ResultCache::new(2);
        assert!(cache.get(1, "q").is_none());
        cache.put(1, "q".into(), Arc::new("a".into()));
        assert_eq!(cache.get(1, "q").as_deref().map(String::as_str), Some("a"));
        assert!(cache.get(2, "q").is_none());
        cache.put(1, "q".into(), Arc::new("stale".into()));
        assert!(cache.get(2, "q").is_none());
        assert_eq!((cache.hits, cache.misses), (1, 3));
    }

    #[test]
    fn an_answer_computed_ahead_is_kept_at_a_newer_version_before_anyone_asks() {
        let mut cache = ResultCache::new(8);
        cache.put(1, "q".into(), Arc::new("a".into()));
        cache.put(2, "q".into(), Arc::new("b".into()));
        assert!(cache.contains(2, "q"));
        assert!(!cache.contains(1, "q"));
        assert_eq!(cache.get(2, "q").as_deref().map(String::as_str), Some("b"));
    }

    #[test]
    fn recent_requests_are_most_recent_first_without_repeats() {
        let mut cache = ResultCache::new(8);
        for key in ["a", "b", "a", "c"] {
            cache.get(1, key);
        }
        assert_eq!(cache.recent(), ["c", "a", "b"]);
        let mut restarted = ResultCache::new(8);
        restarted.remember(cache.recent());
        assert_eq!(restarted.recent(), ["c", "a", "b"]);
        let mut off = ResultCache::new(0);
        off.get(1, "a");
        assert!(off.recent().is_empty(), "no cache, nothing to warm");
    }
}
