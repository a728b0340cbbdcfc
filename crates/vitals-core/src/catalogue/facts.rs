//! Fact entities defined as SQL in the catalogue (`[facts.NAME]` of `entities.toml`), and the
//! configuration tables their SQL may read (`survey_rules`, `rubric_weights`).
//!
//! A fact is either computed in every query (a common table expression of the planner's
//! statement) or *stored*: the writer keeps a table of that name, one row per record of its
//! `from` entity, rebuilt from the catalogue's SQL when that SQL under the configuration
//! changes (its fingerprint) and otherwise brought up to date for the records each import
//! changed. Either way the SQL is the catalogue's: adding a fact touches one place.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::portable::Target;
use crate::config::Config;

/// A fact's definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactDef {
    /// The `SELECT` that defines the fact's rows.
    pub sql: String,
    /// Set when the fact is stored at derivation rather than computed in every query.
    #[serde(default)]
    pub stored: Option<Stored>,
}

/// How a stored fact follows its records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stored {
    /// The record entity whose records the rows follow one to one (or several to one).
    pub from: String,
    /// The column of the fact holding the record's id: the first key column of `from`.
    /// The rows of a changed record are deleted by it and recomputed.
    pub key: String,
}

/// A stored fact ready for the writer: its table, the records it follows, and the complete
/// statement under one configuration, which is also its fingerprint (a different statement
/// means the table must be rebuilt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFact {
    /// The table (and the name entities read it by).
    pub name: String,
    /// The record entity it follows.
    pub from: String,
    /// The fact's column holding the record id.
    pub key: String,
    /// The statement: the configuration tables it reads, then the catalogue's `SELECT`.
    pub sql: String,
}

/// The configuration tables fact SQL may read, as common table expressions by name in
/// `target`'s spelling: `survey_rules(survey, top_box, high_is_effort, scale_min, scale_max)`
/// and `rubric_weights(rubric, criterion, weight, adherence)`.
///
/// On ClickHouse an array cannot be NULL, so a survey without a top box has an empty
/// `top_box` and NULL `scale_min` and `scale_max`: the catalogue's test
/// `sr.top_box IS NOT NULL AND r.scale_min = sr.scale_min AND …` is then NULL (false) for it,
/// exactly as DuckDB's is false for its NULL top box.
pub fn config_tables(config: &Config, target: Target) -> Vec<(&'static str, String)> {
    match target {
        Target::DuckDb => vec![
            ("survey_rules", survey_rules_cte(config)),
            ("rubric_weights", rubric_weights_cte(config)),
        ],
        Target::ClickHouse => vec![
            ("survey_rules", survey_rules_clickhouse(config)),
            ("rubric_weights", rubric_weights_clickhouse(config)),
        ],
    }
}

