//! Why a query could not be answered. Every error has a stable machine `code` (what scripts
//! and the API match on), a message for a person, and suggestions where a near name exists;
//! the API answers `{"error": {"code", "message", "suggestions"}}`.

use serde::Serialize;

/// A query that could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request is not valid JSON for the request type.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// The parser's message.
        message: String,
    },
    /// A drill-down into a cell that does not stand for a list of records.
    #[error("cannot list the records behind `{metric}`: it {why}")]
    DrillDownUnsupported {
        /// The metric.
        metric: String,
        /// Why.
        why: String,
    },
    /// No metric was asked for.
    #[error("no metric asked: give --metric ID (see `vitals catalogue`)")]
    NoMetric,
    /// A name (metric, dimension, time dimension) the catalogue does not know.
    #[error("unknown {kind} `{name}`{}", hint(suggestions, known))]
    Unknown {
        /// `metric`, `dimension`, `time dimension`, `time zone`.
        kind: &'static str,
        /// The name as written.
        name: String,
        /// Near names.
        suggestions: Vec<String>,
        /// Every valid name, when short enough to list.
        known: Vec<String>,
    },
    /// A stat the metric does not take.
    #[error("{message}")]
    InvalidStat {
        /// The metric key as written.
        metric: String,
        /// Why.
        message: String,
    },
    /// A dimension (or filter) that does not apply to a metric.
    #[error("{message}")]
    DimensionNotApplicable {
        /// The metric.
        metric: String,
        /// The dimension.
        dimension: String,
        /// Why, with the metric's dimensions.
        message: String,
        /// The metric's dimensions.
        suggestions: Vec<String>,
    },
    /// More than one time grain.
    #[error("only one time dimension per query (got `{first}` and `{second}`)")]
    SeveralTimeDimensions {
        /// The first.
        first: String,
        /// The second.
        second: String,
    },
    /// A filter that cannot be read.
    #[error("filter `{filter}` {reason}")]
    InvalidFilter {
        /// The filter as written.
        filter: String,
        /// Why.
        reason: String,
    },
    /// A period that is empty or reversed, or a date that cannot be read.
    #[error("{0}")]
    InvalidPeriod(String),
    /// The query is over one of the limits of `[limits]` (span, buckets, result rows).
    #[error("{message}")]
    LimitExceeded {
        /// The limit's configuration key (`limits.max_buckets`).
        limit: &'static str,
        /// Which limit, by how much, and how to narrow the query.
        message: String,
    },
    /// A metric whose change `why` cannot split over segments.
    #[error("`{metric}` cannot be explained by segments: it {reason}")]
    NotDecomposable {
        /// The metric key.
        metric: String,
        /// Why.
        reason: String,
    },
    /// A metric the engine cannot compute exactly as DuckDB does (its `engine_notes`).
    #[error("`{metric}` is not computed on {engine}: {note}")]
    NotOnEngine {
        /// The metric.
        metric: String,
        /// The engine (`clickhouse`).
        engine: &'static str,
        /// Why, from the catalogue.
        note: String,
    },
    /// The configuration the query needs is invalid (e.g. a target).
    #[error("configuration: {0}")]
    Config(String),
    /// The engine failed (not the request's fault).
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
}

fn hint(suggestions: &[String], known: &[String]) -> String {
    match (suggestions.first(), known.is_empty()) {
        (Some(s), _) => format!("; did you mean `{s}`?"),
        (None, false) => format!("; known: {}", known.join(", ")),
        (None, true) => String::new(),
    }
}

impl QueryError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::InvalidRequest { .. } => "invalid_request",
            QueryError::NoMetric => "no_metric",
            QueryError::DrillDownUnsupported { .. } => "drill_down_unsupported",
            QueryError::Unknown { kind, .. } => match *kind {
                "metric" => "unknown_metric",
                "time zone" => "unknown_timezone",
                _ => "unknown_dimension",
            },
            QueryError::InvalidStat { .. } => "invalid_stat",
            QueryError::DimensionNotApplicable { .. } => "dimension_not_applicable",
            QueryError::SeveralTimeDimensions { .. } => "several_time_dimensions",
            QueryError::InvalidFilter { .. } => "invalid_filter",
            QueryError::InvalidPeriod(_) => "invalid_period",
            QueryError::LimitExceeded { .. } => "limit_exceeded",
            QueryError::NotDecomposable { .. } => "not_decomposable",
            QueryError::NotOnEngine { .. } => "not_on_engine",
            QueryError::Config(_) => "invalid_config",
            QueryError::Engine(_) => "engine",
        }
    }

    /// Suggestions for a person: near names, or the names that would fit.
    pub fn suggestions(&self) -> Vec<String> {
        match self {
            QueryError::Unknown { suggestions, .. }
            | QueryError::DimensionNotApplicable { suggestions, .. } => suggestions.clone(),
            _ => Vec::new(),
        }
    }

    /// Whether the error is the request's (a user error) rather than the engine's.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, QueryError::Engine(_))
    }

    /// The public error body: `{"code", "message", "suggestions"}`.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_string(),
            message: self.to_string(),
            suggestions: self.suggestions(),
        }
    }
}

/// The JSON form of an error.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// Stable machine code.
    pub code: String,
    /// For a person.
    pub message: String,
    /// Near names or fitting names.
    pub suggestions: Vec<String>,
}

/// An unknown name with "did you mean" from `known`.
pub(crate) fn unknown<'a>(
    kind: &'static str,
    name: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
) -> QueryError {
    let suggestions: Vec<String> = vitals_core::catalogue::did_you_mean(name, known.clone())
        .into_iter()
        .map(str::to_string)
        .collect();
    let all: Vec<String> = known.into_iter().map(str::to_string).collect();
    QueryError::Unknown {
        kind,
        name: name.to_string(),
        known: if suggestions.is_empty() && all.len() <= 40 {
            all
        } else {
            Vec::new()
        },
        suggestions,
    }
}
