//! `vitals.toml`: the configuration model, its defaults and loading (defaults → file →
//! `VITALS_*` environment). A key the model does not know is an error naming the file, the
//! key's dotted path and the nearest known key (`keys.rs` holds the schema). SLA policies,
//! targets, rubrics, engagement weights and attribution live in `sections.rs`; the SMTP server
//! and digests in `delivery.rs`; alert rules and their schedule in `alerts.rs`.

mod alerts;
mod delivery;
mod keys;
mod sections;
mod store;

pub use delivery::{
    last_complete_month, last_complete_week, now, DigestConfig, DigestFormat, DigestPeriod,
    SmtpConfig, TlsMode, SMTP_PASSWORD_ENV, SMTP_USER_ENV,
};

pub use alerts::{
    alert_rules, AlertRule, AlertRuleConfig, AlertSchedule, AlertingConfig, Channel, ChannelConfig,
    Condition, CHANNELS, CONDITIONS, MAILTO,
};

pub use sections::{
    parse_duration, AttributionConfig, CriterionConfig, EngagementConfig, ImportConfig,
    QualityConfig, QueryLimits, SlaPolicy, SlaPolicyConfig, SurveyAttribution, Target, UserId,
    ZendeskImportConfig, MAX_TIMEOUT_SECS, SLA_FIELDS, SLA_TARGETS, TARGET_SCOPES,
};
pub use store::StoreConfig;

use std::collections::BTreeMap;
use std::path::Path;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::calendar::{parse_interval, Calendar, DayHours};

/// A configuration problem, with the key it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this model.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key the configuration does not know (a typo, or a section of another version).
    #[error("{path}: unknown key `{key}`{}", unknown_key_hint(suggestion.as_deref(), known))]
    UnknownKey {
        /// The file.
        path: String,
        /// The key's full dotted path (`calls.service_level_sec`, `sla[0].first_replay`).
        key: String,
        /// The nearest known key, as a full dotted path.
        suggestion: Option<String>,
        /// The keys known where it was found.
        known: Vec<String>,
    },
    /// A value is out of its domain.
    #[error("{key}: {message}")]
    Invalid {
        /// The offending key.
        key: String,
        /// Why.
        message: String,
    },
}

fn unknown_key_hint(suggestion: Option<&str>, known: &[String]) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None if known.is_empty() => String::new(),
        None => format!("; known keys: {}", known.join(", ")),
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Reporting defaults.
    pub reporting: Reporting,
    /// Survey scales and top boxes, by survey name.
    pub surveys: BTreeMap<String, SurveyConfig>,
    /// Call-centre settings.
    pub calls: CallsConfig,
    /// Statistics settings.
    pub statistics: StatisticsConfig,
    /// Business calendars by name (`default` applies to teams that name none).
    pub calendars: BTreeMap<String, CalendarConfig>,
    /// Teams and the calendar each works to.
    pub teams: BTreeMap<String, TeamConfig>,
    /// SLA policies, first match wins.
    pub sla: Vec<SlaPolicyConfig>,
    /// Targets: `metric[:stat] = value`, and per team / agent / tier tables.
    pub targets: BTreeMap<String, toml::Value>,
    /// Quality rubrics.
    pub quality: QualityConfig,
    /// Engagement score weights.
    pub engagement: EngagementConfig,
    /// Which agent survey metrics credit.
    pub attribution: AttributionConfig,
    /// Customer lifetime value settings.
    pub clv: ClvConfig,
    /// Import limits and source adapter settings.
    pub import: ImportConfig,
    /// The budget of one query.
    pub limits: QueryLimits,
    /// The engine that keeps the data.
    pub store: StoreConfig,
    /// The SMTP server mail is sent through.
    pub smtp: Option<SmtpConfig>,
    /// Reports mailed on a schedule.
    pub digests: Vec<DigestConfig>,
    /// When `vitals serve` evaluates the alert rules.
    pub alerting: AlertingConfig,
    /// Alert rules.
    pub alerts: Vec<AlertRuleConfig>,
}

/// `[clv]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClvConfig {
    /// Expected customer lifespan in years (clv_purchase).
    pub lifespan_years: f64,
}

impl Default for ClvConfig {
    fn default() -> Self {
        ClvConfig {
            lifespan_years: 3.0,
        }
    }
}