/// A ClickHouse string literal (backslashes and quotes escaped).
fn quote_clickhouse(t: &str) -> String {
    format!("'{}'", t.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A ClickHouse table `name` of `columns` typed by `types`, from tuples (none is fine).
fn clickhouse_table(name: &str, columns: &[&str], types: &str, rows: &[String]) -> String {
    let picked: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("_row.{} AS {c}", i + 1))
        .collect();
    format!(
        "{name} AS (SELECT {} FROM (SELECT arrayJoin(CAST([{}] AS Array(Tuple({types})))) AS _row))",
        picked.join(", "),
        rows.join(", ")
    )
}

/// `survey_rules` on ClickHouse (see [`config_tables`] for the survey without a top box).
fn survey_rules_clickhouse(config: &Config) -> String {
    let rows: Vec<String> = config
        .all_surveys()
        .iter()
        .map(|s| {
            let (top_box, min, max) = match &s.top_box {
                Some(values) => (
                    values
                        .iter()
                        .map(|v| format!("{v:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    format!("{:?}", s.min as f64),
                    format!("{:?}", s.max as f64),
                ),
                None => (String::new(), "NULL".into(), "NULL".into()),
            };
            format!(
                "({}, [{top_box}], {}, {min}, {max})",
                quote_clickhouse(&s.name),
                s.high_is_effort
            )
        })
        .collect();
    clickhouse_table(
        "survey_rules",
        &[
            "survey",
            "top_box",
            "high_is_effort",
            "scale_min",
            "scale_max",
        ],
        "String, Array(Float64), Bool, Nullable(Float64), Nullable(Float64)",
        &rows,
    )
}

/// `rubric_weights` on ClickHouse.
fn rubric_weights_clickhouse(config: &Config) -> String {
    let rows: Vec<String> = config
        .quality
        .rubrics
        .iter()
        .flat_map(|(rubric, criteria)| {
            criteria.iter().map(move |(criterion, c)| {
                format!(
                    "({}, {}, {:?}, {})",
                    quote_clickhouse(rubric),
                    quote_clickhouse(criterion),
                    c.weight(),
                    c.tags().iter().any(|t| t == "adherence")
                )
            })
        })
        .collect();
    clickhouse_table(
        "rubric_weights",
        &["rubric", "criterion", "weight", "adherence"],
        "String, String, Float64, Bool",
        &rows,
    )
}

/// The configuration tables `sql` reads (by name, as a word).
pub fn config_tables_read_by<'c>(
    sql: &str,
    tables: &'c [(&'static str, String)],
) -> impl Iterator<Item = &'c String> {
    let sql = sql.to_string();
    tables
        .iter()
        .filter(move |(name, _)| reads(&sql, name))
        .map(|(_, cte)| cte)
}

/// Whether `sql` names the table `name` (as a whole word).
pub fn reads(sql: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    sql.match_indices(name).any(|(i, _)| {
        !sql[..i].chars().next_back().is_some_and(word)
            && !sql[i + name.len()..].chars().next().is_some_and(word)
    })
}

/// The stored facts of `facts` (in `target`'s spelling) under `config`.
pub fn stored_facts(
    facts: &BTreeMap<String, FactDef>,
    config: &Config,
    target: Target,
) -> Vec<StoredFact> {
    let tables = config_tables(config, target);
    facts
        .iter()
        .filter_map(|(name, f)| {
            let stored = f.stored.as_ref()?;
            let ctes: Vec<&String> = config_tables_read_by(&f.sql, &tables).collect();
            let with = if ctes.is_empty() {
                String::new()
            } else {
                format!(
                    "WITH {}\n",
                    ctes.iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(",\n")
                )
            };
            Some(StoredFact {
                name: name.clone(),
                from: stored.from.clone(),
                key: stored.key.clone(),
                sql: format!("{with}{}", f.sql.trim()),
            })
        })
        .collect()
}

fn float_literal(x: f64) -> String {
    format!("CAST({x:?} AS DOUBLE)")
}

fn quote(t: &str) -> String {
    format!("'{}'", t.replace('\'', "''"))
}

