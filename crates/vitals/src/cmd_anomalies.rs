//! `vitals anomalies`: parse the flags, call `vitals_query::anomalies` (or, with `--server`,
//! ask a running `vitals serve`) and print a table or JSON.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::request::parse_date;
use vitals_query::units::value;
use vitals_query::{AnomalyReport, AnomalyRequest, Filter, MetricSpec};

use crate::remote::{query_string, Remote};
use crate::{open_reader, UserError};

/// Arguments of `vitals anomalies`.
#[derive(Args)]
pub struct AnomaliesArgs {
    /// The store file.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
    /// Ask a running `vitals serve` at this URL instead of opening the store (token from
    /// VITALS_TOKEN).
    #[arg(long, env = "VITALS_SERVER")]
    server: Option<String>,
    /// A metric (`csat`, `first_response_time:median`); repeatable. Default: ticket_volume,
    /// first_response_time, csat, fcr.
    #[arg(long = "metric")]
    metrics: Vec<String>,
    /// Split each series by a dimension (e.g. `ticket:channel`).
    #[arg(long)]
    by: Option<String>,
    /// First local date judged (YYYY-MM-DD; the data's first day by default).
    #[arg(long)]
    from: Option<String>,
    /// Local date after the last judged (YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
    /// Filter (`ticket:team=Billing`); repeatable.
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// IANA zone of days (default: the reporting zone).
    #[arg(long)]
    tz: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `vitals anomalies`.
pub fn run(args: AnomaliesArgs, config: &Config) -> Result<()> {
    let request = AnomalyRequest {
        metrics: args.metrics.iter().map(|m| MetricSpec::parse(m)).collect(),
        by: args.by,
        from: args.from.map(|d| parse_date(&d, "--from")).transpose()?,
        to: args.to.map(|d| parse_date(&d, "--to")).transpose()?,
        timezone: args.tz,
        filters: args
            .filters
            .iter()
            .map(|f| Filter::parse(f))
            .collect::<Result<_, _>>()?,
        ..Default::default()
    };
    let catalogue = Catalogue::builtin()?;
    let report: AnomalyReport = match &args.server {
        Some(url) => {
            if !request.filters.is_empty() {
                return Err(UserError("--filter is not available with --server".into()).into());
            }
            let metrics = args.metrics.join(",");
            let query = query_string(&[
                ("metrics", (!metrics.is_empty()).then_some(metrics)),
                ("by", request.by.clone()),
                ("from", request.from.map(|d| d.to_string())),
                ("to", request.to.map(|d| d.to_string())),
                ("timezone", request.timezone.clone()),
            ]);
            Remote::new(url)?.get_json(&format!("/api/v1/anomalies?{query}"))?
        }
        None => {
            let reader = open_reader(&args.db)?;
            vitals_query::anomalies(&reader, &catalogue, config, &request)?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["metric", "date"];
    if let Some(by) = &report.by {
        header.push(by);
    }
    header.extend(["value", "n", "expected", "band", "direction"]);
    table.set_header(header);
    for a in &report.anomalies {
        let id = a.metric.split(':').next().unwrap_or(&a.metric);
        let unit = catalogue.metric(id).map(|m| m.unit);
        let show = |v: f64| unit.map_or(format!("{v:.2}"), |u| value(Some(v), u));
        let mut row = vec![a.metric.clone(), a.date.to_string()];
        if report.by.is_some() {
            row.push(a.value.clone().unwrap_or_else(|| "(none)".into()));
        }
        let worse = match a.worse {
            Some(true) => " (worse)",
            Some(false) => " (better)",
            None => "",
        };
        row.extend([
            show(a.observed),
            a.n.to_string(),
            show(a.expected),
            format!("{} – {}", show(a.band_low), show(a.band_high)),
            format!("{}{worse}", a.direction),
        ]);
        table.add_row(row);
    }
    println!("{table}");
    eprintln!(
        "{} anomalies from {} to {} ({}); method: vitals explain anomalies",
        report.anomalies.len(),
        report.from.map(|d| d.to_string()).unwrap_or_default(),
        report.to.map(|d| d.to_string()).unwrap_or_default(),
        report.timezone
    );
    Ok(())
}
