//! vitals-backend: the seams between vitals and a storage engine, and no engine. A backend
//! (the DuckDB store of `vitals-store` today; a ClickHouse cluster next) implements three
//! parts, reached from one [`Backend`]:
//!
//! - the write seam, [`Writer`]: commit a batch (merge its records, last write wins, then
//!   derive the touched tickets and the stored facts), derive what is pending, and stream a
//!   bulk import of one entity through a [`RecordSink`];
//! - the admin part, [`Admin`]: API tokens, survey links and annotations;
//! - the read seam, [`Reader`]: the query library's statements ([`vitals_query::Engine`]) and
//!   the operational reads ([`vitals_query::OperationalReads`]), with a handle to stop a
//!   read from another thread.
//!
//! Every trait is object-safe and answers with values and [`BackendError`]s, so an engine
//! reached over HTTP (where a commit is an insert and a derivation, and the data version
//! lives in the cluster) implements them as well as an embedded one.
#![deny(missing_docs)]

mod columns;
mod error;
mod model;
pub mod tokens;

use vitals_core::records::Entity;
use vitals_query::alerts::{AlertEvent, Delivery, SeriesState};
use vitals_query::{Annotation, Engine, NewAnnotation, OperationalReads};

pub use columns::{Columns, RecordColumns, BATCH_ROWS};
pub use error::{BackendError, CommitError};
pub use model::{
    CommitOutcome, Derivation, DerivationInputs, DigestRun, EntityRecords, MergeCounts, Partition,
    SurveyLink,
};
pub use tokens::{Scope, TokenInfo};

/// One engine's store, opened for a process that writes (`vitals serve`, `import`, `derive`,
/// `token`, `annotate`): its writer, its admin part and as many readers as asked. The one
/// writer of a store is a backend; moving it to another thread moves the writing with it.
pub trait Backend: Send {
    /// The write seam.
    fn writer(&self) -> &dyn Writer;

    /// Tokens, survey links and annotations.
    fn admin(&self) -> &dyn Admin;

    /// A reader of this store (which never writes), for another thread.
    fn reader(&self) -> Result<Box<dyn Reader>, BackendError>;
}

/// The write seam: what the importer, the server's writer and the survey pages write through.
pub trait Writer {
    /// Registers an import (`source` says where its records came from) and returns its id,
    /// under which its records are stored.
    fn begin_import(&self, source: &str) -> Result<i64, BackendError>;

    /// Commits a batch under `import_id`: merges each entity's records by key (last write
    /// wins; identical records change nothing), then derives the tickets the merge touched and
    /// brings the stored facts up to date under `derivation`. When this answers `Ok`, the
    /// records are durable and their facts current.
    fn commit(
        &self,
        batch: &[EntityRecords<'_>],
        import_id: i64,
        derivation: &DerivationInputs,
    ) -> Result<CommitOutcome, CommitError>;

    /// Derives what is pending: the facts of every touched ticket (of every ticket when the
    /// rules changed since the facts were derived), and the stored facts whose definition or
    /// configuration changed. A derivation cut short is redone by the next.
    fn derive(&self, derivation: &DerivationInputs) -> Result<Derivation, BackendError>;

    /// As [`Writer::derive`], for the tickets of one partition only (`vitals derive
    /// --partition I/N`: N processes fold disjoint partitions side by side, each with its own
    /// progress). An engine with one writer (the default) takes only the whole, `0/1`.
    fn derive_partition(
        &self,
        derivation: &DerivationInputs,
        partition: Partition,
    ) -> Result<Derivation, BackendError> {
        if partition.count == 1 {
            return self.derive(derivation);
        }
        Err(BackendError::user(format!(
            "--partition {partition}: this engine has one writer, which derives every ticket; \
             partitioned derivation is for ClickHouse ([store] engine = \"clickhouse\")"
        )))
    }

    /// Starts streaming `entity`'s records of `import_id` (an import's one sink at a time):
    /// records are staged as they come and written when the sink is merged; a sink dropped
    /// before its merge leaves nothing. Nothing is derived until [`Writer::derive`].
    fn stage<'w>(
        &'w self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<Box<dyn RecordSink + 'w>, BackendError>;

    /// As [`Writer::stage`], for a sink that alone writes `entity` in this import: an engine
    /// may then load a first import (the entity's table empty) without comparing with stored
    /// records.
    fn stage_bulk<'w>(
        &'w self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<Box<dyn RecordSink + 'w>, BackendError>;

    /// Events whose ticket is not stored (yet).
    fn orphan_event_count(&self) -> Result<u64, BackendError>;
}

/// One entity's records of an import, streamed into a backend and merged at the end.
pub trait RecordSink {
    /// The entity being staged.
    fn entity(&self) -> &'static Entity;

    /// Appends one validated record (in file order: later records win).
    fn append(&mut self, record: &vitals_core::records::Record) -> Result<(), BackendError>;

    /// Appends a batch of validated records built elsewhere (e.g. on a reading thread), after
    /// any records appended one by one before it.
    fn append_columns(&mut self, columns: RecordColumns) -> Result<(), BackendError>;

