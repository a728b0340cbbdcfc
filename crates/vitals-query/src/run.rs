//! Runs a query end to end: resolve the request against the catalogue, settle the period
//! (the data's extent when `from`/`to` are not given), make the buckets in the query's zone,
//! plan each metric, run it on the engine and finalise. Every surface calls this one function,
//! so the CLI, the API, the dashboard and the report always agree.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate};
use chrono_tz::Tz;
use vitals_core::catalogue::{reads, Catalogue, StoredFact};
use vitals_core::config::Config;

use crate::bind::{bind, refuse_unsupported};
use crate::buckets::{buckets, Bucket};
use crate::compare::{attach, comparison_period};
use crate::engine::{Engine, FactsState};
use crate::error::QueryError;
use crate::limits::{check_buckets, check_rows, check_span};
use crate::plan::{extent_sql, plan_metric, quantiles, PlannedSql};
use crate::request::QueryRequest;
use crate::resolve::{resolve, ResolvedMetric, ResolvedQuery};
use crate::response::{
    ComparedPeriod, Meta, PeriodExplicit, QueryEcho, QueryParams, QueryResponse,
    ServiceLevelParams, Warning,
};
use crate::result::{finalize, low_sample_warnings, merge, FinalRows, ResultRow};
use crate::shared::{plan_shared, scan_key, Member};
use crate::targets;

fn local_date(zone: Tz, us: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .with_timezone(&zone)
        .date_naive()
}

fn fmt_utc(us: i64) -> String {
    DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Whether a result row's time bucket is one of `list`.
fn in_buckets(row: &ResultRow, time: Option<&str>, list: &[Bucket]) -> bool {
    let label = row
        .dimensions
        .iter()
        .find(|(d, _)| Some(d.as_str()) == time)
        .and_then(|(_, v)| v.as_deref());
    label.is_some_and(|l| list.iter().any(|b| b.label == l))
}

/// Answers a query on an engine.
pub fn run_query(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &QueryRequest,
) -> Result<QueryResponse, QueryError> {
    let bound = bind(engine.dialect(), catalogue, config);
    let catalogue = &*bound;
    let resolved = resolve(catalogue, request, config.reporting_zone())?;
    refuse_unsupported(engine.dialect(), &resolved)?;
    let facts = FactsStateOnce::new(engine);
    let (stored_warnings, in_query) = stored_facts_state(&facts, catalogue, config, &resolved)?;
    let catalogue = in_query.as_ref().unwrap_or(catalogue);
    let (from, to) = period(engine, catalogue, config, &resolved)?;
    let zone = resolved.zone;
    let limits = &config.limits;
    let grain_name = resolved.grain.map_or("period", |g| g.dimension());
    let bucket_list = match (from, to) {
        (Some(f), Some(t)) => {
            check_span(limits, f, t)?;
            buckets(zone, resolved.grain, f, t)
        }
        _ => Vec::new(),
    };
    check_buckets(limits, bucket_list.len(), grain_name)?;
    let comparison = match (request.compare, from, to) {
        (Some(mode), Some(f), Some(t)) => {
            let (cf, ct) = comparison_period(mode, resolved.grain, f, t);
            Some((mode, cf, ct, buckets(zone, resolved.grain, cf, ct)))
        }
        _ => None,
    };
    // When the comparison buckets are buckets of the period extended back (the previous
    // month of a run of months), one pass over the extended period answers both.
    let extended = match (&comparison, from, to) {
        (Some((_, cf, _, compared_buckets)), Some(_), Some(t)) if resolved.grain.is_some() => {
            let all = buckets(zone, resolved.grain, *cf, t);
            let covers = |list: &[Bucket]| list.iter().all(|b| all.contains(b));
            (covers(&bucket_list) && covers(compared_buckets)).then_some(all)
        }
        _ => None,
    };
    let (mut results, compared_rows) = match (&extended, &comparison) {
        (None, Some((_, _, _, compared_buckets)))
            if resolved.grain.is_none()
                && matches!((&bucket_list[..], &compared_buckets[..]),
                    ([b], [c]) if c.end_us == b.start_us) =>
        {
            let (current, compared) = whole_period_with_comparison(
                engine,
                catalogue,
                config,
                &resolved,
                &bucket_list[0],
                &compared_buckets[0],
            )?;
            (current, Some(compared))
        }
        (Some(all), Some((_, _, _, compared_buckets))) => {
            let time = resolved.grain.map(|g| g.dimension());
            let rows_all = rows(engine, catalogue, config, &resolved, all)?;
            let pick = |list: &[Bucket]| -> Vec<ResultRow> {
                rows_all
                    .iter()
                    .filter(|r| in_buckets(r, time, list))
                    .cloned()
                    .collect()
            };
            (pick(&bucket_list), Some(pick(compared_buckets)))
        }
        _ => (
            rows(engine, catalogue, config, &resolved, &bucket_list)?,
            None,
        ),
    };
    let mut compared_period = None;
    if let Some((mode, cf, ct, compared_buckets)) = comparison {
        let compared = match compared_rows {
            Some(rows) => rows,
            None => rows(engine, catalogue, config, &resolved, &compared_buckets)?,
        };
        attach(
            &mut results,
            &bucket_list,
            &compared,
            &compared_buckets,
            resolved.grain.map(|g| g.dimension()),
        );
        compared_period = Some(ComparedPeriod {
            mode,
            from: cf,
            to: ct,
        });
    }
    respond(
        Answered {
            facts: &facts,
            catalogue,
            config,
            request,
            resolved: &resolved,
            stored_warnings,
            period: (from, to),
            buckets: &bucket_list,
            compared: compared_period,
        },
        results,
    )
}

/// A query's rows as they were answered, and what the answer says about them.
pub(crate) struct Answered<'a> {
    /// The facts' derivation state, read at most once.
    pub facts: &'a FactsStateOnce<'a>,
    /// The catalogue planned with.
    pub catalogue: &'a Catalogue,
    /// The configuration.
    pub config: &'a Config,
    /// The request.
    pub request: &'a QueryRequest,
    /// It resolved.
    pub resolved: &'a ResolvedQuery,
    /// The stored facts' warnings.
    pub stored_warnings: Vec<Warning>,
    /// The period answered.
    pub period: (Option<NaiveDate>, Option<NaiveDate>),
    /// Its buckets.
    pub buckets: &'a [Bucket],
    /// The comparison period, when one was asked.
    pub compared: Option<ComparedPeriod>,
}

