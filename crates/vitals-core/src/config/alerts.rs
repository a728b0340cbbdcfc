//! Alert rules (`[[alerts]]`) and the evaluation schedule (`[alerting]`): what each rule
//! watches (a metric with filters and an optional dimension, or the SLA's open targets), the
//! condition, how many consecutive evaluations must hold before it fires (`for`), how long a
//! firing alert waits before it is sent again (`cooldown`), and where it is sent (`channels`).
//! Checked here without the catalogue (names, conditions, durations, URLs); the metric, its
//! dimension and filters are checked against the catalogue by `vitals_query::alerts`.

use serde::Deserialize;

use super::{parse_duration, ConfigError};
use crate::catalogue::did_you_mean;

/// `[alerting]`: when `vitals serve` evaluates the rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertingConfig {
    /// Evaluate every this long (default `5m`).
    pub interval: Option<String>,
    /// After a commit, evaluate once no other commit came for this long (default `10s`).
    pub debounce: Option<String>,
    /// The dashboard's address, for the links in messages (default: the server's address).
    pub dashboard_url: Option<String>,
}

/// `[[alerts]]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertRuleConfig {
    /// The rule's name (unique; `vitals alerts test NAME`).
    pub name: String,
    /// The metric key (`csat`, `first_response_time:median`); not for SLA conditions.
    pub metric: Option<String>,
    /// Filters as on the command line (`ticket:channel=phone`).
    pub filters: Vec<String>,
    /// One series per value of this dimension (`ticket:team`).
    pub by: Option<String>,
    /// `off_target`, `above`, `below`, `anomalous`, `significant_change`, `sla_at_risk`,
    /// `sla_breached`.
    pub condition: String,
    /// For `above` / `below` (a number, or a duration such as "2h"); for the SLA conditions
    /// the count of targets that must be exceeded (default 0).
    pub threshold: Option<toml::Value>,
    /// The period judged, ending with the current local day (default `1d`, whole days).
    pub window: Option<String>,
    /// Consecutive evaluations the condition must hold before the rule fires (default 1).
    #[serde(rename = "for")]
    pub for_evaluations: Option<u32>,
    /// A firing alert is sent again after this long (default `1d`).
    pub cooldown: Option<String>,
    /// Where messages go.
    pub channels: Vec<ChannelConfig>,
}

/// `[[alerts.channels]]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelConfig {
    /// `webhook`, `slack` or `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The URL messages are posted to (`webhook`, `slack`).
    pub url: String,
    /// The mail recipients (`email`; sent through `[smtp]`).
    pub to: Vec<String>,
}

/// The conditions a rule may have.
pub const CONDITIONS: [&str; 7] = [
    "off_target",
    "above",
    "below",
    "anomalous",
    "significant_change",
    "sla_at_risk",
    "sla_breached",
];

/// The channel types.
pub const CHANNELS: [&str; 3] = ["webhook", "slack", "email"];

/// A rule's condition, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// The value misses its configured target.
    OffTarget,
    /// The value is above the threshold.
    Above(f64),
    /// The value is below the threshold.
    Below(f64),
    /// The latest complete day is an anomaly (`vitals anomalies`).
    Anomalous,
    /// The window differs significantly (p < 0.05) from the window before it.
    SignificantChange,
    /// More open SLA targets at risk than the threshold.
    SlaAtRisk(f64),
    /// More open SLA targets breached than the threshold.
    SlaBreached(f64),
}

impl Condition {
    /// The condition's name, as written.
    pub fn name(self) -> &'static str {
        match self {
            Condition::OffTarget => "off_target",
            Condition::Above(_) => "above",
            Condition::Below(_) => "below",
            Condition::Anomalous => "anomalous",
            Condition::SignificantChange => "significant_change",
            Condition::SlaAtRisk(_) => "sla_at_risk",
            Condition::SlaBreached(_) => "sla_breached",
        }
    }

    /// Whether the condition is about open SLA targets (no metric).
    pub fn is_sla(self) -> bool {
        matches!(self, Condition::SlaAtRisk(_) | Condition::SlaBreached(_))
    }
}

