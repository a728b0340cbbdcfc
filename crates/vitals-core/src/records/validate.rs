//! Shared validation: turns a row of raw cells into a typed record of an entity, or rejects it
//! with the column and the reason. Every importer goes through here, so every source obeys
//! the same rules (README.md, "Import" and "Guarantees").

use chrono_tz::Tz;

use super::schema::{Entity, Requirement};
use super::value::{parse_value, RawValue, Value};
use crate::config::Config;

/// A validated record: one value per column of its entity, in the entity's column order.
pub type Record = Vec<Value>;

/// Why a row was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// What is wrong, for a person.
    pub reason: String,
}

impl Rejection {
    fn at(column: &str, reason: impl Into<String>) -> Self {
        Rejection {
            column: Some(column.to_string()),
            reason: reason.into(),
        }
    }
}

/// Validates rows against the entities, with the configuration's survey scales and the
/// import's default zone.
#[derive(Debug, Clone)]
pub struct Validator {
    config: Config,
    default_zone: Option<Tz>,
}

impl Validator {
    /// A validator for one import.
    pub fn new(config: Config, default_zone: Option<Tz>) -> Self {
        Validator {
            config,
            default_zone,
        }
    }

    /// Validates one row. `cells` holds one slot per entity column (`None` = empty or absent);
    /// `present` says which columns the file has at all.
    pub fn validate(
        &self,
        entity: &Entity,
        cells: &[Option<RawValue>],
        present: &[bool],
    ) -> Result<Record, Rejection> {
        let mut record = Vec::with_capacity(entity.columns.len());
        for (i, column) in entity.columns.iter().enumerate() {
            let value = match cells.get(i).and_then(|c| c.as_ref()) {
                None => {
                    if column.requirement == Requirement::Required {
                        let why = if present.get(i).copied().unwrap_or(false) {
                            format!("required column `{}` is empty", column.name)
                        } else {
                            format!("required column `{}` is missing", column.name)
                        };
                        return Err(Rejection::at(column.name, why));
                    }
                    Value::Null
                }
                Some(RawValue::Text(t)) if t.is_empty() => {
                    if column.requirement == Requirement::Required {
                        return Err(Rejection::at(
                            column.name,
                            format!("required column `{}` is empty", column.name),
                        ));
                    }
                    Value::Null
                }
                Some(raw) => parse_value(raw, column.ty, self.default_zone)
                    .map_err(|r| Rejection::at(column.name, r))?,
            };
            self.check_length(column.name, &value)?;
            record.push(value);
        }
        self.check_rules(entity, &mut record)?;
        Ok(record)
    }

