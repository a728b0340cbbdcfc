//! Read-only handles on the store: a [`Reader`] never writes, so any number of them can
//! answer queries while the one writer ([`Store`]) imports and derives. A reader is either a
//! clone of the writer's connection (same process: the server's request handlers) or a
//! read-only open of the file (another process, when no writer holds it).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use duckdb::{params_from_iter, AccessMode, Connection};
use vitals_query::plan::PlannedSql;
use vitals_query::{AggRow, Dialect, DuckDb, Engine, EngineError, FactsState, RecordRow};

use crate::error::{Context, StoreError};
use crate::interrupt::Interrupts;
use crate::{schema, Store};

/// The most metric statements one query runs at once ([`Reader::run_side_by_side`]).
const STATEMENTS_AT_ONCE: usize = 4;

/// A read-only handle.
pub struct Reader {
    pub(crate) conn: Connection,
    path: String,
    /// What [`Reader::interrupter`] reaches.
    pub(crate) interrupts: Arc<Interrupts>,
}

impl Store {
    /// A reader sharing this store's database (a cloned connection that never writes).
    pub fn reader(&self) -> Result<Reader, StoreError> {
        let conn = self
            .conn
            .try_clone()
            .context(|| "opening a reader connection".into())?;
        Ok(Reader {
            interrupts: Interrupts::over(&conn),
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
            interrupts: Interrupts::over(&conn),
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
        let conn = self
            .conn
            .try_clone()
            .context(|| "opening a reader connection".into())?;
        Ok(Reader {
            interrupts: Interrupts::over(&conn),
            conn,
            path: self.path.clone(),
        })
    }

    /// A helper for a side-by-side run: its own connection, interrupted with this reader.
    fn helper(&self) -> Result<Reader, StoreError> {
        let conn = self
            .conn
            .try_clone()
            .context(|| "opening a reader connection".into())?;
        self.interrupts.add_helper(&conn);
        Ok(Reader {
            interrupts: self.interrupts.clone(),
            conn,
            path: self.path.clone(),
        })
    }

    /// The file this reader reads.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Runs one planned metric statement.
    pub fn run_planned(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, StoreError> {
        self.interrupts.check()?;
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

    /// Runs planned metric statements side by side, each on a connection of its own (this one
    /// and clones of it), as many at once as the machine has cores (at most
    /// [`STATEMENTS_AT_ONCE`]); answers in the order given. Many of a query's statements are
    /// small or end in work the engine does on one thread (quantiles, finalising groups), so
    /// two at once keep both cores of a small machine busy where one would not.
    pub fn run_side_by_side(&self, plans: &[&PlannedSql]) -> Result<Vec<Vec<AggRow>>, StoreError> {
        let at_once = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(STATEMENTS_AT_ONCE)
            .min(plans.len());
        if at_once <= 1 {
            return plans.iter().map(|plan| self.run_planned(plan)).collect();
        }
        let helpers = (1..at_once)
            .map(|_| self.helper())
            .collect::<Result<Vec<_>, _>>();
        let helpers = match helpers {
            Ok(helpers) => helpers,
            Err(e) => {
                self.interrupts.forget_helpers();
                return Err(e);
            }
        };
        let next = AtomicUsize::new(0);
        let work = |reader: &Reader| {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(plan) = plans.get(i) else {
                    return done;
                };
                done.push((i, reader.run_planned(plan)));
            }
        };
        let mut done = std::thread::scope(|scope| {
            let work = &work;
            let running: Vec<_> = helpers
                .into_iter()
                .map(|helper| scope.spawn(move || work(&helper)))
                .collect();
            let mut done = work(self);
            for handle in running {
                match handle.join() {
                    Ok(theirs) => done.extend(theirs),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            done
        });
        self.interrupts.forget_helpers();
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, answer)| answer).collect()
    }

    /// Runs a drill-down page statement (id, ticket, anchor µs, value, counted).
    pub fn run_records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, StoreError> {
        self.interrupts.check()?;
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
        self.interrupts.check()?;
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

/// A store error as the query library's engine error.
pub(crate) fn engine_error(e: StoreError) -> EngineError {
    EngineError(e.to_string())
}

impl Engine for Reader {
    fn dialect(&self) -> &dyn Dialect {
        &DuckDb
    }

    fn aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
        self.run_planned(plan).map_err(engine_error)
    }

    fn aggregate_all(&self, plans: &[&PlannedSql]) -> Result<Vec<Vec<AggRow>>, EngineError> {
        self.run_side_by_side(plans).map_err(engine_error)
    }

    fn extent(&self, sql: &str) -> Result<Option<(i64, i64)>, EngineError> {
        Reader::extent(self, sql).map_err(engine_error)
    }

    fn facts_state(&self) -> Result<FactsState, EngineError> {
        Reader::facts_state(self).map_err(engine_error)
    }

    fn records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
        self.run_records(plan).map_err(engine_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(i: usize) -> PlannedSql {
        PlannedSql {
            sql: format!("SELECT 'row ' || r, CAST(r * {i} AS DOUBLE) FROM range(?::INTEGER) t(r) ORDER BY r"),
            params: vec![(i % 4 + 1).to_string()],
            key_columns: 1,
            agg_columns: 1,
            components: Vec::new(),
        }
    }

    #[test]
    fn statements_side_by_side_answer_as_one_after_another_in_order() {
        let store = Store::open_in_memory().unwrap();
        let reader = store.reader().unwrap();
        let plans: Vec<PlannedSql> = (0..9).map(statement).collect();
        let refs: Vec<&PlannedSql> = plans.iter().collect();
        let alone: Vec<Vec<AggRow>> = refs
            .iter()
            .map(|plan| reader.run_planned(plan).unwrap())
            .collect();
        assert_eq!(reader.run_side_by_side(&refs).unwrap(), alone);
        assert_eq!(alone[3].len(), 4);
        assert_eq!(alone[3][2].aggs, vec![Some(6.0)]);
    }

    #[test]
    fn a_failing_statement_fails_the_batch() {
        let store = Store::open_in_memory().unwrap();
        let reader = store.reader().unwrap();
        let broken = PlannedSql {
            sql: "SELECT no_such_column FROM range(3)".into(),
            ..statement(0)
        };
        let plans = [statement(1), broken, statement(2)];
        let refs: Vec<&PlannedSql> = plans.iter().collect();
        let error = reader.run_side_by_side(&refs).unwrap_err().to_string();
        assert!(error.contains("no_such_column"), "{error}");
    }
}
