//! Binds the catalogue to one query, once: every SQL fragment in the engine's dialect
//! (`Catalogue::for_target`, parsed and checked when the catalogue loaded) with the
//! configuration's `{placeholders}` filled — the survey attribution, call-centre thresholds,
//! the CLV lifespan and one `{now}` for the whole query. The planner then writes the bound
//! catalogue's SQL as it is; a metric the engine cannot compute exactly as DuckDB does (its
//! `engine_notes`) is refused with `not_on_engine` before anything is planned.

use std::borrow::Cow;

use vitals_core::catalogue::Catalogue;
use vitals_core::config::{Config, SurveyAttribution};

use crate::dialect::Dialect;
use crate::error::QueryError;
use crate::resolve::{ResolvedMetric, ResolvedQuery};
use crate::sql::REPLY_AGENTS;

/// The values of the configuration placeholders under one configuration, in one dialect.
pub struct Placeholders {
    values: [(&'static str, String); 5],
}

impl Placeholders {
    /// The values, with the current instant taken now (see `vitals_core::now`).
    pub fn new(dialect: &dyn Dialect, config: &Config) -> Self {
        let survey_agent = match config.attribution.surveys {
            SurveyAttribution::RatedAgent => "s.agent_id".to_string(),
            SurveyAttribution::AssigneeAtSolve => "t.solve_assignee".to_string(),
            SurveyAttribution::EveryReplyingAgent => dialect.unnest_or_null(REPLY_AGENTS),
        };
        let now =
            vitals_core::now::now_us().unwrap_or_else(|_| chrono::Utc::now().timestamp_micros());
        Placeholders {
            values: [
                ("{survey_agent}", survey_agent),
                (
                    "{lifespan_years}",
                    dialect.float_literal(config.clv.lifespan_years),
                ),
                ("{now}", dialect.instant(now)),
                (
                    "{service_level_secs}",
                    dialect.float_literal(config.calls.service_level_secs),
                ),
                (
                    "{abandon_grace_secs}",
                    dialect.float_literal(config.calls.abandon_grace_secs),
                ),
            ],
        }
    }

    /// `sql` with every known placeholder replaced by its value.
    pub fn fill(&self, sql: &str) -> String {
        self.values
            .iter()
            .fold(sql.to_string(), |out, (name, value)| {
                out.replace(name, value)
            })
    }
}

/// The catalogue bound to `config` and `dialect` (itself when it already is). A catalogue that
/// passed its load check renders for every dialect; one that did not keeps its text as written.
pub fn bind<'c>(
    dialect: &dyn Dialect,
    catalogue: &'c Catalogue,
    config: &Config,
) -> Cow<'c, Catalogue> {
    let target = dialect.target();
    if catalogue.bound && catalogue.target == target {
        return Cow::Borrowed(catalogue);
    }
    let mut bound = catalogue
        .for_target(target)
        .unwrap_or_else(|_| catalogue.clone());
    let placeholders = Placeholders::new(dialect, config);
    for sql in bound.sql_texts_mut() {
        *sql = placeholders.fill(sql);
    }
    bound.bound = true;
    Cow::Owned(bound)
}

/// A metric resolved against the catalogue as loaded, with its definition and dimensions'
/// SQL taken from the bound catalogue.
pub(crate) fn bound_metric(bound: &Catalogue, rm: &ResolvedMetric) -> ResolvedMetric {
    let Some(metric) = bound.metric(&rm.metric.id) else {
        return rm.clone();
    };
    let dimensions = bound.dimensions_of(metric);
    ResolvedMetric {
        metric: metric.clone(),
        asks: rm.asks.clone(),
        dimensions: rm.dimensions.clone(),
        dimension_sql: rm
            .dimensions
            .iter()
            .zip(&rm.dimension_sql)
            .map(|(name, sql)| dimensions.get(name).cloned().unwrap_or(sql.clone()))
            .collect(),
    }
}

/// `not_on_engine` for the first metric of the query its engine cannot compute exactly as
/// DuckDB does (the metric's `engine_notes`).
pub(crate) fn refuse_unsupported(
    dialect: &dyn Dialect,
    query: &ResolvedQuery,
) -> Result<(), QueryError> {
    let target = dialect.target();
    for rm in &query.metrics {
        if let Some(note) = rm.metric.engine_note(target) {
            return Err(QueryError::NotOnEngine {
                metric: rm.metric.id.clone(),
                engine: target.name(),
                note: note.to_string(),
            });
        }
    }
    Ok(())
}
