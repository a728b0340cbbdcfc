//! The keys `vitals.toml` may hold: a schema of every typed section, checked before the file
//! is deserialised, so a misspelt key (`calls.service_level_sec`) is an error naming the file,
//! the key's full dotted path and the nearest known key — never silently ignored. Tables keyed
//! by names the user chooses (calendars, teams, surveys, rubrics and their criteria,
//! engagement components, metric targets) stay free-form; the tables inside them do not.

use toml::Value;

use super::ConfigError;
use crate::catalogue::did_you_mean;

/// What a key may hold.
pub(super) enum Shape {
    /// A value of any type (its type is checked when the file is deserialised).
    Value,
    /// A table with these keys, and — when `other` is set — any further key holding that shape.
    Table {
        /// The known keys.
        fields: &'static [(&'static str, Shape)],
        /// The shape of keys not listed (`None`: such keys are errors).
        other: Option<&'static Shape>,
    },
    /// An array of tables of this shape (`[[sla]]`).
    List(&'static Shape),
}

const V: Shape = Shape::Value;

/// A table with exactly these keys.
const fn fixed(fields: &'static [(&'static str, Shape)]) -> Shape {
    Shape::Table {
        fields,
        other: None,
    }
}

/// A table keyed by names the user chooses, each holding `shape`.
const fn named(shape: &'static Shape) -> Shape {
    Shape::Table {
        fields: &[],
        other: Some(shape),
    }
}

const REPORTING: Shape = fixed(&[("timezone", V), ("public_url", V)]);
const STATISTICS: Shape = fixed(&[("min_sample", V), ("min_agent_sample", V)]);
const CALLS: Shape = fixed(&[("service_level_secs", V), ("abandon_grace_secs", V)]);
const SURVEY: Shape = fixed(&[
    ("scale", V),
    ("top_box", V),
    ("orientation", V),
    ("language", V),
    ("question", V),
]);
const EXCEPTION: Shape = fixed(&[("date", V), ("hours", V)]);
const CHANGE: Shape = fixed(&[
    ("valid_from", V),
    ("mon", V),
    ("tue", V),
    ("wed", V),
    ("thu", V),
    ("fri", V),
    ("sat", V),
    ("sun", V),
]);
const CALENDAR: Shape = fixed(&[
    ("timezone", V),
    ("mon", V),
    ("tue", V),
    ("wed", V),
    ("thu", V),
    ("fri", V),
    ("sat", V),
    ("sun", V),
    ("holidays", V),
    ("exceptions", Shape::List(&EXCEPTION)),
    ("changes", Shape::List(&CHANGE)),
]);
const TEAM: Shape = fixed(&[("calendar", V)]);
/// The ticket fields a policy matches on (`SLA_FIELDS`).
const SLA_WHEN: Shape = fixed(&[("priority", V), ("tier", V), ("channel", V), ("team", V)]);
const SLA: Shape = fixed(&[
    ("name", V),
    ("when", SLA_WHEN),
    ("first_reply", V),
    ("next_reply", V),
    ("resolution", V),
    ("clock", V),
    ("pause_on", V),
    ("at_risk", V),
]);
/// A table of metric key → target.
const TARGET_METRICS: Shape = named(&V);
/// `[targets.team.NAME]` and the like.
const SCOPED_TARGETS: Shape = named(&TARGET_METRICS);
/// Metric key → target, and the scopes of `TARGET_SCOPES`.
const TARGETS: Shape = Shape::Table {
    fields: &[
        ("team", SCOPED_TARGETS),
        ("agent", SCOPED_TARGETS),
        ("tier", SCOPED_TARGETS),
    ],
    other: Some(&V),
};
/// A criterion is a weight, or `{ weight, tags }` (only a table's keys are checked).
const CRITERION: Shape = fixed(&[("weight", V), ("tags", V)]);
const CRITERIA: Shape = named(&CRITERION);
const RUBRICS: Shape = named(&CRITERIA);
const QUALITY: Shape = fixed(&[("rubrics", RUBRICS)]);
const WEIGHTS: Shape = named(&V);
const ENGAGEMENT: Shape = fixed(&[("weights", WEIGHTS)]);
const SURVEYS: Shape = named(&SURVEY);
const CALENDARS: Shape = named(&CALENDAR);
const TEAMS: Shape = named(&TEAM);
const ATTRIBUTION: Shape = fixed(&[("surveys", V)]);
const CLV: Shape = fixed(&[("lifespan_years", V)]);
const ZENDESK_IMPORT: Shape = fixed(&[("bot_user_ids", V)]);
const IMPORT: Shape = fixed(&[
    ("max_record_bytes", V),
    ("max_columns", V),
    ("max_field_chars", V),
    ("zendesk", ZENDESK_IMPORT),
]);
const LIMITS: Shape = fixed(&[
    ("max_span_days", V),
    ("max_buckets", V),
    ("max_result_rows", V),
    ("query_timeout_secs", V),
]);

