//! `vitals anomalies`: parse the flags, call `vitals_query::anomalies` (or, with `--server`,
//! ask a running `vitals serve`) and print a table or JSON.

use anyhow::Result;
use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::units::value;
use vitals_query::{AnomalyReport, AnomalyRequest, MetricSpec};

use crate::cmd_volume::{print_found, SeriesArgs};
use crate::remote::{query_string, Remote};
use crate::store_target::open_reader;

/// Arguments of `vitals anomalies`.
#[derive(Args)]
pub struct AnomaliesArgs {
    /// A metric (`csat`, `first_response_time:median`); repeatable. Default: ticket_volume,
    /// first_response_time, csat, fcr.
    #[arg(long = "metric")]
    metrics: Vec<String>,
    #[command(flatten)]
    series: SeriesArgs,
}

/// `vitals anomalies`.
pub fn run(args: AnomaliesArgs, config: &Config) -> Result<()> {
    let metrics = args.metrics;
    let args = args.series;
    let series = args.parsed()?;
    let request = AnomalyRequest {
        metrics: metrics.iter().map(|m| MetricSpec::parse(m)).collect(),
        by: args.by.clone(),
        from: series.from,
        to: series.to,
        timezone: args.tz.clone(),
        filters: series.filters.clone(),
        ..Default::default()
    };
    let catalogue = Catalogue::builtin()?;
    let report: AnomalyReport = match &args.server {
        Some(url) => {
            let mut pairs = args.query_pairs(&series);
            pairs.push(("metrics", (!metrics.is_empty()).then(|| metrics.join(","))));
            let query = query_string(&pairs);
            Remote::new(url)?.get_json(&format!("/api/v1/anomalies?{query}"))?
        }
        None => {
            let reader = open_reader(config, &args.db)?;
            vitals_query::anomalies(reader.as_ref(), &catalogue, config, &request)?
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
    let period = (report.from, report.to);
    print_found(
        &table,
        report.anomalies.len(),
        "anomalies",
        period,
        &report.timezone,
    );
    Ok(())
}
