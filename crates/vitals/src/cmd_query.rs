//! `vitals query`: builds the query library's request from flags (or reads it as JSON with
//! `--request`), runs it on a read-only handle of the store and prints the response as a
//! table (default), JSON (the response type serialised) or CSV.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_core::spreadsheet::safe_cell;
use vitals_query::drill::DrillResponse;
use vitals_query::render::{to_csv, to_table};
use vitals_query::request::parse_date;
use vitals_query::{
    drill, run_query, CompareMode, DrillRequest, Filter, MetricSpec, QueryRequest, QueryResponse,
};

use crate::remote::Remote;
use crate::store_target::open_reader;
use crate::UserError;

/// Arguments of `vitals query`.
#[derive(Args)]
pub struct QueryArgs {
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
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
    /// List the records behind one result cell instead of the values (drill-down): name the
    /// cell with `--cell DIM=VALUE` for each `--by`.
    #[arg(long)]
    pub records: bool,
    /// The cell to open: `time:month=2026-03`, `ticket:channel=email` (one per `--by`).
    #[arg(long = "cell", requires = "records")]
    pub cell: Vec<String>,
    /// Page of records (from 1).
    #[arg(long, default_value_t = 1, requires = "records")]
    pub page: u32,
    /// Records per page (at most 1000).
    #[arg(long, default_value_t = 50, requires = "records")]
    pub page_size: u32,
    /// Ask a running `vitals serve` at this URL instead of opening the store (token from
    /// VITALS_TOKEN).
    #[arg(long, env = "VITALS_SERVER")]
    pub server: Option<String>,
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

/// Reads a request's JSON text from a file or standard input.
fn read_request_text(source: &str) -> Result<String> {
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
    Ok(text)
}

/// The drill-down asked by `--records` (or by `"records": true` in a JSON request).
fn drill_request(args: &QueryArgs, text: Option<&str>) -> Result<Option<DrillRequest>> {
    if let Some(text) = text {
        return Ok(DrillRequest::from_json(text)?);
    }
    if !args.records {
        return Ok(None);
    }
    let mut cell = std::collections::BTreeMap::new();
    for c in &args.cell {
        let (dimension, value) = c.split_once('=').ok_or_else(|| {
            UserError(format!(
                "--cell `{c}` is not DIM=VALUE (e.g. time:month=2026-03)"
            ))
        })?;
        cell.insert(dimension.trim().to_string(), Some(value.to_string()));
    }
    Ok(Some(DrillRequest {
        query: request(args)?,
        cell,
        page: args.page.max(1),
        page_size: args.page_size.clamp(1, vitals_query::drill::MAX_PAGE_SIZE),
    }))
}

/// `vitals query`.
pub fn run(args: QueryArgs, config: &Config) -> Result<()> {
    let text = args.request.as_deref().map(read_request_text).transpose()?;
    let catalogue = Catalogue::builtin()?;
    let remote = args.server.as_deref().map(Remote::new).transpose()?;
    if let Some(drill_request) = drill_request(&args, text.as_deref())? {
        let page: DrillResponse = match &remote {
            Some(remote) => {
                let mut body = serde_json::to_value(&drill_request.query)?;
                body["records"] = true.into();
                body["cell"] = serde_json::to_value(&drill_request.cell)?;
                body["page"] = drill_request.page.into();
                body["page_size"] = drill_request.page_size.into();
                serde_json::from_str(&remote.post(
                    "/api/v1/query",
                    "application/json",
                    &body.to_string(),
                )?)?
            }
            None => drill(
                open_reader(config, &args.db)?.as_ref(),
                &catalogue,
                config,
                &drill_request,
            )?,
        };
        if args.json {
            println!("{}", serde_json::to_string_pretty(&page)?);
        } else {
            print!("{}", records_csv(&page));
            eprintln!(
                "{} of {} records behind {} (page {}, {} per page)",
                page.records.len(),
                page.n,
                page.stat,
                page.page,
                page.page_size
            );
        }
        return Ok(());
    }
    let req = match &text {
        Some(text) => QueryRequest::from_json(text)?,
        None => request(&args)?,
    };
    let response: QueryResponse = match &remote {
        Some(remote) => serde_json::from_str(&remote.post(
            "/api/v1/query",
            "application/json",
            &serde_json::to_string(&req)?,
        )?)?,
        None => run_query(
            open_reader(config, &args.db)?.as_ref(),
            &catalogue,
            config,
            &req,
        )?,
    };
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

/// The records of a drill-down page as CSV (id, kind, ticket, at, value, counted); text that
/// a spreadsheet would run as a formula is written as text.
fn records_csv(page: &DrillResponse) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(["id", "kind", "ticket_id", "at", "value", "counted"]);
    for r in &page.records {
        let text = |v: &Option<String>| safe_cell(v.as_deref().unwrap_or_default()).into_owned();
        let _ = out.write_record([
            text(&r.id),
            safe_cell(&r.kind).into_owned(),
            text(&r.ticket_id),
            text(&r.at),
            r.value.map(|v| v.to_string()).unwrap_or_default(),
            r.counted.map(|c| c.to_string()).unwrap_or_default(),
        ]);
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}
