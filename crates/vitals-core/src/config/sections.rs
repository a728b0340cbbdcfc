//! The configuration sections beyond calendars and surveys: SLA policies (`[[sla]]`), metric
//! targets (`[targets]`), quality rubrics (`[quality.rubrics.NAME]`), engagement weights
//! (`[engagement.weights]`) and survey attribution (`[attribution]`), with their parsing and
//! checks, and the importer's settings (`[import]`). Durations are written `90s`, `45m`, `4h`,
//! `1h30m`, `2d`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Parses a duration: a sequence of `<number><unit>` with units d, h, m, s (`1h30m`, `90s`);
/// a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then_some(secs)
            .ok_or_else(|| format!("`{text}` is not a duration"));
    }
    let mut total = 0.0;
    let mut number = String::new();
    let mut any = false;
    for ch in t.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            number.push(ch);
            continue;
        }
        let unit = match ch {
            'd' => 86_400.0,
            'h' => 3_600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => {
                return Err(format!(
                    "`{text}` is not a duration (e.g. 90s, 45m, 4h, 1h30m)"
                ))
            }
        };
        let n: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (e.g. 90s, 45m, 4h, 1h30m)"))?;
        total += n * unit;
        number.clear();
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(format!(
            "`{text}` is not a duration (e.g. 90s, 45m, 4h, 1h30m)"
        ));
    }
    Ok(total)
}

/// `[[sla]]`: one SLA policy as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SlaPolicyConfig {
    /// The policy's name.
    pub name: String,
    /// Which tickets: field (priority, tier, channel, team) → accepted values; empty = all.
    pub when: BTreeMap<String, Vec<String>>,
    /// First-reply target.
    pub first_reply: Option<String>,
    /// Next-reply target (every later customer message).
    pub next_reply: Option<String>,
    /// Resolution target.
    pub resolution: Option<String>,
    /// `business` (default) or `calendar`.
    pub clock: Option<String>,
    /// Statuses that stop the clock.
    pub pause_on: Vec<String>,
    /// An open target is at risk when at most this fraction of it is left (default 0.25).
    pub at_risk: Option<f64>,
}

/// The three SLA targets.
pub const SLA_TARGETS: [&str; 3] = ["first_reply", "next_reply", "resolution"];
/// Ticket fields an SLA policy may match on.
pub const SLA_FIELDS: [&str; 4] = ["priority", "tier", "channel", "team"];

/// A checked SLA policy.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    /// Name.
    pub name: String,
    /// (field, accepted values), all of which must match.
    pub when: Vec<(String, Vec<String>)>,
    /// (target name, seconds), in SLA_TARGETS order.
    pub targets: Vec<(&'static str, f64)>,
    /// Business (true) or calendar clock.
    pub business: bool,
    /// Statuses that stop the clock.
    pub pause_on: Vec<String>,
    /// At-risk fraction.
    pub at_risk: f64,
}

impl SlaPolicy {
    /// Whether the policy applies to a ticket with these field values.
    pub fn matches(&self, field: impl Fn(&str) -> Option<String>) -> bool {
        self.when.iter().all(|(f, values)| {
            field(f)
                .map(|v| values.iter().any(|x| x.eq_ignore_ascii_case(&v)))
                .unwrap_or(false)
        })
    }
}

