//! Judging one rule at an instant: its period (the `window` of whole local days ending with
//! the current one; the latest complete day for `anomalous`), its series and whether each one
//! meets the condition, with the numbers in words; and, for a message, the top segments of
//! "why did it move" behind a series' change.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::{AlertRule, Condition, Config};

use super::Observation;
use crate::anomalies::{anomalies, AnomalyRequest};
use crate::compare::CompareMode;
use crate::engine::{Engine, FactsReadOnce};
use crate::error::QueryError;
use crate::operational::OperationalReads;
use crate::request::{Filter, FilterOp, MetricSpec, QueryRequest};
use crate::run::run_query;
use crate::sla::{sla_report, SlaEntry, SlaFilter};
use crate::units::value as in_unit;
use crate::why::{why, Versus, WhyRequest};

/// The dimensions an SLA rule may split and filter by: what the SLA report knows of each open
/// target — its ticket's team, priority and current assignee, the target (`first_reply`,
/// `next_reply`, `resolution`) and the policy.
pub const SLA_DIMENSIONS: [&str; 5] = [
    "ticket:team",
    "ticket:priority",
    "ticket:agent",
    "sla:target",
    "sla:policy",
];

/// An open SLA target's value of one of [`SLA_DIMENSIONS`].
fn sla_field(entry: &SlaEntry, dimension: &str) -> Option<String> {
    match dimension {
        "ticket:team" => entry.team.clone(),
        "ticket:priority" => entry.priority.clone(),
        "ticket:agent" => entry.agent_id.clone(),
        "sla:target" => Some(entry.target.clone()),
        "sla:policy" => Some(entry.policy.clone()),
        _ => None,
    }
}

/// One segment behind a series' change, as a message shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhyHint {
    /// The dimension (`ticket:channel`).
    pub dimension: String,
    /// The segment's value.
    pub segment: Option<String>,
    /// Its part of the change, in the metric's unit.
    pub contribution: f64,
    /// Its share of the change (0–1).
    pub share_of_change: Option<f64>,
}

fn series_name(by: Option<&str>, value: Option<&str>) -> String {
    match by {
        None => "total".into(),
        Some(d) => format!("{d}={}", value.unwrap_or("(none)")),
    }
}

/// Evaluates `rule` at `now_us` (UTC µs): one observation per series.
pub fn evaluate(
    engine: &dyn Engine,
    reads: &dyn OperationalReads,
    catalogue: &Catalogue,
    config: &Config,
    rule: &AlertRule,
    now_us: i64,
) -> Result<Vec<Observation>, QueryError> {
    // A rule asks several queries (and `why` for its top segments): one facts state for all.
    let engine = &FactsReadOnce::new(engine);
    let zone = config.reporting_zone();
    let today = DateTime::from_timestamp_micros(now_us)
        .map(|t| t.with_timezone(&zone).date_naive())
        .ok_or_else(|| QueryError::InvalidPeriod(format!("{now_us} µs is not an instant")))?;
    let filters = rule
        .filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    match rule.condition {
        Condition::SlaAtRisk(limit) | Condition::SlaBreached(limit) => {
            sla(reads, config, rule, &filters, limit, now_us, today)
        }
        Condition::Anomalous => anomalous(
            engine,
            catalogue,
            config,
            rule,
            &filters,
            today - Duration::days(1),
        ),
        _ => metric(engine, catalogue, config, rule, &filters, today),
    }
}

