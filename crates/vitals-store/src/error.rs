//! The store's error type.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DuckDB refused an operation.
    #[error("store: {context}: {source}")]
    Engine {
        /// What the store was doing.
        context: String,
        /// The engine's error.
        source: duckdb::Error,
    },
    /// A caller's row handler stopped a scan (its own error says why).
    #[error("scan interrupted by its consumer")]
    Interrupted,
    /// Another process holds the file (DuckDB allows one writer process, or readers only).
    #[error("the store {path} is in use by another process{holder}; wait for it to finish or stop it — a running `vitals serve` holds its store for good, so ask it instead: `--server http://ADDR` with VITALS_TOKEN set (query, import, report, sla, spikes, staffing, annotate, annotations)")]
    Held {
        /// The file.
        path: String,
        /// ` (PROGRAM, PID N)` when the engine named the holder.
        holder: String,
    },
    /// An input over a configured limit (refused as a whole).
    #[error("{0}")]
    Limit(String),
    /// Data handed to the store breaks the store's own invariants (a bug upstream, reported
    /// rather than written).
    #[error("store: {0}")]
    Invalid(String),
    /// The file is not a vitals store.
    #[error("{path} is not a vitals store (no vitals_meta table); import data into it first (vitals import DIR --db {path})")]
    NotAStore {
        /// The file.
        path: String,
    },
    /// The file was written by an older vitals; readers do not migrate.
    #[error("the store {path} was written by an older vitals; run `vitals derive --db {path}` once to upgrade it")]
    NeedsMigration {
        /// The file.
        path: String,
    },
    /// A shared part of the seams refused (a record that does not fit its columns).
    #[error(transparent)]
    Backend(#[from] vitals_backend::BackendError),
    /// The file belongs to a newer vitals.
    #[error("store {path} has schema version {found}; this vitals understands up to {supported}")]
    SchemaTooNew {
        /// The file.
        path: String,
        /// Version found.
        found: i64,
        /// Version supported.
        supported: i64,
    },
}

/// Attaches a context to engine errors.
pub(crate) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, duckdb::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Engine {
            context: what(),
            source,
        })
    }
}

impl StoreError {
    /// Whether the user can fix it (a held, foreign, old or newer file) rather than an
    /// internal failure.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            StoreError::Held { .. }
                | StoreError::Limit(_)
                | StoreError::NotAStore { .. }
                | StoreError::NeedsMigration { .. }
                | StoreError::SchemaTooNew { .. }
        )
    }

    /// The error of opening `path`: [`StoreError::Held`] when another process holds the file's
    /// lock (naming it when the engine does), else the engine's error.
    pub(crate) fn from_open(path: &str, source: duckdb::Error) -> StoreError {
        let message = source.to_string();
        if !message.contains("Could not set lock") {
            return StoreError::Engine {
                context: format!("opening {path}"),
                source,
            };
        }
        // "… Conflicting lock is held in /usr/bin/vitals (PID 4242) by user root. …"
        let holder = message
            .split_once("Conflicting lock is held in ")
            .map(|(_, rest)| rest)
            .and_then(|rest| rest.split_once(')'))
            .and_then(|(held, _)| held.split_once(" (PID "))
            .map(|(program, pid)| format!(" ({program}, PID {pid})"))
            .unwrap_or_default();
        StoreError::Held {
            path: path.to_string(),
            holder,
        }
    }
}