/// `[calendars.NAME]`: zone, weekly hours, holidays, exceptions, dated changes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// IANA zone of the hours.
    pub timezone: Option<String>,
    /// Monday hours, e.g. `["09:00-12:00", "13:00-17:00"]`.
    pub mon: Option<Vec<String>>,
    /// Tuesday hours.
    pub tue: Option<Vec<String>>,
    /// Wednesday hours.
    pub wed: Option<Vec<String>>,
    /// Thursday hours.
    pub thu: Option<Vec<String>>,
    /// Friday hours.
    pub fri: Option<Vec<String>>,
    /// Saturday hours.
    pub sat: Option<Vec<String>>,
    /// Sunday hours.
    pub sun: Option<Vec<String>>,
    /// Dates closed all day (`YYYY-MM-DD`).
    pub holidays: Vec<String>,
    /// Days with other hours.
    pub exceptions: Vec<ExceptionConfig>,
    /// From a date on, the named days get new hours.
    pub changes: Vec<ChangeConfig>,
}

impl CalendarConfig {
    fn days(&self) -> [&Option<Vec<String>>; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }
}

/// `[[calendars.NAME.exceptions]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExceptionConfig {
    /// The date.
    pub date: String,
    /// Its hours (empty = closed).
    pub hours: Vec<String>,
}

/// `[[calendars.NAME.changes]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeConfig {
    /// First date the new hours apply.
    pub valid_from: String,
    /// Monday hours from then on.
    pub mon: Option<Vec<String>>,
    /// Tuesday hours.
    pub tue: Option<Vec<String>>,
    /// Wednesday hours.
    pub wed: Option<Vec<String>>,
    /// Thursday hours.
    pub thu: Option<Vec<String>>,
    /// Friday hours.
    pub fri: Option<Vec<String>>,
    /// Saturday hours.
    pub sat: Option<Vec<String>>,
    /// Sunday hours.
    pub sun: Option<Vec<String>>,
}

/// `[teams.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TeamConfig {
    /// The calendar the team works to.
    pub calendar: Option<String>,
}

/// `[reporting]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Reporting {
    /// Default IANA zone for buckets and `--from`/`--to`.
    pub timezone: Option<String>,
    /// The address people open `vitals serve` at (`https://vitals.example.com`): mail links
    /// to it.
    pub public_url: Option<String>,
}

/// `[surveys.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyConfig {
    /// `[min, max]` of the scale.
    pub scale: Option<[i64; 2]>,
    /// The scores that count as satisfied / easy (top box).
    pub top_box: Option<Vec<f64>>,
    /// CES orientation: `high_is_easy` (default) or `high_is_effort`.
    pub orientation: Option<String>,
    /// Language of the survey's answer page (`vitals serve`'s links): en, fi, sl, th, zh, ja.
    pub language: Option<String>,
    /// The question the answer page asks (default: the survey's standard question).
    pub question: Option<String>,
}

/// `[calls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// Service-level threshold T: answered within T seconds of the offer.
    pub service_level_secs: f64,
    /// Calls abandoned within this many seconds are left out of the service level.
    pub abandon_grace_secs: f64,
}

impl Default for CallsConfig {
    fn default() -> Self {
        CallsConfig {
            service_level_secs: 20.0,
            abandon_grace_secs: 5.0,
        }
    }
}

/// `[statistics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatisticsConfig {
    /// Below this sample size a value is flagged `low_sample`.
    pub min_sample: u64,
    /// Consistency metrics leave out agents with fewer observations than this in a bucket.
    pub min_agent_sample: u64,
}

impl Default for StatisticsConfig {
    fn default() -> Self {
        StatisticsConfig {
            min_sample: 30,
            min_agent_sample: 10,
        }
    }
}

/// The effective scale and rules of one survey kind.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyRules {
    /// Survey name.
    pub name: String,
    /// Lowest score.
    pub min: i64,
    /// Highest score.
    pub max: i64,
    /// Scores counting as top box; `None` = the default top-2 rule.
    pub top_box: Option<Vec<f64>>,
    /// True when a high score means high effort (CES), so scores are flipped.
    pub high_is_effort: bool,
}

/// The built-in surveys and their default scales.
pub const BUILTIN_SURVEYS: &[(&str, i64, i64)] = &[
    ("csat", 1, 5),
    ("nps", 0, 10),
    ("ces", 1, 7),
    ("esat", 1, 5),
];

