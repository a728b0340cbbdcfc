//! Fact entities: the rows a metric is computed over (`catalogue/entities.toml`), their
//! dimensions and drill-down identity, and the optional joins a statement leaves out when it
//! names none of their columns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A fact entity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityDef {
    /// What one row is.
    pub description: String,
    /// SQL FROM clause of its rows.
    pub from: String,
    /// Joins that add columns to the rows without adding or removing any (a LEFT JOIN on a
    /// unique key, or a JOIN every row has exactly one match for): a statement that names none
    /// of a join's alias's columns leaves it out.
    #[serde(default)]
    pub joins: Vec<EntityJoin>,
    /// Shared dimension groups it includes.
    #[serde(default)]
    pub dimension_groups: Vec<String>,
    /// Its own dimensions.
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    /// SQL of a row's record id, for drill-down (absent: a row is not one record).
    #[serde(default)]
    pub record: Option<String>,
    /// What a row's record is (`ticket`, `survey_response`, `call`, …).
    #[serde(default)]
    pub kind: Option<String>,
    /// SQL of the ticket a row belongs to, when it has one.
    #[serde(default)]
    pub ticket: Option<String>,
    /// SQL of a row's own value, shown beside it in a drill-down when the metric has no value
    /// per row (a survey response's score behind a CSAT rate).
    #[serde(default)]
    pub record_value: Option<String>,
}

/// A join an entity's rows can do without (see [`EntityDef::joins`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityJoin {
    /// The alias its columns are named by (`t`).
    pub alias: String,
    /// The join clause (`LEFT JOIN fact_tickets t ON t.ticket_id = s.ticket_id`).
    pub sql: String,
}

impl EntityDef {
    /// The FROM clause with every join.
    pub fn full_from(&self) -> String {
        self.joined_from(&[], true)
    }

    /// The FROM clause of a statement whose own SQL (everything but this clause) is `used`:
    /// with the joins whose alias `used` names.
    pub fn from_clause(&self, used: &[&str]) -> String {
        self.joined_from(used, false)
    }

    fn joined_from(&self, used: &[&str], all: bool) -> String {
        let mut out = self.from.clone();
        for join in &self.joins {
            if all || used.iter().any(|sql| names_alias(sql, &join.alias)) {
                out.push(' ');
                out.push_str(&join.sql);
            }
        }
        out
    }
}

/// Whether `sql` names a column of `alias` (`alias.` not preceded by an identifier character
/// or a quote).
fn names_alias(sql: &str, alias: &str) -> bool {
    let pattern = format!("{alias}.");
    sql.match_indices(&pattern).any(|(i, _)| {
        !sql[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"' || c == '.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    #[test]
    fn optional_joins_are_kept_only_when_named() {
        let c = Catalogue::builtin().unwrap();
        let survey = &c.entities["survey"];
        assert_eq!(
            survey.from_clause(&["s.score", "s.survey = 'csat'"]),
            survey.from
        );
        assert!(survey
            .from_clause(&["s.score", "CAST(t.channel AS VARCHAR)"])
            .contains("JOIN fact_tickets t"));
        assert!(survey.full_from().contains("JOIN fact_tickets t"));
        assert!(!names_alias("at.x, s.t_x, \"t\".y, st.z", "t"));
        assert!(names_alias("(t.channel)", "t") && names_alias("t.x", "t"));
    }
}
