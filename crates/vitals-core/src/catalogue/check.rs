//! Checks that the catalogue holds together when it loads: every metric names a known
//! entity and has the fields its calculation needs, shares and breakdowns name real
//! dimensions, headline stats fit the metric, and every `{placeholder}` in its SQL is one the
//! planner fills in, in a field it fills placeholders in.

use super::{Calculation, Catalogue, CatalogueError, Headline, Metric, TIME_OF_DAY};

/// The configuration placeholders catalogue SQL may use (filled in by the planner).
pub const PLACEHOLDERS: [&str; 5] = [
    "survey_agent",
    "lifespan_years",
    "now",
    "service_level_secs",
    "abandon_grace_secs",
];

/// Metric fields the planner writes into statements as they are (it fills no placeholder in
/// them): a placeholder there would reach the engine as text.
const VERBATIM_FIELDS: [&str; 7] = [
    "anchor",
    "per_from",
    "per_anchor",
    "per_filter",
    "bucket_events.from",
    "bucket_events.key",
    "bucket_events.at",
];

/// The first placeholder in `sql` that is not in `allowed`, as the message of a load error.
fn unknown_placeholder(field: &str, sql: &str, allowed: &[&str]) -> Option<String> {
    let p = placeholders(sql).find(|p| !allowed.contains(p))?;
    Some(if allowed.is_empty() {
        format!("`{field}` cannot use placeholders (`{{{p}}}`): the planner writes it as it is")
    } else {
        format!(
            "`{field}` uses the unknown placeholder `{{{p}}}`; known: {}",
            allowed.join(", ")
        )
    })
}

/// The `{name}` placeholders in a SQL text (a `{` followed by a lower-case identifier and `}`).
fn placeholders(sql: &str) -> impl Iterator<Item = &str> {
    sql.split('{').skip(1).filter_map(|rest| {
        let (name, _) = rest.split_once('}')?;
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .then_some(name)
    })
}

