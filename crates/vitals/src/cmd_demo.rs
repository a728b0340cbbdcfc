//! `vitals demo` (generate a realistic organisation with its configuration, import it, show
//! last month's headline KPIs) and `vitals generate` (write a synthetic data set and its
//! `vitals.toml` for trials and benchmarks). The configuration — calendars with holidays, SLA
//! policies, targets, rubrics, engagement weights — fits the generated organisation; the demo
//! writes it beside its store (`vitals-demo.toml`) and its printed next steps pass it on.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{Datelike, Months, NaiveDate, TimeZone};
use clap::Args;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::{parse_zone, Config};
use vitals_query::{run_query, units, MetricSpec, QueryRequest};
use vitals_synth::{generate as synth, SynthOptions};

use crate::cmd_import::{import_into, print_summary};
use crate::UserError;

/// The demo's store file, by default.
pub const DEMO_DB: &str = "vitals-demo.duckdb";
/// The demo's configuration, written beside its store.
pub const DEMO_CONFIG: &str = "vitals-demo.toml";

/// Arguments of `vitals demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// The demo store (recreated on every run).
    #[arg(long, default_value = DEMO_DB)]
    pub db: PathBuf,
    /// Random seed: the same seed gives the same organisation and numbers.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Tickets to generate.
    #[arg(long, default_value_t = 12_000)]
    pub tickets: u64,
    /// Keep the generated CSV files in this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `vitals generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// Folder to write the CSV files to.
    #[arg(long)]
    pub out: PathBuf,
    /// Tickets to generate.
    #[arg(long, default_value_t = 12_000)]
    pub tickets: u64,
    /// Months to cover.
    #[arg(long, default_value_t = 7)]
    pub months: u32,
    /// First day (YYYY-MM-DD).
    #[arg(long, default_value = "2025-12-01")]
    pub start: String,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The organisation's time zone.
    #[arg(long, default_value = "Europe/Helsinki")]
    pub tz: String,
}

/// Writes the configuration of the organisation `options` generates to `path` and loads it
/// back, exactly as a later `--config path` will.
fn write_configuration(options: &SynthOptions, path: &Path) -> Result<Config> {
    std::fs::write(path, vitals_synth::configuration(options))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Config::load(Some(path))?)
}

/// `vitals demo`. The demo runs on its own configuration (written beside the store), not on
/// `_config`, the one the command line loaded: the numbers it shows depend on nothing else.
pub fn demo(args: DemoArgs, _config: &Config) -> Result<()> {
    crate::store_target::require_file(
        &args.db,
        "the demo (it writes its configuration beside its store)",
    )?;
    let options = SynthOptions {
        seed: args.seed,
        tickets: args.tickets,
        ..SynthOptions::default()
    };
    let scratch = tempfile::tempdir()?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| scratch.path().to_path_buf());
    for suffix in ["", ".wal"] {
        let p = PathBuf::from(format!("{}{suffix}", args.db.display()));
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    println!(
        "Generating a support organisation (seed {}, {} tickets, {} months from {})…",
        args.seed, args.tickets, options.months, options.start
    );
    let counts = synth(&options, &dir)?;
    println!("{} records in {}\n", counts.total(), dir.display());
    let config_path = args.db.with_extension("toml");
    let demo_config = write_configuration(&options, &config_path)?;
    println!(
        "Configuration (calendars, SLA policies, targets, rubrics) in {}\n",
        config_path.display()
    );
    let (backend, summary) = import_into(&args.db, std::slice::from_ref(&dir), None, &demo_config)?;
    print_summary(&summary, &args.db.display().to_string());

    let last_month = options.start + Months::new(options.months - 1);
    let to = last_month + Months::new(1);
    let catalogue = Catalogue::builtin()?;
    // The catalogue's headline KPIs, in catalogue order.
    let headline = catalogue.headline_keys();
    let request = QueryRequest {
        metrics: headline.iter().map(|s| MetricSpec::parse(s)).collect(),
        from: Some(last_month),
        to: Some(to),
        timezone: Some(options.zone.name().to_string()),
        ..Default::default()
    };
    let result = run_query(
        backend.reader()?.as_ref(),
        &catalogue,
        &demo_config,
        &request,
    )?;
    println!(
        "\nHeadline KPIs for {} ({}):\n",
        last_month.format("%B %Y"),
        options.zone.name()
    );
    let row = result.results.first();
    for key in &headline {
        let id = key.split(':').next().unwrap_or(key);
        let Some(metric) = catalogue.metric(id) else {
            continue;
        };
        let value = row
            .and_then(|r| r.metrics.iter().find(|(k, _)| k == key))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let ci = value
            .ci
            .map(|c| {
                format!(
                    "  95% CI {} – {}",
                    units::value(Some(c.low), metric.unit),
                    units::value(Some(c.high), metric.unit)
                )
            })
            .unwrap_or_default();
        let label = match key.split_once(':') {
            Some((_, stat)) => format!("{} ({stat})", metric.label),
            None => metric.label.clone(),
        };
        println!(
            "  {label:<36} {:>14}   n={:<6}{ci}",
            units::value(value.value, metric.unit),
            value.n
        );
    }
    // The demo's period is in the past: assess open SLA targets as of its last afternoon.
    let as_of = to
        .pred_opt()
        .and_then(|d| d.and_hms_opt(15, 0, 0))
        .and_then(|t| options.zone.from_local_datetime(&t).earliest())
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let (db, config) = (args.db.display(), config_path.display());
    // The last full month: the one ending the data, or the one before a partial last month.
    let last_month = to
        .pred_opt()
        .and_then(|last| {
            if to.day() == 1 {
                Some(last)
            } else {
                last.with_day(1).and_then(|d| d.pred_opt())
            }
        })
        .map(|d| d.format("%Y-%m").to_string())
        .unwrap_or_default();
    println!(
        "\nNext (later commands take the demo's configuration with --config):\n  \
         vitals query --db {db} --config {config} --metric csat --metric first_response_time:business_median --by time:month --by ticket:team\n  \
         vitals sla --db {db} --config {config} --now {as_of} --at-risk\n  \
         vitals report --db {db} --config {config} --month {last_month}\n  \
         vitals serve --db {db} --config {config}   # the API and the dashboard on http://127.0.0.1:8080\n  \
         vitals explain first_response_time"
    );
    Ok(())
}

/// `vitals generate`.
pub fn generate(args: GenerateArgs) -> Result<()> {
    let start = NaiveDate::parse_from_str(&args.start, "%Y-%m-%d")
        .map_err(|_| UserError(format!("--start `{}` is not a date", args.start)))?;
    let zone = parse_zone(&args.tz).map_err(UserError)?;
    let options = SynthOptions {
        seed: args.seed,
        start,
        months: args.months,
        tickets: args.tickets,
        zone,
    };
    let counts = synth(&options, &args.out)?;
    let config_path = args.out.join("vitals.toml");
    write_configuration(&options, &config_path)?;
    println!("{counts:#?}");
    println!(
        "{} records written to {}; their configuration to {config} (import with --config {config})",
        counts.total(),
        args.out.display(),
        config = config_path.display()
    );
    Ok(())
}
