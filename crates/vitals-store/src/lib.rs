//! vitals-store: the embedded store (one DuckDB file): canonical record tables keyed by id
//! (last write wins), derived fact tables, bulk writes through the Appender, and the query
//! engine of `vitals-query` over them.
//!
//! One writer, many readers: [`Store`] is the one read-write handle (staging in temporary
//! tables, merges, derivation); [`Reader`]s are cloned or read-only connections that never
//! write. Reads never derive. Both implement the seams of `vitals-backend` (`backend.rs`):
//! the store is a [`vitals_backend::Backend`] (writer and admin), a reader a
//! [`vitals_backend::Reader`] (the query library's `Engine` and the operational reads).
#![deny(missing_docs)]

mod alerts;
mod annotations;
mod backend;
mod derive;
mod digests;
mod error;
mod first_import;
mod interrupt;
mod parquet;
mod reader;
pub mod schema;
mod sla;
mod stored;
mod survey_links;
mod ticket;
pub mod timeline_fold;
mod tokens;
mod write;

use duckdb::Connection;

pub use error::StoreError;
pub use interrupt::Interrupter;
pub use parquet::ParquetLimits;
pub use reader::Reader;
pub use write::StagedWriter;

use error::Context;

/// An open store.
pub struct Store {
    conn: Connection,
    path: String,
}

impl Store {
    /// Opens (creating if needed) the store at `path` for writing. Fails with
    /// [`StoreError::Held`] when another process holds the file.
    pub fn open(path: &str) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|e| StoreError::from_open(path, e))?;
        Self::init(conn, path.to_string(), QUERY_MEMORY)
    }

    /// Opens the store for a process that only writes (an import, a re-derivation): as
    /// [`Store::open`], with the engine's memory capped at [`WRITE_MEMORY`] unless
    /// `VITALS_MEMORY_LIMIT` says otherwise: bulk work spills to disk instead of growing.
    pub fn open_for_writing(path: &str) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|e| StoreError::from_open(path, e))?;
        Self::init(conn, path.to_string(), WRITE_MEMORY)
    }

    /// An in-memory store (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().context(|| "opening an in-memory store".into())?;
        Self::init(conn, ":memory:".into(), QUERY_MEMORY)
    }

    fn init(conn: Connection, path: String, memory: &str) -> Result<Store, StoreError> {
        set_memory_limit(&conn, memory)?;
        for ddl in schema::all_ddl() {
            conn.execute_batch(&ddl)
                .context(|| format!("creating schema: {ddl}"))?;
        }
        let store = Store { conn, path };
        let version: Option<String> = store
            .conn
            .query_row(
                "SELECT CAST(max(CAST(value AS BIGINT)) AS VARCHAR) FROM vitals_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .context(|| "reading the schema version".into())?;
        match version.and_then(|v| v.parse::<i64>().ok()) {
            Some(v) if v > schema::SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    path: store.path,
                    found: v,
                    supported: schema::SCHEMA_VERSION,
                })
            }
            Some(v) if v < schema::SCHEMA_VERSION => store.migrate(v)?,
            Some(_) => {}
            None => store.set_meta("schema_version", &schema::SCHEMA_VERSION.to_string())?,
        }
        Ok(store)
    }

    /// Migrates a store written by an older version (records are never touched): ticket
    /// facts of an older layout are rebuilt, and the events without a ticket are listed.
    fn migrate(&self, from: i64) -> Result<(), StoreError> {
        if from < schema::FACT_LAYOUT_VERSION {
            self.rebuild_fact_tables()?;
        }
        self.conn
            .execute_batch(
                "DELETE FROM vitals_orphan_events;
                 INSERT INTO vitals_orphan_events SELECT e.event_id, e.ticket_id FROM ticket_events e
                 WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.ticket_id = e.ticket_id)",
            )
            .context(|| "listing events without a ticket".into())?;
        self.set_meta("schema_version", &schema::SCHEMA_VERSION.to_string())
    }

    /// Drops the ticket fact tables, creates them anew, and queues every ticket for derivation.
    fn rebuild_fact_tables(&self) -> Result<(), StoreError> {
        for table in schema::FACT_TABLES {
            self.conn
                .execute_batch(&format!("DROP TABLE IF EXISTS {table}"))
                .context(|| format!("dropping {table}"))?;
        }
        for ddl in schema::FACT_DDL {
            self.conn
                .execute_batch(ddl)
                .context(|| format!("creating schema: {ddl}"))?;
        }
        self.conn
            .execute_batch("INSERT INTO vitals_touched_tickets SELECT ticket_id FROM tickets")
            .context(|| "queueing every ticket for derivation".into())
    }

    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT max(value) FROM vitals_meta WHERE key = ?",
                [key],
                |r| r.get(0),
            )
            .context(|| format!("reading {key}"))
    }

    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM vitals_meta WHERE key = ?", [key])
            .and_then(|_| {
                self.conn
                    .execute("INSERT INTO vitals_meta VALUES (?, ?)", [key, value])
            })
            .map(|_| ())
            .context(|| format!("writing {key}"))
    }

    /// The file this store lives in.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Registers a new import and returns its id.
    pub fn begin_import(&self, source: &str) -> Result<i64, StoreError> {
        let id = self.count("SELECT coalesce(max(import_id), 0) + 1 FROM vitals_imports")? as i64;
        self.conn
            .execute(
                "INSERT INTO vitals_imports VALUES (?, current_timestamp, ?)",
                duckdb::params![id, source],
            )
            .context(|| "registering the import".into())?;
        Ok(id)
    }

    /// Number of stored records of an entity.
    pub fn record_count(&self, entity: &str) -> Result<u64, StoreError> {
        self.count(&format!(
            "SELECT count(*) FROM \"{}\"",
            entity.replace('"', "")
        ))
    }

    /// Events whose ticket is not (yet) in the store (kept up to date by every merge, so this
    /// costs nothing however large the store).
    pub fn orphan_event_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT count(*) FROM vitals_orphan_events")
    }
}

/// The engine's memory cap for queries and the server, unless `VITALS_MEMORY_LIMIT` is set.
pub const QUERY_MEMORY: &str = "4GB";

/// The engine's memory cap for a process that only writes (import, derive), unless
/// `VITALS_MEMORY_LIMIT` is set: bulk work spills to disk instead of growing.
pub const WRITE_MEMORY: &str = "400MB";

/// Caps the engine's memory at `VITALS_MEMORY_LIMIT`, else at `default`.
/// Whether the store has a table of this name (bookkeeping tables created on first use).
pub(crate) fn table_exists(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    use crate::error::Context;
    conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = ?",
        [name],
        |r| r.get(0),
    )
    .context(|| format!("looking for the table {name}"))
}

pub(crate) fn set_memory_limit(conn: &Connection, default: &str) -> Result<(), StoreError> {
    let limit = std::env::var("VITALS_MEMORY_LIMIT").unwrap_or_else(|_| default.into());
    conn.execute_batch(&format!("SET memory_limit = '{}'", limit.replace('\'', "")))
        .context(|| format!("setting memory_limit to {limit}"))
}

#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod stored_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod write_tests;
