//! Targets (`[targets]` in vitals.toml): each value gets the target that applies to it and
//! whether it is on target, judged by the metric's direction. A target may be set for
//! everyone or for one team, agent or tier; the most specific one that matches a result row
//! applies (agent, then team, then tier, then everyone). A row matches a scope when one of its
//! dimensions ending in `:agent`, `:team` or `:tier` has that name.

use crate::result::ResultRow;
use vitals_core::catalogue::{Catalogue, Direction};
use vitals_core::config::Target;

/// The target that applies to a value, and the verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetCheck {
    /// The target, in the metric's unit (seconds for durations).
    pub value: f64,
    /// Whether the value meets it (`None` without a value, or for a neutral metric).
    pub on_target: Option<bool>,
}

const SPECIFICITY: [&str; 3] = ["agent", "team", "tier"];

/// Whether a target is for this metric key: exact, or `id` ≡ `id:mean`.
fn key_matches(target: &str, key: &str) -> bool {
    target == key
        || target.strip_suffix(":mean") == Some(key)
        || key.strip_suffix(":mean") == Some(target)
}

/// Sets `target` on every value a target applies to.
pub fn apply(rows: &mut [ResultRow], targets: &[Target], catalogue: &Catalogue) {
    if targets.is_empty() {
        return;
    }
    for row in rows.iter_mut() {
        let scope_value = |kind: &str| -> Option<String> {
            row.dimensions
                .iter()
                .find(|(d, _)| d.ends_with(&format!(":{kind}")))
                .and_then(|(_, v)| v.clone())
        };
        let scopes: Vec<(String, Option<String>)> = SPECIFICITY
            .iter()
            .map(|k| (k.to_string(), scope_value(k)))
            .collect();
        for (key, value) in row.metrics.iter_mut() {
            let candidates = targets.iter().filter(|t| key_matches(&t.key, key));
            let rank = |t: &Target| match &t.scope {
                None => Some(SPECIFICITY.len()),
                Some((kind, name)) => scopes
                    .iter()
                    .position(|(k, v)| k == kind && v.as_deref() == Some(name.as_str())),
            };
            let Some(target) = candidates
                .filter_map(|t| rank(t).map(|r| (r, t)))
                .min_by_key(|(r, _)| *r)
                .map(|(_, t)| t)
            else {
                continue;
            };
            let id = key.split(':').next().unwrap_or(key);
            let direction = catalogue
                .metric(id)
                .map(|m| m.direction)
                .unwrap_or(Direction::Neutral);
            // A value that equals the target up to the rounding of a parallel sum (80 as
            // 79.99999999999999) meets it.
            let slack = 1e-9 * target.value.abs().max(1.0);
            let on_target = value.value.and_then(|v| match direction {
                Direction::HigherIsBetter => Some(v >= target.value - slack),
                Direction::LowerIsBetter => Some(v <= target.value + slack),
                Direction::Neutral => None,
            });
            value.target = Some(TargetCheck {
                value: target.value,
                on_target,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::MetricValue;

    fn verdict(metric: &str, value: f64, target: f64) -> Option<bool> {
        let catalogue = Catalogue::builtin().unwrap();
        let mut rows = vec![ResultRow::new(
            Vec::new(),
            vec![(
                metric.to_string(),
                MetricValue {
                    value: Some(value),
                    ..Default::default()
                },
            )],
        )];
        let targets = [Target {
            key: metric.into(),
            value: target,
            scope: None,
        }];
        apply(&mut rows, &targets, &catalogue);
        rows[0].metrics[0].1.target.and_then(|t| t.on_target)
    }

    #[test]
    fn a_value_equal_to_its_target_up_to_rounding_meets_it() {
        assert_eq!(verdict("iqs", 79.99999999999999, 80.0), Some(true));
        assert_eq!(verdict("iqs", 79.9999, 80.0), Some(false));
        assert_eq!(
            verdict("first_response_time:median", 3600.0000000001, 3600.0),
            Some(true)
        );
        assert_eq!(
            verdict("first_response_time:median", 3600.01, 3600.0),
            Some(false)
        );
    }
}
