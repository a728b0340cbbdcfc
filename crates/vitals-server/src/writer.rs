//! The one writer: a thread that owns the backend and drains a bounded queue. Concurrent
//! ingest requests share one commit (group commit): the writer takes the first waiting job,
//! then whatever else arrives within a few milliseconds or up to a record budget, and commits
//! them through the write seam (`vitals_backend::Writer::commit`: each entity's records
//! merged, the touched tickets derived), and only then answers every request of the batch —
//! so an acknowledged record is durable and the next query sees its facts. Other writes
//! (tokens, survey links, annotations) run on the same thread, in order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use vitals_backend::{Backend, DerivationInputs, EntityRecords};
use vitals_core::records::{Entity, Record};

/// Records waiting for a commit, with the request to answer.
type PendingIngest = (
    &'static Entity,
    Vec<Record>,
    oneshot::Sender<Result<(), String>>,
);

/// A write the writer thread runs with the backend.
pub type BackendTask = Box<dyn FnOnce(&dyn Backend) + Send>;

enum Job {
    Ingest {
        entity: &'static Entity,
        records: Vec<Record>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Task(BackendTask),
}

/// How the writer batches.
#[derive(Debug, Clone, Copy)]
pub struct GroupCommit {
    /// Jobs the queue holds before requests are turned away (503).
    pub queue_jobs: usize,
    /// Records after which a batch is committed without waiting longer.
    pub batch_records: usize,
    /// How long the writer waits for more jobs after the first.
    pub batch_wait: Duration,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            queue_jobs: 256,
            batch_records: 50_000,
            batch_wait: Duration::from_millis(5),
        }
    }
}

/// Counters the writer keeps (for `/metrics` and the result cache).
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Bumped after every commit of this server's writer that changed data.
    pub local_version: AtomicU64,
    /// Changes of the backend's own data version seen (commits by other servers of a
    /// cluster, and this one's as the cluster counts them; `version.rs`).
    pub backend_changes: AtomicU64,
    /// Jobs waiting in the queue.
    pub queue_depth: AtomicI64,
    /// Records committed.
    pub records_committed: AtomicU64,
    /// Group commits done.
    pub commits: AtomicU64,
}

impl WriterStats {
    /// The data version the result cache keys on: this server's commits plus the changes of
    /// the backend's version it saw. Both only grow, so the sum moves with either: a commit
    /// through any server of a cluster empties every server's cache.
    pub fn data_version(&self) -> u64 {
        self.local_version.load(Ordering::Acquire) + self.backend_changes.load(Ordering::Acquire)
    }
}

/// The queue is full: the client should retry later.
#[derive(Debug)]
pub struct QueueFull;

/// A handle on the writer thread's queue.
#[derive(Clone)]
pub struct WriterHandle {
    tx: SyncSender<Job>,
    /// The writer's counters.
    pub stats: Arc<WriterStats>,
}

impl WriterHandle {
    /// Starts the writer thread over `backend`; every commit derives the touched tickets and
    /// the stored facts under `derivation`.
    pub fn start(
        backend: Box<dyn Backend>,
        derivation: DerivationInputs,
        batching: GroupCommit,
    ) -> Result<Self, String> {
        let (tx, rx) = sync_channel(batching.queue_jobs);
        let stats = Arc::new(WriterStats::default());
        let import_id = backend
            .writer()
            .begin_import("vitals serve (API)")
            .map_err(|e| e.to_string())?;
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("vitals-writer".into())
            .spawn(move || {
                let writer = Writer {
                    backend,
                    derivation,
                    import_id,
                    stats: thread_stats,
                    batching,
                };
                writer.run(rx)
            })
            .map_err(|e| e.to_string())?;
        Ok(WriterHandle { tx, stats })
    }

    fn send(&self, job: Job) -> Result<(), QueueFull> {
        self.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.queue_depth.fetch_sub(1, Ordering::Relaxed);
                Err(QueueFull)
            }
        }
    }

    /// Queues records for the next group commit; the receiver answers once they are committed
    /// and their tickets derived.
    pub fn ingest(
        &self,
        entity: &'static Entity,
        records: Vec<Record>,
    ) -> Result<oneshot::Receiver<Result<(), String>>, QueueFull> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Ingest {
            entity,
            records,
            reply,
        })?;
        Ok(rx)
    }

    /// Runs `task` on the writer thread and returns its result. The data version moves before
    /// the answer, so no answer cached before the write is served after it.
    pub async fn run<T: Send + 'static>(
        &self,
        task: impl FnOnce(&dyn Backend) -> T + Send + 'static,
    ) -> Result<T, QueueFull> {
        let (reply, rx) = oneshot::channel();
        let stats = self.stats.clone();
        self.send(Job::Task(Box::new(move |backend| {
            let answer = task(backend);
            stats.local_version.fetch_add(1, Ordering::Release);
            let _ = reply.send(answer);
        })))?;
        rx.await.map_err(|_| QueueFull)
    }
}

