//! `vitals sla`: the SLA targets still open — which ticket, which target, how much clock time
//! is used and left, when it is due — with `--breached` / `--at-risk` to narrow the list.

use std::path::PathBuf;

use anyhow::Result;
use chrono::DateTime;
use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::json;
use vitals_core::config::Config;
use vitals_core::facts::{assess_open, Clock, SlaState};
use vitals_store::Store;

use crate::format::duration;
use crate::UserError;

/// Arguments of `vitals sla`.
#[derive(Args)]
pub struct SlaArgs {
    /// The store file.
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
}

/// `vitals sla`.
pub fn run(args: SlaArgs, config: &Config) -> Result<()> {
    if !args.db.exists() {
        return Err(UserError(format!("no store at {}", args.db.display())).into());
    }
    let rules = config.derivation_rules()?;
    if rules.sla.is_empty() {
        return Err(UserError(
            "no SLA policy is configured: add [[sla]] to vitals.toml (see `vitals config --default`)".into(),
        )
        .into());
    }
    let now = match &args.now {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|_| UserError(format!("--now `{t}` is not an RFC 3339 instant")))?
            .timestamp_micros(),
        None => vitals_core::now::now_us().map_err(UserError)?,
    };
    let store = Store::open(&args.db.display().to_string())?;
    let derivation = store.derive_touched(&rules)?;
    if derivation.calendars_changed {
        eprintln!(
            "note: calendars or SLA policies changed; {} tickets were re-derived",
            derivation.tickets
        );
    }
    let zone = config.reporting_zone();
    let local = |us: i64| {
        DateTime::from_timestamp_micros(us)
            .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    let mut listed = Vec::new();
    for t in store.open_sla_targets()? {
        let calendar = if t.business {
            rules.for_team(t.team.as_deref())
        } else {
            None
        };
        let a = assess_open(
            t.target_secs,
            t.elapsed_secs,
            t.running_since,
            t.at_risk,
            Clock::new(calendar),
            now,
        );
        let wanted = match (args.breached, args.at_risk) {
            (true, _) => a.state == SlaState::Breached,
            (_, true) => a.state == SlaState::AtRisk,
            _ => true,
        };
        if wanted {
            listed.push((t, a));
        }
    }
    listed.sort_by(|x, y| x.1.remaining_secs.total_cmp(&y.1.remaining_secs));
    if args.json {
        let rows: Vec<_> = listed
            .iter()
            .map(|(t, a)| {
                json!({
                    "ticket_id": t.ticket_id, "policy": t.policy, "target": t.target,
                    "state": a.state.name(), "target_secs": t.target_secs,
                    "elapsed_secs": a.elapsed_secs, "remaining_secs": a.remaining_secs,
                    "clock": if t.business { "business" } else { "calendar" },
                    "running": t.running_since.is_some(),
                    "due_at": t.due_at.and_then(DateTime::from_timestamp_micros).map(|d| d.to_rfc3339()),
                    "team": t.team, "priority": t.priority, "agent_id": t.agent_id,
                })
            })
            .collect();
        let as_of = DateTime::from_timestamp_micros(now).map(|d| d.to_rfc3339());
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"as_of": as_of, "targets": rows}))?
        );
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "ticket",
        "policy",
        "target",
        "state",
        "target",
        "elapsed",
        "remaining",
        "due",
        "agent",
    ]);
    for (t, a) in &listed {
        let remaining = if a.remaining_secs < 0.0 {
            format!("−{}", duration(-a.remaining_secs))
        } else {
            duration(a.remaining_secs)
        };
        let due = match (t.due_at, t.running_since) {
            (Some(d), _) => local(d),
            (None, None) => "paused".into(),
            (None, Some(_)) => String::new(),
        };
        table.add_row(vec![
            t.ticket_id.clone(),
            t.policy.clone(),
            t.target.clone(),
            a.state.name().to_string(),
            duration(t.target_secs),
            duration(a.elapsed_secs),
            remaining,
            due,
            t.agent_id.clone().unwrap_or_default(),
        ]);
    }
    println!("{table}");
    eprintln!(
        "{} open targets listed, as of {} ({})",
        listed.len(),
        local(now),
        zone.name()
    );
    Ok(())
}
