//! `vitals store init [--print]`: creates the store's schema. On ClickHouse this runs the
//! idempotent DDL of `vitals-clickhouse` on the server `[store]` names (for a cluster, on that
//! node: run it against every node, or run the printed DDL with `ON CLUSTER` where Keeper
//! runs); `--print` prints the DDL without connecting. A DuckDB file gets its schema when it
//! is opened: `init` creates the file, or says it is there.
//!
//! `vitals store optimize`: on ClickHouse, merges every table's row versions now (`OPTIMIZE
//! TABLE … FINAL` on the node named; on a cluster, run it against every node), which makes
//! reads cheaper after a partitioned re-derivation and changes no number. DuckDB keeps one
//! version of each row and has nothing to merge.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use vitals_core::config::Config;

use crate::backend::{open, store_is_file, Workload};

/// Arguments of `vitals store`.
#[derive(Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Create the schema (idempotent): on ClickHouse the tables of `[store]`; a DuckDB file
    /// is created with its schema.
    Init {
        /// Print the DDL instead of running it (ClickHouse; needs only the configuration).
        #[arg(long)]
        print: bool,
        /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
        #[arg(long, default_value = "vitals.duckdb", env = "VITALS_DB")]
        db: PathBuf,
    },
    /// Merge the row versions of every table now (ClickHouse: `OPTIMIZE TABLE … FINAL` on the
    /// node named; on a cluster run it against every node). Reads get cheaper after a
    /// re-derivation of every ticket; no number changes.
    Optimize {
        /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
        #[arg(long, default_value = "vitals.duckdb", env = "VITALS_DB")]
        db: PathBuf,
    },
}

/// `vitals store`.
pub fn run(args: StoreArgs, config: &Config) -> Result<()> {
    let (print, db) = match args.command {
        StoreCommand::Init { print, db } => (print, db),
        StoreCommand::Optimize { db } => return optimize(config, &db),
    };
    let config = &*crate::store_target::apply(config, &db)?;
    if store_is_file(config) {
        if print {
            return Err(crate::UserError(
                "--print shows the ClickHouse DDL ([store] engine = \"clickhouse\"); a DuckDB store creates its own schema".into(),
            )
            .into());
        }
        let existed = db.exists();
        open(config, &db, Workload::Mixed)?;
        println!(
            "{} {}: DuckDB creates and upgrades its schema whenever a store is opened",
            if existed { "store ready at" } else { "created" },
            db.display()
        );
        return Ok(());
    }
    let layout = vitals_clickhouse::layout(&config.store);
    if print {
        print!(
            "{}",
            vitals_clickhouse::print_schema(&config.store.database, &layout)
        );
        return Ok(());
    }
    let statements = vitals_clickhouse::ClickHouseStore::init(&config.store)?;
    println!(
        "schema ready: {statements} statements run on {} (database {}){}",
        config.store.url.as_deref().unwrap_or_default(),
        config.store.database,
        match layout {
            vitals_clickhouse::Layout::Cluster { name } =>
                format!("; cluster `{name}`: run `vitals store init` against every node's URL too"),
            vitals_clickhouse::Layout::Single => String::new(),
        }
    );
    Ok(())
}

/// `vitals store optimize`.
fn optimize(config: &Config, db: &std::path::Path) -> Result<()> {
    let config = &*crate::store_target::apply(config, db)?;
    if crate::store_target::missing_file(config, db) {
        return Err(crate::UserError(format!("no store at {}", db.display())).into());
    }
    if store_is_file(config) {
        println!(
            "{}: DuckDB keeps one version of each row; nothing to merge",
            db.display()
        );
        return Ok(());
    }
    let started = std::time::Instant::now();
    let tables = vitals_clickhouse::ClickHouseStore::optimize(&config.store)?;
    println!(
        "merged the row versions of {} tables on {} (database {}) in {:.1} s{}",
        tables.len(),
        config.store.url.as_deref().unwrap_or_default(),
        config.store.database,
        started.elapsed().as_secs_f64(),
        if config.store.cluster.is_some() {
            "; on a cluster run `vitals store optimize` against every node's URL too"
        } else {
            ""
        }
    );
    Ok(())
}
