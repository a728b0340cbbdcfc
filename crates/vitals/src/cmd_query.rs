//! `vitals query`: parses the query interface, runs the one query function and prints the
//! result as a table (default), JSON (design.md §5) or CSV.

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use vitals_core::catalogue::{Catalogue, Unit};
use vitals_core::config::{parse_zone, Config};
use vitals_core::query::{CompareMode, MetricValue, QueryRequest, QueryResult};
use vitals_store::Store;

use crate::{format, UserError};

/// Arguments of `vitals query`.
#[derive(Args)]
pub struct QueryArgs {
    /// The store file.
    #[arg(long, default_value = "vitals.duckdb", env = "VITALS_DB")]
    pub db: PathBuf,
    /// Metric `ID` or `ID:STAT` (mean, median, p1…p99); repeat for several.
    #[arg(long = "metric", required = true)]
    pub metrics: Vec<String>,
    /// Break down by a dimension (time:day|week|month|quarter|year, ticket:channel, …); repeatable.
    #[arg(long = "by")]
    pub by: Vec<String>,
    /// Keep only DIM=VALUE[,VALUE…]; repeatable.
    #[arg(long = "filter")]
    pub filters: Vec<String>,
    /// First day, inclusive (YYYY-MM-DD in --tz).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, exclusive (YYYY-MM-DD in --tz).
    #[arg(long)]
    pub to: Option<String>,
    /// IANA zone of buckets and dates (default: the configured reporting zone, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
    /// Compare every value with the previous bucket (`previous`) or a year earlier (`yoy`),
    /// with the change and whether it is statistically significant.
    #[arg(long, value_parser = ["previous", "yoy"])]
    pub compare: Option<String>,
}

fn date(text: &Option<String>, flag: &str) -> Result<Option<NaiveDate>> {
    text.as_deref()
        .map(|t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map_err(|_| UserError(format!("{flag} `{t}` is not a date (YYYY-MM-DD)")).into())
        })
        .transpose()
}

/// Builds the request from the arguments.
pub fn request(args: &QueryArgs) -> Result<QueryRequest> {
    Ok(QueryRequest {
        metrics: args.metrics.clone(),
        by: args.by.clone(),
        filters: args.filters.clone(),
        from: date(&args.from, "--from")?,
        to: date(&args.to, "--to")?,
        zone: args
            .tz
            .as_deref()
            .map(parse_zone)
            .transpose()
            .map_err(UserError)?,
        compare: args.compare.as_deref().and_then(CompareMode::parse),
    })
}

/// `vitals query`.
pub fn run(args: QueryArgs, config: &Config) -> Result<()> {
    if !args.db.exists() {
        return Err(UserError(format!(
            "no store at {}; import data first (vitals import DIR --db {0})",
            args.db.display()
        ))
        .into());
    }
    let catalogue = Catalogue::builtin()?;
    let store = Store::open(&args.db.display().to_string())?;
    let derivation = store.derive_touched(&config.derivation_rules()?)?;
    if derivation.calendars_changed {
        eprintln!(
            "note: calendars or SLA policies changed; {} tickets were re-derived",
            derivation.tickets
        );
    }
    let req = request(&args)?;
    let result = store.query(&catalogue, config, &req)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result.to_json(config.statistics.min_sample))?
        );
    } else if args.csv {
        print!("{}", to_csv(&result));
    } else {
        println!("{}", to_table(&catalogue, &result));
        for w in &result.warnings {
            eprintln!("warning: {}", w.message);
        }
    }
    Ok(())
}