    /// A text longer than `[import] max_field_chars` is rejected: one huge value must not
    /// break what reads it later (the workbook's cells hold at most 32 767 characters).
    fn check_length(&self, column: &str, value: &Value) -> Result<(), Rejection> {
        let limit = self.config.import.max_field_chars;
        if let Value::Text(text) = value {
            // Bytes bound characters from above: count only what may be over.
            if text.len() as u64 > limit && text.chars().count() as u64 > limit {
                return Err(Rejection::at(
                    column,
                    format!(
                        "`{column}` is {} characters long, more than the limit of {limit} ([import] max_field_chars)",
                        text.chars().count()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Cross-column rules of each entity.
    fn check_rules(&self, entity: &Entity, record: &mut Record) -> Result<(), Rejection> {
        let get = |name: &str| {
            entity
                .column_index(name)
                .map(|i| &record[i])
                .unwrap_or(&Value::Null)
        };
        let ts = |name: &str| get(name).as_timestamp();
        let not_before = |later: &str, earlier: &str| -> Result<(), Rejection> {
            match (ts(later), ts(earlier)) {
                (Some(l), Some(e)) if l < e => Err(Rejection::at(
                    later,
                    format!("`{later}` is before `{earlier}`"),
                )),
                _ => Ok(()),
            }
        };
        let non_negative = |names: &[&str]| -> Result<(), Rejection> {
            for n in names {
                if let Some(v) = get(n).as_number() {
                    if v < 0.0 {
                        return Err(Rejection::at(n, format!("`{n}` is negative ({v})")));
                    }
                }
            }
            Ok(())
        };
        match entity.name {
            "tickets" => non_negative(&["handle_secs"])?,
            "ticket_events" => {
                let kind = get("kind").as_text().unwrap_or_default();
                if matches!(kind, "message" | "note" | "update") && get("author_role").is_null() {
                    return Err(Rejection::at(
                        "author_role",
                        format!("a `{kind}` event needs `author_role`"),
                    ));
                }
                if kind == "status" && get("status").is_null() {
                    return Err(Rejection::at("status", "a `status` event needs `status`"));
                }
            }
            "calls" => {
                not_before("ended_at", "offered_at")?;
                not_before("answered_at", "offered_at")?;
                not_before("ended_at", "answered_at")?;
                non_negative(&["talk_secs", "hold_secs", "wrap_secs"])?;
                if get("abandoned").as_bool() == Some(true) && !get("answered_at").is_null() {
                    return Err(Rejection::at(
                        "abandoned",
                        "an abandoned call cannot have `answered_at`",
                    ));
                }
            }
            "survey_responses" => self.check_survey(entity, record)?,
            "surveys_sent" => {
                let survey = get("survey").as_text().unwrap_or_default();
                if self.config.survey(survey).is_none() {
                    return Err(Rejection::at("survey", unknown_survey(survey)));
                }
            }
            "customers" => not_before("churned_at", "acquired_at")?,
            "orders" => {
                if let Some(m) = get("gross_margin").as_number() {
                    if !(0.0..=1.0).contains(&m) {
                        return Err(Rejection::at(
                            "gross_margin",
                            format!("`gross_margin` {m} is not a fraction 0–1"),
                        ));
                    }
                }
            }
            "costs" => {
                let (s, e) = (get("period_start"), get("period_end"));
                if let (Value::Date(s), Value::Date(e)) = (s, e) {
                    if e <= s {
                        return Err(Rejection::at(
                            "period_end",
                            "`period_end` must be after `period_start` (exclusive end)",
                        ));
                    }
                }
            }
            "feedback" => not_before("responded_at", "received_at")?,
            "quality_reviews" => {
                non_negative(&["weight", "score"])?;
                let max = get("max_score").as_number().unwrap_or(0.0);
                if max <= 0.0 {
                    return Err(Rejection::at("max_score", "`max_score` must be positive"));
                }
                if get("score").as_number().unwrap_or(0.0) > max {
                    return Err(Rejection::at(
                        "score",
                        format!("`score` is above `max_score` ({max})"),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Survey responses: a known survey, a sane scale, a score on it. Missing scale bounds are
    /// filled from the survey's configuration, so every stored response carries its scale.
    fn check_survey(&self, entity: &Entity, record: &mut Record) -> Result<(), Rejection> {
        let idx = |n: &str| entity.column_index(n).expect("survey_responses column");
        let survey = record[idx("survey")]
            .as_text()
            .unwrap_or_default()
            .to_string();
        let rules = self
            .config
            .survey(&survey)
            .ok_or_else(|| Rejection::at("survey", unknown_survey(&survey)))?;
        let min = match record[idx("scale_min")] {
            Value::Integer(v) => v,
            _ => rules.min,
        };
        let max = match record[idx("scale_max")] {
            Value::Integer(v) => v,
            _ => rules.max,
        };
        if min >= max {
            return Err(Rejection::at(
                "scale_max",
                format!("scale {min}–{max}: the minimum must be below the maximum"),
            ));
        }
        let score = record[idx("score")].as_number().unwrap_or(f64::NAN);
        if !(min as f64..=max as f64).contains(&score) {
            return Err(Rejection::at(
                "score",
                format!("score {score} is outside the scale {min}–{max}"),
            ));
        }
        record[idx("scale_min")] = Value::Integer(min);
        record[idx("scale_max")] = Value::Integer(max);
        Ok(())
    }
}

fn unknown_survey(name: &str) -> String {
    format!("unknown survey `{name}`: use csat, nps, ces, esat or configure [surveys.{name}] in vitals.toml")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::schema::entity;

    fn row(entity: &Entity, pairs: &[(&str, &str)]) -> (Vec<Option<RawValue>>, Vec<bool>) {
        let mut cells = vec![None; entity.columns.len()];
        let mut present = vec![false; entity.columns.len()];
        for (k, v) in pairs {
            let i = entity.column_index(k).unwrap();
            cells[i] = Some(RawValue::Text(v.to_string()));
            present[i] = true;
        }
        (cells, present)
    }

    fn check(name: &str, pairs: &[(&str, &str)]) -> Result<Record, Rejection> {
        let e = entity(name).unwrap();
        let (cells, present) = row(e, pairs);
        Validator::new(Config::default(), None).validate(e, &cells, &present)
    }

    #[test]
    fn a_text_longer_than_the_field_limit_is_rejected_naming_the_limit() {
        let long = "=".repeat(40_000);
        let r = check(
            "tickets",
            &[
                ("ticket_id", "t1"),
                ("created_at", "2026-03-02T09:00:00Z"),
                ("channel", "email"),
                ("category", &long),
            ],
        )
        .unwrap_err();
        assert_eq!(r.column.as_deref(), Some("category"));
        assert!(r.reason.contains("40000 characters"), "{}", r.reason);
        assert!(
            r.reason.contains("[import] max_field_chars"),
            "{}",
            r.reason
        );
        // Characters, not bytes: 32 767 two-byte characters still fit.
        let wide = "ä".repeat(32_767);
        check(
            "tickets",
            &[
                ("ticket_id", "t1"),
                ("created_at", "2026-03-02T09:00:00Z"),
                ("channel", "email"),
                ("category", &wide),
            ],
        )
        .unwrap();
    }

    #[test]
    fn missing_and_empty_required_columns() {
        let r = check("tickets", &[("ticket_id", "t1"), ("channel", "email")]).unwrap_err();
        assert_eq!(r.column.as_deref(), Some("created_at"));
        assert!(r.reason.contains("missing"));
        let r = check(
            "tickets",
            &[
                ("ticket_id", "t1"),
                ("created_at", ""),
                ("channel", "email"),
            ],
        )
        .unwrap_err();
        assert!(r.reason.contains("empty"));
    }

    #[test]
    fn unknown_enum_and_kind_rules() {
        let base = [
            ("event_id", "e1"),
            ("ticket_id", "t1"),
            ("at", "2026-01-01T00:00:00Z"),
        ];
        let mut bad = base.to_vec();
        bad.push(("kind", "teleport"));
        assert_eq!(
            check("ticket_events", &bad).unwrap_err().column.as_deref(),
            Some("kind")
        );
        let mut msg = base.to_vec();
        msg.push(("kind", "message"));
        assert_eq!(
            check("ticket_events", &msg).unwrap_err().column.as_deref(),
            Some("author_role")
        );
        let mut status = base.to_vec();
        status.push(("kind", "status"));
        assert_eq!(
            check("ticket_events", &status)
                .unwrap_err()
                .column
                .as_deref(),
            Some("status")
        );
    }

    #[test]
    fn end_before_start_is_rejected() {
        let r = check(
            "calls",
            &[
                ("call_id", "c1"),
                ("offered_at", "2026-01-01T10:00:00Z"),
                ("ended_at", "2026-01-01T09:00:00Z"),
            ],
        )
        .unwrap_err();
        assert_eq!(r.column.as_deref(), Some("ended_at"));
        let r = check(
            "costs",
            &[
                ("cost_id", "k"),
                ("period_start", "2026-02-01"),
                ("period_end", "2026-01-01"),
                ("kind", "x"),
                ("amount", "1"),
            ],
        );
        assert!(r.is_err());
    }

    #[test]
    fn survey_scores_must_be_on_the_scale_and_scales_are_filled_in() {
        let at = ("answered_at", "2026-01-01T00:00:00Z");
        let r = check(
            "survey_responses",
            &[("response_id", "r"), ("survey", "csat"), ("score", "6"), at],
        )
        .unwrap_err();
        assert!(r.reason.contains("outside the scale 1–5"));
        let ok = check(
            "survey_responses",
            &[("response_id", "r"), ("survey", "nps"), ("score", "10"), at],
        )
        .unwrap();
        let e = entity("survey_responses").unwrap();
        assert_eq!(ok[e.column_index("scale_max").unwrap()], Value::Integer(10));
        let r = check(
            "survey_responses",
            &[
                ("response_id", "r"),
                ("survey", "vibes"),
                ("score", "1"),
                at,
            ],
        )
        .unwrap_err();
        assert!(r.reason.contains("unknown survey"));
        let ok = check(
            "survey_responses",
            &[
                ("response_id", "r"),
                ("survey", "csat"),
                ("score", "7"),
                ("scale_min", "1"),
                ("scale_max", "7"),
                at,
            ],
        );
        assert!(ok.is_ok());
    }
}
