//! PLACEHOLDER (branch `ch-writer`): the read side belongs to `ch-reader`, whose version of
//! this file replaces this one at merge. Opening a reader fails.

use vitals_backend::{BackendError, DigestRun, Interrupt, SurveyLink};
use vitals_query::alerts::{AlertEvent, Delivery, SeriesState};
use vitals_query::plan::PlannedSql;
use vitals_query::sla::OpenSlaTarget;
use vitals_query::{
    AggRow, Annotation, Dialect, Engine, EngineError, FactsState, OperationalReads, RecordRow,
};

use crate::Client;

/// A reader of a ClickHouse store (placeholder: none can be opened).
pub enum ClickHouseReader {}

impl ClickHouseReader {
    /// Opens a reader over `client` (placeholder: always fails).
    pub fn open(_client: Client) -> Result<ClickHouseReader, BackendError> {
        Err(BackendError::internal(
            "the ClickHouse reader is not in this build yet (placeholder)",
        ))
    }
}

impl Engine for ClickHouseReader {
    fn dialect(&self) -> &dyn Dialect {
        match *self {}
    }
    fn aggregate(&self, _: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
        match *self {}
    }
    fn extent(&self, _: &str) -> Result<Option<(i64, i64)>, EngineError> {
        match *self {}
    }
    fn facts_state(&self) -> Result<FactsState, EngineError> {
        match *self {}
    }
    fn records(&self, _: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
        match *self {}
    }
}

impl OperationalReads for ClickHouseReader {
    fn open_sla_targets(&self) -> Result<Vec<OpenSlaTarget>, EngineError> {
        match *self {}
    }
    fn annotations(&self) -> Result<Vec<Annotation>, EngineError> {
        match *self {}
    }
    fn ticket_detail(&self, _: &str) -> Result<Option<serde_json::Value>, EngineError> {
        match *self {}
    }
}

impl vitals_backend::Reader for ClickHouseReader {
    fn try_clone(&self) -> Result<Box<dyn vitals_backend::Reader>, BackendError> {
        match *self {}
    }
    fn interrupter(&self) -> Box<dyn Interrupt> {
        match *self {}
    }
    fn rearm(&self) {
        match *self {}
    }
    fn survey_link(&self, _: &str) -> Result<Option<SurveyLink>, BackendError> {
        match *self {}
    }
    fn digest_runs(&self) -> Result<Vec<DigestRun>, BackendError> {
        match *self {}
    }
    fn alert_states(&self) -> Result<Vec<SeriesState>, BackendError> {
        match *self {}
    }
    fn alert_events(&self, _: u32) -> Result<Vec<AlertEvent>, BackendError> {
        match *self {}
    }
    fn alert_deliveries(&self, _: u32) -> Result<Vec<Delivery>, BackendError> {
        match *self {}
    }
    fn due_deliveries(&self, _: i64, _: u32) -> Result<Vec<Delivery>, BackendError> {
        match *self {}
    }
}
