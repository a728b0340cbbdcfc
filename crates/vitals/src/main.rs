//! The `vitals` binary: command-line parsing and dispatch only. Every number comes from the
//! library crates (the query library over the vitals-core catalogue, on the backend
//! `backend.rs` opens).

mod backend;
mod cmd_alerts;
mod cmd_anomalies;
mod cmd_calc;
mod cmd_demo;
mod cmd_derive;
mod cmd_digest;
mod cmd_explain;
mod cmd_import;
mod cmd_query;
mod cmd_report;
mod cmd_serve;
mod cmd_sla;
mod cmd_store;
mod cmd_volume;
mod cmd_why;
mod metrics_doc;
mod remote;
mod store_target;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use vitals_core::config::{Config, DEFAULT_CONFIG};

/// vitals — customer-service metrics you can trust.
#[derive(Parser)]
#[command(name = "vitals", version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: ./vitals.toml when present).
    #[arg(long, global = true, env = "VITALS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import a data set (folders or files: NAME.csv, NAME.ndjson, NAME.parquet).
    Import(cmd_import::ImportArgs),
    /// Compute metrics: `vitals query --metric csat --by time:month`.
    Query(cmd_query::QueryArgs),
    /// Re-derive ticket facts after the calendars, teams or SLA policies changed (and
    /// migrate a store written by an older vitals).
    Derive(cmd_derive::DeriveArgs),
    /// List open SLA targets with elapsed and remaining time (`--breached`, `--at-risk`).
    Sla(cmd_sla::SlaArgs),
    /// Explain a metric: definition, formula, counting rule, sources and decisions.
    Explain(cmd_explain::ExplainArgs),
    /// List every metric of the catalogue.
    Catalogue(cmd_explain::CatalogueArgs),
    /// Evaluate a formula from typed-in numbers: `vitals calc nps --promoters 70 --detractors 10 --responses 100`.
    Calc(cmd_calc::CalcArgs),
    /// Generate a realistic organisation, import it and show last month's headline KPIs.
    Demo(cmd_demo::DemoArgs),
    /// Generate a synthetic data set in the canonical format (for trials and benchmarks).
    Generate(cmd_demo::GenerateArgs),
    /// Serve the web dashboard, the JSON API and survey links: `vitals serve --db vitals.duckdb`.
    Serve(cmd_serve::ServeArgs),
    /// Manage API tokens: `vitals token create --scope read,ingest`, `list`, `revoke ID`.
    Token(cmd_serve::TokenArgs),
    /// Write the monthly report (XLSX and HTML): `vitals report --month 2026-03`.
    Report(cmd_report::ReportArgs),
    /// Mail the report on a schedule (`[[digests]]`): `vitals digest send NAME [--dry-run]`,
    /// `vitals digest list`; `vitals serve` sends them when due.
    Digest(cmd_digest::DigestArgs),
    /// Days far above the usual level for their weekday (`--by ticket:category`).
    Spikes(cmd_volume::SpikesArgs),
    /// Store an annotation for a date: `vitals annotate 2026-03-14 "Product launch"`.
    Annotate(cmd_volume::AnnotateArgs),
    /// List annotations (`--delete ID` removes one).
    Annotations(cmd_volume::AnnotationsArgs),
    /// Which segments moved a metric: `vitals why --metric csat` (latest complete month
    /// against the one before).
    Why(cmd_why::WhyArgs),
    /// Days when a metric is far from its usual level for the weekday, sample size considered:
    /// `vitals anomalies --metric csat --by ticket:team`.
    Anomalies(cmd_anomalies::AnomaliesArgs),
    /// Alert rules of `[[alerts]]`: `vitals alerts run` (for cron), `vitals alerts test RULE`.
    Alerts(cmd_alerts::AlertsArgs),
    /// Erlang C staffing for a month's busiest weekday × hour cells.
    Staffing(cmd_volume::StaffingArgs),
    /// The store's schema: `vitals store init [--print]` (ClickHouse: creates the tables of
    /// `[store]`, idempotently; `--print` shows the DDL).
    Store(cmd_store::StoreArgs),
    /// Show the configuration (`--default`: the commented default file).
    Config {
        /// Print the commented default configuration.
        #[arg(long)]
        default: bool,
    },
}