/// Every known survey's rules: scale, top box, orientation.
fn survey_rules_cte(config: &Config) -> String {
    let rules: Vec<String> = config
        .all_surveys()
        .iter()
        .map(|s| {
            let top_box = match &s.top_box {
                Some(values) => format!(
                    "CAST([{}] AS DOUBLE[])",
                    values
                        .iter()
                        .map(|v| format!("{v:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "CAST(NULL AS DOUBLE[])".into(),
            };
            format!(
                "({}, {top_box}, {}, {}, {})",
                quote(&s.name),
                s.high_is_effort,
                s.min,
                s.max
            )
        })
        .collect();
    format!(
        "survey_rules(survey, top_box, high_is_effort, scale_min, scale_max) AS (VALUES {})",
        rules.join(", ")
    )
}

/// The configured rubric weights: (rubric version, criterion, weight, tagged adherence).
fn rubric_weights_cte(config: &Config) -> String {
    let rows: Vec<String> = config
        .quality
        .rubrics
        .iter()
        .flat_map(|(rubric, criteria)| {
            criteria.iter().map(move |(criterion, c)| {
                format!(
                    "({}, {}, {}, {})",
                    quote(rubric),
                    quote(criterion),
                    float_literal(c.weight()),
                    c.tags().iter().any(|t| t == "adherence")
                )
            })
        })
        .collect();
    if rows.is_empty() {
        "rubric_weights(rubric, criterion, weight, adherence) AS \
         (SELECT CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS DOUBLE), CAST(NULL AS BOOLEAN) WHERE false)"
            .into()
    } else {
        format!(
            "rubric_weights(rubric, criterion, weight, adherence) AS (VALUES {})",
            rows.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    #[test]
    fn tables_are_read_by_whole_names() {
        assert!(reads("FROM survey_rules sr", "survey_rules"));
        assert!(reads("JOIN survey_rules\nON", "survey_rules"));
        assert!(!reads("FROM my_survey_rules", "survey_rules"));
        assert!(!reads("FROM survey_rules_old", "survey_rules"));
    }

    #[test]
    fn a_stored_fact_carries_only_the_configuration_it_reads() {
        let c = Catalogue::builtin().unwrap();
        let config = Config::default();
        let stored = stored_facts(&c.facts, &config, Target::DuckDb);
        let names: Vec<&str> = stored.iter().map(|f| f.name.as_str()).collect();
        assert!(names.contains(&"fact_survey_responses"));
        assert!(!names.contains(&"fact_sla_outcomes"), "reads {{now}}");
        let surveys = stored
            .iter()
            .find(|f| f.name == "fact_survey_responses")
            .unwrap();
        assert!(surveys.sql.starts_with("WITH survey_rules("));
        assert!(!surveys.sql.contains("rubric_weights("));
        let calls = stored.iter().find(|f| f.name == "fact_calls").unwrap();
        assert!(calls.sql.starts_with("SELECT"));
    }

    #[test]
    fn the_configuration_tables_are_spelled_per_engine() {
        let config = Config::default();
        let duck = config_tables(&config, Target::DuckDb);
        assert!(duck[0].1.contains("AS DOUBLE[]"), "{}", duck[0].1);
        let ch = config_tables(&config, Target::ClickHouse);
        let (surveys, rubrics) = (&ch[0].1, &ch[1].1);
        assert!(
            !surveys.contains("DOUBLE") && !surveys.contains("VALUES"),
            "{surveys}"
        );
        assert!(surveys.starts_with("survey_rules AS (SELECT _row.1 AS survey"));
        assert!(surveys.contains("Array(Tuple(String, Array(Float64), Bool, Nullable(Float64)"));
        // No top box: an empty array (never NULL on ClickHouse) with NULL scales.
        let no_top_box = config.all_surveys().iter().any(|s| s.top_box.is_none());
        assert_eq!(no_top_box, surveys.contains("[], "), "{surveys}");
        if no_top_box {
            assert!(surveys.contains("NULL, NULL)"), "{surveys}");
        }
        assert!(rubrics.contains("CAST([] AS Array(Tuple(String, String, Float64, Bool)))"));
    }

    #[test]
    fn the_fingerprint_follows_the_configuration_it_reads() {
        let c = Catalogue::builtin().unwrap();
        let plain = stored_facts(&c.facts, &Config::default(), Target::DuckDb);
        let mut config = Config::default();
        config.quality.rubrics.insert(
            "v9".into(),
            toml::from_str("empathy = 2").expect("a rubric"),
        );
        let weighted = stored_facts(&c.facts, &config, Target::DuckDb);
        let changed: Vec<&str> = plain
            .iter()
            .zip(&weighted)
            .filter(|(a, b)| a.sql != b.sql)
            .map(|(a, _)| a.name.as_str())
            .collect();
        assert_eq!(changed, ["fact_quality_reviews"]);
    }
}
