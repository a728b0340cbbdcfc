//! The catalogue for each engine: every SQL fragment of every metric, entity and fact rendered
//! for a [`Target`] (`portable.rs`), checked for every target when the catalogue loads, and a
//! metric's `engine_notes` — what an engine cannot compute exactly as DuckDB does — kept
//! honest: a fragment a target cannot render is a load error unless the metric names that
//! target, and a note on a target that renders everything is one too.

use super::portable::{render, Fragment, Target};
use super::{Catalogue, CatalogueError, Metric};

impl Metric {
    /// Every SQL field with what it is, mutably (the fields of [`Metric::sql_fields`]).
    fn sql_fields_mut(&mut self) -> Vec<(&'static str, Fragment, &mut String)> {
        let mut out = vec![("anchor", Fragment::Expr, &mut self.anchor)];
        let optional = [
            ("value", Fragment::Expr, &mut self.value),
            ("business_value", Fragment::Expr, &mut self.business_value),
            ("numerator", Fragment::Expr, &mut self.numerator),
            ("filter", Fragment::Expr, &mut self.filter),
            ("per_from", Fragment::From, &mut self.per_from),
            ("per_anchor", Fragment::Expr, &mut self.per_anchor),
            ("per_filter", Fragment::Expr, &mut self.per_filter),
            ("per_bucket", Fragment::Expr, &mut self.per_bucket),
            ("component", Fragment::Expr, &mut self.component),
            ("per", Fragment::Expr, &mut self.per),
        ];
        out.extend(
            optional
                .into_iter()
                .filter_map(|(name, kind, v)| v.as_mut().map(|v| (name, kind, v))),
        );
        if let Some(e) = &mut self.bucket_events {
            out.extend([
                ("bucket_events.from", Fragment::From, &mut e.from),
                ("bucket_events.key", Fragment::Expr, &mut e.key),
                ("bucket_events.at", Fragment::Expr, &mut e.at),
                ("bucket_events.aggregate", Fragment::Expr, &mut e.aggregate),
            ]);
        }
        out.extend(
            self.extra_dimensions
                .values_mut()
                .map(|v| ("extra_dimensions", Fragment::Expr, v)),
        );
        out
    }

    /// What `target` cannot compute of this metric exactly as DuckDB does, when the metric says
    /// so (`engine_notes`): the planner refuses the metric on that engine.
    pub fn engine_note(&self, target: Target) -> Option<&str> {
        self.engine_notes.get(target.name()).map(String::as_str)
    }

    /// The metric with its SQL rendered for `target`; the first fragment it cannot render,
    /// with the field's name, otherwise.
    fn rendered(&self, target: Target) -> Result<Metric, String> {
        let mut m = self.clone();
        for (field, fragment, sql) in m.sql_fields_mut() {
            *sql = render(sql, fragment, target).map_err(|e| format!("`{field}`: {e}"))?;
        }
        Ok(m)
    }
}

impl Catalogue {
    /// The catalogue with every fragment in `target`'s spelling (DuckDB's is the text as
    /// written). A metric with an engine note for `target` is kept as written: the planner
    /// refuses it there.
    pub fn for_target(&self, target: Target) -> Result<Catalogue, CatalogueError> {
        let mut out = self.clone();
        out.target = target;
        for m in &mut out.metrics {
            if m.engine_note(target).is_none() {
                *m = m
                    .rendered(target)
                    .map_err(|message| CatalogueError::Invalid {
                        metric: m.id.clone(),
                        message: format!("on {}: {message}", target.name()),
                    })?;
            }
        }
        for (name, entity) in &mut out.entities {
            let bad = |message: String| CatalogueError::Invalid {
                metric: format!("(entity {name})"),
                message: format!("on {}: {message}", target.name()),
            };
            entity.from = render(&entity.from, Fragment::From, target).map_err(bad)?;
            for join in &mut entity.joins {
                join.sql = render(&join.sql, Fragment::Join, target).map_err(bad)?;
            }
            let exprs = entity
                .dimensions
                .values_mut()
                .chain(entity.record.as_mut())
                .chain(entity.ticket.as_mut())
                .chain(entity.record_value.as_mut());
            for sql in exprs {
                *sql = render(sql, Fragment::Expr, target).map_err(bad)?;
            }
        }
        for (name, fact) in &mut out.facts {
            fact.sql = render(&fact.sql, Fragment::Query, target).map_err(|message| {
                CatalogueError::Invalid {
                    metric: format!("(fact {name})"),
                    message: format!("on {}: {message}", target.name()),
                }
            })?;
        }
        Ok(out)
    }