/// Checks and converts the `[[sla]]` list.
pub fn sla_policies(
    list: &[SlaPolicyConfig],
    has_calendar: bool,
) -> Result<Vec<SlaPolicy>, ConfigError> {
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let key = |k: &str| format!("sla[{i}].{k}");
        let invalid = |k: &str, message: String| ConfigError::Invalid {
            key: key(k),
            message,
        };
        if p.name.trim().is_empty() {
            return Err(invalid("name", "every policy needs a name".into()));
        }
        for field in p.when.keys() {
            if !SLA_FIELDS.contains(&field.as_str()) {
                return Err(invalid(
                    "when",
                    format!("`{field}`: policies match on {}", SLA_FIELDS.join(", ")),
                ));
            }
        }
        let mut targets = Vec::new();
        for (name, text) in SLA_TARGETS
            .iter()
            .zip([&p.first_reply, &p.next_reply, &p.resolution])
        {
            if let Some(t) = text {
                let secs = parse_duration(t).map_err(|m| invalid(name, m))?;
                if secs <= 0.0 {
                    return Err(invalid(name, "a target must be longer than zero".into()));
                }
                targets.push((*name, secs));
            }
        }
        if targets.is_empty() {
            return Err(invalid(
                "first_reply",
                "a policy needs at least one of first_reply, next_reply, resolution".into(),
            ));
        }
        let business = match p.clock.as_deref().unwrap_or("business") {
            "business" => true,
            "calendar" => false,
            other => {
                return Err(invalid(
                    "clock",
                    format!("`{other}`: expected business or calendar"),
                ))
            }
        };
        if business && !has_calendar {
            return Err(invalid(
                "clock",
                "business time needs a calendar ([calendars.default]); or set clock = \"calendar\""
                    .into(),
            ));
        }
        for s in &p.pause_on {
            if !["new", "open", "pending", "on_hold"].contains(&s.as_str()) {
                return Err(invalid(
                    "pause_on",
                    format!("`{s}`: only new, open, pending and on_hold can pause a clock"),
                ));
            }
        }
        let at_risk = p.at_risk.unwrap_or(0.25);
        if !(0.0..1.0).contains(&at_risk) {
            return Err(invalid("at_risk", format!("{at_risk}: expected 0 ≤ x < 1")));
        }
        out.push(SlaPolicy {
            name: p.name.clone(),
            when: p.when.clone().into_iter().collect(),
            targets,
            business,
            pause_on: p.pause_on.clone(),
            at_risk,
        });
    }
    Ok(out)
}

/// One criterion of a rubric: a weight, or a weight with tags.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum CriterionConfig {
    /// `empathy = 1`.
    Weight(f64),
    /// `procedure = { weight = 1, tags = ["adherence"] }`.
    Full {
        /// Weight.
        weight: f64,
        /// Tags (e.g. `adherence`).
        #[serde(default)]
        tags: Vec<String>,
    },
}

impl CriterionConfig {
    /// The weight.
    pub fn weight(&self) -> f64 {
        match self {
            CriterionConfig::Weight(w) | CriterionConfig::Full { weight: w, .. } => *w,
        }
    }
    /// The tags.
    pub fn tags(&self) -> &[String] {
        match self {
            CriterionConfig::Weight(_) => &[],
            CriterionConfig::Full { tags, .. } => tags,
        }
    }
}

/// `[quality]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// Rubric version → criterion → weight (and tags).
    pub rubrics: BTreeMap<String, BTreeMap<String, CriterionConfig>>,
}

/// `[engagement]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngagementConfig {
    /// Component (`<program>_participation`) → weight; empty = loyalty and education, equal.
    pub weights: BTreeMap<String, f64>,
}

impl EngagementConfig {
    /// The components: (engagement program, weight).
    pub fn components(&self) -> Vec<(String, f64)> {
        if self.weights.is_empty() {
            return vec![("loyalty".into(), 1.0), ("education".into(), 1.0)];
        }
        self.weights
            .iter()
            .map(|(k, w)| {
                let program = k.strip_suffix("_participation").unwrap_or(k);
                (program.to_string(), *w)
            })
            .collect()
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        for (k, w) in &self.weights {
            if !w.is_finite() || *w < 0.0 {
                return Err(ConfigError::Invalid {
                    key: format!("engagement.weights.{k}"),
                    message: format!("{w}: weights are numbers ≥ 0"),
                });
            }
        }
        if !self.weights.is_empty() && self.weights.values().sum::<f64>() <= 0.0 {
            return Err(ConfigError::Invalid {
                key: "engagement.weights".into(),
                message: "at least one weight must be above 0".into(),
            });
        }
        Ok(())
    }
}

/// How survey metrics credit agents (`[attribution] surveys = …`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SurveyAttribution {
    /// The agent the response names (its `agent_id`), the default.
    #[default]
    RatedAgent,
    /// The ticket's assignee when it was last solved.
    AssigneeAtSolve,
    /// Every agent who sent a public reply on the ticket (a response counts once for each).
    EveryReplyingAgent,
}

