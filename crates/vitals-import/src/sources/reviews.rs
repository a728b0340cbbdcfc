//! `--from reviews`: a survey-style CSV (one row per answered survey) with a configurable
//! column map, `--map TARGET=SOURCE_COLUMN`. Targets: `response_id`, `score`, `answered_at`
//! (required), `sent_at`, `comment`, `comment_title`, `customer_id`, `ticket_id`,
//! `agent_id`. Unset targets default to the Olist order-reviews layout (`review_id`,
//! `review_score`, `review_answer_timestamp`, `review_creation_date`,
//! `review_comment_message`, `review_comment_title`).
//!
//! Each row is one response of `--survey` (default `csat`, on that survey's configured
//! scale); a row with `sent_at` is also a survey send (same id), so the response rate and
//! the answer latency can be measured. The comment is the message, else the title.

use std::path::PathBuf;

use super::tabular::{read_rows, Row, CSV};
use super::{Emitter, Rec, SourceOptions};
use crate::ImportError;

/// Targets and their Olist defaults.
const TARGETS: &[(&str, &str)] = &[
    ("response_id", "review_id"),
    ("score", "review_score"),
    ("answered_at", "review_answer_timestamp"),
    ("sent_at", "review_creation_date"),
    ("comment", "review_comment_message"),
    ("comment_title", "review_comment_title"),
    ("customer_id", "customer_id"),
    ("ticket_id", "ticket_id"),
    ("agent_id", "agent_id"),
];

/// The source column of each target, after the user's `--map`.
struct ColumnMap(Vec<(&'static str, String)>);

impl ColumnMap {
    fn new(overrides: &[(String, String)]) -> Result<ColumnMap, ImportError> {
        let mut map: Vec<(&'static str, String)> =
            TARGETS.iter().map(|(t, s)| (*t, s.to_string())).collect();
        for (target, source) in overrides {
            let slot = map.iter_mut().find(|(t, _)| t == target).ok_or_else(|| {
                ImportError::Usage(format!(
                    "--map {target}=…: `{target}` is not a reviews target; use one of {}",
                    TARGETS.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
                ))
            })?;
            slot.1 = source.clone();
        }
        Ok(ColumnMap(map))
    }

    fn source(&self, target: &str) -> &str {
        self.0
            .iter()
            .find(|(t, _)| *t == target)
            .map(|(_, s)| s.as_str())
            .expect("every target has a source column")
    }

    fn get<'r>(&self, row: &'r Row<'_>, target: &str) -> Option<&'r str> {
        row.get(self.source(target))
    }
}

pub(crate) fn import(
    files: &[PathBuf],
    options: &SourceOptions,
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    let map = ColumnMap::new(&options.column_map)?;
    let survey = options.survey.as_deref().unwrap_or("csat");
    let required = [
        map.source("response_id"),
        map.source("score"),
        map.source("answered_at"),
    ];
    for path in files {
        read_rows(path, &CSV, &required, out, |row, out| {
            let id = map.get(row, "response_id");
            let raw = || row.raw();
            let sent_at = map.get(row, "sent_at");
            if let Some(sent_at) = sent_at {
                let send = Rec::new("surveys_sent")
                    .set("send_id", id)
                    .set("survey", survey)
                    .set("sent_at", sent_at)
                    .set("ticket_id", map.get(row, "ticket_id"))
                    .set("customer_id", map.get(row, "customer_id"));
                out.emit(send, row.line, &raw)?;
            }
            let comment = map
                .get(row, "comment")
                .or_else(|| map.get(row, "comment_title"));
            let response = Rec::new("survey_responses")
                .set("response_id", id)
                .set("survey", survey)
                .set("score", map.get(row, "score"))
                .set("answered_at", map.get(row, "answered_at"))
                .set("ticket_id", map.get(row, "ticket_id"))
                .set("customer_id", map.get(row, "customer_id"))
                .set("agent_id", map.get(row, "agent_id"))
                .set("comment", comment);
            out.emit(response, row.line, &raw)
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_overrides_the_olist_defaults_and_rejects_unknown_targets() {
        let map = ColumnMap::new(&[("score".into(), "rating".into())]).unwrap();
        assert_eq!(map.source("score"), "rating");
        assert_eq!(map.source("response_id"), "review_id");
        assert!(ColumnMap::new(&[("stars".into(), "x".into())]).is_err());
    }
}
