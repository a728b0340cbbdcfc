//! `vitals spikes`, `vitals annotate`, `vitals annotations` and `vitals staffing`: parse the
//! flags, call the query library (`vitals_query::spikes`, `vitals_query::staffing`) or the
//! store's annotation functions — or, with `--server`, ask a running `vitals serve` — and print.

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use vitals_backend::Backend;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::request::parse_date;
use vitals_query::units::duration;
use vitals_query::{Annotation, Filter, NewAnnotation, Spike, SpikeRequest, StaffingRequest};

use crate::backend::Workload;
use crate::remote::{query_string, Remote};
use crate::store_target::{open, open_reader};
use crate::UserError;

/// The flags of a per-day series command (`vitals spikes`, `vitals anomalies`).
#[derive(Args)]
pub struct SeriesArgs {
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    pub db: PathBuf,
    /// Ask a running `vitals serve` at this URL instead of opening the store (token from
    /// VITALS_TOKEN).
    #[arg(long, env = "VITALS_SERVER")]
    pub server: Option<String>,
    /// Split the series by a dimension (e.g. `ticket:category`).
    #[arg(long)]
    pub by: Option<String>,
    /// First local date judged (YYYY-MM-DD; the data's first day by default).
    #[arg(long)]
    pub from: Option<String>,
    /// Local date after the last judged (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// Filter (`ticket:team=Billing`); repeatable.
    #[arg(long = "filter")]
    pub filters: Vec<String>,
    /// IANA zone of days (default: the reporting zone).
    #[arg(long)]
    pub tz: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A series command's period, parsed.
pub struct Series {
    /// First local date judged.
    pub from: Option<NaiveDate>,
    /// Local date after the last.
    pub to: Option<NaiveDate>,
    /// The filters.
    pub filters: Vec<Filter>,
}

impl SeriesArgs {
    /// The dates and filters parsed.
    pub fn parsed(&self) -> Result<Series> {
        let filters: Vec<Filter> = self
            .filters
            .iter()
            .map(|f| Filter::parse(f))
            .collect::<Result<_, _>>()?;
        Ok(Series {
            from: self
                .from
                .as_deref()
                .map(|d| parse_date(d, "--from"))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|d| parse_date(d, "--to"))
                .transpose()?,
            filters,
        })
    }

    /// The query string of the series flags for the API (`by`, `from`, `to`, `timezone`, and
    /// one `filter` per `--filter`, in the same form).
    pub fn query_pairs(&self, series: &Series) -> Vec<(&'static str, Option<String>)> {
        let mut pairs = vec![
            ("by", self.by.clone()),
            ("from", series.from.map(|d| d.to_string())),
            ("to", series.to.map(|d| d.to_string())),
            ("timezone", self.tz.clone()),
        ];
        pairs.extend(self.filters.iter().map(|f| ("filter", Some(f.clone()))));
        pairs
    }
}

/// Arguments of `vitals spikes`.
#[derive(Args)]
pub struct SpikesArgs {
    #[command(flatten)]
    series: SeriesArgs,
}

