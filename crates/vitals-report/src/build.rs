//! Builds the [`ReportModel`] of a month or an ISO week ([`Period`]) from query-library calls
//! only: `run_query` for every metric (by month or week, compared with the previous one, with
//! targets), for the team and agent tables and the daily volume; `why` for "What moved";
//! `spikes` and `staffing` for their sections. Nothing here computes a metric; the agents'
//! team median is a summary of the agents' query values.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use vitals_core::catalogue::{Catalogue, Metric};
use vitals_core::config::Config;
use vitals_query::staffing::{staffing_between, StaffingRequest};
use vitals_query::{
    run_query, spikes, CompareMode, Engine, FactsReadOnce, Filter, MetricSpec, OperationalReads,
    QueryRequest, QueryResponse, ResultRow, SpikeRequest, Versus, WhyRequest,
};

use crate::format::{change, unit_name, value};
use crate::model::{
    Column, FormulaDoc, MetricGroup, MetricRow, ReportModel, Riser, Series, Shown, TableRow, Volume,
};
use crate::period::{periods_with_data, Grain, Period};
use crate::ReportError;

/// What a report is asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// The period: a month `YYYY-MM`, or an ISO week `YYYY-Www` (Monday to Sunday).
    #[serde(alias = "month")]
    pub period: String,
    /// Limit ticket metrics to one team (`ticket:team`).
    #[serde(default)]
    pub team: Option<String>,
    /// IANA zone (the reporting zone when absent).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// Metrics not shown in the metrics table, and why: peak hours is a weekday × hour breakdown
/// (the Staffing sheet shows its busiest cells).
const NOT_TABULATED: [&str; 1] = ["peak_hours"];

struct Ctx<'a> {
    engine: &'a dyn Engine,
    reads: &'a dyn OperationalReads,
    catalogue: &'a Catalogue,
    config: &'a Config,
    request: &'a ReportRequest,
    period: &'a Period,
    from: NaiveDate,
    to: NaiveDate,
}

impl Ctx<'_> {
    fn filters(&self, metric: &Metric) -> Vec<Filter> {
        match &self.request.team {
            Some(team) if self.applies_to_team(metric) => vec![Filter {
                dimension: "ticket:team".into(),
                op: vitals_query::request::FilterOp::Is,
                values: vec![team.clone()],
            }],
            _ => Vec::new(),
        }
    }

    fn applies_to_team(&self, metric: &Metric) -> bool {
        self.catalogue
            .dimensions_of(metric)
            .contains_key("ticket:team")
    }

    fn query(
        &self,
        key: &str,
        by: &[&str],
        from: NaiveDate,
        compare: bool,
    ) -> Result<QueryResponse, ReportError> {
        self.query_many(&[key.to_string()], by, from, compare)
    }

    /// One request for several metric keys that take the same filters (the query library
    /// answers metrics that read the same rows with one statement).
    fn query_many(
        &self,
        keys: &[String],
        by: &[&str],
        from: NaiveDate,
        compare: bool,
    ) -> Result<QueryResponse, ReportError> {
        let specs: Vec<MetricSpec> = keys.iter().map(|k| MetricSpec::parse(k)).collect();
        let metric = specs
            .first()
            .and_then(|spec| self.catalogue.metric(&spec.id))
            .ok_or_else(|| ReportError::Internal(format!("no metric in {keys:?}")))?;
        Ok(run_query(
            self.engine,
            self.catalogue,
            self.config,
            &QueryRequest {
                metrics: specs,
                by: by.iter().map(|s| s.to_string()).collect(),
                filters: self.filters(metric),
                from: Some(from),
                to: Some(self.to),
                timezone: self.request.timezone.clone(),
                compare: compare.then_some(CompareMode::Previous),
            },
        )?)
    }
}

fn dim<'r>(row: &'r ResultRow, name: &str) -> Option<&'r str> {
    row.dimensions
        .iter()
        .find(|(d, _)| d == name)
        .and_then(|(_, v)| v.as_deref())
}

/// The keys shown for a metric: its headline stats, else its default value.
fn keys(metric: &Metric) -> Vec<String> {
    match metric.headline_keys() {
        k if k.is_empty() || !metric.has_distribution() => vec![metric.id.clone()],
        k => k,
    }
}

/// How many periods the metrics table shows (the report's and the five before it).
const SHOWN: u32 = 6;

