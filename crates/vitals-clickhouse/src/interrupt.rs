//! Stopping a ClickHouse reader's work from another thread (the server's time budget and a
//! client that left): every statement a [`ClickHouseReader`](crate::ClickHouseReader) runs
//! carries a `query_id` of its own, registered while it runs. An interrupt marks the reader
//! stopped — no statement starts until [`Interrupts::rearm`] — and sends `KILL QUERY WHERE
//! query_id IN (…)` for the statements in flight on another connection of the pool, from a
//! thread of its own (the server interrupts from its async runtime, which must not block on
//! HTTP). A statement sent but not yet running on the server when the first `KILL` arrives is
//! killed by the next: the kill is repeated every [`RETRY`] while any of them is still
//! registered, for at most [`KILL_FOR`]. As on DuckDB, an interrupter belongs to one arming:
//! after a rearm, a late interrupt from the previous request does nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vitals_backend::tokens::random_hex;

use crate::client::literal;
use crate::Client;

/// How often a kill is repeated while its statements are still registered.
const RETRY: Duration = Duration::from_millis(200);

/// How long a kill is repeated at most.
const KILL_FOR: Duration = Duration::from_secs(10);

/// What a reader's interrupters reach.
pub(crate) struct Interrupts {
    /// The connection kills are sent on.
    client: Client,
    stopped: AtomicBool,
    /// Bumped by every rearm (under the `running` lock).
    arming: AtomicU64,
    /// The query ids of the statements running now.
    running: Mutex<Vec<String>>,
}

impl Interrupts {
    pub(crate) fn new(client: Client) -> Arc<Interrupts> {
        Arc::new(Interrupts {
            client,
            stopped: AtomicBool::new(false),
            arming: AtomicU64::new(0),
            running: Mutex::new(Vec::new()),
        })
    }

    /// Registers a new statement and answers its query id; `None` when the reader is stopped
    /// (checked under the same lock an interrupt takes, so none starts after one).
    pub(crate) fn start(&self) -> Option<String> {
        let mut running = self.running.lock().ok()?;
        if self.stopped.load(Ordering::Acquire) {
            return None;
        }
        let id = format!("vitals-{}", random_hex(12));
        running.push(id.clone());
        Some(id)
    }

    /// The statement `id` ended.
    pub(crate) fn finish(&self, id: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.retain(|r| r != id);
        }
    }

    /// Whether the reader was interrupted since it was last armed.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Makes the reader usable again; interrupters made before no longer reach it.
    pub(crate) fn rearm(&self) {
        let _running = self.running.lock();
        self.arming.fetch_add(1, Ordering::AcqRel);
        self.stopped.store(false, Ordering::Release);
    }

    /// A handle for the current arming.
    pub(crate) fn interrupter(self: &Arc<Self>) -> Interrupter {
        Interrupter {
            interrupts: self.clone(),
            arming: self.arming.load(Ordering::Acquire),
        }
    }

    /// Kills `ids` until none of them is registered any more (or [`KILL_FOR`] passed).
    fn kill(&self, ids: &[String]) {
        let started = Instant::now();
        while started.elapsed() < KILL_FOR {
            let still: Vec<String> = match self.running.lock() {
                Ok(running) => ids
                    .iter()
                    .filter(|id| running.contains(id))
                    .cloned()
                    .collect(),
                Err(_) => return,
            };
            if still.is_empty() {
                return;
            }
            let list: Vec<String> = still.iter().map(|id| literal(id)).collect();
            // A failed kill is retried; the statement's own request reports the outcome.
            let _ = self.client.execute(&format!(
                "KILL QUERY WHERE query_id IN ({}) ASYNC",
                list.join(", ")
            ));
            std::thread::sleep(RETRY);
        }
    }
}

/// Stops what a ClickHouse reader runs, from any thread, until the reader is rearmed.
pub struct Interrupter {
    interrupts: Arc<Interrupts>,
    arming: u64,
}

impl vitals_backend::Interrupt for Interrupter {
    fn interrupt(&self) {
        let ids = {
            let Ok(running) = self.interrupts.running.lock() else {
                return;
            };
            if self.interrupts.arming.load(Ordering::Acquire) != self.arming {
                return;
            }
            self.interrupts.stopped.store(true, Ordering::Release);
            running.clone()
        };
        if ids.is_empty() {
            return;
        }
        let interrupts = self.interrupts.clone();
        let spawned = std::thread::Builder::new()
            .name("vitals-ch-kill".into())
            .spawn(move || interrupts.kill(&ids));
        if let Err(e) = spawned {
            eprintln!("could not start the thread killing interrupted ClickHouse queries: {e}");
        }
    }
}
