//! `vitals query`: builds the query library's request from flags (or reads it as JSON with
//! `--request`), runs it on a read-only handle of the store and prints the response as a
//! table (default), JSON (the response type serialised) or CSV.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::render::{to_csv, to_table};
use vitals_query::request::parse_date;
use vitals_query::{run_query, CompareMode, Filter, MetricSpec, QueryRequest};

use crate::{open_reader, UserError};

/// Arguments of `vitals query`.
#[derive(Args)]
pub struct QueryArgs {
    /// The store file.
    #[arg(long, default_value = "vitals.duckdb", env = "VITALS_DB")]
    pub db: PathBuf,
    /// Metric `ID` or `ID:STAT` (mean, median, p1…p99); repeat for several.
    #[arg(long = "metric", required_unless_present = "request")]
    pub metrics: Vec<String>,
    /// Break down by a dimension (time:day|week|month|quarter|year, ticket:channel, …); repeatable.
    #[arg(long = "by")]
    pub by: Vec<String>,
    /// Keep only DIM=VALUE[,VALUE…] (or drop with DIM!=VALUE…; a comma inside a value is `\,`);
    /// repeatable, all must hold.
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
    /// Read the request as JSON from FILE (`-`: standard input) instead of the flags above; the
    /// `query` echo of a `--json` answer is a valid request.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["metrics", "by", "filters", "from", "to", "tz", "compare"])]
    pub request: Option<String>,
}

/// Builds the request from the flags.
pub fn request(args: &QueryArgs) -> Result<QueryRequest> {
    let date = |text: &Option<String>, flag: &str| -> Result<_> {
        text.as_deref()
            .map(|t| parse_date(t, flag))
            .transpose()
            .map_err(Into::into)
    };
    Ok(QueryRequest {
        metrics: args.metrics.iter().map(|m| MetricSpec::parse(m)).collect(),
        by: args.by.clone(),
        filters: args
            .filters
            .iter()
            .map(|f| Filter::parse(f))
            .collect::<Result<_, _>>()?,
        from: date(&args.from, "--from")?,
        to: date(&args.to, "--to")?,
        timezone: args.tz.clone(),
        compare: args.compare.as_deref().and_then(CompareMode::parse),
    })
}

/// Reads a JSON request from a file or standard input.
fn read_request(source: &str) -> Result<QueryRequest> {
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the request from standard input")?;
        text
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| UserError(format!("cannot read the request {source}: {e}")))?
    };
    Ok(QueryRequest::from_json(&text)?)
}

/// `vitals query`.
pub fn run(args: QueryArgs, config: &Config) -> Result<()> {
    let req = match &args.request {
        Some(source) => read_request(source)?,
        None => request(&args)?,
    };
    let catalogue = Catalogue::builtin()?;
    let reader = open_reader(&args.db)?;
    let response = run_query(&reader, &catalogue, config, &req)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&response)?);
    } else if args.csv {
        print!("{}", to_csv(&response));
    } else {
        println!("{}", to_table(&catalogue, &response));
        for w in &response.meta.warnings {
            eprintln!("warning: {}", w.message);
        }
    }
    if args.json || args.csv {
        // Facts out of step with the configuration are worth a line even when the output is
        // for a program.
        for w in &response.meta.warnings {
            if matches!(w.code.as_str(), "stale_facts" | "pending_derivation") {
                eprintln!("warning: {}", w.message);
            }
        }
    }
    Ok(())
}
