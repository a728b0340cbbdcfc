//! `vitals digest send NAME [--period YYYY-MM|YYYY-Www] [--dry-run --out FILE.eml]`: builds a
//! `[[digests]]` entry's report mail (`vitals_report::digest::compose`) and sends it through
//! `[smtp]`, or writes the RFC 5322 message to a file and sends nothing; `vitals digest list`:
//! each digest's schedule, next run and last sent period. `vitals serve` sends them on schedule.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use vitals_core::catalogue::{did_you_mean, Catalogue};
use vitals_core::config::{Config, DigestConfig, DigestPeriod};
use vitals_mail::Mailer;
use vitals_report::digest::compose;

use crate::cmd_report::user_or_internal;
use crate::store_target::open_reader;
use crate::UserError;

/// Arguments of `vitals digest`.
#[derive(Args)]
pub struct DigestArgs {
    #[command(subcommand)]
    command: DigestCommand,
}

#[derive(Subcommand)]
enum DigestCommand {
    /// Build a digest's mail and send it now (or write it to a file with --dry-run).
    Send(SendArgs),
    /// List the digests with their next run and the last period sent.
    List(ListArgs),
}

#[derive(Args)]
struct SendArgs {
    /// The digest's name (`[[digests]] name`).
    name: String,
    /// The period to report: a month (YYYY-MM) for a monthly digest, an ISO week (YYYY-Www)
    /// for a weekly one; default: the last complete one.
    #[arg(long)]
    period: Option<String>,
    /// Send nothing: write the message to a file.
    #[arg(long)]
    dry_run: bool,
    /// The file of a dry run (default: `digest-NAME-PERIOD.eml` here).
    #[arg(long, requires = "dry_run")]
    out: Option<PathBuf>,
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
}

#[derive(Args)]
struct ListArgs {
    /// The store (for the last periods `vitals serve` sent): a DuckDB file, or
    /// clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
}

/// `vitals digest`.
pub fn run(args: DigestArgs, config: &Config) -> Result<()> {
    match args.command {
        DigestCommand::Send(args) => send(args, config),
        DigestCommand::List(args) => list(args, config),
    }
}

fn find<'c>(config: &'c Config, name: &str) -> Result<&'c DigestConfig> {
    if let Some(d) = config.digests.iter().find(|d| d.name == name) {
        return Ok(d);
    }
    let names = config.digests.iter().map(|d| d.name.as_str());
    let hint = match did_you_mean(name, names.clone()) {
        Some(s) => format!("; did you mean `{s}`?"),
        None if config.digests.is_empty() => "; the configuration has no [[digests]]".to_string(),
        None => format!("; digests: {}", names.collect::<Vec<_>>().join(", ")),
    };
    Err(UserError(format!("no digest `{name}`{hint}")).into())
}

fn send(args: SendArgs, config: &Config) -> Result<()> {
    let digest = find(config, &args.name)?;
    let period = match args.period {
        Some(p) if p.contains("-W") != (digest.period == DigestPeriod::Week) => {
            let wanted = match digest.period {
                DigestPeriod::Week => "an ISO week, YYYY-Www",
                DigestPeriod::Month => "a month, YYYY-MM",
            };
            return Err(UserError(format!(
                "digest {} reports {wanted}; --period {p} is not one",
                digest.name
            ))
            .into());
        }
        Some(p) => p,
        None => {
            let now = vitals_core::config::now().map_err(UserError)?;
            digest.period_at(now.with_timezone(&config.reporting_zone()))
        }
    };
    let smtp = config.smtp.as_ref().ok_or_else(|| {
        UserError("no [smtp] section: digests need a server to send through".into())
    })?;
    let mailer = Mailer::from_config(smtp).map_err(|e| UserError(e.to_string()))?;
    let reader = open_reader(config, &args.db)?;
    let catalogue = Catalogue::builtin()?;
    let mail = compose(
        reader.as_ref(),
        reader.as_ref(),
        &catalogue,
        config,
        digest,
        &period,
    )
    .map_err(user_or_internal)?;
    if args.dry_run {
        let out = args
            .out
            .unwrap_or_else(|| PathBuf::from(format!("digest-{}-{period}.eml", digest.name)));
        let sent = mailer
            .write_eml(&mail, &out)
            .map_err(|e| UserError(e.to_string()))?;
        println!(
            "wrote {} ({}, {period}; {}); nothing was sent",
            out.display(),
            mail.subject,
            sent.message_id
        );
    } else {
        let sent = mailer.send(&mail).map_err(|e| UserError(e.to_string()))?;
        println!(
            "sent digest {} ({period}) to {}; Message-ID {}",
            digest.name,
            mail.to.join(", "),
            sent.message_id
        );
    }
    Ok(())
}

fn list(args: ListArgs, config: &Config) -> Result<()> {
    if config.digests.is_empty() {
        println!("no digests: add [[digests]] (and [smtp]) to the configuration");
        return Ok(());
    }
    let runs = if !crate::store_target::missing_file(config, &args.db) {
        open_reader(config, &args.db)?.digest_runs()?
    } else {
        Vec::new()
    };
    let zone = config.reporting_zone();
    let now = vitals_core::config::now().map_err(UserError)?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header([
        "digest",
        "schedule",
        "next run",
        "reports",
        "last sent",
        "team",
        "recipients",
    ]);
    for d in &config.digests {
        let next = d.next_run(now, zone);
        let last = runs
            .iter()
            .find(|r| r.name == d.name)
            .map(|r| format!("{} ({})", r.period, r.sent_at))
            .unwrap_or_else(|| "never".into());
        table.add_row([
            d.name.clone(),
            d.schedule.clone(),
            next.map(|t| t.format("%Y-%m-%d %H:%M %Z").to_string())
                .unwrap_or_else(|| "never".into()),
            next.map(|t| d.period_at(t)).unwrap_or_default(),
            last,
            d.team.clone().unwrap_or_else(|| "all".into()),
            d.recipients.join(", "),
        ]);
    }
    println!("{table}");
    Ok(())
}