/// The answer from a query's result rows: the row limit checked, targets, low-sample flags,
/// warnings and the echo of the query.
pub(crate) fn respond(
    answered: Answered,
    mut results: Vec<ResultRow>,
) -> Result<QueryResponse, QueryError> {
    let Answered {
        facts,
        catalogue,
        config,
        request,
        resolved,
        stored_warnings,
        period: (from, to),
        buckets: bucket_list,
        compared: compared_period,
    } = answered;
    let zone = resolved.zone;
    let limits = &config.limits;
    check_rows(limits, results.len())?;
    let configured_targets = config
        .targets()
        .map_err(|e| QueryError::Config(e.to_string()))?;
    targets::apply(&mut results, &configured_targets, catalogue);
    let min_sample = config.statistics.min_sample;
    for row in results.iter_mut() {
        for (_, value) in row.metrics.iter_mut() {
            value.low_sample = value.is_low_sample(min_sample);
        }
    }
    let mut warnings = facts_warnings(facts, catalogue, config, resolved)?;
    warnings.extend(stored_warnings);
    warnings.extend(low_sample_warnings(&results, min_sample));
    let asks_business = resolved
        .metrics
        .iter()
        .any(|m| m.asks.iter().any(|a| a.business));
    if asks_business && config.calendars.is_empty() {
        warnings.push(Warning {
            code: "no_calendar".into(),
            metric: None,
            message: "no business calendar is configured ([calendars.default] in vitals.toml): business-time stats are null".into(),
        });
    }
    if bucket_list.is_empty() {
        warnings.push(Warning {
            code: "no_data".into(),
            metric: None,
            message: "no data for these metrics in the store; import some first (vitals import)"
                .into(),
        });
    }
    let query = QueryEcho {
        metrics: request.metrics.clone(),
        by: request.by.clone(),
        filters: request.filters.clone(),
        from,
        to,
        period_explicit: PeriodExplicit {
            from: request.from.is_some(),
            to: request.to.is_some(),
        },
        timezone: zone.name().to_string(),
        from_utc: bucket_list.first().map(|b| fmt_utc(b.start_us)),
        to_utc: bucket_list.last().map(|b| fmt_utc(b.end_us)),
        anchors: resolved
            .metrics
            .iter()
            .map(|m| (m.metric.id.clone(), m.metric.counts_by.clone()))
            .collect::<BTreeMap<_, _>>(),
        params: params(config, resolved),
        compare: compared_period,
    };
    Ok(QueryResponse {
        query,
        results,
        meta: Meta { warnings },
    })
}

