//! The query request every surface sends: metrics (with stats), dimensions, structured
//! filters, period, zone and comparison. It is serde data — the CLI builds it from flags, the
//! API and `vitals query --request` parse it from JSON — and the `query` echo of a response
//! parses back into the same request (see [`QueryRequest::from_json`]).
//!
//! JSON form:
//! ```json
//! {"metrics": ["csat", "first_response_time:p90"],
//!  "by": ["time:month", "ticket:channel"],
//!  "filters": [{"dimension": "ticket:channel", "is": ["email", "chat"]},
//!              {"dimension": "ticket:category", "is_not": ["spam, junk"]}],
//!  "from": "2026-01-01", "to": "2026-04-01", "timezone": "Europe/Helsinki",
//!  "compare": "previous"}
//! ```
//! A metric may also be written `{"id": "first_response_time", "stat": "p90"}`, a filter as
//! the CLI's text `"ticket:channel=email,chat"` (or `!=` for `is_not`), and `compare` as the
//! echo's `{"mode": "previous", …}`.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::compare::CompareMode;
use crate::error::QueryError;

/// One requested metric: its id and, for distributions, a stat (`median`, `p90`,
/// `business_mean`, …; the mean when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MetricSpecRepr", into = "String")]
pub struct MetricSpec {
    /// The catalogue id.
    pub id: String,
    /// The stat, if one was named.
    pub stat: Option<String>,
}

impl MetricSpec {
    /// Parses `ID` or `ID:STAT`.
    pub fn parse(text: &str) -> MetricSpec {
        match text.split_once(':') {
            Some((id, stat)) => MetricSpec {
                id: id.to_string(),
                stat: Some(stat.to_string()),
            },
            None => MetricSpec {
                id: text.to_string(),
                stat: None,
            },
        }
    }

    /// The key of this value in results: `id` or `id:stat`.
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MetricSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.stat {
            Some(stat) => write!(f, "{}:{stat}", self.id),
            None => f.write_str(&self.id),
        }
    }
}

impl From<MetricSpec> for String {
    fn from(spec: MetricSpec) -> String {
        spec.to_string()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MetricSpecRepr {
    Text(String),
    Object {
        id: String,
        #[serde(default)]
        stat: Option<String>,
    },
}

impl TryFrom<MetricSpecRepr> for MetricSpec {
    type Error = String;
    fn try_from(repr: MetricSpecRepr) -> Result<MetricSpec, String> {
        match repr {
            MetricSpecRepr::Text(t) => Ok(MetricSpec::parse(&t)),
            MetricSpecRepr::Object { id, stat } if !id.contains(':') => Ok(MetricSpec { id, stat }),
            MetricSpecRepr::Object { id, .. } => Err(format!(
                "metric id `{id}` contains `:`; give the stat in `stat`"
            )),
        }
    }
}

/// Whether a filter keeps or drops its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// Keep rows whose dimension value is one of the values.
    Is,
    /// Keep rows whose dimension value is none of the values (rows without a value are kept).
    IsNot,
}

/// A filter on one dimension. Values are whole strings: a value may contain commas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FilterRepr", into = "FilterObject")]
pub struct Filter {
    /// The dimension (`ticket:channel`).
    pub dimension: String,
    /// Keep or drop.
    pub op: FilterOp,
    /// The values.
    pub values: Vec<String>,
}

impl Filter {
    /// Parses the CLI form `DIM=V1,V2` (or `DIM!=V1,V2`); a comma inside a value is written
    /// `\,`.
    pub fn parse(text: &str) -> Result<Filter, QueryError> {
        let (dimension, op, rest) = if let Some((d, v)) = text.split_once("!=") {
            (d, FilterOp::IsNot, v)
        } else if let Some((d, v)) = text.split_once('=') {
            (d, FilterOp::Is, v)
        } else {
            return Err(QueryError::InvalidFilter {
                filter: text.to_string(),
                reason: "should be DIM=VALUE[,VALUE…] or DIM!=VALUE[,VALUE…] (e.g. ticket:channel=email)".into(),
            });
        };
        let mut values = Vec::new();
        let mut current = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&',') => {
                    current.push(',');
                    chars.next();
                }
                ',' => values.push(std::mem::take(&mut current)),
                c => current.push(c),
            }
        }
        values.push(current);
        Ok(Filter {
            dimension: dimension.trim().to_string(),
            op,
            values,
        })
    }
}

/// The JSON object of a filter: `{"dimension": …, "is": […]}` or `… "is_not": […]`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterObject {
    dimension: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    is: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    is_not: Option<Vec<String>>,
}

