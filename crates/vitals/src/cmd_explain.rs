//! `vitals explain ID` and `vitals catalogue`: the catalogue in words, straight from its
//! declarative definitions.

use anyhow::Result;
use clap::Args;
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
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the reference document `docs/metrics.md` (Markdown).
    #[arg(long)]
    pub markdown: bool,
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
    if args.id == "spikes" && c.metric("spikes").is_none() {
        if args.json {
            let method = serde_json::json!({
                "id": "spikes",
                "method": vitals_query::spikes::METHOD,
                "metric": vitals_query::spikes::METRIC,
                "baseline_weeks": vitals_query::spikes::BASELINE_WEEKS,
                "min_baseline": vitals_query::spikes::MIN_BASELINE,
                "threshold": vitals_query::spikes::THRESHOLD,
                "min_excess": vitals_query::spikes::MIN_EXCESS,
            });
            println!("{}", serde_json::to_string_pretty(&method)?);
        } else {
            println!("{}", vitals_query::spikes::METHOD);
        }
        return Ok(());
    }
    let methods = [
        ("why", vitals_query::why::METHOD),
        ("anomalies", vitals_query::anomalies::METHOD),
        ("alerts", vitals_query::alerts::METHOD),
    ];
    if let Some((id, method)) = methods.iter().find(|(id, _)| *id == args.id) {
        if c.metric(id).is_none() {
            if args.json {
                let method = serde_json::json!({"id": id, "method": method});
                println!("{}", serde_json::to_string_pretty(&method)?);
            } else {
                println!("{method}");
            }
            return Ok(());
        }
    }
    let m = find(&c, &args.id)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c.doc(m))?);
        return Ok(());
    }
    println!("{} — {}\n", m.id, m.label);
    println!("{}\n", m.description);
    println!("Formula:      {}", m.formula);
    println!("Counts by:    {}", m.counts_by);
    println!(
        "Unit:         {}, {}; group {}",
        serde_json::to_value(m.unit)?.as_str().unwrap_or_default(),
        serde_json::to_value(m.direction)?
            .as_str()
            .unwrap_or_default()
            .replace('_', " "),
        m.group.name()
    );
    if m.has_distribution() {
        println!("Stats:        mean (default), median, p1…p99 (exact, linear interpolation as numpy / SQL percentile_cont)");
    }
    let doc = c.doc(m);
    println!("Interval:     {}", doc.interval);
    println!(
        "Dimensions:   {}, {}",
        doc.time_dimensions.join(", "),
        doc.dimensions.join(", ")
    );
    if !m.breakdown.is_empty() {
        println!("Always by:    {}", m.breakdown.join(", "));
    }
    println!("Sources:");
    for source in &doc.source_articles {
        println!("  - {source}");
    }
    if !m.decisions.is_empty() {
        println!("\nDecisions:");
        for d in &m.decisions {
            println!("  - {d}");
        }
    }
    for (engine, note) in &m.engine_notes {
        println!("\nNot computed on {engine} (the query answers `not_on_engine`): {note}");
    }
    Ok(())
}

/// `vitals catalogue`.
pub fn catalogue(args: CatalogueArgs) -> Result<()> {
    if args.markdown {
        return crate::metrics_doc::print();
    }
    let c = Catalogue::builtin()?;
    if args.json {
        let all: Vec<_> = c.metrics.iter().map(|m| c.doc(m)).collect();
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