impl SurveyAttribution {
    /// The name as configured.
    pub fn name(self) -> &'static str {
        match self {
            SurveyAttribution::RatedAgent => "rated_agent",
            SurveyAttribution::AssigneeAtSolve => "assignee_at_solve",
            SurveyAttribution::EveryReplyingAgent => "every_replying_agent",
        }
    }
}

/// `[attribution]`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttributionConfig {
    /// Which agent a survey response credits (the `survey:agent` dimension).
    pub surveys: SurveyAttribution,
}

/// One target: the metric key it is for, its value in the metric's unit, and its scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `csat` or `first_response_time:median`.
    pub key: String,
    /// The target value (seconds for durations).
    pub value: f64,
    /// `None` = everyone; else (`team` | `agent` | `tier`, name).
    pub scope: Option<(String, String)>,
}

/// Scopes a target may be set for.
pub const TARGET_SCOPES: [&str; 3] = ["team", "agent", "tier"];

fn target_value(key: &str, v: &toml::Value) -> Result<f64, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: format!("targets.{key}"),
        message,
    };
    match v {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) => Ok(*f),
        toml::Value::String(s) => parse_duration(s).map_err(invalid),
        _ => Err(invalid(
            "a target is a number or a duration such as \"1h\"".into(),
        )),
    }
}

/// Reads `[targets]`: `metric[:stat] = value`, and `[targets.team.NAME]`, `[targets.agent.NAME]`,
/// `[targets.tier.NAME]` tables of the same for one scope.
pub fn targets(table: &BTreeMap<String, toml::Value>) -> Result<Vec<Target>, ConfigError> {
    let mut out = Vec::new();
    for (key, v) in table {
        if TARGET_SCOPES.contains(&key.as_str()) {
            let toml::Value::Table(names) = v else {
                return Err(ConfigError::Invalid {
                    key: format!("targets.{key}"),
                    message: format!("expected [targets.{key}.NAME] tables"),
                });
            };
            for (name, metrics) in names {
                let toml::Value::Table(metrics) = metrics else {
                    return Err(ConfigError::Invalid {
                        key: format!("targets.{key}.{name}"),
                        message: "expected a table of metric = target".into(),
                    });
                };
                for (metric, value) in metrics {
                    out.push(Target {
                        key: metric.clone(),
                        value: target_value(&format!("{key}.{name}.{metric}"), value)?,
                        scope: Some((key.clone(), name.clone())),
                    });
                }
            }
        } else {
            out.push(Target {
                key: key.clone(),
                value: target_value(key, v)?,
                scope: None,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Ok(90.0));
        assert_eq!(parse_duration("45m"), Ok(2700.0));
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("2d"), Ok(172_800.0));
        assert_eq!(parse_duration("120"), Ok(120.0));
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("4h5").is_err());
    }

    #[test]
    fn sla_policies_are_checked() {
        let p = SlaPolicyConfig {
            name: "urgent".into(),
            when: [("priority".to_string(), vec!["urgent".to_string()])].into(),
            first_reply: Some("1h".into()),
            clock: Some("calendar".into()),
            ..Default::default()
        };
        let built = sla_policies(std::slice::from_ref(&p), false).unwrap();
        assert_eq!(built[0].targets, vec![("first_reply", 3600.0)]);
        assert!(built[0].matches(|f| (f == "priority").then(|| "URGENT".to_string())));
        assert!(!built[0].matches(|_| None));
        let business = SlaPolicyConfig {
            clock: None,
            ..p.clone()
        };
        assert!(sla_policies(&[business], false).is_err());
        let bad_field = SlaPolicyConfig {
            when: [("colour".to_string(), vec![])].into(),
            ..p.clone()
        };
        assert!(sla_policies(&[bad_field], false).is_err());
        let no_target = SlaPolicyConfig {
            first_reply: None,
            ..p
        };
        assert!(sla_policies(&[no_target], false).is_err());
    }

    #[test]
    fn targets_read_scopes() {
        let table: BTreeMap<String, toml::Value> = toml::from_str(
            "csat = 85\n\"first_response_time:median\" = \"1h\"\n[team.tier2]\ncsat = 90\n",
        )
        .unwrap();
        let t = targets(&table).unwrap();
        assert!(t.contains(&Target {
            key: "csat".into(),
            value: 85.0,
            scope: None
        }));
        assert!(t.contains(&Target {
            key: "first_response_time:median".into(),
            value: 3600.0,
            scope: None
        }));
        assert!(t.contains(&Target {
            key: "csat".into(),
            value: 90.0,
            scope: Some(("team".into(), "tier2".into()))
        }));
    }
}

