//! The pieces every statement is built from: configuration placeholders, a
//! metric's row conditions under the request's filters, and the common preamble (survey
//! rules, rubric weights, query-time facts, buckets, local hours). The planner (`plan.rs`) and
//! drill-down (`drill.rs`) share them, so a drill-down reads exactly the aggregate's rows.

use crate::bind::Placeholders;
use crate::bucket_index::slot_index_sql;
use crate::buckets::Bucket;
use crate::dialect::Dialect;
use crate::local_time::{hour_of_week_sql, offset_runs, week_hours_rows};
use crate::request::{Filter, FilterOp};
use crate::resolve::filter_sql;
use vitals_core::catalogue::{config_tables, reads, Catalogue, Metric};
use vitals_core::config::{Config, SurveyAttribution};

/// Replaces `{name}` configuration placeholders in catalogue SQL: call-centre thresholds, the
/// survey attribution (`{survey_agent}`) and the current instant (`{now}`, see `crate::now`).
/// The planner reads a catalogue bound once per query (`bind.rs`), which this fills.
pub fn fill_placeholders(dialect: &dyn Dialect, sql: &str, config: &Config) -> String {
    Placeholders::new(dialect, config).fill(sql)
}

/// The FROM clause of a per-bucket metric (see [`Metric::is_per_bucket`]): each of the
/// entity's rows once in every bucket it belongs to (`b`), with its events' aggregate for that
/// bucket as `ev.value`. Events are grouped by (row, bucket) first and joined by key, so the
/// cost follows the events and the member rows, not buckets × rows.
pub fn per_bucket_rows(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    m: &Metric,
    buckets: &[Bucket],
) -> Option<String> {
    let entity = &catalogue.entities[&m.entity];
    let events = m.bucket_events.as_ref().map(|e| {
        let aggregate = &e.aggregate;
        let grouped = if e.to_date {
            format!(
                "SELECT {key} AS _k, b.bucket AS _bucket, {aggregate} AS value \
                 FROM buckets b JOIN {from} ON {at} < b.b_end GROUP BY ALL",
                key = e.key,
                from = e.from,
                at = e.at,
            )
        } else {
            let (join, bounds) = bucket_join(dialect, &e.at, buckets);
            format!(
                "SELECT {key} AS _k, b.bucket AS _bucket, {aggregate} AS value \
                 FROM {from} {join} WHERE {bounds} GROUP BY ALL",
                key = e.key,
                from = e.from,
            )
        };
        format!("({grouped}) ev")
    });
    // The catalogue check requires a record id on entities with bucket events.
    let record = entity.record.as_deref().unwrap_or_default();
    let from = &entity.from;
    Some(match (&m.per_bucket, events) {
        (Some(membership), Some(events)) => format!(
            "buckets b JOIN {from} ON ({membership}) LEFT JOIN {events} ON ev._k = {record} AND ev._bucket = b.bucket"
        ),
        (Some(membership), None) => format!("buckets b JOIN {from} ON ({membership})"),
        (None, Some(events)) => format!(
            "{events} JOIN buckets b ON b.bucket = ev._bucket JOIN {from} ON {record} = ev._k"
        ),
        (None, None) => return None,
    })
}

/// The entity's FROM clause for a statement of metric `m` that also uses `more` SQL (its
/// dimensions and conditions): with the entity's optional joins only where they are named.
pub(crate) fn entity_from(catalogue: &Catalogue, m: &Metric, more: &[String]) -> String {
    let used: Vec<&str> = m
        .sql_fields()
        .into_iter()
        .map(|(_, sql)| sql)
        .chain(more.iter().map(String::as_str))
        .collect();
    catalogue.entities[&m.entity].from_clause(&used)
}

/// The list of agents who replied to a ticket.
pub(crate) const REPLY_AGENTS: &str = "t.reply_agents";

/// For a dimension that holds several values per row under this configuration, the SQL of
/// its list: `survey:agent` credited to every replying agent is the ticket's reply agents.
fn list_of(dialect: &dyn Dialect, dimension_sql: &str, config: &Config) -> Option<&'static str> {
    (dimension_sql.trim() == dialect.unnest_or_null(REPLY_AGENTS)
        && config.attribution.surveys == SurveyAttribution::EveryReplyingAgent)
        .then_some(REPLY_AGENTS)
}