/// The metric keys of a result in first-seen order, and the dimension names.
fn columns(result: &QueryResult) -> (Vec<String>, Vec<String>) {
    let mut dims: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for r in &result.results {
        for (d, _) in &r.dimensions {
            if !dims.contains(d) {
                dims.push(d.clone());
            }
        }
        for (k, _) in &r.metrics {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    (dims, keys)
}

/// The text of one dimension in a row; `null_text` for a null value, empty when absent.
fn dimension_cell(row: &vitals_core::query::ResultRow, dimension: &str, null_text: &str) -> String {
    match row.dimensions.iter().find(|(n, _)| n == dimension) {
        Some((_, Some(v))) => v.clone(),
        Some((_, None)) => null_text.to_string(),
        None => String::new(),
    }
}

fn unit_of(catalogue: &Catalogue, key: &str) -> Unit {
    let id = key.split(':').next().unwrap_or(key);
    catalogue.metric(id).map(|m| m.unit).unwrap_or(Unit::Count)
}

/// Which optional columns a result needs: comparisons, targets.
fn optional_columns(result: &QueryResult) -> (bool, bool) {
    let values = || {
        result
            .results
            .iter()
            .flat_map(|r| r.metrics.iter().map(|(_, v)| v))
    };
    (
        values().any(|v| v.compare.is_some()),
        values().any(|v| v.target.is_some()),
    )
}

/// The change column's text: the change in the metric's unit, and `*` when significant.
fn change_text(v: &MetricValue, unit: Unit) -> String {
    let Some(c) = v.compare.as_ref().and_then(|c| c.change) else {
        return "—".into();
    };
    // A change of a percentage is in percentage points.
    let magnitude = match unit {
        Unit::Percent => format!("{:.1} pp", c.abs()),
        _ => format::value(Some(c.abs()), unit),
    };
    let sign = if c < 0.0 { "−" } else { "+" };
    let star = match v.compare.as_ref().and_then(|c| c.significant) {
        Some(true) => " *",
        _ => "",
    };
    format!("{sign}{magnitude}{star}")
}

/// A readable table: one column per dimension, then value and n per metric (plus the change
/// against the comparison period, and the target with ✓/✗, when there are any). Values are
/// green on target and red off target on a terminal.
pub fn to_table(catalogue: &Catalogue, result: &QueryResult) -> String {
    use comfy_table::{Cell, Color};
    let (dims, keys) = columns(result);
    let (with_change, with_target) = optional_columns(result);
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    let mut header: Vec<String> = dims.clone();
    for k in &keys {
        header.push(k.clone());
        header.push("n".into());
        if with_change {
            header.push("change".into());
        }
        if with_target {
            header.push("target".into());
        }
    }
    table.set_header(header);
    for r in &result.results {
        let mut row: Vec<Cell> = dims
            .iter()
            .map(|d| Cell::new(dimension_cell(r, d, "(none)")))
            .collect();
        for k in &keys {
            let unit = unit_of(catalogue, k);
            match r.metrics.iter().find(|(n, _)| n == k) {
                Some((_, v)) => {
                    let mut cell = Cell::new(format::value(v.value, unit));
                    match v.target.and_then(|t| t.on_target) {
                        Some(true) => cell = cell.fg(Color::Green),
                        Some(false) => cell = cell.fg(Color::Red),
                        None => {}
                    }
                    row.push(cell);
                    row.push(Cell::new(v.n));
                    if with_change {
                        row.push(Cell::new(change_text(v, unit)));
                    }
                    if with_target {
                        let text = match v.target {
                            Some(t) => {
                                let mark = match t.on_target {
                                    Some(true) => " ✓",
                                    Some(false) => " ✗",
                                    None => "",
                                };
                                format!("{}{mark}", format::value(Some(t.value), unit))
                            }
                            None => String::new(),
                        };
                        row.push(Cell::new(text));
                    }
                }
                None => {
                    let blanks = 2 + usize::from(with_change) + usize::from(with_target);
                    row.extend((0..blanks).map(|_| Cell::new("")));
                }
            }
        }
        table.add_row(row);
    }
    let mut text = table.to_string();
    if with_change {
        text.push_str("\nchange: against the comparison period; * = significant at the 5% level");
    }
    text
}

/// CSV: dimensions, then value, n, ci_low, ci_high per metric (and, when present, the
/// comparison value, change, p-value and target with on_target).
pub fn to_csv(result: &QueryResult) -> String {
    let (dims, keys) = columns(result);
    let (with_change, with_target) = optional_columns(result);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = dims.clone();
    for k in &keys {
        header.extend([
            k.clone(),
            format!("{k}.n"),
            format!("{k}.ci_low"),
            format!("{k}.ci_high"),
        ]);
        if with_change {
            header.extend([
                format!("{k}.compare_value"),
                format!("{k}.change"),
                format!("{k}.p_value"),
            ]);
        }
        if with_target {
            header.extend([format!("{k}.target"), format!("{k}.on_target")]);
        }
    }
    let _ = w.write_record(&header);
    let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for r in &result.results {
        let mut row: Vec<String> = dims.iter().map(|d| dimension_cell(r, d, "")).collect();
        for k in &keys {
            let width = 4 + 3 * usize::from(with_change) + 2 * usize::from(with_target);
            match r.metrics.iter().find(|(n, _)| n == k) {
                Some((_, v)) => {
                    row.extend([
                        num(v.value),
                        v.n.to_string(),
                        num(v.ci.map(|c| c.low)),
                        num(v.ci.map(|c| c.high)),
                    ]);
                    if with_change {
                        let c = v.compare.as_ref();
                        row.extend([
                            num(c.and_then(|c| c.value)),
                            num(c.and_then(|c| c.change)),
                            num(c.and_then(|c| c.p_value)),
                        ]);
                    }
                    if with_target {
                        row.extend([
                            num(v.target.map(|t| t.value)),
                            v.target
                                .and_then(|t| t.on_target)
                                .map(|b| b.to_string())
                                .unwrap_or_default(),
                        ]);
                    }
                }
                None => row.extend((0..width).map(|_| String::new())),
            }
        }
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