impl From<Filter> for FilterObject {
    fn from(f: Filter) -> FilterObject {
        let (is, is_not) = match f.op {
            FilterOp::Is => (Some(f.values), None),
            FilterOp::IsNot => (None, Some(f.values)),
        };
        FilterObject {
            dimension: f.dimension,
            is,
            is_not,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FilterRepr {
    Text(String),
    Object(FilterObject),
}

impl TryFrom<FilterRepr> for Filter {
    type Error = String;
    fn try_from(repr: FilterRepr) -> Result<Filter, String> {
        match repr {
            FilterRepr::Text(t) => Filter::parse(&t).map_err(|e| e.to_string()),
            FilterRepr::Object(o) => match (o.is, o.is_not) {
                (Some(values), None) => Ok(Filter {
                    dimension: o.dimension,
                    op: FilterOp::Is,
                    values,
                }),
                (None, Some(values)) => Ok(Filter {
                    dimension: o.dimension,
                    op: FilterOp::IsNot,
                    values,
                }),
                _ => Err(format!(
                    "filter on `{}` needs exactly one of `is` or `is_not`",
                    o.dimension
                )),
            },
        }
    }
}

/// `compare` as written: the mode, or the echo's object with the mode and its period.
#[derive(Deserialize)]
#[serde(untagged)]
enum CompareRepr {
    Mode(CompareMode),
    Echo { mode: CompareMode },
}

fn compare_mode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<CompareMode>, D::Error> {
    Ok(Option::<CompareRepr>::deserialize(d)?.map(|c| match c {
        CompareRepr::Mode(m) | CompareRepr::Echo { mode: m } => m,
    }))
}

/// A query as every surface sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// Metrics, each with an optional stat.
    pub metrics: Vec<MetricSpec>,
    /// Dimensions (`time:month`, `ticket:channel`, …).
    #[serde(default)]
    pub by: Vec<String>,
    /// Filters (all must hold).
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// First local date (inclusive); the data's first day when absent.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Local date after the last (exclusive); the day after the data's last when absent.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// IANA zone of buckets and dates (the configured reporting zone when absent).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Compare every value with the previous bucket or the same bucket a year earlier.
    #[serde(default, deserialize_with = "compare_mode")]
    pub compare: Option<CompareMode>,
}

/// Parses a local date `YYYY-MM-DD`; `what` names it in the error (e.g. `--from`).
pub fn parse_date(text: &str, what: &str) -> Result<NaiveDate, QueryError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        QueryError::InvalidPeriod(format!("{what} `{text}` is not a date (YYYY-MM-DD)"))
    })
}

/// Keys of a response's `query` echo that describe how the request was answered; a request
/// parsed from an echo ignores them.
pub const ECHO_ONLY_KEYS: [&str; 5] =
    ["period_explicit", "from_utc", "to_utc", "anchors", "params"];

impl QueryRequest {
    /// Parses a request from JSON: a request, or the `query` echo of a response (its
    /// descriptive keys are ignored, so an answer can be replayed). Unknown keys are errors.
    pub fn from_json(text: &str) -> Result<QueryRequest, QueryError> {
        let invalid = |e: serde_json::Error| QueryError::InvalidRequest {
            message: e.to_string(),
        };
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(invalid)?;
        // A whole response replays its echo.
        if let Some(query) = value
            .get("query")
            .filter(|_| value.get("results").is_some())
        {
            value = query.clone();
        }
        if let Some(object) = value.as_object_mut() {
            for key in ECHO_ONLY_KEYS {
                object.remove(key);
            }
        }
        serde_json::from_value(value).map_err(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_from_text_and_objects() {
        let f = Filter::parse(r"ticket:category=billing\, refunds,login").unwrap();
        assert_eq!(f.values, vec!["billing, refunds", "login"]);
        assert_eq!(f.op, FilterOp::Is);
        let f = Filter::parse("ticket:channel!=email").unwrap();
        assert_eq!(f.op, FilterOp::IsNot);
        assert_eq!(f.dimension, "ticket:channel");
        assert!(Filter::parse("ticket:channel").is_err());
        let r = QueryRequest::from_json(
            r#"{"metrics": ["csat", {"id": "first_response_time", "stat": "p90"}],
                "filters": [{"dimension": "ticket:category", "is_not": ["a, b"]}, "ticket:channel=email"],
                "compare": {"mode": "yoy", "from": "2025-01-01", "to": "2025-02-01"},
                "from_utc": "2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(r.metrics[1].key(), "first_response_time:p90");
        assert_eq!(r.filters[0].values, vec!["a, b"]);
        assert_eq!(r.filters[1].op, FilterOp::Is);
        assert_eq!(r.compare, Some(CompareMode::Yoy));
    }

    #[test]
    fn requests_round_trip_and_reject_unknown_keys() {
        let r = QueryRequest {
            metrics: vec![MetricSpec::parse("csat")],
            by: vec!["time:month".into()],
            filters: vec![Filter::parse("ticket:channel=email,chat").unwrap()],
            from: NaiveDate::from_ymd_opt(2026, 1, 1),
            to: NaiveDate::from_ymd_opt(2026, 2, 1),
            timezone: Some("Europe/Helsinki".into()),
            compare: Some(CompareMode::Previous),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(QueryRequest::from_json(&text).unwrap(), r);
        let e = QueryRequest::from_json(r#"{"metric": ["csat"]}"#).unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        assert!(e.to_string().contains("unknown field `metric`"), "{e}");
        assert!(QueryRequest::from_json(
            r#"{"metrics": ["csat"], "filters": [{"dimension": "x"}]}"#
        )
        .is_err());
    }
}