/// Builds the report of a month or a week from the query library's answers on `engine` (spikes marked
/// with the annotations `reads` holds).
pub fn build(
    engine: &dyn Engine,
    reads: &dyn OperationalReads,
    catalogue: &Catalogue,
    config: &Config,
    request: &ReportRequest,
) -> Result<ReportModel, ReportError> {
    let period = Period::parse(&request.period)?;
    let (from, to) = (period.from, period.to);
    // Every query of the report reads the facts state of one moment, once.
    let engine = &FactsReadOnce::new(engine);
    let with_data = periods_with_data(
        engine,
        catalogue,
        config,
        &period,
        request.timezone.as_deref(),
    )?;
    if !with_data.contains(&period.label) {
        let mut periods: Vec<String> = with_data.into_iter().collect();
        if period.grain == Grain::Week && periods.len() > 8 {
            // Weeks are many: the latest eight say where the data is.
            periods.drain(..periods.len() - 8);
            periods.insert(0, "…".into());
        }
        return Err(ReportError::NoData {
            month: period.label.clone(),
            months: periods,
            unit: period.words().unit,
        });
    }
    let first = period.start_back(SHOWN - 1)?;
    let months = period.shown(SHOWN)?;
    let ctx = Ctx {
        engine,
        reads,
        catalogue,
        config,
        request,
        period: &period,
        from,
        to,
    };
    let mut notes = BTreeMap::new();
    let mut groups: Vec<MetricGroup> = Vec::new();
    let mut shown = Vec::new();
    // A metric the engine cannot compute exactly as DuckDB does (its `engine_notes`) is left
    // out, and the report's notes say so, rather than failing the whole report.
    let target = engine.dialect().target();
    let (tabulated, not_on_engine): (Vec<&Metric>, Vec<&Metric>) = catalogue
        .metrics
        .iter()
        .filter(|m| !NOT_TABULATED.contains(&m.id.as_str()))
        .partition(|m| m.engine_note(target).is_none());
    if !not_on_engine.is_empty() {
        let names: Vec<&str> = not_on_engine.iter().map(|m| m.id.as_str()).collect();
        notes.insert(
            "not_on_engine".to_string(),
            format!(
                "not computed on {}, and left out: {} (`vitals explain` says why)",
                target.name(),
                names.join(", ")
            ),
        );
    }
    // Every metric by month in as few requests as there are filter sets (a team filter
    // applies to ticket metrics only).
    let mut requests: Vec<(bool, Vec<String>)> = Vec::new();
    for metric in &tabulated {
        let team = ctx.applies_to_team(metric) && request.team.is_some();
        match requests.iter_mut().find(|(t, _)| *t == team) {
            Some((_, keys_of)) => keys_of.extend(keys(metric)),
            None => requests.push((team, keys(metric))),
        }
    }
    let mut responses = Vec::new();
    for (team, keys_of) in &requests {
        let response = ctx.query_many(keys_of, &[period.dimension()], first, true)?;
        for w in &response.meta.warnings {
            if w.code != "low_sample" {
                notes.insert(w.code.clone(), w.message.clone());
            }
        }
        responses.push((*team, response));
    }
    for metric in tabulated {
        let team = ctx.applies_to_team(metric) && request.team.is_some();
        let Some((_, response)) = responses.iter().find(|(t, _)| *t == team) else {
            continue;
        };
        let mut rows = Vec::new();
        for key in keys(metric) {
            rows.extend(metric_rows(&ctx, metric, &key, &months, response));
        }
        if rows.is_empty() {
            continue;
        }
        shown.push(metric);
        match groups.iter_mut().find(|g| g.name == metric.group.name()) {
            Some(g) => g.rows.extend(rows),
            None => groups.push(MetricGroup {
                name: metric.group.name(),
                title: metric.group.title().to_string(),
                rows,
            }),
        }
    }
    groups.sort_by_key(|g| {
        vitals_core::catalogue::Group::ALL
            .iter()
            .position(|x| x.name() == g.name)
    });
    let now = vitals_core::now::now_us().map_err(ReportError::Internal)?;
    let zone: chrono_tz::Tz = staffing_zone(&ctx)?;
    let today = DateTime::from_timestamp_micros(now)
        .unwrap_or_default()
        .with_timezone(&zone)
        .date_naive();
    let partial = today < to;
    if partial {
        notes.insert(
            "partial".into(),
            format!("{} is still in progress (today is {today}): its numbers are partial and will change.", period.label),
        );
    }
    if let Some(team) = &request.team {
        notes.insert(
            "team".into(),
            format!("Limited to team {team} where a metric has tickets' teams; metrics marked “organisation-wide” (calls, customers, social) cannot be limited to a team."),
        );
    }
    let what_moved =
        crate::moved::what_moved(engine, catalogue, config, &groups, |metric, key| {
            WhyRequest {
                metric: MetricSpec::parse(key),
                by: Vec::new(),
                filters: ctx.filters(metric),
                from: Some(from),
                to: Some(to),
                timezone: request.timezone.clone(),
                vs: Some(Versus::Previous),
                min_support: None,
            }
        })?;
    let tables = ctx_tables(&ctx);
    let staffing = staffing_between(
        engine,
        catalogue,
        config,
        &StaffingRequest {
            month: None,
            timezone: request.timezone.clone(),
            top: Some(10),
        },
        &period.label,
        from,
        to,
    )?;
    Ok(ReportModel {
        month: period.label.clone(),
        month_title: period.title(),
        grain: period.grain,
        words: period.words(),
        months,
        partial,
        timezone: zone.name().to_string(),
        team: request.team.clone(),
        groups,
        what_moved,
        teams: crate::tables::teams(&tables)?,
        agents: crate::tables::agents(&tables)?,
        volume: volume(&ctx)?,
        formulas: shown.iter().map(|m| formula_doc(catalogue, m)).collect(),
        spike_method: vitals_query::spikes::METHOD.to_string(),
        calculators: crate::calculator::rows()?,
        staffing,
        notes: notes.into_values().collect(),
    })
}