/// Off target, above, below or a significant change over the rule's window.
fn metric(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    rule: &AlertRule,
    filters: &[Filter],
    today: NaiveDate,
) -> Result<Vec<Observation>, QueryError> {
    let to = today + Duration::days(1);
    let from = to - Duration::days(i64::from(rule.window_days));
    let spec = MetricSpec::parse(&rule.metric);
    let answer = run_query(
        engine,
        catalogue,
        config,
        &QueryRequest {
            metrics: vec![spec.clone()],
            by: rule.by.iter().cloned().collect(),
            filters: filters.to_vec(),
            from: Some(from),
            to: Some(to),
            timezone: None,
            compare: (rule.condition == Condition::SignificantChange)
                .then_some(CompareMode::Previous),
        },
    )?;
    let unit = catalogue.metric(&spec.id).map(|m| m.unit);
    let show = |v: f64| unit.map_or(format!("{v}"), |u| in_unit(Some(v), u));
    let mut out = Vec::new();
    for row in &answer.results {
        let Some((_, v)) = row.metrics.first() else {
            continue;
        };
        let segment = row.dimensions.first().cloned();
        let series = series_name(
            segment.as_ref().map(|(d, _)| d.as_str()),
            segment.as_ref().and_then(|(_, v)| v.as_deref()),
        );
        let (active, reference, summary) = match (rule.condition, v.value) {
            (_, None) => (false, None, format!("{} has no value", rule.metric)),
            (Condition::Above(t), Some(x)) => (
                x > t,
                Some(t),
                format!(
                    "{} is {} (threshold: above {})",
                    rule.metric,
                    show(x),
                    show(t)
                ),
            ),
            (Condition::Below(t), Some(x)) => (
                x < t,
                Some(t),
                format!(
                    "{} is {} (threshold: below {})",
                    rule.metric,
                    show(x),
                    show(t)
                ),
            ),
            (Condition::OffTarget, Some(x)) => {
                let target = v.target.map(|t| t.value);
                (
                    v.target.and_then(|t| t.on_target) == Some(false),
                    target,
                    format!(
                        "{} is {} (target {})",
                        rule.metric,
                        show(x),
                        target.map_or("none".into(), show)
                    ),
                )
            }
            (_, Some(x)) => {
                let c = v.compare.as_ref();
                let previous = c.and_then(|c| c.value);
                (
                    c.and_then(|c| c.significant) == Some(true),
                    previous,
                    format!(
                        "{} is {} against {} the period before (p = {})",
                        rule.metric,
                        show(x),
                        previous.map_or("no value".into(), show),
                        c.and_then(|c| c.p_value)
                            .map_or("n/a".into(), |p| format!("{p:.4}"))
                    ),
                )
            }
        };
        out.push(Observation {
            rule: rule.name.clone(),
            series,
            segment,
            active,
            value: v.value,
            n: v.n,
            reference,
            summary,
            from,
            to,
        });
    }
    Ok(out)
}

/// Whether the latest complete day is an anomaly, per series.
fn anomalous(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    rule: &AlertRule,
    filters: &[Filter],
    day: NaiveDate,
) -> Result<Vec<Observation>, QueryError> {
    let report = anomalies(
        engine,
        catalogue,
        config,
        &AnomalyRequest {
            metrics: vec![MetricSpec::parse(&rule.metric)],
            by: rule.by.clone(),
            filters: filters.to_vec(),
            from: Some(day),
            to: Some(day + Duration::days(1)),
            ..Default::default()
        },
    )?;
    Ok(report
        .anomalies
        .into_iter()
        .map(|a| Observation {
            rule: rule.name.clone(),
            series: series_name(rule.by.as_deref(), a.value.as_deref()),
            segment: rule.by.clone().map(|d| (d, a.value.clone())),
            active: true,
            value: Some(a.observed),
            n: a.n,
            reference: Some(a.expected),
            summary: format!(
                "{} on {} is {:.4} ({}, outside its usual {:.4}–{:.4}; n = {})",
                rule.metric, a.date, a.observed, a.direction, a.band_low, a.band_high, a.n
            ),
            from: day,
            to: day + Duration::days(1),
        })
        .collect())
}

