//! The answer every surface returns — `vitals query --json`, the API, the dashboard and the
//! report all serialise this one type (README.md, "Query"):
//!
//! ```json
//! {"query": {"metrics": […], "by": […], "filters": […], "from": "2026-01-01", "to": "2026-04-01",
//!            "period_explicit": {"from": true, "to": true}, "timezone": "Europe/Helsinki",
//!            "from_utc": "…", "to_utc": "…", "anchors": {"csat": "…"}, "params": {…},
//!            "compare": {"mode": "previous", "from": "…", "to": "…"}},
//!  "results": [{"dimensions": {"time:month": "2026-01"},
//!               "metrics": {"csat": {"value": 84.2, "n": 412, "ci_low": 80.4, "ci_high": 87.4}}}],
//!  "meta": {"warnings": [{"code": "low_sample", "metric": "nps", "message": "…"}]}}
//! ```
//! The `query` echo parses back into the request ([`crate::QueryRequest::from_json`]).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use chrono::NaiveDate;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::compare::{CompareMode, Comparison};
use crate::request::{Filter, MetricSpec};
use crate::result::{MetricValue, ResultRow};
use crate::targets::TargetCheck;
use vitals_core::stats::Interval;

/// A whole answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryResponse {
    /// The normalised request and how it was answered.
    pub query: QueryEcho,
    /// One row per combination of dimension values.
    pub results: Vec<ResultRow>,
    /// Warnings.
    pub meta: Meta,
}

/// Warnings and other notes about an answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Meta {
    /// For a reader of the numbers.
    pub warnings: Vec<Warning>,
}

/// A warning for the reader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// Machine code, e.g. `low_sample`, `stale_facts`.
    pub code: String,
    /// The metric it concerns.
    pub metric: Option<String>,
    /// For a person.
    pub message: String,
}

/// The normalised request: absolute dates, the zone, which instant each metric counts by, and
/// the configuration parameters that shaped the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryEcho {
    /// Metrics as asked (`id` or `id:stat`).
    pub metrics: Vec<MetricSpec>,
    /// Dimensions as asked.
    pub by: Vec<String>,
    /// Filters.
    pub filters: Vec<Filter>,
    /// The period's first local date (asked, or the data's first day).
    pub from: Option<NaiveDate>,
    /// The local date after the period (asked, or the day after the data's last).
    pub to: Option<NaiveDate>,
    /// Whether `from` and `to` were asked (else taken from the data).
    pub period_explicit: PeriodExplicit,
    /// The IANA zone of buckets and dates.
    pub timezone: String,
    /// The period's start as a UTC instant.
    pub from_utc: Option<String>,
    /// The period's end as a UTC instant.
    pub to_utc: Option<String>,
    /// Metric id → the instant it counts by, in words.
    pub anchors: BTreeMap<String, String>,
    /// Configuration that shaped the numbers.
    pub params: QueryParams,
    /// The comparison period, when one was asked.
    pub compare: Option<ComparedPeriod>,
}

/// Which ends of the period were asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodExplicit {
    /// `from` was asked.
    pub from: bool,
    /// `to` was asked.
    pub to: bool,
}

/// Configuration parameters the answer depends on (only those that apply to the metrics).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryParams {
    /// Service-level threshold and abandon grace time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level: Option<ServiceLevelParams>,
    /// Which agent `survey:agent` credits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_attribution: Option<String>,
}

/// The service-level parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ServiceLevelParams {
    /// Answered within this many seconds counts as in service level.
    pub threshold_secs: f64,
    /// Calls abandoned within this many seconds are not counted.
    pub abandon_grace_secs: f64,
}

/// The period a query was compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparedPeriod {
    /// `previous` or `yoy`.
    pub mode: CompareMode,
    /// First local date.
    pub from: NaiveDate,
    /// Exclusive end.
    pub to: NaiveDate,
}

