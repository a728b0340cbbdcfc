//! The report's "What moved" section: for each headline metric whose change against the
//! previous month is significant, the dimensions that explain it and their driving segments,
//! from `vitals_query::why` (the month against the month before, with the report's team and
//! zone) — so the section's numbers are `vitals why`'s. Each is said in plain words and laid
//! out as a table by both renderers.

use serde::Serialize;
use vitals_core::catalogue::{Catalogue, Metric};
use vitals_core::config::Config;
use vitals_query::why::{SegmentKind, WhyDimension, WhySegment};
use vitals_query::{why, Engine, QueryError, WhyRequest, WhyResponse};

use crate::format::{change, unit_name, value};
use crate::model::MetricGroup;
use crate::ReportError;

/// The most dimensions shown per metric.
const DIMENSIONS: usize = 2;
/// The most segments shown per dimension.
const SEGMENTS: usize = 5;

/// A headline metric whose change is significant, and what moved it.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    /// The query key (`csat`, `first_response_time:median`).
    pub key: String,
    /// Label for people, with the stat.
    pub label: String,
    /// The unit's name.
    pub unit: String,
    /// How the change is split (`ratio`, `mean`, `nps`, `count`, `quantile`).
    pub method: String,
    /// The month's value.
    pub value: Option<f64>,
    /// The previous month's.
    pub previous: Option<f64>,
    /// `value − previous`.
    pub change: Option<f64>,
    /// The test's p-value.
    pub p_value: Option<f64>,
    /// The change and its drivers in plain words.
    pub summary: String,
    /// The dimensions that explain it (most explanatory first), each with its drivers.
    pub dimensions: Vec<MovedDimension>,
}

/// One dimension that explains a change.
#[derive(Debug, Clone, Serialize)]
pub struct MovedDimension {
    /// The dimension (`ticket:team`).
    pub dimension: String,
    /// Its name for people (`team`).
    pub name: String,
    /// The share of the change its drivers account for.
    pub explained: Option<f64>,
    /// Its driving segments, largest excess first.
    pub segments: Vec<MovedSegment>,
}

/// One driving segment.
#[derive(Debug, Clone, Serialize)]
pub struct MovedSegment {
    /// The segment (`phone`; `(none)` for rows without a value).
    pub value: String,
    /// `rate`, `mix`, `count`, `new`, `vanished` or `other`.
    pub kind: String,
    /// Its rate effect (ratios, means, NPS, quantiles).
    pub rate_effect: Option<f64>,
    /// Its mix effect.
    pub mix_effect: Option<f64>,
    /// Its part of the change.
    pub contribution: f64,
    /// Its value this month.
    pub current: Option<f64>,
    /// Its sample this month.
    pub current_n: u64,
    /// Its value the month before.
    pub previous: Option<f64>,
    /// Its sample the month before.
    pub previous_n: u64,
    /// Its own change is significant (adjusted p < 0.05; none without a test).
    pub significant: Option<bool>,
    /// The same, formatted for people.
    pub shown: MovedShown,
}

/// A segment's numbers as people read them.
#[derive(Debug, Clone, Serialize)]
pub struct MovedShown {
    /// Rate effect.
    pub rate_effect: String,
    /// Mix effect.
    pub mix_effect: String,
    /// Contribution.
    pub contribution: String,
    /// This month's value.
    pub current: String,
    /// The month before's.
    pub previous: String,
}

/// The headline keys of `groups` whose change is significant, with their metrics.
fn significant_headlines<'c>(
    catalogue: &'c Catalogue,
    groups: &[MetricGroup],
) -> Vec<(String, &'c Metric)> {
    groups
        .iter()
        .flat_map(|g| &g.rows)
        .filter(|row| row.significant == Some(true) && row.breakdown.is_none())
        .filter_map(|row| {
            let metric = catalogue.metric(&row.id)?;
            metric
                .headline_keys()
                .contains(&row.key)
                .then(|| (row.key.clone(), metric))
        })
        .collect()
}

