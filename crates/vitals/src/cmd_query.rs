//! `vitals query`: parses the query interface, runs the one query function and prints the
//! result as a table (default), JSON (design.md §5) or CSV.

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use vitals_core::catalogue::{Catalogue, Unit};
use vitals_core::config::{parse_zone, Config};
use vitals_core::query::{QueryRequest, QueryResult};
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

/// A readable table: one column per dimension, then value and n per metric.
pub fn to_table(catalogue: &Catalogue, result: &QueryResult) -> String {
    let (dims, keys) = columns(result);
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    let mut header: Vec<String> = dims.clone();
    for k in &keys {
        header.push(k.clone());
        header.push("n".into());
    }
    table.set_header(header);
    for r in &result.results {
        let mut row: Vec<String> = dims
            .iter()
            .map(|d| dimension_cell(r, d, "(none)"))
            .collect();
        for k in &keys {
            match r.metrics.iter().find(|(n, _)| n == k) {
                Some((_, v)) => {
                    row.push(format::value(v.value, unit_of(catalogue, k)));
                    row.push(v.n.to_string());
                }
                None => row.extend([String::new(), String::new()]),
            }
        }
        table.add_row(row);
    }
    table.to_string()
}

/// CSV: dimensions, then value, n, ci_low, ci_high per metric.
pub fn to_csv(result: &QueryResult) -> String {
    let (dims, keys) = columns(result);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = dims.clone();
    for k in &keys {
        header.extend([
            k.clone(),
            format!("{k}.n"),
            format!("{k}.ci_low"),
            format!("{k}.ci_high"),
        ]);
    }
    let _ = w.write_record(&header);
    let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for r in &result.results {
        let mut row: Vec<String> = dims.iter().map(|d| dimension_cell(r, d, "")).collect();
        for k in &keys {
            match r.metrics.iter().find(|(n, _)| n == k) {
                Some((_, v)) => row.extend([
                    num(v.value),
                    v.n.to_string(),
                    num(v.ci.map(|c| c.low)),
                    num(v.ci.map(|c| c.high)),
                ]),
                None => row.extend([String::new(), String::new(), String::new(), String::new()]),
            }
        }
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
