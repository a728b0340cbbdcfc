//! The metric catalogue: every KPI as declarative data (the TOML files in `catalogue/`,
//! embedded in the binary). CLI help, `explain`, query validation and every surface read it;
//! adding a metric touches one file.

mod check;
mod dialects;
mod doc;
mod entity;
mod facts;
mod portable;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use check::PLACEHOLDERS;
pub use doc::{interval_method, MetricDoc, SOURCES, TIME_GRAINS};
pub use entity::{EntityDef, EntityJoin};
pub use facts::{config_tables, config_tables_read_by, reads, FactDef, Stored, StoredFact};
pub use portable::{render, Fragment, Target};

/// A catalogue that does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// A file is not valid TOML for the model.
    #[error("catalogue file {file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A definition is inconsistent.
    #[error("metric `{metric}`: {message}")]
    Invalid {
        /// The metric.
        metric: String,
        /// What is wrong.
        message: String,
    },
}

/// How a metric is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calculation {
    /// Count of rows.
    Count,
    /// Share of rows per value of `share_of`, within the other dimensions.
    Share,
    /// Rows meeting `numerator` / rows × 100.
    Proportion,
    /// Mean, median or percentile of `value`.
    Distribution,
    /// Net Promoter Score.
    Nps,
    /// Open tickets at each bucket end.
    Backlog,
    /// Customer retention (E − N) / S.
    Retention,
    /// Customer churn / S.
    Churn,
    /// Costs of one kind spread over the bucket / rows of another entity counted in it
    /// (`cost_kind`, `per_from`, `per_anchor`, `per_filter`).
    CostRatio,
    /// Repeat purchase rate.
    RepeatPurchase,
    /// Weighted mean of component rates over the bucket's rows (`component`, with weights
    /// from the configuration): the engagement score.
    Composite,
    /// Coefficient of variation across units (`per`, e.g. agents) of a per-unit mean of
    /// `value` (or rate of `numerator`): how alike the units perform.
    Spread,
}

impl Calculation {
    /// The catalogue's name of the calculation (`cost_ratio`).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Whether the calculation's rows come from the entity's anchor, one instant per row
    /// (so they can also be broken down by the local time of day).
    pub fn is_row_wise(self) -> bool {
        matches!(
            self,
            Calculation::Count
                | Calculation::Share
                | Calculation::Proportion
                | Calculation::Distribution
                | Calculation::Nps
        )
    }
}

/// Dimensions of the local time of day of a metric's anchor instant: weekday (`Mon`…`Sun`)
/// and hour (`00`…`23`), in the query's zone.
pub const TIME_OF_DAY: [&str; 2] = ["time:weekday", "time:hour"];

/// The unit of a metric's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A count.
    Count,
    /// 0–100.
    Percent,
    /// Seconds (durations).
    Seconds,
    /// A score on a survey scale.
    Score,
    /// −100…100.
    Nps,
    /// Money in the data's currency.
    Currency,
}

/// Which way is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is better.
    HigherIsBetter,
    /// Lower is better.
    LowerIsBetter,
    /// Neither.
    Neutral,
}

/// What an empty bucket shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Empty {
    /// 0 (counts).
    Zero,
    /// No value.
    Null,
}

/// The report group a metric is presented in (report sections, dashboard tabs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Surveys: CSAT, NPS, CES, ESAT.
    Satisfaction,
    /// Response and waiting times.
    Speed,
    /// Resolution times and rates, effort, cost per resolution.
    Resolution,
    /// Volume, mix, backlog, self-service.
    Volume,
    /// SLA compliance.
    Sla,
    /// Call centre.
    Calls,
    /// Retention, churn, acquisition, value, loyalty.
    Customers,
    /// Quality reviews and consistency.
    Quality,
    /// Social listening.
    Social,
}

impl Group {
    /// Every group in presentation order.
    pub const ALL: [Group; 9] = [
        Group::Satisfaction,
        Group::Speed,
        Group::Resolution,
        Group::Volume,
        Group::Sla,
        Group::Calls,
        Group::Customers,
        Group::Quality,
        Group::Social,
    ];