fn staffing_zone(ctx: &Ctx) -> Result<chrono_tz::Tz, ReportError> {
    match &ctx.request.timezone {
        Some(z) => z.parse().map_err(|_| {
            ReportError::Query(vitals_query::QueryError::Unknown {
                kind: "time zone",
                name: z.clone(),
                suggestions: Vec::new(),
                known: Vec::new(),
            })
        }),
        None => Ok(ctx.config.reporting_zone()),
    }
}

fn ctx_tables<'a>(ctx: &'a Ctx<'a>) -> crate::tables::TableCtx<'a> {
    crate::tables::TableCtx {
        query: Box::new(move |key, by| ctx.query(key, by, ctx.from, false)),
    }
}

fn label(metric: &Metric, key: &str) -> String {
    match key.split_once(':') {
        Some((_, stat)) => format!("{} ({stat})", metric.label),
        None => metric.label.clone(),
    }
}

/// The rows of one metric key: one per breakdown value, each with six months.
fn metric_rows(
    ctx: &Ctx,
    metric: &Metric,
    key: &str,
    months: &[String],
    response: &QueryResponse,
) -> Vec<MetricRow> {
    let unit = unit_name(metric.unit);
    let mut by_breakdown: BTreeMap<Option<(String, String)>, Vec<&ResultRow>> = BTreeMap::new();
    for row in &response.results {
        let breakdown = row
            .dimensions
            .iter()
            .find(|(d, _)| !d.starts_with("time:"))
            .map(|(d, v)| (d.clone(), v.clone().unwrap_or_else(|| "(none)".into())));
        by_breakdown.entry(breakdown).or_default().push(row);
    }
    let mut out = Vec::new();
    for (breakdown, rows) in by_breakdown {
        let at = |m: &str| {
            rows.iter()
                .find(|r| dim(r, ctx.period.dimension()) == Some(m))
                .and_then(|r| r.metrics.iter().find(|(k, _)| k == key))
                .map(|(_, v)| v)
        };
        let values: Vec<Option<f64>> = months
            .iter()
            .map(|m| at(m).and_then(|v| v.value.filter(|_| v.n > 0 || v.exact)))
            .collect();
        let has_data = months.iter().any(|m| at(m).is_some_and(|v| v.n > 0));
        if !has_data {
            continue;
        }
        let current = months.last().and_then(|m| at(m));
        let compare = current.and_then(|v| v.compare.as_ref());
        let ci = current.and_then(|v| v.ci).map(|c| (c.low, c.high));
        let change_value = compare.and_then(|c| c.change);
        let shown = Shown {
            target: current
                .and_then(|v| v.target)
                .map(|t| value(Some(t.value), &unit))
                .unwrap_or_default(),
            change: match (change_value, compare.and_then(|c| c.change_pct)) {
                (Some(c), Some(p)) => format!("{} ({p:+.1}\u{a0}%)", change(Some(c), &unit)),
                (c, _) => change(c, &unit),
            },
            ci: ci
                .map(|(lo, hi)| format!("{} – {}", value(Some(lo), &unit), value(Some(hi), &unit)))
                .unwrap_or_default(),
        };
        out.push(MetricRow {
            key: key.to_string(),
            id: metric.id.clone(),
            label: label(metric, key),
            unit: unit.clone(),
            direction: serde_json::to_value(metric.direction)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            display: values.iter().map(|v| value(*v, &unit)).collect(),
            values,
            breakdown,
            n: current.map_or(0, |v| v.n),
            ci,
            low_sample: current.is_some_and(|v| v.low_sample),
            target: current.and_then(|v| v.target).map(|t| t.value),
            on_target: current.and_then(|v| v.target).and_then(|t| t.on_target),
            change: change_value,
            change_pct: compare.and_then(|c| c.change_pct),
            p_value: compare.and_then(|c| c.p_value),
            significant: compare.and_then(|c| c.significant),
            organisation_wide: ctx.request.team.is_some() && !ctx.applies_to_team(metric),
            shown,
        });
    }
    out
}