/// Open SLA targets at risk or breached at `now_us`, counted per series.
fn sla(
    reads: &dyn OperationalReads,
    config: &Config,
    rule: &AlertRule,
    filters: &[Filter],
    limit: f64,
    now_us: i64,
    today: NaiveDate,
) -> Result<Vec<Observation>, QueryError> {
    let rules = config
        .derivation_rules()
        .map_err(|e| QueryError::InvalidRequest {
            message: e.to_string(),
        })?;
    let (filter, what) = match rule.condition {
        Condition::SlaBreached(_) => (SlaFilter::Breached, "breached"),
        _ => (SlaFilter::AtRisk, "at risk"),
    };
    let report = sla_report(reads.open_sla_targets()?, &rules, now_us, filter);
    let field = sla_field;
    let mut counts: BTreeMap<Option<String>, f64> = BTreeMap::new();
    if rule.by.is_none() {
        counts.insert(None, 0.0);
    }
    for entry in &report.targets {
        let kept = filters.iter().all(|f| {
            let value = field(entry, &f.dimension);
            let listed = value.as_ref().is_some_and(|v| f.values.contains(v));
            match f.op {
                FilterOp::Is => listed,
                FilterOp::IsNot => !listed,
            }
        });
        if kept {
            let key = rule.by.as_deref().and_then(|d| field(entry, d));
            *counts.entry(key).or_default() += 1.0;
        }
    }
    Ok(counts
        .into_iter()
        .map(|(value, count)| Observation {
            rule: rule.name.clone(),
            series: series_name(rule.by.as_deref(), value.as_deref()),
            segment: rule.by.clone().map(|d| (d, value)),
            active: count > limit,
            value: Some(count),
            n: count as u64,
            reference: Some(limit),
            summary: format!("{count} open SLA targets {what} (threshold: more than {limit})"),
            from: today,
            to: today + Duration::days(1),
        })
        .collect())
}

/// The top segments behind a series' change over its period against the one before
/// (`vitals why`), at most `top`; none for SLA rules or when the metric is not split by `why`.
pub fn top_segments(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    rule: &AlertRule,
    observation: &Observation,
    top: usize,
) -> Vec<WhyHint> {
    if rule.condition.is_sla() {
        return Vec::new();
    }
    let mut filters: Vec<Filter> = rule
        .filters
        .iter()
        .filter_map(|f| Filter::parse(f).ok())
        .collect();
    if let Some((dimension, Some(value))) = &observation.segment {
        filters.push(Filter {
            dimension: dimension.clone(),
            op: FilterOp::Is,
            values: vec![value.clone()],
        });
    }
    let request = WhyRequest {
        metric: MetricSpec::parse(&rule.metric),
        by: Vec::new(),
        filters,
        from: Some(observation.from),
        to: Some(observation.to),
        timezone: None,
        vs: Some(Versus::Previous),
        min_support: None,
    };
    let Ok(answer) = why(engine, catalogue, config, &request) else {
        return Vec::new();
    };
    // A dimension the series is already pinned to explains nothing.
    let pinned: Vec<&str> = request
        .filters
        .iter()
        .map(|f| f.dimension.as_str())
        .collect();
    let mut hints: Vec<WhyHint> = answer
        .dimensions
        .iter()
        .filter(|d| !pinned.contains(&d.dimension.as_str()))
        .flat_map(|d| {
            d.segments.iter().filter(|s| s.driver).map(|s| WhyHint {
                dimension: d.dimension.clone(),
                segment: s.value.clone(),
                contribution: s.contribution,
                share_of_change: s.share_of_change,
            })
        })
        .collect();
    hints.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
    hints.truncate(top);
    hints
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::facts::SlaState;

    #[test]
    fn an_sla_target_answers_every_sla_dimension() {
        let entry = SlaEntry {
            ticket_id: "T1".into(),
            policy: "gold".into(),
            target: "first_reply".into(),
            state: SlaState::Breached,
            target_secs: 3600.0,
            elapsed_secs: 4000.0,
            remaining_secs: -400.0,
            clock: "calendar".into(),
            running: true,
            due_at: None,
            team: Some("tier2".into()),
            priority: None,
            agent_id: Some("a7".into()),
        };
        let values: Vec<Option<String>> = SLA_DIMENSIONS
            .iter()
            .map(|d| sla_field(&entry, d))
            .collect();
        assert_eq!(
            values,
            [
                Some("tier2".into()),
                None,
                Some("a7".into()),
                Some("first_reply".into()),
                Some("gold".into())
            ]
        );
    }
}