    /// The group's name (`satisfaction`).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// A heading for people.
    pub fn title(self) -> &'static str {
        match self {
            Group::Satisfaction => "Satisfaction",
            Group::Speed => "Speed",
            Group::Resolution => "Resolution",
            Group::Volume => "Volume",
            Group::Sla => "SLA",
            Group::Calls => "Calls",
            Group::Customers => "Customers",
            Group::Quality => "Quality",
            Group::Social => "Social",
        }
    }
}

/// Whether a metric is a headline KPI: `true`, or for a distribution the stats shown
/// (`["median", "p90"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Headline {
    /// Shown (or not) with its default stat.
    Flag(bool),
    /// Shown with these stats.
    Stats(Vec<String>),
}

impl Default for Headline {
    fn default() -> Self {
        Headline::Flag(false)
    }
}

/// One metric definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Stable id, e.g. `first_response_time`.
    pub id: String,
    /// Human label.
    pub label: String,
    /// One-sentence description.
    pub description: String,
    /// The formula in words.
    pub formula: String,
    /// Fact entity it is computed over.
    pub entity: String,
    /// The report group it is presented in.
    pub group: Group,
    /// Whether it is a headline KPI (and with which stats).
    #[serde(default)]
    pub headline: Headline,
    /// SQL expression of the instant it counts by.
    pub anchor: String,
    /// The counting rule in words.
    pub counts_by: String,
    /// How it is computed.
    pub calculation: Calculation,
    /// SQL value expression (distribution).
    pub value: Option<String>,
    /// SQL value expression in business time (durations with a calendar variant).
    pub business_value: Option<String>,
    /// SQL boolean numerator (proportion).
    pub numerator: Option<String>,
    /// SQL row filter.
    pub filter: Option<String>,
    /// The dimension a share is taken over.
    pub share_of: Option<String>,
    /// Whether share rows are ranked.
    #[serde(default)]
    pub rank: bool,
    /// Unit of the value.
    pub unit: Unit,
    /// Direction.
    pub direction: Direction,
    /// What an empty bucket shows.
    pub empty: Empty,
    /// Source articles.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Decisions recorded where sources disagree.
    #[serde(default)]
    pub decisions: Vec<String>,
    /// Cost ratio: the kind of cost lines summed (`kind` column of costs).
    pub cost_kind: Option<String>,
    /// Cost ratio: SQL FROM of the rows divided by.
    pub per_from: Option<String>,
    /// Cost ratio: SQL instant those rows count by.
    pub per_anchor: Option<String>,
    /// Cost ratio: SQL filter on those rows.
    pub per_filter: Option<String>,
    /// Dimensions only this metric offers.
    #[serde(default)]
    pub extra_dimensions: BTreeMap<String, String>,
    /// Dimensions always added to this metric's breakdown (e.g. `sla:target`).
    #[serde(default)]
    pub breakdown: Vec<String>,
    /// SQL condition (over the entity and the bucket `b`) for rows that belong to every
    /// bucket they meet — e.g. customers active in the bucket — instead of the bucket of
    /// their anchor instant.
    pub per_bucket: Option<String>,
    /// Per-bucket metrics: one aggregate of each row's events per bucket (`ev.value` in the
    /// value, numerator and component expressions). Without `per_bucket`, the rows of a
    /// bucket are those with events in it.
    pub bucket_events: Option<BucketEvents>,
    /// Composite: SQL boolean template of one component (`{program}` is filled in).
    pub component: Option<String>,
    /// Spread: SQL of the unit compared (e.g. the agent).
    pub per: Option<String>,
    /// The time grain the metric is defined over (`time:month` for retention, churn, CAC,
    /// CLV, engagement): surfaces chart it at this grain whatever their period, since a
    /// one-day retention is not what anyone tracks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub natural_grain: Option<String>,
    /// What an engine cannot compute exactly as DuckDB does, by engine (`clickhouse`): shown
    /// by `explain`, and the query there answers an error rather than a different number.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub engine_notes: BTreeMap<String, String>,
    /// The family (file) it came from.
    #[serde(skip_deserializing)]
    pub family: String,
}

