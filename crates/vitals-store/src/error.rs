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