    /// Every SQL text of the catalogue — metrics', entities' and facts' — mutably, for filling
    /// in the configuration.
    pub fn sql_texts_mut(&mut self) -> Vec<&mut String> {
        let metrics = self
            .metrics
            .iter_mut()
            .flat_map(|m| m.sql_fields_mut().into_iter().map(|(_, _, sql)| sql));
        let entities = self.entities.values_mut().flat_map(|e| {
            let joins = e.joins.iter_mut().map(|j| &mut j.sql);
            std::iter::once(&mut e.from)
                .chain(joins)
                .chain(e.dimensions.values_mut())
                .chain(e.record.as_mut())
                .chain(e.ticket.as_mut())
                .chain(e.record_value.as_mut())
        });
        let facts = self.facts.values_mut().map(|f| &mut f.sql);
        metrics.chain(entities).chain(facts).collect()
    }

    /// Every fragment renders for every target, and every engine note is needed.
    pub(super) fn check_targets(&self) -> Result<(), CatalogueError> {
        for m in &self.metrics {
            for name in m.engine_notes.keys() {
                if !Target::ALL.iter().any(|t| t.name() == name) {
                    return Err(CatalogueError::Invalid {
                        metric: m.id.clone(),
                        message: format!("`engine_notes` names the unknown engine `{name}`"),
                    });
                }
            }
            for target in Target::ALL {
                let bad = |message: String| CatalogueError::Invalid {
                    metric: m.id.clone(),
                    message,
                };
                match (m.rendered(target), m.engine_note(target)) {
                    (Err(e), None) => {
                        return Err(bad(format!(
                            "cannot be rendered for {}: {e}; say why in `engine_notes.{}` or use the portable vocabulary",
                            target.name(),
                            target.name()
                        )))
                    }
                    (Ok(_), Some(_)) => {
                        return Err(bad(format!(
                            "`engine_notes.{}` says it cannot be computed there, but every fragment renders",
                            target.name()
                        )))
                    }
                    _ => {}
                }
            }
        }
        for target in Target::ALL {
            self.for_target(target)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_fragment_renders_for_every_engine() {
        let c = Catalogue::builtin().unwrap();
        let duck = c.for_target(Target::DuckDb).unwrap();
        assert_eq!(
            format!("{:?}", duck.metrics),
            format!("{:?}", c.metrics),
            "DuckDB's rendering is the catalogue as written"
        );
        let ch = c.for_target(Target::ClickHouse).unwrap();
        let mentions = &ch.facts["fact_mentions"].sql;
        assert!(
            !mentions.contains("LATERAL") && mentions.contains("extractAll("),
            "{mentions}"
        );
        let clv = ch.metric("clv_simple").unwrap();
        assert!(clv.engine_note(Target::ClickHouse).is_some());
    }

    #[test]
    fn a_construct_an_engine_cannot_render_fails_at_load() {
        let c = Catalogue::builtin().unwrap();
        let mut unknown = c.clone();
        unknown.metrics[0].filter = Some("epoch_ms(t.created_at) > 0".into());
        let e = unknown.check().unwrap_err().to_string();
        assert!(e.contains("cannot be rendered for duckdb"), "{e}");
        assert!(
            e.contains("`epoch_ms` is not in the portable vocabulary"),
            "{e}"
        );
        let mut correlated = c.clone();
        correlated.metrics[0].filter = Some(
            "(SELECT count(*) FROM fact_replies r WHERE r.ticket_id = t.ticket_id) > 0".into(),
        );
        let e = correlated.check().unwrap_err().to_string();
        assert!(e.contains("cannot be rendered for clickhouse"), "{e}");
        assert!(e.contains("engine_notes.clickhouse"), "{e}");
        correlated.metrics[0]
            .engine_notes
            .insert("clickhouse".into(), "correlated".into());
        assert!(correlated.check().is_ok());
        let mut needless = c.clone();
        needless.metrics[0]
            .engine_notes
            .insert("clickhouse".into(), "why".into());
        let e = needless.check().unwrap_err().to_string();
        assert!(e.contains("every fragment renders"), "{e}");
        let mut entity = c.clone();
        entity.entities.get_mut("call").unwrap().from = "fact_calls c USING SAMPLE 10%".into();
        assert!(entity.check().is_err());
    }
}