    /// Writes the staged records by key (last write wins, identical records change nothing),
    /// committed when this returns.
    fn merge(self: Box<Self>) -> Result<MergeCounts, BackendError>;
}

/// The admin part: the small bookkeeping every surface shares, written in order with the
/// records (the server runs it on its writer thread).
pub trait Admin {
    /// Creates a token; returns it with the whole token string, which is never stored.
    fn create_token(
        &self,
        name: &str,
        scopes: &[Scope],
    ) -> Result<(TokenInfo, String), BackendError>;

    /// Every token, oldest first.
    fn tokens(&self) -> Result<Vec<TokenInfo>, BackendError>;

    /// Revokes a token by id (or by its whole string); false when there is no such token.
    fn revoke_token(&self, id_or_token: &str) -> Result<bool, BackendError>;

    /// The key survey links are signed with (created on first use, then kept).
    fn survey_link_key(&self) -> Result<String, BackendError>;

    /// Stores a new survey link.
    fn add_survey_link(&self, link: &SurveyLink) -> Result<(), BackendError>;

    /// The survey link with this id, if any.
    fn survey_link(&self, link_id: &str) -> Result<Option<SurveyLink>, BackendError>;

    /// Marks a link answered; false when it was answered already (or does not exist).
    fn use_survey_link(&self, link_id: &str) -> Result<bool, BackendError>;

    /// Stores an annotation and returns it with its id.
    fn add_annotation(&self, new: &NewAnnotation) -> Result<Annotation, BackendError>;

    /// Deletes an annotation; false when there is no such annotation.
    fn delete_annotation(&self, id: i64) -> Result<bool, BackendError>;

    /// Records that digest `name` sent `period` as `message_id` (replacing its earlier record).
    fn record_digest_sent(
        &self,
        name: &str,
        period: &str,
        message_id: &str,
    ) -> Result<(), BackendError>;

    /// Writes one alert evaluation: every series' new state, and each message decided with
    /// its outbox rows, all or nothing.
    fn record_alerts(
        &self,
        states: &[SeriesState],
        notices: &[(AlertEvent, Vec<Delivery>)],
    ) -> Result<(), BackendError>;

    /// Notes an attempt to deliver one outbox row at `now_us`: delivered, or failed with the
    /// reason and when to try again (UTC µs).
    fn note_delivery(
        &self,
        key: &str,
        channel: u32,
        now_us: i64,
        outcome: Result<(), (String, i64)>,
    ) -> Result<(), BackendError>;

    /// Every alert series' state, as the writer sees it.
    fn alert_states(&self) -> Result<Vec<SeriesState>, BackendError>;

    /// Undelivered outbox rows due by `now_us`, oldest first (at most `limit`).
    fn due_deliveries(&self, now_us: i64, limit: u32) -> Result<Vec<Delivery>, BackendError>;
}

/// The read seam: a handle that never writes, answering the query library's statements and
/// the operational reads. A server keeps a pool of them and stops one's work from another
/// thread when its time budget runs out or its client leaves.
pub trait Reader: Engine + OperationalReads + Send {
    /// Another reader on the same store.
    fn try_clone(&self) -> Result<Box<dyn Reader>, BackendError>;

    /// A handle that stops this reader's current work from another thread.
    fn interrupter(&self) -> Box<dyn Interrupt>;

    /// Makes an interrupted reader usable again (before it is handed to the next request);
    /// interrupters made before no longer reach it.
    fn rearm(&self);

    /// The survey link with this id, if any (the answer page shows it before anything is
    /// written).
    fn survey_link(&self, link_id: &str) -> Result<Option<SurveyLink>, BackendError>;

    /// Every digest's last sent period, by name (none in a store that never sent one).
    fn digest_runs(&self) -> Result<Vec<DigestRun>, BackendError>;

    /// Every alert series' state (none in a store that never evaluated a rule).
    fn alert_states(&self) -> Result<Vec<SeriesState>, BackendError>;

    /// The latest `limit` alert messages decided, newest first.
    fn alert_events(&self, limit: u32) -> Result<Vec<AlertEvent>, BackendError>;

    /// The latest `limit` outbox rows, delivered or not, newest first.
    fn alert_deliveries(&self, limit: u32) -> Result<Vec<Delivery>, BackendError>;

    /// Undelivered outbox rows due by `now_us`, oldest first (at most `limit`).
    fn due_deliveries(&self, now_us: i64, limit: u32) -> Result<Vec<Delivery>, BackendError>;

    /// The store's data version where other processes commit to it too (a cluster behind
    /// several servers: ClickHouse counts `vitals_commits`), a number that moves whenever
    /// anyone's commit changed data; `None` where the process's own commits are all there is
    /// to know (DuckDB: one writer per file, and the server counts its commits itself).
    fn data_version(&self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}

/// Stops what a [`Reader`] runs, from any thread, until the reader is rearmed.
pub trait Interrupt: Send {
    /// Stops the statements running now and keeps any other from starting (nothing when the
    /// reader was rearmed since this handle was made).
    fn interrupt(&self);
}
