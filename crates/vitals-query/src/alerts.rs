//! Alert rules, evaluated: each rule of `[[alerts]]` is judged at an instant into one
//! [`Observation`] per series (the total, or one per value of its `by` dimension), from the same
//! functions every surface uses (`run_query` with targets and comparisons, [`crate::anomalies`],
//! the SLA report); then [`step`] moves each series' stored state (ok → pending → firing →
//! resolved) and says which message, if any, is due: a firing alert is sent once, again only
//! after its cooldown, and a "resolved" message once when it recovers. Delivery and storage
//! live elsewhere (the store's outbox, the server's channels); this module decides.

mod evaluate;

use serde::{Deserialize, Serialize};
use vitals_core::catalogue::{did_you_mean, Catalogue};
use vitals_core::config::{AlertRule, Config, ConfigError};

pub use evaluate::{evaluate, top_segments, WhyHint};

use crate::request::{Filter, MetricSpec, QueryRequest};
use crate::resolve::resolve;

/// How rules are evaluated, in words (`vitals explain alerts`).
pub const METHOD: &str = "\
Alerts — rules of [[alerts]] in the configuration, evaluated by `vitals serve` (at start, every
[alerting] interval, and after ingest once no other commit came for the debounce time) or by
`vitals alerts run` (cron, while no server holds the store).

Each rule is judged at the current instant (VITALS_NOW overrides it), in the reporting zone:
- off_target, above, below: the metric over `window` (whole local days ending today; 1d by
  default) against its [targets] entry or the threshold;
- significant_change: the window against the window before it (p < 0.05, the test of
  `vitals query --compare previous`);
- anomalous: the latest complete day is outside its band (vitals explain anomalies);
- sla_at_risk, sla_breached: more open SLA targets in that state than the threshold (0);
  no metric, and filters and `by` on what the SLA report knows of a target: ticket:team,
  ticket:priority, ticket:agent (the assignee), sla:target (first_reply, next_reply,
  resolution) and sla:policy.
With `by`, each value of the dimension is a series of its own.

A series whose condition holds is pending until it held for `for` consecutive evaluations,
then firing: one message is sent. While it keeps firing it is sent again only after
`cooldown`. When the condition stops holding (or the series disappears), one resolved message
is sent. Messages go to the store's outbox in the same transaction as the state, and are
delivered at least once with a stable idempotency key (the Idempotency-Key header, and in the
webhook's body; an e-mail's Message-ID and X-Vitals-Idempotency-Key), to a webhook, a
Slack-compatible incoming webhook or by e-mail through [smtp], retried after 2 s, 4 s, 8 s … up to an hour; a delivery interrupted by a crash
is sent again after restart with the same key. Firing messages carry the top segments of
`vitals why` over the same period against the one before.";

/// Where a series stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition does not hold.
    Ok,
    /// It holds, for fewer consecutive evaluations than the rule's `for`.
    Pending,
    /// It held for `for` evaluations; a message was sent.
    Firing,
    /// It fired and no longer holds; a "resolved" message was sent.
    Resolved,
}

impl AlertState {
    /// The state's name.
    pub fn name(self) -> &'static str {
        match self {
            AlertState::Ok => "ok",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }

    /// Parses a stored name (unknown names read as `ok`).
    pub fn parse(text: &str) -> AlertState {
        match text {
            "pending" => AlertState::Pending,
            "firing" => AlertState::Firing,
            "resolved" => AlertState::Resolved,
            _ => AlertState::Ok,
        }
    }
}

/// One series of one rule, judged at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The rule's name.
    pub rule: String,
    /// The series: `total`, or `DIMENSION=VALUE`.
    pub series: String,
    /// The dimension and its value, when split.
    pub segment: Option<(String, Option<String>)>,
    /// Whether the condition holds.
    pub active: bool,
    /// The value judged (the metric's, or the count of SLA targets).
    pub value: Option<f64>,
    /// Its sample size.
    pub n: u64,
    /// What it is judged against: the threshold, target, expected value or previous period.
    pub reference: Option<f64>,
    /// The condition in words, with the numbers.
    pub summary: String,
    /// The first local date of the period judged.
    pub from: chrono::NaiveDate,
    /// The local date after it.
    pub to: chrono::NaiveDate,
}