/// The configuration parameters that shaped this answer's numbers.
fn params(config: &Config, resolved: &ResolvedQuery) -> QueryParams {
    let mut params = QueryParams::default();
    if resolved
        .metrics
        .iter()
        .any(|m| m.metric.id == "service_level")
    {
        params.service_level = Some(ServiceLevelParams {
            threshold_secs: config.calls.service_level_secs,
            abandon_grace_secs: config.calls.abandon_grace_secs,
        });
    }
    if resolved.metrics.iter().any(|m| {
        m.metric.entity == "survey"
            && (m.dimensions.iter().any(|d| d == "survey:agent")
                || resolved
                    .filters
                    .iter()
                    .any(|f| f.dimension == "survey:agent")
                || m.metric.per.is_some())
    }) {
        params.survey_attribution = Some(config.attribution.surveys.name().to_string());
    }
    params
}

/// The derivation state of the facts, read from the engine at most once per query (the
/// stored facts' check and the ticket facts' warnings both need it).
pub(crate) struct FactsStateOnce<'e> {
    engine: &'e dyn Engine,
    state: OnceCell<FactsState>,
}

impl<'e> FactsStateOnce<'e> {
    pub(crate) fn new(engine: &'e dyn Engine) -> Self {
        FactsStateOnce {
            engine,
            state: OnceCell::new(),
        }
    }

    fn get(&self) -> Result<&FactsState, QueryError> {
        if let Some(state) = self.state.get() {
            return Ok(state);
        }
        let state = self.engine.facts_state()?;
        Ok(self.state.get_or_init(|| state))
    }
}

/// Warnings when the facts a ticket metric reads are not derived under this configuration:
/// tickets still waiting for derivation, or calendars / SLA policies changed since.
fn facts_warnings(
    facts: &FactsStateOnce,
    catalogue: &Catalogue,
    config: &Config,
    resolved: &ResolvedQuery,
) -> Result<Vec<Warning>, QueryError> {
    let reads_ticket_facts = resolved.metrics.iter().any(|m| {
        catalogue.entities.get(&m.metric.entity).is_some_and(|e| {
            let from = e.full_from();
            from.contains("fact_tickets") || from.contains("fact_sla")
        })
    });
    if !reads_ticket_facts {
        return Ok(Vec::new());
    }
    let fingerprint = config
        .derivation_rules()
        .map_err(|e| QueryError::Config(e.to_string()))?
        .fingerprint;
    Ok(staleness_warnings(facts.get()?, &fingerprint))
}