/// "What moved" for a month: `ask` gives the `why` request of a metric key (the month against
/// the one before, with the team filter that applies and the zone). Metrics `why` does not
/// split are left out.
pub(crate) fn what_moved(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    groups: &[MetricGroup],
    ask: impl Fn(&Metric, &str) -> WhyRequest,
) -> Result<Vec<Moved>, ReportError> {
    let mut out = Vec::new();
    for (key, metric) in significant_headlines(catalogue, groups) {
        match why(engine, catalogue, config, &ask(metric, &key)) {
            Ok(answer) => out.push(moved(key, &answer)),
            Err(QueryError::NotDecomposable { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn dimension_name(dimension: &str) -> String {
    match dimension.split_once(':') {
        Some(("ticket", field)) => field.replace('_', " "),
        Some((entity, field)) => format!("{} ({entity})", field.replace('_', " ")),
        None => dimension.to_string(),
    }
}

fn segment(s: &WhySegment, unit: &str) -> MovedSegment {
    let kind = serde_json::to_value(s.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    MovedSegment {
        value: s.value.clone().unwrap_or_else(|| "(none)".into()),
        kind,
        rate_effect: s.rate_effect,
        mix_effect: s.mix_effect,
        contribution: s.contribution,
        current: s.current.value,
        current_n: s.current.n,
        previous: s.previous.value,
        previous_n: s.previous.n,
        significant: s.significant,
        shown: MovedShown {
            rate_effect: change(s.rate_effect, unit),
            mix_effect: change(s.mix_effect, unit),
            contribution: change(Some(s.contribution), unit),
            current: value(s.current.value, unit),
            previous: value(s.previous.value, unit),
        },
    }
}

/// What a segment did, in words: `phone became a bigger share of the work (+1.2 pt)`.
fn said(s: &WhySegment, unit: &str) -> String {
    let name = s.value.as_deref().unwrap_or("(none)");
    let direction = |x: f64| if x >= 0.0 { "rose" } else { "fell" };
    let what = match s.kind {
        SegmentKind::Rate => format!("{name} itself {}", direction(s.change.unwrap_or(0.0))),
        SegmentKind::Mix => format!(
            "{name} became a {} share of the work",
            if s.current.share >= s.previous.share {
                "bigger"
            } else {
                "smaller"
            }
        ),
        SegmentKind::Count => format!("{name} {}", direction(s.contribution)),
        SegmentKind::New => format!("{name} is new"),
        SegmentKind::Vanished => format!("{name} is gone"),
        SegmentKind::Other => "smaller segments together".to_string(),
    };
    format!("{what} ({})", change(Some(s.contribution), unit))
}

fn drivers(d: &WhyDimension) -> impl Iterator<Item = &WhySegment> {
    d.segments.iter().filter(|s| s.driver).take(SEGMENTS)
}

fn moved(key: String, answer: &WhyResponse) -> Moved {
    let unit = unit_name(answer.unit);
    let label = match key.split_once(':') {
        Some((_, stat)) => format!("{} ({stat})", answer.label),
        None => answer.label.clone(),
    };
    let shown: Vec<&WhyDimension> = answer
        .dimensions
        .iter()
        .filter(|d| d.segments_needed > 0)
        .take(DIMENSIONS)
        .collect();
    let direction = if answer.change.unwrap_or(0.0) >= 0.0 {
        "rose"
    } else {
        "fell"
    };
    let mut summary = format!(
        "{label} {direction} from {} to {} ({}{}).",
        value(answer.previous, &unit),
        value(answer.value, &unit),
        change(answer.change, &unit),
        answer
            .p_value
            .map(|p| format!(", p = {p:.3}"))
            .unwrap_or_default()
    );
    if shown.is_empty() {
        summary.push_str(
            " No segment stands out: the change is spread over the segments of every dimension.",
        );
    }
    for d in &shown {
        let parts: Vec<String> = drivers(d).map(|s| said(s, &unit)).collect();
        summary.push_str(&format!(
            " By {}: {} — {:.0}% of the change.",
            dimension_name(&d.dimension),
            parts.join("; "),
            100.0 * d.explained.unwrap_or(0.0)
        ));
    }
    Moved {
        key,
        label,
        method: serde_json::to_value(answer.method)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        value: answer.value,
        previous: answer.previous,
        change: answer.change,
        p_value: answer.p_value,
        summary,
        dimensions: shown
            .iter()
            .map(|d| MovedDimension {
                dimension: d.dimension.clone(),
                name: dimension_name(&d.dimension),
                explained: d.explained,
                segments: drivers(d).map(|s| segment(s, &unit)).collect(),
            })
            .collect(),
        unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_read_as_words() {
        assert_eq!(dimension_name("ticket:channel"), "channel");
        assert_eq!(dimension_name("survey:survey"), "survey (survey)");
        assert_eq!(dimension_name("ticket:is_complaint"), "is complaint");
    }
}