const STORE: Shape = fixed(&[("engine", V), ("url", V), ("database", V), ("cluster", V)]);
const SMTP: Shape = fixed(&[
    ("host", V),
    ("port", V),
    ("tls", V),
    ("from", V),
    ("ca_file", V),
    ("timeout_secs", V),
]);
const DIGEST: Shape = fixed(&[
    ("name", V),
    ("schedule", V),
    ("recipients", V),
    ("team", V),
    ("period", V),
    ("formats", V),
]);
const ALERTING: Shape = fixed(&[("interval", V), ("debounce", V), ("dashboard_url", V)]);
/// An alert's channel: a webhook's or Slack's `url`, or an e-mail's recipients (`to`).
const ALERT_CHANNEL: Shape = fixed(&[("type", V), ("url", V), ("to", V)]);
const ALERT: Shape = fixed(&[
    ("name", V),
    ("metric", V),
    ("filters", V),
    ("by", V),
    ("condition", V),
    ("threshold", V),
    ("window", V),
    ("for", V),
    ("cooldown", V),
    ("channels", Shape::List(&ALERT_CHANNEL)),
]);

/// The whole file.
pub(super) const FILE: Shape = fixed(&[
    ("reporting", REPORTING),
    ("surveys", SURVEYS),
    ("calls", CALLS),
    ("statistics", STATISTICS),
    ("calendars", CALENDARS),
    ("teams", TEAMS),
    ("sla", Shape::List(&SLA)),
    ("targets", TARGETS),
    ("quality", QUALITY),
    ("engagement", ENGAGEMENT),
    ("attribution", ATTRIBUTION),
    ("clv", CLV),
    ("import", IMPORT),
    ("limits", LIMITS),
    ("store", STORE),
    ("smtp", SMTP),
    ("digests", Shape::List(&DIGEST)),
    ("alerting", ALERTING),
    ("alerts", Shape::List(&ALERT)),
]);

/// A key as written in a dotted path: bare when it can be, else quoted.
fn segment(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        segment(key)
    } else {
        format!("{prefix}.{}", segment(key))
    }
}

