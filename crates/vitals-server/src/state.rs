//! What every request handler shares: the catalogue and configuration, a pool of reader
//! connections, the writer's queue, the tokens and login sessions, the result cache and the
//! request counters.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use vitals_backend::{Interrupt, Reader, TokenInfo};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;

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
    /// Whether `/metrics` answers without a token.
    pub public_metrics: bool,
    /// Header, body and connection bounds.
    pub connections: crate::listen::ConnectionLimits,
}

/// The shared state.
pub struct AppState {
    /// The metric catalogue.
    pub catalogue: Catalogue,
    /// The configuration the server was started with.
    pub config: Config,
    /// Idle readers.
    readers: Mutex<Vec<Box<dyn Reader>>>,
    /// A reader to clone new ones from.
    template: Mutex<Box<dyn Reader>>,
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
        reader: Box<dyn Reader>,
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

    /// Runs `work` with a reader on a blocking thread (queries are CPU-bound), within the
    /// query time budget (`[limits] query_timeout_secs`): past it, or when the request is
    /// dropped because its client went away, the reader's statements are interrupted and no
    /// other starts, so abandoned work does not go on.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState, &dyn Reader) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let reader = self.checkout()?;
        reader.rearm();
        let mut stop = InterruptOnDrop {
            interrupter: Some(reader.interrupter()),
            state: self.clone(),
            reason: "client_gone",
        };
        let state = self.clone();
        let task = tokio::task::spawn_blocking(move || {
            let result = work(&state, reader.as_ref());
            if let Ok(mut idle) = state.readers.lock() {
                idle.push(reader);
            }
            result
        });
        let seconds = self.config.limits.query_timeout_secs;
        let joined = if seconds <= 0.0 {
            task.await
        } else {
            let budget = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX);
            match tokio::time::timeout(budget, task).await {
                Ok(joined) => joined,
                // Dropping `stop` interrupts the work, which then ends on its own.
                Err(_) => {
                    self.metrics.interrupted("timeout");
                    stop.reason = "timeout";
                    return Err(ApiError::query_timeout(seconds));
                }
            }
        };
        stop.interrupter = None;
        joined.map_err(|e| ApiError::internal(format!("query task failed: {e}")))?
    }

    fn checkout(&self) -> Result<Box<dyn Reader>, ApiError> {
        if let Some(reader) = self.readers.lock().map_err(poisoned)?.pop() {
            return Ok(reader);
        }
        self.template
            .lock()
            .map_err(poisoned)?
            .try_clone()
            .map_err(ApiError::internal)
    }

    /// The current data version (changes with every commit, this server's or, on a
    /// cluster, another's: `WriterStats::data_version`).
    pub fn data_version(&self) -> u64 {
        self.writer.stats.data_version()
    }
}

/// Interrupts a reader's work when dropped armed: when a request's future is dropped (its
/// client disconnected) or its time budget ran out.
struct InterruptOnDrop {
    interrupter: Option<Box<dyn Interrupt>>,
    state: Arc<AppState>,
    /// Why, for `/metrics` (`client_gone` unless the budget ran out).
    reason: &'static str,
}

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if let Some(interrupter) = self.interrupter.take() {
            interrupter.interrupt();
            if self.reason != "timeout" {
                self.state.metrics.interrupted(self.reason);
            }
        }
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

/// The longest request text kept warm (a dashboard's requests are a few hundred bytes).
pub const MAX_WARM_KEY: usize = 8 * 1024;

/// The longest an answer may have taken for its request to be warmed again unasked.
pub const WARM_BUDGET: Duration = Duration::from_secs(10);

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

    /// The cached answer to `key` at `version`.
    pub fn get(&mut self, version: u64, key: &str) -> Option<Arc<String>> {
        self.advance(version);
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

    /// Notes `key` as recently answered, to be warmed after the next commit: only requests
    /// that answered, within [`WARM_BUDGET`] and not longer than [`MAX_WARM_KEY`], so a
    /// request that failed, timed out or ran long is never replayed unasked.
    pub fn answered(&mut self, key: &str, took: Duration) {
        if took <= WARM_BUDGET {
            self.note_recent(key);
        }
    }

    /// Takes `key` off the list of requests to warm (it failed or ran long when warmed).
    pub fn forget(&mut self, key: &str) {
        self.recent.retain(|k| k != key);
    }

    fn note_recent(&mut self, key: &str) {
        if self.capacity == 0 || key.len() > MAX_WARM_KEY {
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
            cache.answered(key, Duration::from_millis(5));
        }
        assert_eq!(cache.recent(), ["c", "a", "b"]);
        let mut restarted = ResultCache::new(8);
        restarted.remember(cache.recent());
        assert_eq!(restarted.recent(), ["c", "a", "b"]);
        let mut off = ResultCache::new(0);
        off.answered("a", Duration::from_millis(5));
        assert!(off.recent().is_empty(), "no cache, nothing to warm");
    }

    #[test]
    fn only_requests_that_answered_quickly_are_warmed_and_the_list_is_bounded() {
        let mut cache = ResultCache::new(1024);
        cache.get(1, "asked but never answered");
        cache.answered("slow", WARM_BUDGET + Duration::from_millis(1));
        cache.answered(&"x".repeat(MAX_WARM_KEY + 1), Duration::from_millis(1));
        assert!(cache.recent().is_empty(), "{:?}", cache.recent());
        for i in 0..1000 {
            cache.answered(&format!("q{i}"), Duration::from_millis(1));
        }
        assert_eq!(cache.recent().len(), RECENT);
        cache.forget("q999");
        assert_eq!(cache.recent()[0], "q998");
    }
}