/// An error that is the user's to fix (exit code 1); anything else is internal (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

fn load_config(path: Option<&PathBuf>) -> Result<Config> {
    let default = PathBuf::from("vitals.toml");
    let path = path
        .cloned()
        .or_else(|| default.exists().then_some(default));
    let config = Config::load(path.as_deref()).map_err(|e| UserError(e.to_string()))?;
    if !config.alerts.is_empty() {
        // Alert rules name metrics: checked against the catalogue like the rest of the file.
        let catalogue = vitals_core::catalogue::Catalogue::builtin()?;
        vitals_query::alerts::check_rules(&config, &catalogue).map_err(|e| {
            let origin = path.as_deref().map(|p| format!("{}: ", p.display()));
            UserError(format!("{}{e}", origin.unwrap_or_default()))
        })?;
    }
    Ok(config)
}

fn run(cli: Cli) -> Result<()> {
    let config = load_config(cli.config.as_ref())?;
    match cli.command {
        Command::Import(args) => cmd_import::run(args, &config),
        Command::Query(args) => cmd_query::run(args, &config),
        Command::Derive(args) => cmd_derive::run(args, &config),
        Command::Sla(args) => cmd_sla::run(args, &config),
        Command::Explain(args) => cmd_explain::explain(args),
        Command::Catalogue(args) => cmd_explain::catalogue(args),
        Command::Calc(args) => cmd_calc::run(args),
        Command::Serve(args) => cmd_serve::serve(args, &config, cli.config.is_some()),
        Command::Token(args) => cmd_serve::token(args, &config),
        Command::Demo(args) => cmd_demo::demo(args, &config),
        Command::Generate(args) => cmd_demo::generate(args),
        Command::Report(args) => cmd_report::run(args, &config),
        Command::Digest(args) => cmd_digest::run(args, &config),
        Command::Spikes(args) => cmd_volume::spikes(args, &config),
        Command::Annotate(args) => cmd_volume::annotate(args, &config),
        Command::Annotations(args) => cmd_volume::annotations(args, &config),
        Command::Staffing(args) => cmd_volume::staffing(args, &config),
        Command::Why(args) => cmd_why::run(args, &config),
        Command::Anomalies(args) => cmd_anomalies::run(args, &config),
        Command::Alerts(args) => cmd_alerts::run(args, &config),
        Command::Store(args) => cmd_store::run(args, &config),
        Command::Config { default } => {
            if default {
                print!("{DEFAULT_CONFIG}");
            } else {
                println!("reporting timezone: {}", config.reporting_zone());
                for s in config.all_surveys() {
                    println!(
                        "survey {}: scale {}–{}, top box {:?}, high_is_effort {}",
                        s.name, s.min, s.max, s.top_box, s.high_is_effort
                    );
                }
                println!(
                    "service level: {} s, abandon grace {} s; low-sample floor {}",
                    config.calls.service_level_secs,
                    config.calls.abandon_grace_secs,
                    config.statistics.min_sample
                );
            }
            Ok(())
        }
    }
}

fn is_user_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<UserError>()
            || c.is::<vitals_core::config::ConfigError>()
            || matches!(c.downcast_ref::<vitals_query::QueryError>(), Some(q) if q.is_user_error())
            || matches!(c.downcast_ref::<vitals_backend::BackendError>(), Some(b) if b.is_user_error())
            || matches!(c.downcast_ref::<vitals_import::ImportError>(), Some(ie) if !matches!(ie, vitals_import::ImportError::Store(_) | vitals_import::ImportError::Backend(_)))
    })
}

/// Output to a closed pipe (`vitals catalogue --json | head`) ends the process quietly, as
/// other command-line tools do, instead of a panic on the failed write.
fn exit_quietly_on_closed_pipe() {
    // SAFETY: restores the default disposition of SIGPIPE before any thread or I/O starts.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    exit_quietly_on_closed_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(if is_user_error(&e) { 1 } else { 2 })
        }
    }
}