/// The events a per-bucket metric aggregates for each of its rows and each bucket, e.g. a
/// customer's orders in the month. They are grouped once by (row, bucket) and joined to the
/// rows by the entity's record id, so the work grows with the events, never with buckets × rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketEvents {
    /// SQL FROM of the events (`orders o`).
    pub from: String,
    /// SQL of the row an event belongs to; it equals the entity's record id (`o.customer_id`).
    pub key: String,
    /// SQL instant of the event (`o.ordered_at`).
    pub at: String,
    /// SQL aggregate over one row's events in one bucket (`sum(o.amount)`).
    pub aggregate: String,
    /// Whether a bucket takes every event before its end, not only those inside it.
    #[serde(default)]
    pub to_date: bool,
}

impl Metric {
    /// Whether its rows belong to every bucket they meet (customers active in it, customers
    /// with orders in it) rather than to the bucket of their anchor instant.
    pub fn is_per_bucket(&self) -> bool {
        self.per_bucket.is_some() || self.bucket_events.is_some()
    }

    /// Whether `:mean`, `:median`, `:pNN` apply.
    pub fn has_distribution(&self) -> bool {
        self.calculation == Calculation::Distribution
    }

    /// The result keys of its headline values (`first_response_time:median`, …); empty when
    /// it is not a headline KPI.
    pub fn headline_keys(&self) -> Vec<String> {
        match &self.headline {
            Headline::Flag(false) => Vec::new(),
            Headline::Flag(true) => vec![self.id.clone()],
            Headline::Stats(stats) => stats.iter().map(|s| format!("{}:{s}", self.id)).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntitiesFile {
    dimension_groups: BTreeMap<String, BTreeMap<String, String>>,
    entities: BTreeMap<String, EntityDef>,
    facts: BTreeMap<String, FactDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsFile {
    metric: Vec<Metric>,
}

/// The built-in catalogue files: (family, text).
const FAMILIES: &[(&str, &str)] = &[
    (
        "tickets",
        include_str!("../../../../catalogue/tickets.toml"),
    ),
    (
        "surveys",
        include_str!("../../../../catalogue/surveys.toml"),
    ),
    ("calls", include_str!("../../../../catalogue/calls.toml")),
    (
        "customers",
        include_str!("../../../../catalogue/customers.toml"),
    ),
    (
        "feedback",
        include_str!("../../../../catalogue/feedback.toml"),
    ),
    ("social", include_str!("../../../../catalogue/social.toml")),
];
const ENTITIES_FILE: &str = include_str!("../../../../catalogue/entities.toml");

/// The loaded catalogue.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Metrics in catalogue order.
    pub metrics: Vec<Metric>,
    /// Entities with their dimension groups expanded into `dimensions`.
    pub entities: BTreeMap<String, EntityDef>,
    /// Fact definitions by name: computed in every query, or stored at derivation.
    pub facts: BTreeMap<String, FactDef>,
    /// The engine whose spelling the SQL is in (DuckDB's as loaded, see
    /// [`Catalogue::for_target`]).
    pub target: Target,
    /// Whether its configuration placeholders are filled: the catalogue of one query, bound to
    /// the configuration and the engine's dialect (`vitals_query::bind`).
    pub bound: bool,
}

impl Catalogue {
    /// The built-in catalogue.
    pub fn builtin() -> Result<Catalogue, CatalogueError> {
        let parse_err = |file: &str, e: toml::de::Error| CatalogueError::Parse {
            file: file.into(),
            message: e.to_string(),
        };
        let ef: EntitiesFile =
            toml::from_str(ENTITIES_FILE).map_err(|e| parse_err("entities.toml", e))?;
        let mut entities = ef.entities;
        for (name, entity) in entities.iter_mut() {
            for group in &entity.dimension_groups {
                let dims =
                    ef.dimension_groups
                        .get(group)
                        .ok_or_else(|| CatalogueError::Invalid {
                            metric: format!("(entity {name})"),
                            message: format!("unknown dimension group `{group}`"),
                        })?;
                entity.dimensions.extend(dims.clone());
            }
        }
        let mut metrics = Vec::new();
        for (family, text) in FAMILIES {
            let file: MetricsFile =
                toml::from_str(text).map_err(|e| parse_err(&format!("{family}.toml"), e))?;
            for mut m in file.metric {
                m.family = family.to_string();
                metrics.push(m);
            }
        }
        let catalogue = Catalogue {
            metrics,
            entities,
            facts: ef.facts,
            target: Target::DuckDb,
            bound: false,
        };
        catalogue.check()?;
        Ok(catalogue)
    }

    /// The stored facts under `config`, as the writer maintains them (see [`StoredFact`]).
    pub fn stored_facts(&self, config: &crate::config::Config) -> Vec<StoredFact> {
        facts::stored_facts(&self.facts, config, self.target)
    }

    /// A metric by id.
    pub fn metric(&self, id: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.id == id)
    }

    /// The dimensions a metric can be broken down by (besides time), with their SQL.
    pub fn dimensions_of(&self, metric: &Metric) -> BTreeMap<String, String> {
        let mut dims = self
            .entities
            .get(&metric.entity)
            .map(|e| e.dimensions.clone())
            .unwrap_or_default();
        dims.extend(metric.extra_dimensions.clone());
        dims
    }

    /// Every entity dimension name known to the catalogue.
    pub fn all_dimension_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .entities
            .values()
            .flat_map(|e| e.dimensions.keys().cloned())
            .chain(
                self.metrics
                    .iter()
                    .flat_map(|m| m.extra_dimensions.keys().cloned()),
            )
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The closest known name to `wanted`, for "did you mean" messages: Damerau-Levenshtein (a
/// swapped pair of letters is one edit), accepted within two edits or 60% similarity.
pub fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(wanted, k),
                strsim::normalized_damerau_levenshtein(wanted, k),
                k,
            )
        })
        .filter(|(edits, similarity, _)| *edits <= 2 || *similarity >= 0.6)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_loads_and_holds_together() {
        let c = Catalogue::builtin().unwrap();
        for id in [
            "ticket_volume",
            "channel_mix",
            "top_categories",
            "first_response_time",
            "average_response_time",
            "resolution_time",
            "first_resolution_time",
            "fcr",
            "resolution_rate",
            "reopen_rate",
            "agent_touches",
            "interactions_per_ticket",
            "backlog",
            "csat",
            "csat_mean",
            "nps",
            "nps_promoters",
            "nps_passives",
            "nps_detractors",
            "ces",
            "ces_easy",
            "average_wait_time",
            "answer_rate",
            "abandon_rate",
            "service_level",
            "average_handle_time_calls",
            "retention_rate",
            "churn_rate",
            "cac",
            "repeat_purchase_rate",
            "sla_compliance",
            "survey_response_rate",
            "iqs",
            "adherence",
            "consistency_csat",
            "consistency_resolution_time",
            "consistency_iqs",
            "engagement_score",
            "referral_rate",
            "referrals_per_customer",
            "referral_conversion",
            "social_mentions",
            "social_sentiment",
            "peak_hours",
            "clv_historical",
            "clv_purchase",
            "clv_simple",
        ] {
            assert!(c.metric(id).is_some(), "missing {id}");
        }
        let frt = c.metric("first_response_time").unwrap();
        assert!(c.dimensions_of(frt).contains_key("ticket:channel"));
        assert!(c
            .dimensions_of(c.metric("csat").unwrap())
            .contains_key("survey:agent"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("frist_response_time", ["first_response_time", "csat"]),
            Some("first_response_time")
        );
        assert_eq!(did_you_mean("nsp", ["nps", "csat", "ces"]), Some("nps"));
        assert_eq!(
            did_you_mean("ticket:chanel", ["ticket:channel", "ticket:category"]),
            Some("ticket:channel")
        );
        assert_eq!(did_you_mean("zzz", ["csat"]), None);
    }
}