/// How the stored facts the metrics read (tables the writer keeps, named in their entity's
/// `from`) stand: a table built under another configuration than this one answers as it is,
/// with a warning; a table never built (an interrupted first import, a store upgraded by a
/// command that does not derive) is computed in the query from the catalogue's SQL, with a
/// warning — and then the returned catalogue, in which those facts are query-time facts, is
/// the one to plan with. Both warnings name `vitals derive`.
pub(crate) fn stored_facts_state(
    facts: &FactsStateOnce,
    catalogue: &Catalogue,
    config: &Config,
    resolved: &ResolvedQuery,
) -> Result<(Vec<Warning>, Option<Catalogue>), QueryError> {
    let read: Vec<StoredFact> = catalogue
        .stored_facts(config)
        .into_iter()
        .filter(|f| {
            resolved.metrics.iter().any(|m| {
                catalogue
                    .entities
                    .get(&m.metric.entity)
                    .is_some_and(|e| reads(&e.from, &f.name))
            })
        })
        .collect();
    if read.is_empty() {
        return Ok((Vec::new(), None));
    }
    let state = facts.get()?;
    let mut warnings = Vec::new();
    let mut in_query = catalogue.clone();
    let mut unbuilt = false;
    for fact in read {
        let message = match state.stored_facts.get(&fact.name) {
            None => {
                unbuilt = true;
                if let Some(f) = in_query.facts.get_mut(&fact.name) {
                    f.stored = None;
                }
                "is not built in this store yet (an interrupted import, or a store upgraded without deriving); it was computed for this query — run `vitals derive` to build it"
            }
            Some(built) if *built != fact.sql => "was built under another configuration (survey rules, rubric weights) or definition than this one's; run `vitals derive` to rebuild it",
            Some(_) => continue,
        };
        warnings.push(Warning {
            code: "stale_facts".into(),
            metric: None,
            message: format!("`{}` {message}", fact.name),
        });
    }
    Ok((warnings, unbuilt.then_some(in_query)))
}

/// Warnings when the derived facts are out of step with the derivation rules whose
/// fingerprint is `fingerprint`: tickets waiting for derivation, or facts derived under other
/// rules. Shared by queries and the SLA report.
pub fn staleness_warnings(state: &FactsState, fingerprint: &str) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if state.pending_tickets > 0 {
        warnings.push(Warning {
            code: "pending_derivation".into(),
            metric: None,
            message: format!(
                "{} tickets changed since their facts were derived; run `vitals derive` to bring the numbers up to date",
                state.pending_tickets
            ),
        });
    }
    if state.has_tickets && state.fingerprint.as_deref() != Some(fingerprint) {
        warnings.push(Warning {
            code: "stale_facts".into(),
            metric: None,
            message: "the ticket facts were derived under other calendars, teams or SLA policies than this configuration's; run `vitals derive` to re-derive them".into(),
        });
    }
    warnings
}

/// The merged result rows of a resolved query over the given buckets.
fn rows(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    resolved: &ResolvedQuery,
    bucket_list: &[Bucket],
) -> Result<Vec<ResultRow>, QueryError> {
    let per_metric = answers(engine, catalogue, config, resolved, bucket_list)?;
    Ok(merge(resolved, bucket_list, per_metric))
}