fn formula_doc(catalogue: &Catalogue, m: &Metric) -> FormulaDoc {
    FormulaDoc {
        id: m.id.clone(),
        label: m.label.clone(),
        group: m.group.title().to_string(),
        description: m.description.clone(),
        formula: m.formula.clone(),
        counts_by: m.counts_by.clone(),
        interval: catalogue.doc(m).interval.to_string(),
        decisions: m.decisions.clone(),
    }
}

/// Daily series of `ticket_volume` split by `by`, biggest first.
fn daily(ctx: &Ctx, by: &str, days: &[String]) -> Result<Vec<Series>, ReportError> {
    let response = ctx.query("ticket_volume", &["time:day", by], ctx.from, false)?;
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for row in &response.results {
        let (Some(day), name) = (dim(row, "time:day"), dim(row, by).unwrap_or("(none)")) else {
            continue;
        };
        let count = row
            .metrics
            .first()
            .and_then(|(_, v)| v.value)
            .unwrap_or(0.0);
        if let Some(i) = days.iter().position(|d| d == day) {
            series
                .entry(name.to_string())
                .or_insert_with(|| vec![0.0; days.len()])[i] += count;
        }
    }
    let mut out: Vec<Series> = series
        .into_iter()
        .map(|(name, values)| Series {
            total: values.iter().sum(),
            name,
            values,
        })
        .filter(|s| s.total > 0.0)
        .collect();
    out.sort_by(|a, b| b.total.total_cmp(&a.total).then(a.name.cmp(&b.name)));
    Ok(out)
}

fn volume(ctx: &Ctx) -> Result<Volume, ReportError> {
    let days: Vec<String> = ctx
        .from
        .iter_days()
        .take_while(|d| *d < ctx.to)
        .map(|d| d.to_string())
        .collect();
    let by_category = ctx.query(
        "ticket_volume",
        &[ctx.period.dimension(), "ticket:category"],
        ctx.from,
        true,
    )?;
    let mut risers: Vec<Riser> = by_category
        .results
        .iter()
        .filter_map(|r| {
            let v = &r.metrics.first()?.1;
            let c = v.compare.as_ref();
            Some(Riser {
                name: dim(r, "ticket:category").unwrap_or("(none)").to_string(),
                count: v.value?,
                previous: c.and_then(|c| c.value),
                change: c.and_then(|c| c.change),
                change_pct: c.and_then(|c| c.change_pct),
                significant: c.and_then(|c| c.significant),
            })
        })
        .filter(|r| r.change.is_some_and(|c| c > 0.0))
        .collect();
    risers.sort_by(|a, b| {
        b.change
            .unwrap_or(0.0)
            .total_cmp(&a.change.unwrap_or(0.0))
            .then(a.name.cmp(&b.name))
    });
    risers.truncate(5);
    let spike_request = |by: Option<&str>| SpikeRequest {
        by: by.map(str::to_string),
        from: Some(ctx.from),
        to: Some(ctx.to),
        timezone: ctx.request.timezone.clone(),
        filters: ctx
            .request
            .team
            .iter()
            .map(|t| Filter {
                dimension: "ticket:team".into(),
                op: vitals_query::request::FilterOp::Is,
                values: vec![t.clone()],
            })
            .collect(),
        ..Default::default()
    };
    let total = spikes(
        ctx.engine,
        ctx.reads,
        ctx.catalogue,
        ctx.config,
        &spike_request(None),
    )?;
    let per_category = spikes(
        ctx.engine,
        ctx.reads,
        ctx.catalogue,
        ctx.config,
        &spike_request(Some("ticket:category")),
    )?;
    Ok(Volume {
        categories: daily(ctx, "ticket:category", &days)?,
        channels: daily(ctx, "ticket:channel", &days)?,
        days,
        risers,
        spikes: total.spikes,
        category_spikes: per_category.spikes,
    })
}

/// The table columns' display for a row.
pub(crate) fn display_row(columns: &[Column], values: &[Option<f64>]) -> Vec<String> {
    columns
        .iter()
        .zip(values)
        .map(|(c, v)| value(*v, &c.unit))
        .collect()
}

/// A ranked row.
pub(crate) fn table_row(
    rank: Option<usize>,
    name: String,
    team: Option<String>,
    kind: &str,
    columns: &[Column],
    values: Vec<Option<f64>>,
) -> TableRow {
    TableRow {
        rank,
        name,
        team,
        kind: kind.into(),
        display: display_row(columns, &values),
        values,
    }
}
