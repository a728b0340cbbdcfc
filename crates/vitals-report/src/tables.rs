//! The per-team and per-agent tables: one query per column (a metric on the row dimension,
//! for the report month), rows ranked by tickets; agents grouped by their team, each team's
//! group led by the median of its agents' values (the team's distribution the agents sit in).

use std::collections::{BTreeMap, BTreeSet};

use vitals_query::{QueryResponse, ResultRow};

use crate::build::table_row;
use crate::model::{Column, Table};
use crate::ReportError;

/// Runs one query for the report month: `(metric key, dimensions)`.
pub(crate) type QueryFn<'a> = Box<dyn Fn(&str, &[&str]) -> Result<QueryResponse, ReportError> + 'a>;

/// What the tables need: a query for the report month.
pub(crate) struct TableCtx<'a> {
    pub(crate) query: QueryFn<'a>,
}

/// (label, key, part, unit) of the columns, on the row dimension; calls have their own.
const COLUMNS: [(&str, &str, &str, &str); 7] = [
    ("Tickets", "ticket_volume", "value", "count"),
    (
        "FRT median",
        "first_response_time:median",
        "value",
        "seconds",
    ),
    (
        "Resolution median",
        "resolution_time:median",
        "value",
        "seconds",
    ),
    ("FCR", "fcr", "value", "percent"),
    ("CSAT", "csat", "value", "percent"),
    ("SLA compliance", "sla_compliance", "value", "percent"),
    ("IQS", "iqs", "value", "score"),
];

const CALL_COLUMNS: [(&str, &str, &str, &str); 2] = [
    ("Calls handled", "average_handle_time_calls", "n", "count"),
    ("AHT", "average_handle_time_calls", "value", "seconds"),
];

fn value_of(row: &ResultRow, part: &str) -> Option<f64> {
    let v = &row.metrics.first()?.1;
    match part {
        "n" => Some(v.n as f64),
        _ => v.value,
    }
}

fn key_of(row: &ResultRow, dimension: &str) -> Option<String> {
    row.dimensions
        .iter()
        .find(|(d, _)| d == dimension)
        .and_then(|(_, v)| v.clone())
}

/// Columns and their values by row name.
type Filled = (Vec<Column>, Vec<BTreeMap<String, f64>>);

fn fill(
    ctx: &TableCtx,
    specs: &[(&str, &str, &str, &str)],
    dimension: &str,
) -> Result<Filled, ReportError> {
    let mut columns = Vec::new();
    let mut values = Vec::new();
    for (label, key, part, unit) in specs {
        let response = (ctx.query)(key, &[dimension])?;
        // A metric that always splits (SLA compliance by target) gives one column per value.
        let mut split: BTreeMap<Option<(String, String)>, BTreeMap<String, f64>> = BTreeMap::new();
        for row in &response.results {
            let Some(name) = key_of(row, dimension) else {
                continue;
            };
            let breakdown = row
                .dimensions
                .iter()
                .find(|(d, _)| d != dimension && !d.starts_with("time:"))
                .map(|(d, v)| (d.clone(), v.clone().unwrap_or_default()));
            let cell = split.entry(breakdown).or_default();
            if let Some(v) = value_of(row, part) {
                let has_data = row.metrics.first().is_some_and(|(_, m)| m.n > 0);
                if has_data {
                    cell.insert(name, v);
                }
            }
        }
        for (breakdown, by_name) in split {
            columns.push(Column {
                label: match &breakdown {
                    Some((_, b)) => format!("{label} ({b})"),
                    None => label.to_string(),
                },
                key: key.to_string(),
                dimension: dimension.to_string(),
                breakdown,
                part: part.to_string(),
                unit: unit.to_string(),
            });
            values.push(by_name);
        }
    }
    Ok((columns, values))
}

fn ranked_names(values: &[BTreeMap<String, f64>]) -> Vec<String> {
    let names: BTreeSet<&String> = values.iter().flat_map(|m| m.keys()).collect();
    let mut names: Vec<String> = names.into_iter().cloned().collect();
    let tickets = |n: &String| {
        values
            .first()
            .and_then(|m| m.get(n))
            .copied()
            .unwrap_or(0.0)
    };
    names.sort_by(|a, b| tickets(b).total_cmp(&tickets(a)).then(a.cmp(b)));
    names
}

/// The per-team table.
pub(crate) fn teams(ctx: &TableCtx) -> Result<Table, ReportError> {
    let (columns, values) = fill(ctx, &COLUMNS, "ticket:team")?;
    let rows = ranked_names(&values)
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let v = values.iter().map(|m| m.get(&name).copied()).collect();
            table_row(Some(i + 1), name, None, "row", &columns, v)
        })
        .collect();
    Ok(Table {
        dimension: "ticket:team".into(),
        columns,
        rows,
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The per-agent table, grouped by team (each agent's team is the one most of its tickets
/// belong to), each group led by the median of its agents' values.
pub(crate) fn agents(ctx: &TableCtx) -> Result<Table, ReportError> {
    let (mut columns, mut values) = fill(ctx, &COLUMNS, "ticket:agent")?;
    let (call_columns, call_values) = fill(ctx, &CALL_COLUMNS, "call:agent")?;
    columns.extend(call_columns);
    values.extend(call_values);
    let mut team_of: BTreeMap<String, (String, f64)> = BTreeMap::new();
    for row in (ctx.query)("ticket_volume", &["ticket:agent", "ticket:team"])?.results {
        let (Some(agent), Some(team), Some(n)) = (
            key_of(&row, "ticket:agent"),
            key_of(&row, "ticket:team"),
            value_of(&row, "value"),
        ) else {
            continue;
        };
        let best = team_of.entry(agent).or_insert((team.clone(), n));
        if n > best.1 {
            *best = (team, n);
        }
    }
    let names = ranked_names(&values);
    let mut by_team: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in names {
        let team = team_of
            .get(&name)
            .map(|t| t.0.clone())
            .unwrap_or_else(|| "(no team)".into());
        by_team.entry(team).or_default().push(name);
    }
    let mut rows = Vec::new();
    for (team, agents) in by_team {
        let medians = values
            .iter()
            .map(|m| median(agents.iter().filter_map(|a| m.get(a).copied()).collect()))
            .collect();
        rows.push(table_row(
            None,
            format!("{team}: median of {} agents", agents.len()),
            Some(team.clone()),
            "distribution",
            &columns,
            medians,
        ));
        for (i, agent) in agents.into_iter().enumerate() {
            let v = values.iter().map(|m| m.get(&agent).copied()).collect();
            rows.push(table_row(
                Some(i + 1),
                agent,
                Some(team.clone()),
                "row",
                &columns,
                v,
            ));
        }
    }
    Ok(Table {
        dimension: "ticket:agent".into(),
        columns,
        rows,
    })
}