/// Where a rule's messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// JSON posted to a URL.
    Webhook(String),
    /// A Slack-compatible incoming webhook (`text` and `blocks`).
    Slack(String),
    /// A mail (subject, text and HTML) to these recipients, through `[smtp]`.
    Email(Vec<String>),
}

impl Channel {
    /// `webhook`, `slack` or `email`.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook(_) => "webhook",
            Channel::Slack(_) => "slack",
            Channel::Email(_) => "email",
        }
    }

    /// Where a message goes: the URL posted to, or `mailto:` and the recipients.
    pub fn url(&self) -> String {
        match self {
            Channel::Webhook(url) | Channel::Slack(url) => url.clone(),
            Channel::Email(to) => format!("{MAILTO}{}", to.join(",")),
        }
    }
}

/// How an `email` channel's recipients are written as its destination ([`Channel::url`]).
pub const MAILTO: &str = "mailto:";

/// One alert rule, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// The name.
    pub name: String,
    /// The metric key (empty for SLA conditions).
    pub metric: String,
    /// Filters as written.
    pub filters: Vec<String>,
    /// The dimension of the series, if split.
    pub by: Option<String>,
    /// The condition.
    pub condition: Condition,
    /// Whole days judged, ending with the current local day.
    pub window_days: u32,
    /// Consecutive evaluations before firing.
    pub for_evaluations: u32,
    /// Seconds before a firing alert is sent again.
    pub cooldown_secs: f64,
    /// Where messages go.
    pub channels: Vec<Channel>,
}

/// The checked schedule of `[alerting]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSchedule {
    /// Seconds between scheduled evaluations.
    pub interval_secs: f64,
    /// Seconds of quiet after a commit before evaluating.
    pub debounce_secs: f64,
    /// The dashboard's address, if configured.
    pub dashboard_url: Option<String>,
}

impl AlertingConfig {
    /// The schedule, defaults filled in.
    pub fn schedule(&self) -> Result<AlertSchedule, ConfigError> {
        let duration = |key: &str, text: &Option<String>, default: f64| match text {
            None => Ok(default),
            Some(t) => match parse_duration(t) {
                Ok(secs) if secs >= 1.0 => Ok(secs),
                Ok(_) => Err(invalid(
                    format!("alerting.{key}"),
                    format!("`{t}`: at least 1s"),
                )),
                Err(m) => Err(invalid(format!("alerting.{key}"), m)),
            },
        };
        if let Some(url) = &self.dashboard_url {
            check_url("alerting.dashboard_url", url)?;
        }
        Ok(AlertSchedule {
            interval_secs: duration("interval", &self.interval, 300.0)?,
            debounce_secs: duration("debounce", &self.debounce, 10.0)?,
            dashboard_url: self.dashboard_url.clone(),
        })
    }
}

fn invalid(key: String, message: String) -> ConfigError {
    ConfigError::Invalid { key, message }
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(invalid(
            key.into(),
            format!("`{url}` is not an http:// or https:// URL"),
        ))
    }
}

fn number_or_duration(key: &str, value: &toml::Value) -> Result<f64, ConfigError> {
    match value {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Ok(*f),
        toml::Value::String(s) => parse_duration(s).map_err(|m| invalid(key.into(), m)),
        _ => Err(invalid(
            key.into(),
            "a number or a duration such as \"2h\"".into(),
        )),
    }
}