impl Metric {
    /// The metric's SQL fields by name.
    pub fn sql_fields(&self) -> Vec<(&'static str, &str)> {
        let optional = [
            ("value", &self.value),
            ("business_value", &self.business_value),
            ("numerator", &self.numerator),
            ("filter", &self.filter),
            ("per_from", &self.per_from),
            ("per_anchor", &self.per_anchor),
            ("per_filter", &self.per_filter),
            ("per_bucket", &self.per_bucket),
            ("component", &self.component),
            ("per", &self.per),
        ];
        let mut out: Vec<(&'static str, &str)> = vec![("anchor", self.anchor.as_str())];
        out.extend(
            optional
                .into_iter()
                .filter_map(|(name, v)| v.as_deref().map(|v| (name, v))),
        );
        if let Some(e) = &self.bucket_events {
            out.extend([
                ("bucket_events.from", e.from.as_str()),
                ("bucket_events.key", e.key.as_str()),
                ("bucket_events.at", e.at.as_str()),
                ("bucket_events.aggregate", e.aggregate.as_str()),
            ]);
        }
        out.extend(
            self.extra_dimensions
                .values()
                .map(|v| ("extra_dimensions", v.as_str())),
        );
        out
    }
}

impl Catalogue {
    /// Checks every definition.
    pub(super) fn check(&self) -> Result<(), CatalogueError> {
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.metrics {
            let bad = |message: String| CatalogueError::Invalid {
                metric: m.id.clone(),
                message,
            };
            if !seen.insert(m.id.as_str()) {
                return Err(bad("defined twice".into()));
            }
            if let Some(g) = &m.natural_grain {
                if !super::TIME_GRAINS.contains(&g.as_str()) {
                    return Err(bad(format!(
                        "natural_grain `{g}` is not one of {}",
                        super::TIME_GRAINS.join(", ")
                    )));
                }
            }
            let entity = self
                .entities
                .get(&m.entity)
                .ok_or_else(|| bad(format!("unknown entity `{}`", m.entity)))?;
            let needs = |field: &Option<String>, name: &str| {
                field
                    .as_ref()
                    .map(|_| ())
                    .ok_or_else(|| bad(format!("needs `{name}`")))
            };
            match m.calculation {
                Calculation::Distribution => needs(&m.value, "value")?,
                Calculation::CostRatio => {
                    needs(&m.cost_kind, "cost_kind")?;
                    needs(&m.per_from, "per_from")?;
                    needs(&m.per_anchor, "per_anchor")?;
                }
                Calculation::Proportion => needs(&m.numerator, "numerator")?,
                Calculation::Composite => {
                    needs(&m.component, "component")?;
                    if !m.is_per_bucket() {
                        return Err(bad("needs `per_bucket` or `bucket_events`".into()));
                    }
                }
                Calculation::Spread => {
                    needs(&m.per, "per")?;
                    if m.value.is_none() && m.numerator.is_none() {
                        return Err(bad("needs `value` or `numerator`".into()));
                    }
                }
                Calculation::Share => {
                    needs(&m.share_of, "share_of")?;
                    let dim = m.share_of.as_deref().unwrap_or_default();
                    if !entity.dimensions.contains_key(dim) {
                        return Err(bad(format!(
                            "share_of `{dim}` is not a dimension of `{}`",
                            m.entity
                        )));
                    }
                }
                _ => {}
            }
            for d in &m.breakdown {
                if !entity.dimensions.contains_key(d) && !TIME_OF_DAY.contains(&d.as_str()) {
                    return Err(bad(format!(
                        "breakdown `{d}` is not a dimension of `{}`",
                        m.entity
                    )));
                }
            }
            if m.bucket_events.is_some()
                && (entity.record.is_none()
                    || !entity.joins.is_empty()
                    || entity.from.to_uppercase().contains(" JOIN "))
            {
                return Err(bad(format!(
                    "bucket_events need an entity of one table with a record id; `{}` is not",
                    m.entity
                )));
            }
            if matches!(m.headline, Headline::Stats(_)) && !m.has_distribution() {
                return Err(bad("headline stats apply to distributions only".into()));
            }
            for (field, sql) in m.sql_fields() {
                let allowed: &[&str] = if field == "component" {
                    &["program"]
                } else if VERBATIM_FIELDS.contains(&field) {
                    &[]
                } else {
                    &PLACEHOLDERS
                };
                if let Some(message) = unknown_placeholder(field, sql, allowed) {
                    return Err(bad(message));
                }
            }
        }
        for (name, fact) in &self.facts {
            if let Some(stored) = &fact.stored {
                let bad = |message: String| CatalogueError::Invalid {
                    metric: format!("(stored fact {name})"),
                    message,
                };
                let from = crate::records::entity(&stored.from)
                    .ok_or_else(|| bad(format!("`from` names no entity: `{}`", stored.from)))?;
                if from.key.first() != Some(&stored.key.as_str()) {
                    return Err(bad(format!(
                        "`key` must be the first key column of `{}` (`{}`)",
                        stored.from,
                        from.key.first().unwrap_or(&"")
                    )));
                }
                if let Some(p) = placeholders(&fact.sql).next() {
                    return Err(bad(format!(
                        "a stored fact cannot use placeholders (`{{{p}}}`): it reads the configuration through survey_rules and rubric_weights only"
                    )));
                }
            }
        }
        for (name, entity) in &self.entities {
            // Drill-downs fill placeholders in a record's value; the rest is written as it is.
            let verbatim = [
                ("from", Some(&entity.from)),
                ("record", entity.record.as_ref()),
                ("ticket", entity.ticket.as_ref()),
            ]
            .into_iter()
            .filter_map(|(field, sql)| sql.map(|sql| (field, sql, &[][..])))
            .chain(entity.joins.iter().map(|j| ("joins", &j.sql, &[][..])));
            let filled = entity
                .record_value
                .iter()
                .map(|sql| ("record_value", sql, &PLACEHOLDERS[..]));
            for (field, sql, allowed) in verbatim.chain(filled) {
                if let Some(message) = unknown_placeholder(field, sql, allowed) {
                    return Err(CatalogueError::Invalid {
                        metric: format!("(entity {name})"),
                        message,
                    });
                }
            }
        }
        for (name, sql) in self
            .facts
            .iter()
            .map(|(name, f)| (name, &f.sql))
            .chain(self.entities.values().flat_map(|e| e.dimensions.iter()))
        {
            if let Some(p) = placeholders(sql).find(|p| !PLACEHOLDERS.contains(p)) {
                return Err(CatalogueError::Invalid {
                    metric: format!("(fact or dimension {name})"),
                    message: format!("unknown placeholder `{{{p}}}`"),
                });
            }
        }
        self.check_targets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::FactDef;

    #[test]
    fn placeholders_are_checked_when_the_catalogue_loads() {
        assert_eq!(
            placeholders("a {now} b {service_level_secs} {X} {}").collect::<Vec<_>>(),
            vec!["now", "service_level_secs"]
        );
        let mut c = Catalogue::builtin().unwrap();
        c.metrics[0].filter = Some("t.created_at < {nwo}".into());
        let e = c.check().unwrap_err().to_string();
        assert!(e.contains("unknown placeholder `{nwo}`"), "{e}");
    }

    #[test]
    fn placeholders_where_the_planner_fills_none_are_load_errors() {
        let c = Catalogue::builtin().unwrap();
        let mut anchored = c.clone();
        anchored.metrics[0].anchor = "coalesce(t.first_reply_at, {now})".into();
        let e = anchored.check().unwrap_err().to_string();
        assert!(
            e.contains("`anchor` cannot use placeholders (`{now}`)"),
            "{e}"
        );
        let mut joined = c.clone();
        let entity = joined.entities.get_mut("survey").unwrap();
        entity.joins[0].sql.push_str(" AND t.created_at < {now}");
        let e = joined.check().unwrap_err().to_string();
        assert!(e.contains("(entity survey)"), "{e}");
        assert!(
            e.contains("`joins` cannot use placeholders (`{now}`)"),
            "{e}"
        );
        // A record's value is filled (drill-downs), so it takes the known placeholders only.
        let with_value = |sql: &str| {
            let mut valued = c.clone();
            valued.entities.get_mut("survey").unwrap().record_value = Some(sql.into());
            valued.check().map_err(|e| e.to_string())
        };
        assert!(with_value("s.score * {lifespan_years}").is_ok());
        let e = with_value("{score}").unwrap_err();
        assert!(
            e.contains("`record_value` uses the unknown placeholder `{score}`"),
            "{e}"
        );
    }

    #[test]
    fn bucket_events_need_a_single_table_entity_with_a_record_id() {
        let mut c = Catalogue::builtin().unwrap();
        let i = c
            .metrics
            .iter()
            .position(|m| m.bucket_events.is_some())
            .unwrap();
        c.metrics[i].entity = "order".into();
        let e = c.check().unwrap_err().to_string();
        assert!(e.contains("one table with a record id"), "{e}");
    }

    #[test]
    fn stored_facts_follow_a_record_key_and_no_placeholder() {
        let c = Catalogue::builtin().unwrap();
        let with = |edit: &dyn Fn(&mut FactDef)| {
            let mut c = c.clone();
            edit(c.facts.get_mut("fact_calls").unwrap());
            c.check().map_err(|e| e.to_string())
        };
        assert!(with(&|_| {}).is_ok());
        let e = with(&|f| f.sql.push_str(" WHERE c.offered_at < {now}")).unwrap_err();
        assert!(e.contains("cannot use placeholders"), "{e}");
        let e = with(&|f| f.stored.as_mut().unwrap().key = "queue".into()).unwrap_err();
        assert!(e.contains("first key column of `calls` (`call_id`)"), "{e}");
        let e = with(&|f| f.stored.as_mut().unwrap().from = "callz".into()).unwrap_err();
        assert!(e.contains("names no entity"), "{e}");
    }
}