/// The row conditions of a metric under a request's filters: the metric's own filter, then
/// each request filter, with the values for their `?` placeholders.
pub(crate) fn conditions(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    config: &Config,
    m: &Metric,
    filters: &[Filter],
) -> (Vec<String>, Vec<String>) {
    let mut conds: Vec<String> = Vec::new();
    if let Some(f) = &m.filter {
        conds.push(format!("({f})"));
    }
    let mut params = Vec::new();
    for f in filters {
        let (sql, values) = filter_sql(dialect, catalogue, m, f);
        conds.push(membership_filter(
            dialect,
            catalogue,
            m,
            f,
            &sql,
            values.len(),
            config,
        ));
        params.extend(values);
    }
    (conds, params)
}

/// A filter's SQL under this configuration: a dimension that lists several values per row
/// (every replying agent) filters by membership instead of multiplying rows.
fn membership_filter(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    m: &Metric,
    f: &Filter,
    sql: &str,
    values: usize,
    config: &Config,
) -> String {
    let raw = catalogue.dimensions_of(m).get(&f.dimension).cloned();
    match raw.as_deref().and_then(|d| list_of(dialect, d, config)) {
        Some(list) => {
            let member = dialect.list_has_any_text(list, &vec!["?"; values]);
            match f.op {
                FilterOp::Is => member,
                FilterOp::IsNot => format!("NOT {member}"),
            }
        }
        None => sql.to_string(),
    }
}

/// The common table expressions every statement starts with: the query-time facts of the
/// catalogue (stored facts are tables the writer keeps) with the configuration tables they
/// read (survey rules, rubric weights), and the buckets.
pub(crate) fn preamble(
    dialect: &dyn Dialect,
    catalogue: &Catalogue,
    config: &Config,
    buckets: &[Bucket],
) -> String {
    let query_time: Vec<(&String, &String)> = catalogue
        .facts
        .iter()
        .filter(|(_, f)| f.stored.is_none())
        .map(|(name, f)| (name, &f.sql))
        .collect();
    let tables = config_tables(config, catalogue.target);
    let mut ctes: Vec<String> = tables
        .iter()
        .filter(|(name, _)| query_time.iter().any(|(_, sql)| reads(sql, name)))
        .map(|(_, cte)| cte.clone())
        .collect();
    for (name, sql) in query_time {
        ctes.push(format!("{name} AS ({sql})"));
    }
    let rows: Vec<Vec<String>> = if buckets.is_empty() {
        // A row no instant falls in, so that the table has its columns' types.
        let epoch = dialect.timestamp_literal("1970-01-01 00:00:00");
        let day = dialect.date_literal("1970-01-01");
        vec![vec![
            dialect.string_literal(""),
            epoch.clone(),
            epoch,
            day.clone(),
            day,
            "0".into(),
        ]]
    } else {
        buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                vec![
                    dialect.string_literal(&b.label),
                    dialect.instant(b.start_us),
                    dialect.instant(b.end_us),
                    dialect.date_literal(&b.start_date.to_string()),
                    dialect.date_literal(&b.end_date.to_string()),
                    i.to_string(),
                ]
            })
            .collect()
    };
    ctes.push(dialect.values_table(
        "buckets",
        &["bucket", "b_start", "b_end", "d_start", "d_end", "i"],
        &rows,
    ));
    format!("WITH {}", ctes.join(",\n"))
}

/// `JOIN buckets b` for rows whose instant is `ts`, with the bucket found by arithmetic
/// (`bucket_index.rs`), and the condition that keeps an instant outside the period out of
/// every bucket (for the caller's `WHERE`).
pub(crate) fn bucket_join(dialect: &dyn Dialect, ts: &str, buckets: &[Bucket]) -> (String, String) {
    let slots: Vec<(i64, i64)> = buckets.iter().map(|b| (b.start_us, b.end_us)).collect();
    let index = slot_index_sql(dialect, ts, &slots).unwrap_or_else(|| "0".into());
    (
        format!("JOIN buckets b ON b.i = {index}"),
        format!("{ts} >= b.b_start AND {ts} < b.b_end"),
    )
}

/// The local hour's table and its join for weekday × hour dimensions (`h.weekday`, `h.hour`):
/// the 168 hours of the week, joined by the local hour of the week of the row's instant
/// (`src._ts`), computed from the zone's UTC offsets over the buckets' span (`local_time.rs`).
pub(crate) fn local_hours(
    dialect: &dyn Dialect,
    zone: chrono_tz::Tz,
    buckets: &[Bucket],
) -> Option<(String, String)> {
    let (first, last) = (buckets.first()?, buckets.last()?);
    let runs = offset_runs(zone, first.start_us, last.end_us);
    Some((
        dialect.values_table(
            "hours",
            &["weekday", "hour", "i"],
            &week_hours_rows(dialect),
        ),
        format!(
            "JOIN hours h ON h.i = {}",
            hour_of_week_sql(dialect, "src._ts", &runs)
        ),
    ))
}
