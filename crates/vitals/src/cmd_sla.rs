//! `vitals sla`: the SLA targets still open — which ticket, which target, how much clock time
//! is used and left, when it is due — with `--breached` / `--at-risk` to narrow the list. The
//! report itself is the query library's (`vitals_query::sla`).

use std::path::PathBuf;

use anyhow::Result;
use chrono::DateTime;
use clap::Args;
use vitals_core::config::Config;
use vitals_query::run::staleness_warnings;
use vitals_query::sla::{local_minute, sla_report, sla_table, SlaFilter, SlaReport};

use crate::store_target::open_reader;
use crate::UserError;

/// Arguments of `vitals sla`.
#[derive(Args)]
pub struct SlaArgs {
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
    /// Only targets already breached.
    #[arg(long, conflicts_with = "at_risk")]
    breached: bool,
    /// Only targets at risk (at most the policy's `at_risk` fraction left).
    #[arg(long)]
    at_risk: bool,
    /// Assess at this instant (RFC 3339) instead of now; also `VITALS_NOW`.
    #[arg(long)]
    now: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Ask a running `vitals serve` at this URL instead of opening the store (token from
    /// VITALS_TOKEN).
    #[arg(long, env = "VITALS_SERVER")]
    server: Option<String>,
}

/// `vitals sla`.
pub fn run(args: SlaArgs, config: &Config) -> Result<()> {
    if let Some(url) = &args.server {
        let state = match (args.breached, args.at_risk) {
            (true, _) => Some("breached".to_string()),
            (_, true) => Some("at_risk".to_string()),
            _ => None,
        };
        let query = crate::remote::query_string(&[("state", state), ("now", args.now.clone())]);
        let report: SlaReport =
            crate::remote::Remote::new(url)?.get_json(&format!("/api/v1/sla?{query}"))?;
        return print(&report, args.json, config);
    }
    let rules = config.derivation_rules()?;
    if rules.sla.is_empty() {
        return Err(UserError(
            "no SLA policy is configured: add [[sla]] to vitals.toml (see `vitals config --default`)".into(),
        )
        .into());
    }
    let now = match &args.now {
        Some(t) => {
            let at = DateTime::parse_from_rfc3339(t)
                .map_err(|_| UserError(format!("--now `{t}` is not an RFC 3339 instant")))?;
            vitals_query::limits::check_date("--now", at.date_naive())
                .map_err(|e| UserError(e.to_string()))?;
            at.timestamp_micros()
        }
        None => vitals_core::now::now_us().map_err(UserError)?,
    };
    let store = open_reader(config, &args.db)?;
    for warning in staleness_warnings(&store.facts_state()?, &rules.fingerprint) {
        eprintln!("warning: {}", warning.message);
    }
    let filter = match (args.breached, args.at_risk) {
        (true, _) => SlaFilter::Breached,
        (_, true) => SlaFilter::AtRisk,
        _ => SlaFilter::All,
    };
    let report = sla_report(store.open_sla_targets()?, &rules, now, filter);
    print(&report, args.json, config)
}

/// Prints the report as JSON or as a table in the reporting zone.
fn print(report: &SlaReport, json: bool, config: &Config) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let zone = config.reporting_zone();
    if report.policies.is_empty() {
        eprintln!(
            "no SLA policy is configured, so no target is measured: add a `[[sla]]` table \
             (name, when, first_reply, next_reply, resolution) to the configuration and run \
             `vitals derive`"
        );
    }
    println!("{}", sla_table(report, zone));
    eprintln!(
        "{} open targets listed, as of {} ({})",
        report.targets.len(),
        report
            .as_of
            .as_deref()
            .map(|t| local_minute(t, zone))
            .unwrap_or_default(),
        zone.name()
    );
    Ok(())
}