/// The stored state of one series of one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesState {
    /// The rule's name.
    pub rule: String,
    /// The series.
    pub series: String,
    /// Where it stands.
    pub state: AlertState,
    /// Consecutive evaluations the condition held.
    pub consecutive: u32,
    /// When it last started firing (UTC µs).
    pub since_us: Option<i64>,
    /// When a message was last sent for it (UTC µs).
    pub last_sent_us: Option<i64>,
    /// A stable identity of the rule and series (the messages' idempotency keys start with it).
    pub fingerprint: String,
    /// The value at the last evaluation.
    pub value: Option<f64>,
    /// The condition in words at the last evaluation.
    pub summary: String,
    /// When it was last evaluated (UTC µs).
    pub evaluated_us: i64,
}

/// Which message a step makes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// It started firing.
    Firing,
    /// It is still firing, past its cooldown.
    Repeat,
    /// It stopped firing.
    Resolved,
}

impl NoticeKind {
    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            NoticeKind::Firing => "firing",
            NoticeKind::Repeat => "repeat",
            NoticeKind::Resolved => "resolved",
        }
    }
}

/// A message decided: the event in a series' history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Its number in the store (0 until stored).
    pub id: i64,
    /// The rule.
    pub rule: String,
    /// The series.
    pub series: String,
    /// `firing`, `repeat` or `resolved`.
    pub kind: NoticeKind,
    /// When it was decided (UTC µs).
    pub at_us: i64,
    /// The value then.
    pub value: Option<f64>,
    /// The condition in words then.
    pub summary: String,
    /// The messages' idempotency key.
    pub key: String,
}

/// One message to one channel, in the outbox until delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The idempotency key (the event's; also sent as the `Idempotency-Key` header).
    pub key: String,
    /// The channel's position in the rule's list.
    pub channel: u32,
    /// The channel's type (`webhook`, `slack`).
    pub kind: String,
    /// Where it is posted.
    pub url: String,
    /// The body, exactly as posted on every attempt.
    pub body: String,
    /// The rule.
    pub rule: String,
    /// The series.
    pub series: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (UTC µs, wall clock).
    pub next_attempt_us: i64,
    /// When it was delivered (UTC µs, wall clock).
    pub delivered_us: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// A stable identity of a rule and series: FNV-1a (64 bits) of both, in hex. Stable across