/// `vitals spikes`.
pub fn spikes(args: SpikesArgs, config: &Config) -> Result<()> {
    let args = args.series;
    let series = args.parsed()?;
    let request = SpikeRequest {
        by: args.by.clone(),
        from: series.from,
        to: series.to,
        timezone: args.tz.clone(),
        filters: series.filters.clone(),
        ..Default::default()
    };
    let report: vitals_query::SpikeReport = match &args.server {
        Some(url) => {
            let query = query_string(&args.query_pairs(&series));
            Remote::new(url)?.get_json(&format!("/api/v1/spikes?{query}"))?
        }
        None => {
            let reader = open_reader(config, &args.db)?;
            let catalogue = Catalogue::builtin()?;
            vitals_query::spikes(
                reader.as_ref(),
                reader.as_ref(),
                &catalogue,
                config,
                &request,
            )?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["date"];
    if let Some(by) = &report.by {
        header.push(by);
    }
    header.extend([
        "tickets",
        "expected",
        "excess",
        "ratio",
        "made by",
        "annotations",
    ]);
    table.set_header(header);
    for s in &report.spikes {
        let mut row = vec![s.date.to_string()];
        if report.by.is_some() {
            row.push(s.value.clone().unwrap_or_else(|| "(none)".into()));
        }
        row.extend([
            format!("{}", s.count),
            format!("{}", s.expected),
            format!("+{}", s.excess),
            s.ratio.map(|r| format!("×{r:.1}")).unwrap_or_default(),
            made_by(s),
            s.annotations
                .iter()
                .map(|a| a.text.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ]);
        table.add_row(row);
    }
    print_found(
        &table,
        report.spikes.len(),
        "spikes",
        (report.from, report.to),
        &report.timezone,
    );
    Ok(())
}

/// The values that made a spike's excess, per dimension: `category billing +42 (100%)`.
fn made_by(spike: &Spike) -> String {
    spike
        .breakdown
        .iter()
        .flat_map(|d| {
            let name = d.dimension.rsplit(':').next().unwrap_or(&d.dimension);
            d.segments.iter().filter(|s| s.driver).map(move |s| {
                let share = s
                    .share_of_excess
                    .map(|p| format!(" ({:.0}%)", 100.0 * p))
                    .unwrap_or_default();
                format!(
                    "{name} {} +{:.1}{share}",
                    s.value.as_deref().unwrap_or("(none)"),
                    s.excess
                )
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Prints a series command's table, then on stderr how many `what` (spikes, anomalies) were
/// found over which days, and where the method is explained.
pub fn print_found(
    table: &Table,
    found: usize,
    what: &str,
    (from, to): (Option<NaiveDate>, Option<NaiveDate>),
    zone: &str,
) {
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    println!("{table}");
    eprintln!(
        "{found} {what} from {} to {} ({zone}); method: vitals explain {what}",
        day(from),
        day(to)
    );
}

/// Arguments of `vitals annotate`.
#[derive(Args)]
pub struct AnnotateArgs {
    /// The local date (YYYY-MM-DD).
    date: String,
    /// What happened.
    text: String,
    /// A category (e.g. `launch`, `outage`, or a ticket category).
    #[arg(long)]
    category: Option<String>,
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
    /// Ask a running `vitals serve` at this URL instead of opening the store (token from
    /// VITALS_TOKEN).
    #[arg(long, env = "VITALS_SERVER")]
    server: Option<String>,
}

fn open_writer(config: &Config, db: &std::path::Path) -> Result<Box<dyn Backend>> {
    if crate::store_target::missing_file(config, db) {
        return Err(UserError(format!(
            "no store at {}; import data first (vitals import DIR --db {0})",
            db.display()
        ))
        .into());
    }
    open(config, db, Workload::Mixed)
}

/// `vitals annotate`.
pub fn annotate(args: AnnotateArgs, config: &Config) -> Result<()> {
    let date: NaiveDate = parse_date(&args.date, "the date")?;
    if args.text.trim().is_empty() {
        return Err(UserError("the annotation's text is empty".into()).into());
    }
    let new = NewAnnotation {
        date,
        text: args.text,
        category: args.category,
    };
    new.check(config.import.max_field_chars)
        .map_err(UserError)?;
    let a: Annotation = match &args.server {
        Some(url) => serde_json::from_str(&Remote::new(url)?.post(
            "/api/v1/annotations",
            "application/json",
            &serde_json::to_string(&new)?,
        )?)?,
        None => open_writer(config, &args.db)?
            .admin()
            .add_annotation(&new)?,
    };
    println!("annotation {} on {}: {}", a.id, a.date, a.text);
    Ok(())
}

/// Arguments of `vitals annotations`.
#[derive(Args)]
pub struct AnnotationsArgs {
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
    /// Ask a running `vitals serve` at this URL instead of opening the store (token from
    /// VITALS_TOKEN).
    #[arg(long, env = "VITALS_SERVER")]
    server: Option<String>,
    /// Delete the annotation with this id.
    #[arg(long)]
    delete: Option<i64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `vitals annotations`.
pub fn annotations(args: AnnotationsArgs, config: &Config) -> Result<()> {
    let remote = args.server.as_deref().map(Remote::new).transpose()?;
    if let Some(id) = args.delete {
        let deleted = match &remote {
            Some(remote) => remote.delete(&format!("/api/v1/annotations/{id}"))?,
            None => open_writer(config, &args.db)?
                .admin()
                .delete_annotation(id)?,
        };
        if !deleted {
            return Err(UserError(format!("no annotation {id}; see `vitals annotations`")).into());
        }
        println!("annotation {id} deleted");
        return Ok(());
    }
    let list: Vec<Annotation> = match &remote {
        Some(remote) => remote.get_json("/api/v1/annotations")?,
        None => open_reader(config, &args.db)?.annotations()?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    for a in &list {
        let category = a
            .category
            .as_deref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        println!("{:>4}  {}  {}{category}", a.id, a.date, a.text);
    }
    if list.is_empty() {
        eprintln!("no annotations; add one with `vitals annotate DATE TEXT`");
    }
    Ok(())
}

/// Arguments of `vitals staffing`.
#[derive(Args)]
pub struct StaffingArgs {
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
    /// Ask a running `vitals serve` at this URL instead of opening the store (token from
    /// VITALS_TOKEN).
    #[arg(long, env = "VITALS_SERVER")]
    server: Option<String>,
    /// The month (YYYY-MM; the last month with calls by default).
    #[arg(long)]
    month: Option<String>,
    /// How many of the busiest weekday × hour cells.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// IANA zone of weekdays and hours (default: the reporting zone).
    #[arg(long)]
    tz: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `vitals staffing`.
pub fn staffing(args: StaffingArgs, config: &Config) -> Result<()> {
    let request = StaffingRequest {
        month: args.month,
        timezone: args.tz,
        top: Some(args.top),
    };
    let report: vitals_query::StaffingReport = match &args.server {
        Some(url) => {
            let query = query_string(&[
                ("month", request.month.clone()),
                ("timezone", request.timezone.clone()),
                ("top", request.top.map(|t| t.to_string())),
            ]);
            Remote::new(url)?.get_json(&format!("/api/v1/staffing?{query}"))?
        }
        None => {
            let reader = open_reader(config, &args.db)?;
            let catalogue = Catalogue::builtin()?;
            vitals_query::staffing(reader.as_ref(), &catalogue, config, &request)?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header([
        "weekday",
        "hour",
        "offered/hour",
        "AHT",
        "Erlangs",
        "agents needed",
        "expected SL",
    ]);
    for c in &report.cells {
        table.add_row([
            c.weekday.clone(),
            format!("{}:00", c.hour),
            format!("{:.1}", c.offered_per_hour),
            c.aht_secs.map(duration).unwrap_or_default(),
            c.erlangs.map(|e| format!("{e:.2}")).unwrap_or_default(),
            c.agents_needed.map(|n| n.to_string()).unwrap_or_default(),
            c.expected_service_level
                .map(|s| format!("{:.1} %", 100.0 * s))
                .unwrap_or_default(),
        ]);
    }
    println!("{table}");
    eprintln!(
        "{} ({}): Erlang C for {:.0} % of calls answered within {} s ({}), one-hour intervals",
        report.month,
        report.timezone,
        100.0 * report.target,
        report.threshold_secs,
        report.target_source
    );
    Ok(())
}