impl WriterHandle {
    /// Runs `task` on the writer thread from a plain (non-async) thread and waits for its
    /// result. The data version does not move: for bookkeeping no query reads (alert state).
    pub fn run_blocking<T: Send + 'static>(
        &self,
        task: impl FnOnce(&dyn Backend) -> T + Send + 'static,
    ) -> Result<T, QueueFull> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Task(Box::new(move |backend| {
            let _ = reply.send(task(backend));
        })))?;
        rx.blocking_recv().map_err(|_| QueueFull)
    }
}

struct Writer {
    backend: Box<dyn Backend>,
    derivation: DerivationInputs,
    import_id: i64,
    stats: Arc<WriterStats>,
    batching: GroupCommit,
}

impl Writer {
    fn run(self, rx: Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            let mut records = jobs.iter().map(job_records).sum::<usize>();
            let deadline = Instant::now() + self.batching.batch_wait;
            while records < self.batching.batch_records {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(job) => {
                        records += job_records(&job);
                        jobs.push(job);
                    }
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            self.stats
                .queue_depth
                .fetch_sub(jobs.len() as i64, Ordering::Relaxed);
            self.process(jobs);
        }
    }

    /// Runs a batch in arrival order: consecutive ingests share one commit.
    fn process(&self, jobs: Vec<Job>) {
        let mut pending: Vec<PendingIngest> = Vec::new();
        for job in jobs {
            match job {
                Job::Ingest {
                    entity,
                    records,
                    reply,
                } => pending.push((entity, records, reply)),
                Job::Task(task) => {
                    self.commit(std::mem::take(&mut pending));
                    task(self.backend.as_ref());
                }
            }
        }
        self.commit(pending);
    }

    fn commit(&self, batch: Vec<PendingIngest>) {
        if batch.is_empty() {
            return;
        }
        let mut by_entity: BTreeMap<&'static str, (&'static Entity, Vec<&Record>)> =
            BTreeMap::new();
        for (entity, records, _) in &batch {
            by_entity
                .entry(entity.name)
                .or_insert_with(|| (entity, Vec::new()))
                .1
                .extend(records.iter());
        }
        let parts: Vec<EntityRecords<'_>> = by_entity
            .into_values()
            .map(|(entity, records)| EntityRecords { entity, records })
            .collect();
        let result = self
            .backend
            .writer()
            .commit(&parts, self.import_id, &self.derivation)
            .map_err(|e| e.to_string());
        if let Ok(outcome) = &result {
            self.stats
                .records_committed
                .fetch_add(outcome.records, Ordering::Relaxed);
            self.stats.commits.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.local_version.fetch_add(1, Ordering::Release);
        for (_, _, reply) in batch {
            let _ = reply.send(result.clone().map(|_| ()));
        }
    }
}

fn job_records(job: &Job) -> usize {
    match job {
        Job::Ingest { records, .. } => records.len().max(1),
        Job::Task(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::config::Config;
    use vitals_store::Store;

    fn ticket(id: usize) -> Record {
        let entity = vitals_core::records::entity("tickets").unwrap();
        let line = format!(
            r#"{{"ticket_id":"T{id}","created_at":"2026-03-02T09:00:00Z","channel":"email"}}"#
        );
        let config = Config::load(None).unwrap();
        let mut batch = vitals_import::validate_body(
            entity,
            line.as_bytes(),
            &config,
            None,
            Default::default(),
        )
        .unwrap();
        batch.records.remove(0)
    }

    #[test]
    fn concurrent_ingests_share_commits_and_every_record_is_committed_before_its_answer() {
        let store = Store::open_in_memory().unwrap();
        let reader = store.reader().unwrap();
        let batching = GroupCommit {
            queue_jobs: 1024,
            batch_records: 10_000,
            batch_wait: Duration::from_millis(20),
        };
        let config = Config::load(None).unwrap();
        let catalogue = vitals_core::catalogue::Catalogue::builtin().unwrap();
        let derivation = DerivationInputs::new(&config, &catalogue).unwrap();
        let writer = WriterHandle::start(Box::new(store), derivation, batching).unwrap();
        let entity = vitals_core::records::entity("tickets").unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let records = (0..4).map(|k| ticket(t * 1000 + i * 10 + k)).collect();
                        let answer = writer.ingest(entity, records).unwrap();
                        answer.blocking_recv().unwrap().unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let stats = &writer.stats;
        assert_eq!(stats.records_committed.load(Ordering::Relaxed), 800);
        let commits = stats.commits.load(Ordering::Relaxed);
        assert!(
            commits < 200,
            "{commits} commits for 200 requests: none shared"
        );
        // Every acknowledged record is visible to a reader, facts derived.
        let request = vitals_query::QueryRequest {
            metrics: vec![vitals_query::MetricSpec::parse("ticket_volume")],
            ..Default::default()
        };
        let catalogue = vitals_core::catalogue::Catalogue::builtin().unwrap();
        let config = Config::load(None).unwrap();
        let answer = vitals_query::run_query(&reader, &catalogue, &config, &request).unwrap();
        assert_eq!(answer.results[0].metrics[0].1.value, Some(800.0));
    }
}
