//! The DuckDB store behind the seams of `vitals-backend`: [`Store`] is the backend (its
//! writer and admin parts), a [`Reader`] its read seam, a [`StagedWriter`] its record sink.
//! Each method is the store's own, with its error carried across as a [`BackendError`] that
//! keeps whether the user can fix it.

use vitals_backend::{
    Admin, Backend, BackendError, CommitError, CommitOutcome, Derivation, DerivationInputs,
    DigestRun, EntityRecords, Interrupt, MergeCounts, RecordColumns, RecordSink, Scope, SurveyLink,
    TokenInfo, Writer,
};
use vitals_core::records::{Entity, Record};
use vitals_query::alerts::{AlertEvent, Delivery, SeriesState};
use vitals_query::sla::OpenSlaTarget;
use vitals_query::{Annotation, EngineError, NewAnnotation, OperationalReads};

use crate::reader::engine_error;
use crate::{Interrupter, Reader, StagedWriter, Store, StoreError};

impl From<StoreError> for BackendError {
    fn from(e: StoreError) -> Self {
        if e.is_user_error() {
            BackendError::user(e.to_string())
        } else {
            BackendError::internal(e.to_string())
        }
    }
}

impl Backend for Store {
    fn writer(&self) -> &dyn Writer {
        self
    }

    fn admin(&self) -> &dyn Admin {
        self
    }

    fn reader(&self) -> Result<Box<dyn vitals_backend::Reader>, BackendError> {
        Ok(Box::new(Store::reader(self)?))
    }
}

impl Writer for Store {
    fn begin_import(&self, source: &str) -> Result<i64, BackendError> {
        Ok(Store::begin_import(self, source)?)
    }

    fn commit(
        &self,
        batch: &[EntityRecords<'_>],
        import_id: i64,
        derivation: &DerivationInputs,
    ) -> Result<CommitOutcome, CommitError> {
        let mut outcome = CommitOutcome::default();
        for part in batch {
            outcome.merged += self
                .write_records(part.entity, part.records.iter().copied(), import_id)
                .map_err(|e| CommitError::Write(e.into()))?;
            outcome.records += part.records.len() as u64;
        }
        outcome.derivation = Writer::derive(self, derivation).map_err(CommitError::Derive)?;
        Ok(outcome)
    }

    fn derive(&self, derivation: &DerivationInputs) -> Result<Derivation, BackendError> {
        Ok(self.derive_touched(&derivation.rules, &derivation.stored_facts)?)
    }

    fn stage<'w>(
        &'w self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<Box<dyn RecordSink + 'w>, BackendError> {
        Ok(Box::new(Store::stage(self, entity, import_id)?))
    }

    fn stage_bulk<'w>(
        &'w self,
        entity: &'static Entity,
        import_id: i64,
    ) -> Result<Box<dyn RecordSink + 'w>, BackendError> {
        Ok(Box::new(Store::stage_bulk(self, entity, import_id)?))
    }

    fn orphan_event_count(&self) -> Result<u64, BackendError> {
        Ok(Store::orphan_event_count(self)?)
    }
}

impl RecordSink for StagedWriter<'_> {
    fn entity(&self) -> &'static Entity {
        StagedWriter::entity(self)
    }

    fn append(&mut self, record: &Record) -> Result<(), BackendError> {
        Ok(StagedWriter::append(self, record)?)
    }

    fn append_columns(&mut self, columns: RecordColumns) -> Result<(), BackendError> {
        Ok(StagedWriter::append_columns(self, columns)?)
    }

    fn merge(self: Box<Self>) -> Result<MergeCounts, BackendError> {
        Ok(StagedWriter::merge(*self)?)
    }
}

