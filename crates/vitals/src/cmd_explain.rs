//! `vitals explain ID` and `vitals catalogue`: the catalogue in words, straight from its
//! declarative definitions.

use anyhow::Result;
use clap::Args;
use serde_json::json;
use vitals_core::catalogue::{did_you_mean, Catalogue, Metric};

use crate::UserError;

/// Arguments of `vitals explain`.
#[derive(Args)]
pub struct ExplainArgs {
    /// Metric id.
    pub id: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `vitals catalogue`.
#[derive(Args)]
pub struct CatalogueArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The source articles by number.
const SOURCES: &[(&str, &str)] = &[
    ("000", "Finnish article (seed 000)"),
    ("001", "Slovenian article (seed 001)"),
    ("002", "Thai article (seed 002)"),
    ("003", "Chinese article (seed 003)"),
    ("004", "Japanese article (seed 004)"),
];

fn metric_json(c: &Catalogue, m: &Metric) -> serde_json::Value {
    json!({
        "id": m.id,
        "label": m.label,
        "family": m.family,
        "description": m.description,
        "formula": m.formula,
        "counts_by": m.counts_by,
        "calculation": format!("{:?}", m.calculation).to_lowercase(),
        "unit": format!("{:?}", m.unit).to_lowercase(),
        "direction": format!("{:?}", m.direction).to_lowercase(),
        "stats": if m.has_distribution() { json!(["mean", "median", "p1…p99"]) } else { json!([]) },
        "dimensions": c.dimensions_of(m).keys().cloned().collect::<Vec<_>>(),
        "sources": m.sources,
        "decisions": m.decisions,
    })
}

fn find<'c>(c: &'c Catalogue, id: &str) -> Result<&'c Metric> {
    c.metric(id).ok_or_else(|| {
        let hint = did_you_mean(id, c.metrics.iter().map(|m| m.id.as_str()))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_else(|| "; see `vitals catalogue`".into());
        UserError(format!("unknown metric `{id}`{hint}")).into()
    })
}

/// `vitals explain`.
pub fn explain(args: ExplainArgs) -> Result<()> {
    let c = Catalogue::builtin()?;
    let m = find(&c, &args.id)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&metric_json(&c, m))?);
        return Ok(());
    }
    println!("{} — {}\n", m.id, m.label);
    println!("{}\n", m.description);
    println!("Formula:      {}", m.formula);
    println!("Counts by:    {}", m.counts_by);
    println!("Unit:         {:?}, {:?}", m.unit, m.direction);
    if m.has_distribution() {
        println!("Stats:        mean (default), median, p1…p99 (exact, linear interpolation as numpy / SQL percentile_cont)");
    }
    println!(
        "Interval:     {}",
        match m.calculation {
            vitals_core::catalogue::Calculation::Proportion
            | vitals_core::catalogue::Calculation::Share
            | vitals_core::catalogue::Calculation::RepeatPurchase
            | vitals_core::catalogue::Calculation::Retention
            | vitals_core::catalogue::Calculation::Churn => "95% Wilson score interval",
            vitals_core::catalogue::Calculation::Nps =>
                "95%, multinomial variance of promoter and detractor shares",
            vitals_core::catalogue::Calculation::Distribution =>
                "95% Student-t interval for the mean",
            vitals_core::catalogue::Calculation::Composite
            | vitals_core::catalogue::Calculation::Spread => {
                "none (a composite across rates or agents); n is the customers or agents it rests on"
            }
            _ => "none (a count or a cost ratio)",
        }
    );
    let time_of_day =
        vitals_core::query::request::is_row_wise(m.calculation) && m.per_bucket.is_none();
    println!(
        "Dimensions:   time:day|week|month|quarter|year, {}{}",
        if time_of_day {
            "time:weekday, time:hour, "
        } else {
            ""
        },
        c.dimensions_of(m)
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !m.breakdown.is_empty() {
        println!("Always by:    {}", m.breakdown.join(", "));
    }
    let sources: Vec<&str> = m
        .sources
        .iter()
        .map(|s| {
            SOURCES
                .iter()
                .find(|(n, _)| n == s)
                .map(|(_, l)| *l)
                .unwrap_or(s.as_str())
        })
        .collect();
    println!("Sources:      {}", sources.join("; "));
    if !m.decisions.is_empty() {
        println!("\nDecisions:");
        for d in &m.decisions {
            println!("  - {d}");
        }
    }
    Ok(())
}

/// `vitals catalogue`.
pub fn catalogue(args: CatalogueArgs) -> Result<()> {
    let c = Catalogue::builtin()?;
    if args.json {
        let all: Vec<_> = c.metrics.iter().map(|m| metric_json(&c, m)).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    let width = c.metrics.iter().map(|m| m.id.len()).max().unwrap_or(10);
    let mut family = "";
    for m in &c.metrics {
        if m.family != family {
            family = &m.family;
            println!("\n{family}");
        }
        println!("  {:width$}  {} — {}", m.id, m.label, m.counts_by);
    }
    Ok(())
}
