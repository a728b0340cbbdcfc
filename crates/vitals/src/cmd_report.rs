//! `vitals report --month 2026-03`: builds the month's report model (`vitals_report::build`)
//! and writes `vitals-report-2026-03.xlsx` and `.html`; `--write-template DIR` writes the
//! default HTML template to copy and change.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_report::{build, render_html, render_xlsx, write_default_template, ReportRequest};

use crate::store_target::open_reader;
use crate::UserError;

/// Arguments of `vitals report`.
#[derive(Args)]
pub struct ReportArgs {
    /// The month (YYYY-MM).
    #[arg(long, required_unless_present_any = ["write_template", "week"], conflicts_with = "week")]
    month: Option<String>,
    /// An ISO week (YYYY-Www, Monday to Sunday) instead of a month: the weekly report.
    #[arg(long)]
    week: Option<String>,
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
    /// The folder to write into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Formats, comma-separated: xlsx, html.
    #[arg(long, value_delimiter = ',', default_value = "xlsx,html")]
    format: Vec<String>,
    /// Limit ticket metrics to one team.
    #[arg(long)]
    team: Option<String>,
    /// IANA zone (default: the reporting zone).
    #[arg(long)]
    tz: Option<String>,
    /// A folder with `report.html` to use instead of the default HTML template.
    #[arg(long)]
    template: Option<PathBuf>,
    /// Write the default HTML template into this folder and stop.
    #[arg(long)]
    write_template: Option<PathBuf>,
    /// Download the report from a running `vitals serve` at this URL instead of opening the
    /// store (token from VITALS_TOKEN; the server's default template).
    #[arg(long, env = "VITALS_SERVER", conflicts_with = "template")]
    server: Option<String>,
}

/// `vitals report`.
pub fn run(args: ReportArgs, config: &Config) -> Result<()> {
    if let Some(dir) = &args.write_template {
        let path = write_default_template(dir)?;
        println!(
            "wrote {}; render with --template {}",
            path.display(),
            dir.display()
        );
        return Ok(());
    }
    if let Some(month) = args.month.as_deref().filter(|m| m.contains("-W")) {
        return Err(UserError(format!(
            "month `{month}` is not YYYY-MM (an ISO week is --week {month})"
        ))
        .into());
    }
    let (key, month) = match (args.month, args.week) {
        (_, Some(week)) => ("week", week),
        (month, None) => ("month", month.unwrap_or_default()),
    };
    for f in &args.format {
        if f != "xlsx" && f != "html" {
            return Err(UserError(format!("unknown format `{f}`; formats: xlsx, html")).into());
        }
    }
    if let Some(url) = &args.server {
        let remote = crate::remote::Remote::new(url)?;
        std::fs::create_dir_all(&args.out)?;
        let query = crate::remote::query_string(&[
            (key, Some(month.clone())),
            ("team", args.team.clone()),
            ("timezone", args.tz.clone()),
        ]);
        for f in &args.format {
            let bytes = remote.get_bytes(&format!("/api/v1/report?{query}&format={f}"))?;
            let path = args.out.join(format!("vitals-report-{month}.{f}"));
            std::fs::write(&path, bytes)?;
            println!("wrote {}", path.display());
        }
        return Ok(());
    }
    let reader = open_reader(config, &args.db)?;
    let catalogue = Catalogue::builtin()?;
    let request = ReportRequest {
        period: month.clone(),
        team: args.team,
        timezone: args.tz,
    };
    let model = build(
        reader.as_ref(),
        reader.as_ref(),
        &catalogue,
        config,
        &request,
    )
    .map_err(user_or_internal)?;
    std::fs::create_dir_all(&args.out)?;
    for f in &args.format {
        let path = args.out.join(format!("vitals-report-{month}.{f}"));
        let bytes = match f.as_str() {
            "xlsx" => render_xlsx(&model)?,
            _ => render_html(&model, args.template.as_deref())
                .map_err(user_or_internal)?
                .into_bytes(),
        };
        std::fs::write(&path, bytes)?;
        println!("wrote {}", path.display());
    }
    if model.partial {
        eprintln!("note: {month} is still in progress; the report is marked partial");
    }
    Ok(())
}

/// A report error as the user's (exit 1) or internal (exit 2).
pub(crate) fn user_or_internal(e: vitals_report::ReportError) -> anyhow::Error {
    if e.is_user_error() {
        UserError(e.to_string()).into()
    } else {
        e.into()
    }
}
