//! Read-only handles on the store: a [`Reader`] never writes, so any number of them can
//! answer queries while the one writer ([`Store`]) imports and derives. A reader is either a
//! clone of the writer's connection (same process: the server's request handlers) or a
//! read-only open of the file (another process, when no writer holds it).

use duckdb::{params_from_iter, AccessMode, Connection};
use vitals_query::plan::PlannedSql;
use vitals_query::sla::OpenSlaTarget;
use vitals_query::{
    AggRow, Annotation, Dialect, DuckDb, Engine, EngineError, FactsState, RecordRow,
};

use crate::error::{Context, StoreError};
use crate::{schema, Store};

/// A read-only handle.
pub struct Reader {
    pub(crate) conn: Connection,
    path: String,
}

impl Store {
    /// A reader sharing this store's database (a cloned connection that never writes).
    pub fn reader(&self) -> Result<Reader, StoreError> {
        let conn = self
            .conn
            .try_clone()
            .context(|| "opening a reader connection".into())?;
        Ok(Reader {
            conn,
            path: self.path().to_string(),
        })
    }
}

impl Reader {
    /// Opens the store file read-only. Fails with [`StoreError::Held`] when another process
    /// holds it for writing, and asks for `vitals derive` when the file was written by an
    /// older vitals (readers never migrate).
    pub fn open(path: &str) -> Result<Reader, StoreError> {
        let flags = duckdb::Config::default()
            .access_mode(AccessMode::ReadOnly)
            .context(|| "configuring a read-only open".into())?;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| StoreError::from_open(path, e))?;
        crate::set_memory_limit(&conn, crate::QUERY_MEMORY)?;
        let reader = Reader {
            conn,
            path: path.to_string(),
        };
        let version: Option<String> = reader
            .conn
            .query_row(
                "SELECT CAST(max(CAST(value AS BIGINT)) AS VARCHAR) FROM vitals_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .map_err(|_| StoreError::NotAStore {
                path: path.to_string(),
            })?;
        match version.and_then(|v| v.parse::<i64>().ok()) {
            Some(v) if v > schema::SCHEMA_VERSION => Err(StoreError::SchemaTooNew {
                path: reader.path,
                found: v,
                supported: schema::SCHEMA_VERSION,
            }),
            Some(v) if v == schema::SCHEMA_VERSION => Ok(reader),
            _ => Err(StoreError::NeedsMigration { path: reader.path }),
        }
    }

    /// Another reader on the same database (a cloned connection).
    pub fn try_clone(&self) -> Result<Reader, StoreError> {
        Ok(Reader {
            conn: self
                .conn
                .try_clone()
                .context(|| "opening a reader connection".into())?,
            path: self.path.clone(),
        })
    }

    /// The file this reader reads.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Runs one planned metric statement.
    pub fn run_planned(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&plan.sql)
            .context(|| format!("preparing query:\n{}", plan.sql))?;
        let mut rows = stmt
            .query(params_from_iter(plan.params.iter()))
            .context(|| "running query".into())?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().context(|| "reading query rows".into())? {
            let mut keys = Vec::with_capacity(plan.key_columns);
            for i in 0..plan.key_columns {
                keys.push(
                    row.get::<_, Option<String>>(i)
                        .context(|| "reading a key".into())?,
                );
            }
            let mut aggs = Vec::with_capacity(plan.agg_columns);
            for i in 0..plan.agg_columns {
                aggs.push(
                    row.get::<_, Option<f64>>(plan.key_columns + i)
                        .context(|| "reading an aggregate".into())?,
                );
            }
            out.push(AggRow { keys, aggs });
        }
        Ok(out)
    }

    /// Runs a drill-down page statement (id, ticket, anchor µs, value, counted).
    pub fn run_records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&plan.sql)
            .context(|| format!("preparing drill-down:\n{}", plan.sql))?;
        let rows = stmt
            .query_map(params_from_iter(plan.params.iter()), |r| {
                Ok(RecordRow {
                    id: r.get(0)?,
                    ticket: r.get(1)?,
                    at_us: r.get(2)?,
                    value: r.get(3)?,
                    counted: r.get(4)?,
                })
            })
            .context(|| "running drill-down".into())?;
        rows.collect::<Result<_, _>>()
            .context(|| "reading drill-down rows".into())
    }

    /// Earliest and latest instant (UTC µs) from an extent statement, if any rows.
    pub fn extent(&self, sql: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let (lo, hi): (Option<f64>, Option<f64>) = self
            .conn
            .query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .context(|| "finding the data extent".into())?;
        Ok(lo.zip(hi).map(|(a, b)| (a as i64, b as i64)))
    }

    /// Tickets waiting for derivation, the rules' fingerprint the facts were derived under,
    /// whether there are tickets at all, and the stored facts with their fingerprints.
    pub fn facts_state(&self) -> Result<FactsState, StoreError> {
        let (pending, fingerprint, has_tickets): (i64, Option<String>, bool) = self
            .conn
            .query_row(
                "SELECT (SELECT count(DISTINCT ticket_id) FROM vitals_touched_tickets),
                        (SELECT max(value) FROM vitals_meta WHERE key = 'calendar_fingerprint'),
                        EXISTS (SELECT 1 FROM tickets)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .context(|| "reading the derivation state".into())?;
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM vitals_meta WHERE starts_with(key, ?)")
            .context(|| "reading the stored facts".into())?;
        let stored_facts = stmt
            .query_map([crate::stored::META_PREFIX], |r| {
                let key: String = r.get(0)?;
                Ok((
                    key[crate::stored::META_PREFIX.len()..].to_string(),
                    r.get(1)?,
                ))
            })
            .context(|| "reading the stored facts".into())?
            .collect::<Result<_, _>>()
            .context(|| "reading the stored facts".into())?;
        Ok(FactsState {
            pending_tickets: pending as u64,
            fingerprint,
            has_tickets,
            stored_facts,
        })
    }
}

fn engine_error(e: StoreError) -> EngineError {
    EngineError(e.to_string())
}

impl Engine for Reader {
    fn dialect(&self) -> &dyn Dialect {
        &DuckDb
    }

    fn aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
        self.run_planned(plan).map_err(engine_error)
    }

    fn extent(&self, sql: &str) -> Result<Option<(i64, i64)>, EngineError> {
        Reader::extent(self, sql).map_err(engine_error)
    }

    fn facts_state(&self) -> Result<FactsState, EngineError> {
        Reader::facts_state(self).map_err(engine_error)
    }

    fn open_sla_targets(&self) -> Result<Vec<OpenSlaTarget>, EngineError> {
        Reader::open_sla_targets(self).map_err(engine_error)
    }

    fn records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
        self.run_records(plan).map_err(engine_error)
    }

    fn annotations(&self) -> Result<Vec<Annotation>, EngineError> {
        Reader::annotations(self).map_err(engine_error)
    }
}
