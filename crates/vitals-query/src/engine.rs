//! The engine boundary: what the query library's statements need from a store. The DuckDB
//! store implements it (`vitals-store`); a second engine (ClickHouse) implements the same
//! trait, so the query library never depends on a database crate. The other reads of the
//! surfaces (open SLA targets, annotations, a ticket's detail) are their own trait
//! (`operational.rs`).

use std::collections::BTreeMap;

use crate::dialect::Dialect;
use crate::plan::PlannedSql;
use crate::result::AggRow;

/// An engine's failure, carried as its message (the engine's own error type stays in its
/// crate).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

/// The state of a store's derived facts, so a query can say when they do not match the
/// configuration it is answered under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactsState {
    /// Tickets whose records changed and whose facts are not derived yet.
    pub pending_tickets: u64,
    /// The fingerprint of the derivation rules (calendars, teams, SLA policies) the facts were
    /// derived under; `None` before the first derivation.
    pub fingerprint: Option<String>,
    /// Whether the store holds any ticket.
    pub has_tickets: bool,
    /// The stored facts the store holds, each with the statement it was built by (its
    /// fingerprint: see `vitals_core::catalogue::StoredFact`).
    pub stored_facts: BTreeMap<String, String>,
}

/// One record behind a result cell, as the engine returns it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordRow {
    /// The record's id.
    pub id: Option<String>,
    /// Its ticket.
    pub ticket: Option<String>,
    /// The instant it counts by (UTC µs).
    pub at_us: Option<i64>,
    /// Its value.
    pub value: Option<f64>,
    /// Whether it counts in the numerator.
    pub counted: Option<bool>,
}

/// Runs planned statements. Implementations only execute: planning, finalisation and
/// statistics stay in the query library.
pub trait Engine {
    /// The SQL dialect the engine runs, which statements are written in.
    fn dialect(&self) -> &dyn Dialect;

    /// Runs one planned metric statement: key columns as text, aggregates as doubles.
    fn aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, EngineError>;

    /// Runs several planned metric statements, answering in the order given (or with the
    /// first failure). An engine that can run statements side by side overrides this; by
    /// default they run one after another.
    fn aggregate_all(&self, plans: &[&PlannedSql]) -> Result<Vec<Vec<AggRow>>, EngineError> {
        plans.iter().map(|plan| self.aggregate(plan)).collect()
    }

    /// Runs an extent statement: the earliest and latest anchor instant (UTC µs), if any row.
    fn extent(&self, sql: &str) -> Result<Option<(i64, i64)>, EngineError>;

    /// The derivation state of the facts.
    fn facts_state(&self) -> Result<FactsState, EngineError>;

    /// Runs a drill-down page statement: per record its id, ticket, anchor instant (UTC µs),
    /// value and whether it counts in the numerator.
    fn records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, EngineError>;
}

/// An engine whose facts state is read once, at the first query, and reused by every later
/// query asked through it: for a report, a digest or an explanation, which ask dozens of
/// queries of one moment. (On ClickHouse the state is several round trips; read per query it
/// was a fifth of a monthly report's statements.) Everything else is the wrapped engine's.
pub struct FactsReadOnce<'e> {
    engine: &'e dyn Engine,
    state: std::sync::OnceLock<FactsState>,
}

impl<'e> FactsReadOnce<'e> {
    /// `engine`, its facts state not read yet.
    pub fn new(engine: &'e dyn Engine) -> Self {
        FactsReadOnce {
            engine,
            state: std::sync::OnceLock::new(),
        }
    }
}

impl Engine for FactsReadOnce<'_> {
    fn dialect(&self) -> &dyn Dialect {
        self.engine.dialect()
    }

    fn aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
        self.engine.aggregate(plan)
    }

    fn aggregate_all(&self, plans: &[&PlannedSql]) -> Result<Vec<Vec<AggRow>>, EngineError> {
        self.engine.aggregate_all(plans)
    }

    fn extent(&self, sql: &str) -> Result<Option<(i64, i64)>, EngineError> {
        self.engine.extent(sql)
    }

    fn facts_state(&self) -> Result<FactsState, EngineError> {
        if let Some(state) = self.state.get() {
            return Ok(state.clone());
        }
        let state = self.engine.facts_state()?;
        Ok(self.state.get_or_init(|| state).clone())
    }

    fn records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
        self.engine.records(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Counts its facts-state reads.
    struct Counting(Cell<u32>);

    impl Engine for Counting {
        fn dialect(&self) -> &dyn Dialect {
            &crate::DuckDb
        }
        fn aggregate(&self, _: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
            Ok(Vec::new())
        }
        fn extent(&self, _: &str) -> Result<Option<(i64, i64)>, EngineError> {
            Ok(None)
        }
        fn facts_state(&self) -> Result<FactsState, EngineError> {
            self.0.set(self.0.get() + 1);
            Ok(FactsState {
                pending_tickets: u64::from(self.0.get()),
                ..Default::default()
            })
        }
        fn records(&self, _: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn the_facts_state_is_read_once_and_answered_alike() {
        let inner = Counting(Cell::new(0));
        let once = FactsReadOnce::new(&inner);
        let first = once.facts_state().unwrap();
        assert_eq!(once.facts_state().unwrap(), first);
        assert_eq!(first.pending_tickets, 1);
        assert_eq!(inner.0.get(), 1, "read once");
    }
}
