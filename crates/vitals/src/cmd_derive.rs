//! `vitals derive`: the writer re-derives the ticket facts that are out of step with the
//! configuration (calendars, teams, SLA policies) or still waiting after an interrupted
//! import, and rebuilds the stored facts whose configuration (survey rules, rubric weights)
//! changed. Queries never derive; they warn and name this command.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use vitals_backend::{DerivationInputs, Partition};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;

use crate::backend::Workload;
use crate::store_target::open;
use crate::UserError;

/// Arguments of `vitals derive`.
#[derive(Args)]
pub struct DeriveArgs {
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, default_value = "vitals.duckdb", env = "VITALS_DB")]
    pub db: PathBuf,
    /// Derive only partition I of N (`cityHash64(ticket_id) % N = I`), so that N processes
    /// derive side by side (ClickHouse; DuckDB's one writer takes only 0/1).
    #[arg(long, value_parser = Partition::parse)]
    pub partition: Option<Partition>,
}

/// `vitals derive`.
pub fn run(args: DeriveArgs, config: &Config) -> Result<()> {
    let config = &*crate::store_target::apply(config, &args.db)?;
    if crate::store_target::missing_file(config, &args.db) {
        return Err(UserError(format!("no store at {}", args.db.display())).into());
    }
    let backend = open(config, &args.db, Workload::Bulk)?;
    let derivation = backend.writer().derive_partition(
        &DerivationInputs::new(config, &Catalogue::builtin()?)?,
        args.partition.unwrap_or(Partition::WHOLE),
    )?;
    if derivation.calendars_changed {
        println!(
            "calendars, teams or SLA policies changed: {} tickets were re-derived",
            derivation.tickets
        );
    } else if derivation.tickets > 0 {
        println!("{} changed tickets were derived", derivation.tickets);
    }
    // On ClickHouse a derivation of a whole partition leaves a second version of its tickets'
    // facts; one server deriving every ticket merges them itself (`optimize.rs`).
    let partitioned = args.partition.is_some_and(|p| p != Partition::WHOLE);
    let merged_here = config.store.cluster.is_none() && !partitioned;
    let rewrote_partition = derivation.calendars_changed || (partitioned && derivation.tickets > 0);
    if !crate::backend::store_is_file(config) && rewrote_partition && !merged_here {
        println!(
            "these tickets' facts have a second version now: once every partition is derived, `vitals store optimize` (against every node) merges them, or reads pay for them until ClickHouse's background merges do"
        );
    }
    if derivation.stored_facts_rebuilt > 0 {
        println!(
            "{} stored facts were rebuilt (new, or their survey rules, rubric weights or definition changed)",
            derivation.stored_facts_rebuilt
        );
    }
    if derivation.tickets == 0 && derivation.stored_facts_rebuilt == 0 {
        println!("facts are up to date with this configuration; nothing to derive");
    }
    Ok(())
}