/// Checks `value` (at dotted path `prefix`) against `shape`; the first unknown key, in file
/// order within each table, is an error naming `origin`.
pub(super) fn check(
    shape: &Shape,
    value: &Value,
    prefix: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    match (shape, value) {
        (Shape::Table { fields, other }, Value::Table(table)) => {
            for (key, v) in table {
                let path = join(prefix, key);
                match fields.iter().find(|(name, _)| name == key) {
                    Some((_, inner)) => check(inner, v, &path, origin)?,
                    None => match other {
                        Some(inner) => check(inner, v, &path, origin)?,
                        None => {
                            let known = fields.iter().map(|(name, _)| *name);
                            return Err(ConfigError::UnknownKey {
                                path: origin.to_string(),
                                key: path,
                                suggestion: did_you_mean(key, known).map(|s| join(prefix, s)),
                                known: fields.iter().map(|(name, _)| name.to_string()).collect(),
                            });
                        }
                    },
                }
            }
            Ok(())
        }
        (Shape::List(inner), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check(inner, item, &format!("{prefix}[{i}]"), origin)?;
            }
            Ok(())
        }
        // A value where a table or list belongs (or any value of `Value`) is left to the
        // deserialiser, which names the type it expected.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, DEFAULT_CONFIG, SLA_FIELDS, TARGET_SCOPES};
    use super::*;

    fn keys(shape: &Shape) -> Vec<&'static str> {
        match shape {
            Shape::Table { fields, .. } => fields.iter().map(|(k, _)| *k).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn the_schema_follows_the_sections_constants() {
        assert_eq!(keys(&SLA_WHEN), SLA_FIELDS);
        assert_eq!(keys(&TARGETS), TARGET_SCOPES);
    }

    /// Every key of the schema, set: the schema and the model must agree on each.
    const EVERY_KEY: &str = r#"
[reporting]
timezone = "Europe/Helsinki"
public_url = "https://vitals.example.com"
[statistics]
min_sample = 20
min_agent_sample = 5
[calls]
service_level_secs = 30
abandon_grace_secs = 4
[surveys.ces]
scale = [1, 7]
top_box = [6, 7]
orientation = "high_is_effort"
[calendars.default]
timezone = "Europe/Helsinki"
mon = ["09:00-12:00", "13:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-16:00"]
sat = []
sun = []
holidays = ["2026-01-01"]
[[calendars.default.exceptions]]
date = "2026-04-30"
hours = ["09:00-12:00"]
[[calendars.default.changes]]
valid_from = "2026-03-02"
mon = ["08:00-16:00"]
tue = ["08:00-16:00"]
wed = ["08:00-16:00"]
thu = ["08:00-16:00"]
fri = ["08:00-16:00"]
sat = []
sun = []
[teams.tier2]
calendar = "default"
[[sla]]
name = "priority"
when = { priority = ["urgent"], tier = ["pro"], channel = ["email"], team = ["tier2"] }
first_reply = "1h"
next_reply = "4h"
resolution = "16h"
clock = "business"
pause_on = ["pending", "on_hold"]
at_risk = 0.2
[targets]
csat = 85
[targets.team.tier2]
csat = 90
[targets.agent.a1]
fcr = 70
[targets.tier.enterprise]
"first_response_time:median" = "1h"
[quality.rubrics.v1]
empathy = 1
procedure = { weight = 1, tags = ["adherence"] }
[engagement.weights]
loyalty_participation = 1
[attribution]
surveys = "assignee_at_solve"
[clv]
lifespan_years = 2
[import]
max_record_bytes = 1048576
max_columns = 500
max_field_chars = 1000
[import.zendesk]
bot_user_ids = [360001234567, "bot-2"]
[limits]
max_span_days = 3660
max_buckets = 400
max_result_rows = 10000
query_timeout_secs = 30
[smtp]
host = "mail.example.com"
port = 2525
tls = "none"
from = "vitals <vitals@example.com>"
timeout_secs = 10
[[digests]]
name = "monthly"
schedule = "0 8 1 * *"
recipients = ["lead@example.com"]
team = "tier2"
period = "month"
formats = ["html", "xlsx"]
"#;

    #[test]
    fn every_key_of_the_schema_loads_and_the_default_file_too() {
        let c = Config::parse(EVERY_KEY, "t").unwrap();
        assert_eq!(c.calls.service_level_secs, 30.0);
        assert_eq!(c.statistics.min_agent_sample, 5);
        assert_eq!(c.targets().unwrap().len(), 4);
        assert_eq!(c.import.max_columns, 500);
        assert_eq!(c.import.max_field_chars, 1000);
        assert_eq!(c.limits.max_buckets, 400);
        assert_eq!(c.smtp.as_ref().map(|s| s.port()), Some(2525));
        assert_eq!(c.digests[0].team.as_deref(), Some("tier2"));
        let bots: Vec<String> = c
            .import
            .zendesk
            .bot_user_ids
            .iter()
            .map(|b| b.to_string())
            .collect();
        assert_eq!(bots, ["360001234567", "bot-2"]);
        Config::parse(DEFAULT_CONFIG, "default").unwrap();
    }

    #[test]
    fn a_typo_no_longer_keeps_the_default() {
        let e = Config::parse("[calls]\nservice_level_sec = 60\n", "my.toml").unwrap_err();
        assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e}");
        assert!(e
            .to_string()
            .starts_with("my.toml: unknown key `calls.service_level_sec`"));
        let c = Config::parse("[calls]\nservice_level_secs = 60\n", "t").unwrap();
        assert_eq!(c.calls.service_level_secs, 60.0);
    }

    fn unknown(text: &str) -> ConfigError {
        let value: Value = toml::from_str(text).unwrap();
        check(&FILE, &value, "", "vitals.toml").unwrap_err()
    }

    #[test]
    fn unknown_keys_name_their_path_and_the_nearest_key() {
        let e = unknown("[calls]\nservice_level_sec = 60\n");
        assert_eq!(
            e.to_string(),
            "vitals.toml: unknown key `calls.service_level_sec`; did you mean `calls.service_level_secs`?"
        );
        let e = unknown("[[sla]]\nname = 'a'\n[[sla]]\nname = 'b'\nfirst_replay = '1h'\n");
        assert!(
            e.to_string()
                .contains("`sla[1].first_replay`; did you mean `sla[1].first_reply`?"),
            "{e}"
        );
        let e = unknown("[[sla]]\nname = 'a'\nwhen = { priorty = ['urgent'] }\n");
        assert!(
            e.to_string()
                .contains("did you mean `sla[0].when.priority`"),
            "{e}"
        );
        let e = unknown("[calendars.default]\ntimezone = 'UTC'\nholiday = ['2026-01-01']\n");
        assert!(
            e.to_string()
                .contains("did you mean `calendars.default.holidays`"),
            "{e}"
        );
        let e = unknown("[[calendars.x.exceptions]]\ndate = '2026-01-02'\nhour = []\n");
        assert!(
            e.to_string().contains(
                "`calendars.x.exceptions[0].hour`; did you mean `calendars.x.exceptions[0].hours`?"
            ),
            "{e}"
        );
        let e = unknown("[teams.\"tier 2\"]\ncalender = 'us'\n");
        assert!(
            e.to_string()
                .contains("did you mean `teams.\"tier 2\".calendar`"),
            "{e}"
        );
        let e = unknown("[quality.rubrics.v1]\nprocedure = { weight = 1, tag = ['adherence'] }\n");
        assert!(
            e.to_string().contains("quality.rubrics.v1.procedure.tag"),
            "{e}"
        );
        let e = unknown("[statistic]\nmin_sample = 5\n");
        assert!(e.to_string().contains("did you mean `statistics`"), "{e}");
        let e = unknown("[targets.teams.b]\ncsat = 1\n[calls]\nwhatever = 1\n");
        assert!(e.to_string().contains("`calls.whatever`"), "{e}");
        assert!(
            e.to_string()
                .contains("known keys: service_level_secs, abandon_grace_secs"),
            "{e}"
        );
    }

    #[test]
    fn free_form_tables_take_any_name() {
        let text = "[surveys.pulse]\nscale = [0, 3]\n[calendars.anything]\ntimezone = 'UTC'\n\
                    [teams.\"night shift\"]\ncalendar = 'anything'\n[targets]\n\"first_response_time:p90\" = '4h'\n\
                    [targets.agent.a7]\nfcr = 80\n[engagement.weights]\nusage_participation = 2\n\
                    [quality.rubrics.\"2026\"]\ntone = 1\n";
        let value: Value = toml::from_str(text).unwrap();
        check(&FILE, &value, "", "t").unwrap();
    }
}