/// `[import]`: the limits of one import and the source adapters' settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// The largest record — a CSV row, an NDJSON line, one JSON item — in bytes.
    pub max_record_bytes: u64,
    /// The most columns a delimited file's header may have.
    pub max_columns: u64,
    /// The most characters one text value (a category, a comment, an id) may hold; longer is
    /// rejected like any bad value. Excel's cell limit by default, so every stored text fits
    /// in the monthly workbook.
    pub max_field_chars: u64,
    /// `[import.zendesk]`.
    pub zendesk: ZendeskImportConfig,
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            max_record_bytes: 64 << 20,
            max_columns: 10_000,
            max_field_chars: 32_767,
            zendesk: ZendeskImportConfig::default(),
        }
    }
}

impl ImportConfig {
    /// Checks that the limits leave room for real records.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.max_record_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "import.max_record_bytes".into(),
                message: format!("{}: at least 1024 bytes", self.max_record_bytes),
            });
        }
        if self.max_columns == 0 {
            return Err(ConfigError::Invalid {
                key: "import.max_columns".into(),
                message: "at least 1 column".into(),
            });
        }
        if self.max_field_chars < 64 {
            return Err(ConfigError::Invalid {
                key: "import.max_field_chars".into(),
                message: format!("{}: at least 64 characters", self.max_field_chars),
            });
        }
        Ok(())
    }
}

/// The longest query time budget: a day.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// `[limits]`: the budget of one query, on every surface (CLI, API, dashboard, report). A
/// query over a limit is refused before it runs, with the limit's name and how to narrow it.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueryLimits {
    /// The longest period a query may cover, in days.
    pub max_span_days: u32,
    /// The most time buckets (days, weeks, months… of `time:*`) one query may have.
    pub max_buckets: u32,
    /// The most result rows (buckets × dimension values) one query may answer.
    pub max_result_rows: u32,
    /// Seconds a query may run in `vitals serve` before it is interrupted (0: no limit;
    /// fractions allowed).
    pub query_timeout_secs: f64,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_span_days: 36_525,
            max_buckets: 5_000,
            max_result_rows: 200_000,
            query_timeout_secs: 60.0,
        }
    }
}

impl QueryLimits {
    /// Checks that every limit leaves room for a query.
    pub fn check(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("limits.max_span_days", self.max_span_days),
            ("limits.max_buckets", self.max_buckets),
            ("limits.max_result_rows", self.max_result_rows),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: "at least 1".into(),
                });
            }
        }
        if !(0.0..=MAX_TIMEOUT_SECS).contains(&self.query_timeout_secs) {
            return Err(ConfigError::Invalid {
                key: "limits.query_timeout_secs".into(),
                message: format!(
                    "{}: a number of seconds from 0 (no limit) to {MAX_TIMEOUT_SECS}",
                    self.query_timeout_secs
                ),
            });
        }
        Ok(())
    }
}

/// `[import.zendesk]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ZendeskImportConfig {
    /// Users whose comments are a bot's (AI agents, messaging bots posting as an agent).
    pub bot_user_ids: Vec<UserId>,
}

/// A user id as written: a number or a text.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum UserId {
    /// `360001234567`.
    Number(i64),
    /// `"360001234567"`.
    Text(String),
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserId::Number(n) => write!(f, "{n}"),
            UserId::Text(t) => f.write_str(t),
        }
    }
}
