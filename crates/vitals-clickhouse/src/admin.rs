//! PLACEHOLDER (branch `ch-writer`): the admin part belongs to the read side (`ch-reader`),
//! whose version of this file replaces this one at merge.

use vitals_backend::{Admin, BackendError, Scope, SurveyLink, TokenInfo};
use vitals_query::alerts::{AlertEvent, Delivery, SeriesState};
use vitals_query::{Annotation, NewAnnotation};

use crate::Client;

/// Tokens, survey links and annotations on ClickHouse (placeholder: every call fails).
pub struct ClickHouseAdmin {
    _client: Client,
}

impl ClickHouseAdmin {
    /// The admin part over `client`.
    pub fn new(client: Client) -> ClickHouseAdmin {
        ClickHouseAdmin { _client: client }
    }
}

fn missing<T>() -> Result<T, BackendError> {
    Err(BackendError::internal(
        "the ClickHouse admin part is not in this build yet (placeholder)",
    ))
}

impl Admin for ClickHouseAdmin {
    fn create_token(&self, _: &str, _: &[Scope]) -> Result<(TokenInfo, String), BackendError> {
        missing()
    }
    fn tokens(&self) -> Result<Vec<TokenInfo>, BackendError> {
        missing()
    }
    fn revoke_token(&self, _: &str) -> Result<bool, BackendError> {
        missing()
    }
    fn survey_link_key(&self) -> Result<String, BackendError> {
        missing()
    }
    fn add_survey_link(&self, _: &SurveyLink) -> Result<(), BackendError> {
        missing()
    }
    fn survey_link(&self, _: &str) -> Result<Option<SurveyLink>, BackendError> {
        missing()
    }
    fn use_survey_link(&self, _: &str) -> Result<bool, BackendError> {
        missing()
    }
    fn add_annotation(&self, _: &NewAnnotation) -> Result<Annotation, BackendError> {
        missing()
    }
    fn delete_annotation(&self, _: i64) -> Result<bool, BackendError> {
        missing()
    }
    fn record_digest_sent(&self, _: &str, _: &str, _: &str) -> Result<(), BackendError> {
        missing()
    }
    fn record_alerts(
        &self,
        _: &[SeriesState],
        _: &[(AlertEvent, Vec<Delivery>)],
    ) -> Result<(), BackendError> {
        missing()
    }
    fn note_delivery(
        &self,
        _: &str,
        _: u32,
        _: i64,
        _: Result<(), (String, i64)>,
    ) -> Result<(), BackendError> {
        missing()
    }
    fn alert_states(&self) -> Result<Vec<SeriesState>, BackendError> {
        missing()
    }
    fn due_deliveries(&self, _: i64, _: u32) -> Result<Vec<Delivery>, BackendError> {
        missing()
    }
}
