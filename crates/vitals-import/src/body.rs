//! Records sent in a request body (the server's `POST /api/v1/records/{entity}`): NDJSON or
//! one JSON array of canonical records, read by the same JSON reader and checked by the same
//! validator as an import, so a record the API accepts is exactly one `vitals import` keeps.
//! Nothing is written here: the caller hands the kept records to the store's writer.

use std::path::Path;

use chrono_tz::Tz;
use serde::Serialize;
use vitals_core::config::Config;
use vitals_core::records::{Entity, Record, Validator};

use crate::readers::{json_cells, read_ndjson_from, ColumnReport, RawRow};
use crate::{ImportError, Limits, RejectCode};

/// One record of a body that was not kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BodyReject {
    /// 1-based line of an NDJSON body, or position in a JSON array.
    pub line: u64,
    /// The column at fault, if one.
    pub column: Option<String>,
    /// `unreadable`, `invalid` or `too_large`.
    pub code: &'static str,
    /// Why.
    pub reason: String,
}

/// A validated body: the records to write, and the rest with their reasons.
#[derive(Debug, Default)]
pub struct BodyBatch {
    /// Records read (kept + rejected).
    pub read: u64,
    /// Records that passed validation, in body order (later records with the same key win).
    pub records: Vec<Record>,
    /// Records that did not.
    pub rejected: Vec<BodyReject>,
    /// Keys the entity does not know (ignored, as in an import).
    pub ignored_columns: Vec<String>,
}

/// Validates the records of one entity sent as NDJSON, or as a JSON array when the body's
/// first non-blank byte is `[`.
pub fn validate_body(
    entity: &'static Entity,
    body: &[u8],
    config: &Config,
    default_zone: Option<Tz>,
    limits: Limits,
) -> Result<BodyBatch, ImportError> {
    let validator = Validator::new(config.clone(), default_zone);
    let mut batch = BodyBatch::default();
    let mut take = |row: RawRow<'_>| {
        batch.read += 1;
        let outcome = match row.problem {
            Some(problem) => Err(problem),
            None => validator
                .validate(entity, &row.cells, row.present)
                .map_err(|r| (RejectCode::Invalid, r.column, r.reason)),
        };
        match outcome {
            Ok(record) => batch.records.push(record),
            Err((code, column, reason)) => batch.rejected.push(BodyReject {
                line: row.line,
                column,
                code: code.as_str(),
                reason,
            }),
        }
    };
    let mut report = ColumnReport::default();
    let is_array = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[');
    if is_array {
        match serde_json::from_slice::<Vec<serde_json::Value>>(body) {
            Ok(values) => {
                for (i, value) in values.into_iter().enumerate() {
                    let (cells, present, problem) = json_cells(entity, value, &mut report);
                    take(RawRow {
                        line: i as u64 + 1,
                        cells,
                        present: &present,
                        problem,
                    });
                }
            }
            Err(e) => take(RawRow {
                line: e.line() as u64,
                cells: Vec::new(),
                present: &[],
                problem: Some((
                    RejectCode::Unreadable,
                    None,
                    format!("invalid JSON array: {e}"),
                )),
            }),
        }
    } else {
        read_ndjson_from(
            body,
            Path::new("request body"),
            entity,
            limits,
            &|| 0,
            &mut |r| report = r.clone(),
            &mut |row, _, _| {
                take(row);
                Ok(())
            },
        )?;
    }
    batch.ignored_columns = report.unknown;
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::records::entity;

    fn tickets() -> &'static Entity {
        entity("tickets").unwrap()
    }

    const GOOD: &str =
        r#"{"ticket_id":"T1","created_at":"2026-03-02T09:00:00Z","channel":"email"}"#;

    #[test]
    fn ndjson_and_arrays_keep_the_good_and_reject_the_bad_with_their_lines() {
        let config = Config::load(None).unwrap();
        let body = format!("{GOOD}\n\n{{\"ticket_id\":\"T2\"}}\nnot json\n");
        let b =
            validate_body(tickets(), body.as_bytes(), &config, None, Limits::default()).unwrap();
        assert_eq!((b.read, b.records.len(), b.rejected.len()), (3, 1, 2));
        assert_eq!(b.rejected[0].line, 3);
        assert_eq!(b.rejected[0].code, "invalid");
        assert!(b.rejected[0].column.is_some());
        assert_eq!((b.rejected[1].line, b.rejected[1].code), (4, "unreadable"));

        let array = format!("[{GOOD}, 7, {{\"ticket_id\":\"T3\",\"created_at\":\"2026-03-02T09:00:00Z\",\"channel\":\"chat\",\"x\":1}}]");
        let b = validate_body(
            tickets(),
            array.as_bytes(),
            &config,
            None,
            Limits::default(),
        )
        .unwrap();
        assert_eq!((b.read, b.records.len()), (3, 2));
        assert_eq!((b.rejected[0].line, b.rejected[0].code), (2, "unreadable"));
        assert_eq!(b.ignored_columns, vec!["x".to_string()]);
    }

    #[test]
    fn a_broken_array_is_one_unreadable_reject_and_an_empty_body_nothing() {
        let config = Config::load(None).unwrap();
        let b = validate_body(
            tickets(),
            b"[{\"ticket_id\":",
            &config,
            None,
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            (b.read, b.records.len(), b.rejected[0].code),
            (1, 0, "unreadable")
        );
        let b = validate_body(tickets(), b"  \n", &config, None, Limits::default()).unwrap();
        assert_eq!((b.read, b.rejected.len()), (0, 0));
    }

    #[test]
    fn a_record_over_the_limit_is_too_large() {
        let config = Config::load(None).unwrap();
        let limits = Limits {
            max_record_bytes: 16,
            ..Limits::default()
        };
        let b = validate_body(
            tickets(),
            format!("{GOOD}\n").as_bytes(),
            &config,
            None,
            limits,
        )
        .unwrap();
        assert_eq!(b.rejected[0].code, "too_large");
    }
}