impl Admin for Store {
    fn create_token(
        &self,
        name: &str,
        scopes: &[Scope],
    ) -> Result<(TokenInfo, String), BackendError> {
        Ok(Store::create_token(self, name, scopes)?)
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, BackendError> {
        Ok(Store::tokens(self)?)
    }

    fn revoke_token(&self, id_or_token: &str) -> Result<bool, BackendError> {
        Ok(Store::revoke_token(self, id_or_token)?)
    }

    fn survey_link_key(&self) -> Result<String, BackendError> {
        Ok(Store::survey_link_key(self)?)
    }

    fn add_survey_link(&self, link: &SurveyLink) -> Result<(), BackendError> {
        Ok(Store::add_survey_link(self, link)?)
    }

    fn survey_link(&self, link_id: &str) -> Result<Option<SurveyLink>, BackendError> {
        Ok(Store::survey_link(self, link_id)?)
    }

    fn use_survey_link(&self, link_id: &str) -> Result<bool, BackendError> {
        Ok(Store::use_survey_link(self, link_id)?)
    }

    fn add_annotation(&self, new: &NewAnnotation) -> Result<Annotation, BackendError> {
        Ok(Store::add_annotation(self, new)?)
    }

    fn delete_annotation(&self, id: i64) -> Result<bool, BackendError> {
        Ok(Store::delete_annotation(self, id)?)
    }

    fn record_digest_sent(
        &self,
        name: &str,
        period: &str,
        message_id: &str,
    ) -> Result<(), BackendError> {
        Ok(Store::record_digest_sent(self, name, period, message_id)?)
    }

    fn record_alerts(
        &self,
        states: &[SeriesState],
        notices: &[(AlertEvent, Vec<Delivery>)],
    ) -> Result<(), BackendError> {
        Ok(Store::record_alerts(self, states, notices)?)
    }

    fn note_delivery(
        &self,
        key: &str,
        channel: u32,
        now_us: i64,
        outcome: Result<(), (String, i64)>,
    ) -> Result<(), BackendError> {
        Ok(Store::note_delivery(self, key, channel, now_us, outcome)?)
    }

    fn alert_states(&self) -> Result<Vec<SeriesState>, BackendError> {
        Ok(Store::alert_states(self)?)
    }

    fn due_deliveries(&self, now_us: i64, limit: u32) -> Result<Vec<Delivery>, BackendError> {
        Ok(Store::due_deliveries(self, now_us, limit)?)
    }
}

impl OperationalReads for Reader {
    fn open_sla_targets(&self) -> Result<Vec<OpenSlaTarget>, EngineError> {
        Reader::open_sla_targets(self).map_err(engine_error)
    }

    fn annotations(&self) -> Result<Vec<Annotation>, EngineError> {
        Reader::annotations(self).map_err(engine_error)
    }

    fn ticket_detail(&self, id: &str) -> Result<Option<serde_json::Value>, EngineError> {
        Reader::ticket_detail(self, id).map_err(engine_error)
    }
}

impl vitals_backend::Reader for Reader {
    fn try_clone(&self) -> Result<Box<dyn vitals_backend::Reader>, BackendError> {
        Ok(Box::new(Reader::try_clone(self)?))
    }

    fn interrupter(&self) -> Box<dyn Interrupt> {
        Box::new(Reader::interrupter(self))
    }

    fn rearm(&self) {
        Reader::rearm(self)
    }

    fn survey_link(&self, link_id: &str) -> Result<Option<SurveyLink>, BackendError> {
        Ok(Reader::survey_link(self, link_id)?)
    }

    fn digest_runs(&self) -> Result<Vec<DigestRun>, BackendError> {
        Ok(Reader::digest_runs(self)?)
    }

    fn alert_states(&self) -> Result<Vec<SeriesState>, BackendError> {
        Ok(Reader::alert_states(self)?)
    }

    fn alert_events(&self, limit: u32) -> Result<Vec<AlertEvent>, BackendError> {
        Ok(Reader::alert_events(self, limit)?)
    }

    fn alert_deliveries(&self, limit: u32) -> Result<Vec<Delivery>, BackendError> {
        Ok(Reader::alert_deliveries(self, limit)?)
    }

    fn due_deliveries(&self, now_us: i64, limit: u32) -> Result<Vec<Delivery>, BackendError> {
        Ok(Reader::due_deliveries(self, now_us, limit)?)
    }
}

impl Interrupt for Interrupter {
    fn interrupt(&self) {
        Interrupter::interrupt(self)
    }
}

#[cfg(test)]
mod tests {
    use vitals_backend::Backend;
    use vitals_core::catalogue::Catalogue;
    use vitals_core::config::Config;
    use vitals_core::records::entity;
    use vitals_query::{run_query, MetricSpec, QueryRequest};

    use crate::tests::ticket;
    use crate::Store;

    #[test]
    fn a_commit_through_the_seam_is_merged_derived_and_idempotent() {
        let backend: Box<dyn Backend> = Box::new(Store::open_in_memory().unwrap());
        let config = Config::load(None).unwrap();
        let catalogue = Catalogue::builtin().unwrap();
        let derivation = vitals_backend::DerivationInputs::new(&config, &catalogue).unwrap();
        let records = [ticket("T1", "email"), ticket("T2", "chat")];
        let batch = [vitals_backend::EntityRecords {
            entity: entity("tickets").unwrap(),
            records: records.iter().collect(),
        }];
        let writer = backend.writer();
        let import = writer.begin_import("test").unwrap();
        let first = writer.commit(&batch, import, &derivation).unwrap();
        assert_eq!((first.records, first.merged.inserted), (2, 2));
        assert_eq!(first.derivation.tickets, 2, "derived before the answer");
        let again = writer.commit(&batch, import, &derivation).unwrap();
        assert_eq!((again.merged.unchanged, again.derivation.tickets), (2, 0));
        let reader = backend.reader().unwrap();
        assert_eq!(reader.facts_state().unwrap().pending_tickets, 0);
        let request = QueryRequest {
            metrics: vec![MetricSpec::parse("ticket_volume")],
            ..Default::default()
        };
        let answer = run_query(reader.as_ref(), &catalogue, &config, &request).unwrap();
        assert_eq!(answer.results[0].metrics[0].1.value, Some(2.0));
    }
}