impl AlertRuleConfig {
    /// Checks the rule (`index` names it in errors until its name is known).
    pub fn check(&self, index: usize) -> Result<AlertRule, ConfigError> {
        if self.name.trim().is_empty() {
            return Err(invalid(format!("alerts[{index}].name"), "required".into()));
        }
        let key = |k: &str| format!("alerts.{}.{k}", self.name);
        let threshold = |required: bool| -> Result<f64, ConfigError> {
            match &self.threshold {
                Some(v) => number_or_duration(&key("threshold"), v),
                None if required => Err(invalid(
                    key("threshold"),
                    format!("required by condition `{}`", self.condition),
                )),
                None => Ok(0.0),
            }
        };
        let condition = match self.condition.as_str() {
            "off_target" => Condition::OffTarget,
            "above" => Condition::Above(threshold(true)?),
            "below" => Condition::Below(threshold(true)?),
            "anomalous" => Condition::Anomalous,
            "significant_change" => Condition::SignificantChange,
            "sla_at_risk" => Condition::SlaAtRisk(threshold(false)?),
            "sla_breached" => Condition::SlaBreached(threshold(false)?),
            other => {
                let hint = did_you_mean(other, CONDITIONS)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("; known: {}", CONDITIONS.join(", ")));
                return Err(invalid(
                    key("condition"),
                    format!("unknown condition `{other}`{hint}"),
                ));
            }
        };
        let metric = match (&self.metric, condition.is_sla()) {
            (Some(m), false) if !m.trim().is_empty() => m.clone(),
            (None, true) => String::new(),
            (Some(_), true) => {
                return Err(invalid(
                    key("metric"),
                    "SLA conditions watch the open SLA targets, not a metric: remove it".into(),
                ))
            }
            _ => return Err(invalid(key("metric"), "required".into())),
        };
        let days = |k: &str, text: &Option<String>, default: f64| -> Result<f64, ConfigError> {
            text.as_deref()
                .map_or(Ok(default), parse_duration)
                .map_err(|m| invalid(key(k), m))
        };
        let window = days("window", &self.window, 86_400.0)?;
        if window < 86_400.0 || window % 86_400.0 != 0.0 {
            return Err(invalid(
                key("window"),
                "whole days of at least 1d (1d, 7d, …)".into(),
            ));
        }
        let for_evaluations = self.for_evaluations.unwrap_or(1);
        if for_evaluations == 0 {
            return Err(invalid(key("for"), "at least 1 evaluation".into()));
        }
        let cooldown_secs = days("cooldown", &self.cooldown, 86_400.0)?;
        if self.channels.is_empty() {
            return Err(invalid(key("channels"), "at least one channel".into()));
        }
        let channels = self
            .channels
            .iter()
            .map(|c| {
                if c.kind == "email" {
                    return email_channel(&key, c);
                }
                if !c.to.is_empty() {
                    return Err(invalid(
                        key("channels.to"),
                        "recipients are for an `email` channel; a webhook has a url".into(),
                    ));
                }
                check_url(&key("channels.url"), &c.url)?;
                match c.kind.as_str() {
                    "webhook" => Ok(Channel::Webhook(c.url.clone())),
                    "slack" => Ok(Channel::Slack(c.url.clone())),
                    other => Err(invalid(
                        key("channels.type"),
                        format!(
                            "unknown channel type `{other}`; known: {}",
                            CHANNELS.join(", ")
                        ),
                    )),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(AlertRule {
            name: self.name.clone(),
            metric,
            filters: self.filters.clone(),
            by: self.by.clone(),
            condition,
            window_days: (window / 86_400.0) as u32,
            for_evaluations,
            cooldown_secs,
            channels,
        })
    }
}

/// An `email` channel: at least one recipient, each a mail address, and no URL.
fn email_channel(key: &dyn Fn(&str) -> String, c: &ChannelConfig) -> Result<Channel, ConfigError> {
    if !c.url.is_empty() {
        return Err(invalid(
            key("channels.url"),
            "an `email` channel has recipients (`to`), not a url".into(),
        ));
    }
    if c.to.is_empty() {
        return Err(invalid(
            key("channels.to"),
            "an `email` channel needs at least one recipient".into(),
        ));
    }
    for address in &c.to {
        super::delivery::check_address(address).map_err(|m| invalid(key("channels.to"), m))?;
    }
    Ok(Channel::Email(c.to.clone()))
}

/// Checks every rule: each on its own, their names unique, and a mail server (`has_smtp`)
/// for any `email` channel.
pub fn alert_rules(
    rules: &[AlertRuleConfig],
    has_smtp: bool,
) -> Result<Vec<AlertRule>, ConfigError> {
    let mut out: Vec<AlertRule> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let rule = r.check(i)?;
        if out.iter().any(|o| o.name == rule.name) {
            return Err(invalid(
                format!("alerts[{i}].name"),
                format!("`{}` names two rules", rule.name),
            ));
        }
        let mails = rule.channels.iter().any(|c| matches!(c, Channel::Email(_)));
        if mails && !has_smtp {
            return Err(invalid(
                format!("alerts.{}.channels", rule.name),
                "an `email` channel needs an [smtp] section (host, from) to send through".into(),
            ));
        }
        out.push(rule);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Result<AlertRule, ConfigError> {
        let r: AlertRuleConfig = toml::from_str(text).unwrap();
        r.check(0)
    }

    const HOOK: &str = "[[channels]]\ntype = 'webhook'\nurl = 'http://127.0.0.1:9/x'\n";

    #[test]
    fn a_rule_is_read_with_its_defaults() {
        let r = rule(&format!(
            "name = 'frt'\nmetric = 'first_response_time:median'\ncondition = 'above'\nthreshold = '2h'\n{HOOK}"
        ))
        .unwrap();
        assert_eq!(r.condition, Condition::Above(7200.0));
        assert_eq!((r.window_days, r.for_evaluations), (1, 1));
        assert_eq!(r.cooldown_secs, 86_400.0);
        assert_eq!(
            r.channels,
            [Channel::Webhook("http://127.0.0.1:9/x".into())]
        );
        let sla = rule(&format!("name = 's'\ncondition = 'sla_breached'\n{HOOK}")).unwrap();
        assert_eq!(sla.condition, Condition::SlaBreached(0.0));
    }

    #[test]
    fn bad_rules_name_their_key() {
        let cases = [
            (
                "name = 'a'\nmetric = 'csat'\ncondition = 'abuve'",
                "did you mean `above`",
            ),
            (
                "name = 'a'\nmetric = 'csat'\ncondition = 'above'",
                "threshold",
            ),
            (
                "name = 'a'\nmetric = 'csat'\ncondition = 'anomalous'\ncooldown = '4x'",
                "cooldown",
            ),
            (
                "name = 'a'\nmetric = 'csat'\ncondition = 'anomalous'\nwindow = '3h'",
                "window",
            ),
            (
                "name = 'a'\nmetric = 'csat'\ncondition = 'anomalous'\nfor = 0",
                "for",
            ),
            ("name = 'a'\ncondition = 'anomalous'", "metric"),
        ];
        for (text, needle) in cases {
            let e = rule(&format!("{text}\n{HOOK}")).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        let no_channel = rule("name = 'a'\nmetric = 'csat'\ncondition = 'anomalous'");
        assert!(no_channel.unwrap_err().to_string().contains("channels"));
        let bad_url = "name = 'a'\nmetric = 'csat'\ncondition = 'anomalous'\n[[channels]]\ntype = 'slack'\nurl = 'ftp://x'";
        assert!(rule(bad_url).unwrap_err().to_string().contains("URL"));
    }

    #[test]
    fn the_schedule_has_defaults_and_refuses_bad_durations() {
        let s = AlertingConfig::default().schedule().unwrap();
        assert_eq!((s.interval_secs, s.debounce_secs), (300.0, 10.0));
        let bad = AlertingConfig {
            interval: Some("soon".into()),
            ..Default::default()
        };
        assert!(bad
            .schedule()
            .unwrap_err()
            .to_string()
            .contains("alerting.interval"));
    }
}