/// Each metric's finalised rows over the given buckets (the bucket's label first in each
/// row's keys); metrics that read the same rows share one statement. Every statement is
/// planned first and handed to the engine at once, so an engine that can run statements side
/// by side ([`Engine::aggregate_all`]) does.
fn answers<'r>(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    resolved: &'r ResolvedQuery,
    bucket_list: &[Bucket],
) -> Result<Vec<(&'r ResolvedMetric, FinalRows)>, QueryError> {
    let mut answers = vec![None; resolved.metrics.len()];
    if !bucket_list.is_empty() {
        let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
        for (i, rm) in resolved.metrics.iter().enumerate() {
            let key = scan_key(engine.dialect(), catalogue, config, resolved, rm);
            match groups.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        let statements: Vec<Statement> = groups
            .into_iter()
            .map(|(_, members)| {
                if let [i] = members[..] {
                    let plan = plan_metric(
                        engine.dialect(),
                        catalogue,
                        config,
                        resolved,
                        &resolved.metrics[i],
                        bucket_list,
                    );
                    return Statement::Alone(i, plan);
                }
                let rms: Vec<&ResolvedMetric> =
                    members.iter().map(|&i| &resolved.metrics[i]).collect();
                let (plan, layout) = plan_shared(
                    engine.dialect(),
                    catalogue,
                    config,
                    resolved,
                    &rms,
                    bucket_list,
                );
                Statement::Shared(members, plan, layout)
            })
            .collect();
        let plans: Vec<&PlannedSql> = statements.iter().map(Statement::plan).collect();
        let answered = engine.aggregate_all(&plans)?;
        for (statement, rows) in statements.iter().zip(answered) {
            match statement {
                Statement::Alone(i, plan) => {
                    let rm = &resolved.metrics[*i];
                    answers[*i] = Some(finalize(rm, &quantiles(rm), &plan.components, &rows));
                }
                Statement::Shared(members, _, layout) => {
                    for (&i, member) in members.iter().zip(layout) {
                        let rm = &resolved.metrics[i];
                        answers[i] =
                            Some(finalize(rm, &quantiles(rm), &[], &member.rows_of(&rows)));
                    }
                }
            }
        }
    }
    Ok(resolved
        .metrics
        .iter()
        .zip(answers)
        .filter_map(|(rm, answer)| answer.map(|a| (rm, a)))
        .collect())
}

/// One planned statement of a query: one metric's, or several metrics' reading the same rows
/// (by their index in the resolved query, with where each one's columns are).
enum Statement {
    Alone(usize, PlannedSql),
    Shared(Vec<usize>, PlannedSql, Vec<Member>),
}

impl Statement {
    fn plan(&self) -> &PlannedSql {
        match self {
            Statement::Alone(_, plan) | Statement::Shared(_, plan, _) => plan,
        }
    }
}

/// The result rows of a query without a time dimension and of its comparison period, in one
/// pass when the comparison period ends where the period starts (`previous`): the two
/// periods are planned as two buckets of one statement per metric, and each period's rows
/// are merged on their own, exactly as two separate passes would.
fn whole_period_with_comparison(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    resolved: &ResolvedQuery,
    period: &Bucket,
    compared: &Bucket,
) -> Result<(Vec<ResultRow>, Vec<ResultRow>), QueryError> {
    const COMPARED: &str = "compared";
    const CURRENT: &str = "current";
    let both = [
        Bucket {
            label: COMPARED.into(),
            ..compared.clone()
        },
        Bucket {
            label: CURRENT.into(),
            ..period.clone()
        },
    ];
    let per_metric = answers(engine, catalogue, config, resolved, &both)?;
    let part = |label: &str, bucket: &Bucket| {
        let rows = per_metric
            .iter()
            .map(|(rm, final_rows)| {
                let kept = final_rows
                    .iter()
                    .filter(|(keys, _)| keys.first().and_then(|k| k.as_deref()) == Some(label))
                    .map(|(keys, values)| {
                        let mut keys = keys.clone();
                        keys[0] = Some(bucket.label.clone());
                        (keys, values.clone())
                    })
                    .collect();
                (*rm, kept)
            })
            .collect();
        merge(resolved, std::slice::from_ref(bucket), rows)
    };
    Ok((part(CURRENT, period), part(COMPARED, compared)))
}

/// The period: as asked, else from the data's extent (local dates in the query's zone).
pub(crate) fn period(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    q: &ResolvedQuery,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), QueryError> {
    if let (Some(f), Some(t)) = (q.from, q.to) {
        return Ok((Some(f), Some(t)));
    }
    let mut lo: Option<i64> = None;
    let mut hi: Option<i64> = None;
    for rm in &q.metrics {
        let extent = extent_sql(engine.dialect(), catalogue, config, &rm.metric);
        if let Some((a, b)) = engine.extent(&extent)? {
            lo = Some(lo.map_or(a, |x| x.min(a)));
            hi = Some(hi.map_or(b, |x| x.max(b)));
        }
    }
    let from = q.from.or_else(|| lo.map(|us| local_date(q.zone, us)));
    let to =
        q.to.or_else(|| hi.map(|us| local_date(q.zone, us) + Duration::days(1)));
    Ok(match (from, to) {
        (Some(f), Some(t)) if f < t => (Some(f), Some(t)),
        _ => (None, None),
    })
}
