//! `vitals alerts run` (evaluate every rule once and deliver the outbox: for cron, while no
//! `vitals serve` holds the store — a running server evaluates by itself) and `vitals alerts
//! test RULE` (evaluate one rule and print what it would send; `--dry-run` sends nothing,
//! otherwise the messages are posted once, marked as a test, without touching the state).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::alerts::{check_rules, evaluate, fingerprint, Delivery, NoticeKind, SeriesState};
use vitals_server::alerting::deliver::Courier;
use vitals_server::alerting::messages::{dashboard_link, Notice};
use vitals_server::alerting::{evaluate_rules, wall_us, Alerting, WHY_SEGMENTS};

use crate::backend::Workload;
use crate::store_target::{open, open_reader};
use crate::UserError;

/// `vitals alerts …`.
#[derive(Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    command: AlertsCommand,
}

#[derive(Subcommand)]
enum AlertsCommand {
    /// Evaluate every rule once, store the state and deliver due messages (for cron).
    Run(RunArgs),
    /// Evaluate one rule now and print the message each firing series would send.
    Test(TestArgs),
}

#[derive(Args)]
struct RunArgs {
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
}

#[derive(Args)]
struct TestArgs {
    /// The rule's name.
    rule: String,
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, env = "VITALS_DB", default_value = "vitals.duckdb")]
    db: PathBuf,
    /// Print only: send nothing.
    #[arg(long)]
    dry_run: bool,
}

fn alerting(config: &Config) -> Result<Alerting> {
    let catalogue = Catalogue::builtin()?;
    let rules = check_rules(config, &catalogue).map_err(|e| UserError(e.to_string()))?;
    let schedule = config
        .alerting
        .schedule()
        .map_err(|e| UserError(e.to_string()))?;
    Ok(Alerting {
        rules,
        dashboard: schedule
            .dashboard_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8080".into()),
        schedule,
        catalogue,
        config: config.clone(),
    })
}

/// `vitals alerts`.
pub fn run(args: AlertsArgs, config: &Config) -> Result<()> {
    match args.command {
        AlertsCommand::Run(a) => run_once(a, config),
        AlertsCommand::Test(a) => test(a, config),
    }
}

fn run_once(args: RunArgs, config: &Config) -> Result<()> {
    let alerting = alerting(config)?;
    if alerting.rules.is_empty() {
        return Err(UserError("no [[alerts]] rules in the configuration".into()).into());
    }
    if crate::store_target::missing_file(config, &args.db) {
        return Err(UserError(format!("no store at {}", args.db.display())).into());
    }
    let backend = open(config, &args.db, Workload::Mixed)?;
    let (store, reader) = (backend.admin(), backend.reader()?);
    let now_us = vitals_core::now::now_us().map_err(UserError)?;
    let previous = store.alert_states()?;
    let evaluation = evaluate_rules(
        reader.as_ref(),
        reader.as_ref(),
        &alerting,
        &previous,
        now_us,
        wall_us(),
    );
    store.record_alerts(&evaluation.states, &evaluation.notices)?;
    for s in &evaluation.states {
        println!(
            "{} [{}]: {} — {}",
            s.rule,
            s.series,
            s.state.name(),
            s.summary
        );
    }
    for (event, _) in &evaluation.notices {
        println!(
            "queued: {} {} [{}]",
            event.kind.name(),
            event.rule,
            event.series
        );
    }
    let now = wall_us();
    let due = store.due_deliveries(now, 1000)?;
    let mut failed = 0;
    let courier = Courier::new(config).map_err(|e| UserError(e.to_string()))?;
    let delivered = courier.attempt_all(&due, now, |d, outcome| {
        if let Err((e, _)) = &outcome {
            eprintln!(
                "delivery {} to {} failed: {e} (retried on a later run)",
                d.key, d.kind
            );
            failed += 1;
        }
        if let Err(e) = store.note_delivery(&d.key, d.channel, now, outcome) {
            eprintln!("{e}");
        }
    });
    println!("delivered {delivered}, failed {failed}");
    for e in &evaluation.errors {
        eprintln!("error: {e}");
    }
    if evaluation.errors.is_empty() {
        Ok(())
    } else {
        Err(UserError(format!(
            "{} rules could not be evaluated",
            evaluation.errors.len()
        ))
        .into())
    }
}

fn test(args: TestArgs, config: &Config) -> Result<()> {
    let alerting = alerting(config)?;
    let Some(rule) = alerting.rules.iter().find(|r| r.name == args.rule) else {
        let names: Vec<&str> = alerting.rules.iter().map(|r| r.name.as_str()).collect();
        let hint = vitals_core::catalogue::did_you_mean(&args.rule, names.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_else(|| format!("; rules: {}", names.join(", ")));
        return Err(UserError(format!("no alert rule `{}`{hint}", args.rule)).into());
    };
    let reader = open_reader(config, &args.db)?;
    let courier = Courier::new(config).map_err(|e| UserError(e.to_string()))?;
    let now_us = vitals_core::now::now_us().map_err(UserError)?;
    let (catalogue, config) = (&alerting.catalogue, &alerting.config);
    let observations = evaluate(
        reader.as_ref(),
        reader.as_ref(),
        catalogue,
        config,
        rule,
        now_us,
    )?;
    for o in &observations {
        let verdict = if o.active { "holds" } else { "does not hold" };
        println!(
            "{} [{}]: the condition {verdict} — {}",
            rule.name, o.series, o.summary
        );
        if !o.active {
            continue;
        }
        let state = SeriesState {
            rule: rule.name.clone(),
            series: o.series.clone(),
            state: vitals_query::alerts::AlertState::Firing,
            consecutive: rule.for_evaluations,
            since_us: Some(now_us),
            last_sent_us: Some(now_us),
            fingerprint: fingerprint(&rule.name, &o.series),
            value: o.value,
            summary: o.summary.clone(),
            evaluated_us: now_us,
        };
        let notice = Notice {
            rule,
            state: &state,
            observation: Some(o),
            kind: NoticeKind::Firing,
            key: format!("test-{}-{now_us}", state.fingerprint),
            link: dashboard_link(&alerting.dashboard, rule, Some(o)),
            why: vitals_query::alerts::top_segments(
                reader.as_ref(),
                catalogue,
                config,
                rule,
                o,
                WHY_SEGMENTS,
            ),
            at_us: now_us,
        };
        for channel in &rule.channels {
            let body = notice.body(channel);
            println!("→ {} {}\n{body}", channel.kind(), channel.url());
            if args.dry_run {
                continue;
            }
            let delivery = Delivery {
                key: notice.key.clone(),
                channel: 0,
                kind: channel.kind().into(),
                url: channel.url(),
                body,
                rule: rule.name.clone(),
                series: o.series.clone(),
                attempts: 0,
                next_attempt_us: 0,
                delivered_us: None,
                last_error: None,
            };
            match courier.deliver(&delivery) {
                Ok(()) => println!("  sent (test)"),
                Err(e) => println!("  not sent: {e}"),
            }
        }
    }
    if args.dry_run {
        eprintln!("dry run: nothing sent, no state changed");
    }
    Ok(())
}