/// Serialises `[(key, value)]` as a JSON object in order, and reads one back in order.
fn serialize_pairs<S: Serializer, V: Serialize>(
    pairs: &[(String, V)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

struct PairsVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<V> {
    type Value = Vec<(String, V)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = access.next_entry()? {
            out.push((k, v));
        }
        Ok(out)
    }
}

fn deserialize_pairs<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<Vec<(String, V)>, D::Error> {
    d.deserialize_map(PairsVisitor(PhantomData))
}

/// The wire form of a result row, read in document order.
#[derive(Deserialize)]
struct RowWire {
    #[serde(deserialize_with = "deserialize_pairs")]
    dimensions: Vec<(String, Option<String>)>,
    #[serde(deserialize_with = "deserialize_pairs")]
    metrics: Vec<(String, MetricValue)>,
}

impl Serialize for ResultRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("dimensions", &Pairs(&self.dimensions))?;
        map.serialize_entry("metrics", &Pairs(&self.metrics))?;
        map.end()
    }
}

struct Pairs<'a, V>(&'a [(String, V)]);

impl<V: Serialize> Serialize for Pairs<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_pairs(self.0, s)
    }
}

impl<'de> Deserialize<'de> for ResultRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ResultRow, D::Error> {
        let wire = RowWire::deserialize(d)?;
        Ok(ResultRow::new(wire.dimensions, wire.metrics))
    }
}

/// The wire form of a value: `value`, `n`, then what applies.
#[derive(Deserialize)]
struct ValueWire {
    value: Option<f64>,
    n: u64,
    #[serde(default)]
    ci_low: Option<f64>,
    #[serde(default)]
    ci_high: Option<f64>,
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    rank: Option<u64>,
    #[serde(default)]
    compare: Option<Comparison>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    on_target: Option<bool>,
    #[serde(default, deserialize_with = "deserialize_pairs")]
    components: Vec<(String, Option<f64>)>,
    #[serde(default)]
    low_sample: bool,
}

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("value", &self.value)?;
        map.serialize_entry("n", &self.n)?;
        if let Some(ci) = self.ci {
            map.serialize_entry("ci_low", &ci.low)?;
            map.serialize_entry("ci_high", &ci.high)?;
        }
        if let Some(c) = self.count {
            map.serialize_entry("count", &c)?;
        }
        if let Some(r) = self.rank {
            map.serialize_entry("rank", &r)?;
        }
        if let Some(c) = &self.compare {
            map.serialize_entry("compare", c)?;
        }
        if let Some(t) = &self.target {
            map.serialize_entry("target", &t.value)?;
            map.serialize_entry("on_target", &t.on_target)?;
        }
        if !self.components.is_empty() {
            map.serialize_entry("components", &Pairs(&self.components))?;
        }
        if self.low_sample {
            map.serialize_entry("low_sample", &true)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for MetricValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MetricValue, D::Error> {
        let w = ValueWire::deserialize(d)?;
        Ok(MetricValue {
            value: w.value,
            n: w.n,
            ci: w
                .ci_low
                .zip(w.ci_high)
                .map(|(low, high)| Interval { low, high }),
            count: w.count,
            rank: w.rank,
            components: w.components,
            compare: w.compare,
            target: w.target.map(|value| TargetCheck {
                value,
                on_target: w.on_target,
            }),
            low_sample: w.low_sample,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client of the API (`vitals query --server`) must print the numbers the server sent:
    /// every double written as JSON parses back to the same bits.
    #[test]
    fn every_value_survives_the_json_round_trip_exactly() {
        let mut bits: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            // xorshift over all finite doubles.
            bits ^= bits << 13;
            bits ^= bits >> 7;
            bits ^= bits << 17;
            let x = f64::from_bits(bits);
            if !x.is_finite() {
                continue;
            }
            let value = MetricValue {
                value: Some(x),
                ..Default::default()
            };
            let text = serde_json::to_string(&value).unwrap();
            let back: MetricValue = serde_json::from_str(&text).unwrap();
            assert_eq!(back.value.map(f64::to_bits), Some(x.to_bits()), "{text}");
        }
    }
}