/// versions and platforms, so an idempotency key survives restarts and upgrades.
pub fn fingerprint(rule: &str, series: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in rule.bytes().chain([0]).chain(series.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The idempotency key of a message: the series' fingerprint, the kind and the instant that
/// makes it (when the series started firing, or when the repeat or recovery was decided).
pub fn idempotency_key(state: &SeriesState, kind: NoticeKind, at_us: i64) -> String {
    format!("{}-{}-{at_us}", state.fingerprint, kind.name())
}

/// Moves one series' state by one evaluation at `now_us`: the new state, and the message due,
/// if any. `observation` is `None` for a stored series the evaluation no longer produced (its
/// segment vanished), which counts as the condition not holding.
pub fn step(
    rule: &AlertRule,
    previous: Option<&SeriesState>,
    series: &str,
    observation: Option<&Observation>,
    now_us: i64,
) -> (SeriesState, Option<NoticeKind>) {
    let mut next = previous.cloned().unwrap_or_else(|| SeriesState {
        rule: rule.name.clone(),
        series: series.to_string(),
        state: AlertState::Ok,
        consecutive: 0,
        since_us: None,
        last_sent_us: None,
        fingerprint: fingerprint(&rule.name, series),
        value: None,
        summary: String::new(),
        evaluated_us: now_us,
    });
    next.evaluated_us = now_us;
    if let Some(o) = observation {
        next.value = o.value;
        next.summary = o.summary.clone();
    }
    let active = observation.is_some_and(|o| o.active);
    let was_firing = next.state == AlertState::Firing;
    let notice = if active {
        next.consecutive = next.consecutive.saturating_add(1);
        let cooled = next
            .last_sent_us
            .is_none_or(|t| (now_us - t) as f64 >= rule.cooldown_secs * 1e6);
        if was_firing {
            cooled.then_some(NoticeKind::Repeat)
        } else if next.consecutive >= rule.for_evaluations {
            next.state = AlertState::Firing;
            next.since_us = Some(now_us);
            Some(NoticeKind::Firing)
        } else {
            next.state = AlertState::Pending;
            None
        }
    } else {
        next.consecutive = 0;
        match next.state {
            AlertState::Firing => {
                next.state = AlertState::Resolved;
                Some(NoticeKind::Resolved)
            }
            AlertState::Pending => {
                next.state = AlertState::Ok;
                None
            }
            _ => None,
        }
    };
    if notice.is_some() {
        next.last_sent_us = Some(now_us);
    }
    (next, notice)
}

/// Checks every rule's metric, dimension and filters against the catalogue, as a query would
/// (unknown names with "did you mean"); SLA rules may filter and split by what the SLA report
/// knows of a target ([`evaluate::SLA_DIMENSIONS`]: team, priority, agent, target, policy).
pub fn check_rules(config: &Config, catalogue: &Catalogue) -> Result<Vec<AlertRule>, ConfigError> {
    let rules = config.alert_rules()?;
    for rule in &rules {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: format!("alerts.{}.{key}", rule.name),
            message,
        };
        let filters = rule
            .filters
            .iter()
            .map(|f| Filter::parse(f))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("filters", e.to_string()))?;
        if rule.condition.is_sla() {
            let fields = evaluate::SLA_DIMENSIONS;
            let used = filters
                .iter()
                .map(|f| ("filters", &f.dimension))
                .chain(rule.by.iter().map(|b| ("by", b)));
            for (key, dimension) in used {
                if !fields.contains(&dimension.as_str()) {
                    let hint = did_you_mean(dimension, fields)
                        .map(|d| format!("; did you mean `{d}`?"))
                        .unwrap_or_default();
                    return Err(invalid(
                        key,
                        format!(
                            "SLA rules split and filter by {} only, not `{dimension}`{hint}",
                            fields.join(", ")
                        ),
                    ));
                }
            }
            continue;
        }
        let request = QueryRequest {
            metrics: vec![MetricSpec::parse(&rule.metric)],
            by: rule.by.iter().cloned().collect(),
            filters,
            ..Default::default()
        };
        resolve(catalogue, &request, config.reporting_zone())
            .map_err(|e| invalid("metric", e.to_string()))?;
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::config::{Channel, Condition};

    fn rule(for_evaluations: u32, cooldown_secs: f64) -> AlertRule {
        AlertRule {
            name: "frt".into(),
            metric: "first_response_time".into(),
            filters: Vec::new(),
            by: None,
            condition: Condition::Above(3600.0),
            window_days: 1,
            for_evaluations,
            cooldown_secs,
            channels: vec![Channel::Webhook("http://127.0.0.1:9/".into())],
        }
    }

    fn seen(active: bool) -> Observation {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        Observation {
            rule: "frt".into(),
            series: "total".into(),
            segment: None,
            active,
            value: Some(if active { 7200.0 } else { 60.0 }),
            n: 40,
            reference: Some(3600.0),
            summary: String::new(),
            from: day,
            to: day.succ_opt().unwrap(),
        }
    }

    #[test]
    fn a_series_fires_once_after_for_repeats_after_its_cooldown_and_resolves_once() {
        let r = rule(2, 3600.0);
        let mut state = None;
        let mut sent = Vec::new();
        let minute = 60_000_000;
        for (i, active) in [true, true, true, true, false, false]
            .into_iter()
            .enumerate()
        {
            let at = i as i64 * minute;
            let (next, notice) = step(&r, state.as_ref(), "total", Some(&seen(active)), at);
            sent.extend(notice.map(|n| (i, n)));
            state = Some(next);
        }
        assert_eq!(sent, [(1, NoticeKind::Firing), (4, NoticeKind::Resolved)]);
        assert_eq!(state.as_ref().unwrap().state, AlertState::Resolved);
        // Past the cooldown, a firing series is sent again.
        let firing = step(&r, None, "total", Some(&seen(true)), 0).0;
        let firing = step(
            &rule(1, 3600.0),
            Some(&firing),
            "total",
            Some(&seen(true)),
            0,
        )
        .0;
        let (_, notice) = step(
            &r,
            Some(&firing),
            "total",
            Some(&seen(true)),
            3600 * 1_000_000,
        );
        assert_eq!(notice, Some(NoticeKind::Repeat));
        // A vanished series counts as recovered.
        let (gone, notice) = step(&r, Some(&firing), "total", None, 1);
        assert_eq!(
            (gone.state, notice),
            (AlertState::Resolved, Some(NoticeKind::Resolved))
        );
    }

    #[test]
    fn a_pending_series_that_recovers_sends_nothing_and_fingerprints_are_stable() {
        let r = rule(3, 3600.0);
        let (pending, none) = step(&r, None, "total", Some(&seen(true)), 0);
        assert_eq!((pending.state, none), (AlertState::Pending, None));
        let (ok, none) = step(&r, Some(&pending), "total", Some(&seen(false)), 1);
        assert_eq!((ok.state, ok.consecutive, none), (AlertState::Ok, 0, None));
        assert_eq!(fingerprint("frt", "total"), fingerprint("frt", "total"));
        assert_ne!(fingerprint("frt", "total"), fingerprint("frtt", "otal"));
        assert_eq!(fingerprint("", ""), "af63bd4c8601b7df");
    }
}