impl Config {
    /// Loads `path` over the defaults, then applies `VITALS_REPORTING_TIMEZONE`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                Self::parse(&text, &p.display().to_string())?
            }
            None => Config::default(),
        };
        if let Ok(zone) = std::env::var("VITALS_REPORTING_TIMEZONE") {
            config.reporting.timezone = Some(zone);
        }
        config.check()?;
        Ok(config)
    }

    /// Parses configuration text (`origin` names it in errors): TOML syntax first, then every
    /// key against the schema (an unknown key names its dotted path and the nearest known one),
    /// then the values' types and domains.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let parse_error = |e: toml::de::Error| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        };
        let value: toml::Value = toml::from_str(text).map_err(parse_error)?;
        delivery::refuse_credentials(&value)?;
        keys::check(&keys::FILE, &value, "", origin)?;
        let config: Config = toml::from_str(text).map_err(parse_error)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if let Some(z) = &self.reporting.timezone {
            parse_zone(z).map_err(|message| ConfigError::Invalid {
                key: "reporting.timezone".into(),
                message,
            })?;
        }
        delivery::check(self)?;
        self.derivation_rules()?;
        self.targets()?;
        self.engagement.check()?;
        self.import.check()?;
        self.limits.check()?;
        self.store.check()?;
        self.alerting.schedule()?;
        self.alert_rules()?;
        if !(self.clv.lifespan_years.is_finite() && self.clv.lifespan_years > 0.0) {
            return Err(ConfigError::Invalid {
                key: "clv.lifespan_years".into(),
                message: format!(
                    "{}: expected a number of years above 0",
                    self.clv.lifespan_years
                ),
            });
        }
        for (rubric, criteria) in &self.quality.rubrics {
            for (criterion, c) in criteria {
                if !c.weight().is_finite() || c.weight() < 0.0 {
                    return Err(ConfigError::Invalid {
                        key: format!("quality.rubrics.{rubric}.{criterion}"),
                        message: format!("{}: a weight is a number ≥ 0", c.weight()),
                    });
                }
            }
        }
        for (name, s) in &self.surveys {
            if let Some([lo, hi]) = s.scale {
                if lo >= hi {
                    return Err(ConfigError::Invalid {
                        key: format!("surveys.{name}.scale"),
                        message: format!("[{lo}, {hi}]: the minimum must be below the maximum"),
                    });
                }
            }
            if let Some(o) = &s.orientation {
                if o != "high_is_easy" && o != "high_is_effort" {
                    return Err(ConfigError::Invalid {
                        key: format!("surveys.{name}.orientation"),
                        message: format!("`{o}`: expected high_is_easy or high_is_effort"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The reporting zone (UTC when none is configured).
    pub fn reporting_zone(&self) -> Tz {
        self.reporting
            .timezone
            .as_deref()
            .and_then(|z| parse_zone(z).ok())
            .unwrap_or(Tz::UTC)
    }

    /// The checked rules of `[[alerts]]` (an `email` channel needs `[smtp]`).
    pub fn alert_rules(&self) -> Result<Vec<AlertRule>, ConfigError> {
        alerts::alert_rules(&self.alerts, self.smtp.is_some())
    }

    /// The targets of `[targets]`.
    pub fn targets(&self) -> Result<Vec<Target>, ConfigError> {
        sections::targets(&self.targets)
    }

    /// What ticket facts depend on besides the records: the business calendars (built and
    /// checked), which team works to which, and the SLA policies.
    pub fn derivation_rules(&self) -> Result<DerivationRules, ConfigError> {
        let mut built = BTreeMap::new();
        for (name, c) in &self.calendars {
            let key = |k: &str| format!("calendars.{name}.{k}");
            let invalid = |k: &str, message: String| ConfigError::Invalid {
                key: key(k),
                message,
            };
            let zone_name = c
                .timezone
                .as_deref()
                .ok_or_else(|| invalid("timezone", "required".into()))?;
            let zone = parse_zone(zone_name).map_err(|m| invalid("timezone", m))?;
            let parse_hours = |k: &str, list: &[String]| -> Result<DayHours, ConfigError> {
                list.iter()
                    .map(|t| parse_interval(t).map_err(|m| invalid(k, m)))
                    .collect()
            };
            let parse_date = |k: &str, t: &str| {
                chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map_err(|_| invalid(k, format!("`{t}` is not a date (YYYY-MM-DD)")))
            };
            let mut week: crate::calendar::WeekHours = Default::default();
            for (i, day) in c.days().iter().enumerate() {
                if let Some(list) = day {
                    week[i] = parse_hours(crate::calendar::DAY_NAMES[i], list)?;
                }
            }
            let mut cal = Calendar::new(name, zone, week);
            for h in &c.holidays {
                cal.add_holiday(parse_date("holidays", h)?);
            }
            for e in &c.exceptions {
                cal.add_exception(
                    parse_date("exceptions.date", &e.date)?,
                    parse_hours("exceptions.hours", &e.hours)?,
                );
            }
            for ch in &c.changes {
                let days = [
                    &ch.mon, &ch.tue, &ch.wed, &ch.thu, &ch.fri, &ch.sat, &ch.sun,
                ];
                let mut named = Vec::new();
                for (i, d) in days.iter().enumerate() {
                    if let Some(list) = d {
                        named.push((i, parse_hours("changes", list)?));
                    }
                }
                cal.add_change(parse_date("changes.valid_from", &ch.valid_from)?, &named);
            }
            built.insert(name.clone(), cal);
        }
        let mut teams = BTreeMap::new();
        for (team, t) in &self.teams {
            if let Some(cal) = &t.calendar {
                if !built.contains_key(cal) {
                    return Err(ConfigError::Invalid {
                        key: format!("teams.{team}.calendar"),
                        message: format!("no calendar `{cal}` (define [calendars.{cal}])"),
                    });
                }
                teams.insert(team.clone(), cal.clone());
            }
        }
        let sla = sections::sla_policies(&self.sla, !built.is_empty())?;
        let fingerprint =
            serde_json::to_string(&(&self.calendars, &self.teams, &self.sla)).unwrap_or_default();
        Ok(DerivationRules {
            calendars: built,
            teams,
            sla,
            fingerprint,
        })
    }

    /// The rules of a survey kind: built-in or configured; `None` for an unknown survey.
    pub fn survey(&self, name: &str) -> Option<SurveyRules> {
        let builtin = BUILTIN_SURVEYS.iter().find(|(n, _, _)| *n == name);
        let configured = self.surveys.get(name);
        if builtin.is_none() && configured.is_none() {
            return None;
        }
        let (mut min, mut max) = builtin.map(|(_, lo, hi)| (*lo, *hi)).unwrap_or((1, 5));
        if let Some([lo, hi]) = configured.and_then(|c| c.scale) {
            (min, max) = (lo, hi);
        }
        Some(SurveyRules {
            name: name.to_string(),
            min,
            max,
            top_box: configured.and_then(|c| c.top_box.clone()),
            high_is_effort: configured.and_then(|c| c.orientation.as_deref())
                == Some("high_is_effort"),
        })
    }

    /// Every known survey kind's rules (built-in first, then configured ones).
    pub fn all_surveys(&self) -> Vec<SurveyRules> {
        let mut names: Vec<String> = BUILTIN_SURVEYS
            .iter()
            .map(|(n, _, _)| n.to_string())
            .collect();
        names.extend(
            self.surveys
                .keys()
                .filter(|k| !names.contains(k))
                .cloned()
                .collect::<Vec<_>>(),
        );
        names.iter().filter_map(|n| self.survey(n)).collect()
    }
}

/// What derived ticket facts depend on besides the records: the business calendars, which
/// team works to which, and the SLA policies.
#[derive(Debug, Clone, Default)]
pub struct DerivationRules {
    calendars: BTreeMap<String, Calendar>,
    teams: BTreeMap<String, String>,
    /// SLA policies in order (the first whose `when` matches a ticket applies).
    pub sla: Vec<SlaPolicy>,
    /// Identifies the rules; when it changes, every ticket is re-derived.
    pub fingerprint: String,
}

impl DerivationRules {
    /// The calendar of a ticket of `team`: the team's, else `default`; `None` without calendars.
    pub fn for_team(&self, team: Option<&str>) -> Option<&Calendar> {
        team.and_then(|t| self.teams.get(t))
            .and_then(|name| self.calendars.get(name))
            .or_else(|| self.calendars.get("default"))
    }

    /// Whether any calendar is configured.
    pub fn is_empty(&self) -> bool {
        self.calendars.is_empty()
    }
}

/// Parses an IANA zone name, with a clear message.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("`{name}` is not an IANA time zone (e.g. Europe/Helsinki, UTC)"))
}

/// The commented default configuration file (`vitals config --default`).
pub const DEFAULT_CONFIG: &str = include_str!("../../default-config.toml");

#[cfg(test)]
mod tests;
