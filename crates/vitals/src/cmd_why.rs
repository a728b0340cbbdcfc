//! `vitals why`: builds the query library's `WhyRequest` from flags, explains the metric's
//! change on a read-only handle of the store (`vitals_query::why`, the same function as
//! `POST /api/v1/why`) and prints it as JSON or as one table per dimension, most explanatory
//! first.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use vitals_core::catalogue::{Catalogue, Unit};
use vitals_core::config::Config;
use vitals_query::request::parse_date;
use vitals_query::units;
use vitals_query::why::{SegmentKind, WhyDimension};
use vitals_query::{Filter, MetricSpec, Versus, WhyRequest, WhyResponse};

use crate::store_target::open_reader;

/// Segments shown per dimension in the table (`--json` has them all).
const SHOWN: usize = 6;

/// Arguments of `vitals why`.
#[derive(Args)]
pub struct WhyArgs {
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, default_value = "vitals.duckdb", env = "VITALS_DB")]
    db: PathBuf,
    /// Metric `ID` or `ID:STAT` (mean, median, p1…p99).
    #[arg(long)]
    metric: String,
    /// First day, inclusive (YYYY-MM-DD in --tz; with --to; default: the latest complete month).
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// Last day, exclusive (YYYY-MM-DD in --tz).
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// The comparison: `previous` (default), `same-last-year` or `FROM..TO`.
    #[arg(long)]
    vs: Option<String>,
    /// A dimension to split by (default: every segment dimension of the metric); repeatable.
    #[arg(long = "by")]
    by: Vec<String>,
    /// Keep only DIM=VALUE[,VALUE…] (or drop with DIM!=…); repeatable, all must hold.
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// IANA zone of dates (default: the configured reporting zone).
    #[arg(long)]
    tz: Option<String>,
    /// Fold segments with fewer rows than this in both periods into `other` (default:
    /// [statistics] min_sample).
    #[arg(long)]
    min_support: Option<u64>,
    /// Print JSON (the same as `POST /api/v1/why`).
    #[arg(long)]
    json: bool,
}

/// `vitals why`.
pub fn run(args: WhyArgs, config: &Config) -> Result<()> {
    let date = |text: &Option<String>, flag: &str| -> Result<_> {
        Ok(text.as_deref().map(|t| parse_date(t, flag)).transpose()?)
    };
    let request = WhyRequest {
        metric: MetricSpec::parse(&args.metric),
        by: args.by,
        filters: args
            .filters
            .iter()
            .map(|f| Filter::parse(f))
            .collect::<Result<_, _>>()?,
        from: date(&args.from, "--from")?,
        to: date(&args.to, "--to")?,
        timezone: args.tz,
        vs: args.vs.as_deref().map(Versus::parse).transpose()?,
        min_support: args.min_support,
    };
    let reader = open_reader(config, &args.db)?;
    let catalogue = Catalogue::builtin()?;
    let answer = vitals_query::why(reader.as_ref(), &catalogue, config, &request)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print(&answer);
    }
    Ok(())
}

/// A signed change in the metric's unit (percentage points for percentages).
fn signed(c: f64, unit: Unit) -> String {
    let sign = if c < 0.0 { "−" } else { "+" };
    let magnitude = match unit {
        Unit::Percent => format!("{:.2} pp", c.abs()),
        Unit::Count => format!("{:.0}", c.abs()),
        Unit::Nps => format!("{:.2}", c.abs()),
        _ => units::value(Some(c.abs()), unit),
    };
    format!("{sign}{magnitude}")
}

fn kind(k: SegmentKind) -> &'static str {
    match k {
        SegmentKind::Rate => "rate",
        SegmentKind::Mix => "mix",
        SegmentKind::Count => "count",
        SegmentKind::New => "new",
        SegmentKind::Vanished => "vanished",
        SegmentKind::Other => "other",
    }
}

fn table(answer: &WhyResponse, dim: &WhyDimension) -> Table {
    let unit = answer.unit;
    let effect = |v: Option<f64>| v.map(|x| signed(x, unit)).unwrap_or_else(|| "—".into());
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header([
        "segment",
        "kind",
        "now",
        "n",
        "share",
        "before",
        "n",
        "share",
        "rate",
        "mix",
        "contribution",
        "sig",
    ]);
    for s in dim.segments.iter().take(SHOWN) {
        let name = s.value.clone().unwrap_or_else(|| "(none)".into());
        table.add_row([
            if s.driver {
                format!("▶ {name}")
            } else {
                name
            },
            kind(s.kind).to_string(),
            units::value(s.current.value, unit),
            s.current.n.to_string(),
            format!("{:.1} %", 100.0 * s.current.share),
            units::value(s.previous.value, unit),
            s.previous.n.to_string(),
            format!("{:.1} %", 100.0 * s.previous.share),
            effect(s.rate_effect),
            effect(s.mix_effect),
            signed(s.contribution, unit),
            match s.significant {
                Some(true) => "*".into(),
                Some(false) => String::new(),
                None => "?".into(),
            },
        ]);
    }
    let scale = answer.change.unwrap_or(0.0).abs().max(1.0);
    if dim.remainder.abs() > 1e-9 * scale {
        let mut row = vec!["(remainder)".to_string()];
        row.extend(std::iter::repeat_n(String::new(), 9));
        row.extend([signed(dim.remainder, unit), String::new()]);
        table.add_row(row);
    }
    table
}

fn print(answer: &WhyResponse) {
    let unit = answer.unit;
    println!(
        "{} ({}) {}..{} against {} {}..{} ({})",
        answer.label,
        answer.metric,
        answer.period.from,
        answer.period.to,
        answer.comparison.mode,
        answer.comparison.from,
        answer.comparison.to,
        answer.timezone
    );
    let Some(change) = answer.change else {
        println!(
            "{} → {}: no change to explain (the metric has no value in one of the periods)",
            units::value(answer.previous, unit),
            units::value(answer.value, unit)
        );
        return;
    };
    let test = match (&answer.test, answer.p_value) {
        (Some(t), Some(p)) => format!(
            "{}, {t} p = {p:.3}",
            if p < 0.05 {
                "significant"
            } else {
                "not significant"
            }
        ),
        _ => "no test".into(),
    };
    println!(
        "{} → {}: {} (n {} → {}; {test})",
        units::value(answer.previous, unit),
        units::value(answer.value, unit),
        signed(change, unit),
        answer.previous_n,
        answer.n
    );
    for (i, dim) in answer.dimensions.iter().enumerate() {
        let drivers = match (dim.segments_needed, dim.explained) {
            (0, _) => "no significant driver".to_string(),
            (k, Some(e)) => format!(
                "{k} driver{} explain{} {:.0} % of the change",
                if k == 1 { "" } else { "s" },
                if k == 1 { "s" } else { "" },
                100.0 * e
            ),
            (k, None) => format!("{k} drivers"),
        };
        println!(
            "\n{}. {} — power {}, {drivers}",
            i + 1,
            dim.dimension,
            dim.power.map_or("—".into(), |p| format!("{p:.2}"))
        );
        println!("{}", table(answer, dim));
    }
    for pair in &answer.pairs {
        println!(
            "\nTogether: {} — {} driver{}",
            pair.dimension,
            pair.segments_needed,
            if pair.segments_needed == 1 { "" } else { "s" }
        );
        println!("{}", table(answer, pair));
    }
    eprintln!(
        "▶ driver; * significant after Holm's adjustment, ? untested; segments under {} rows folded into other; method: vitals explain why",
        answer.min_support
    );
}
