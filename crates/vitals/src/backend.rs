//! The one place vitals chooses its backend: `[store] engine` names the engine, and this
//! module opens that engine's implementation of the seams (`vitals-backend`). Every command,
//! the server and the report get a `Box<dyn Backend>` or a `Box<dyn Reader>` from here and
//! never name an engine. A third engine is one more name in [`ENGINES`] and one more arm in
//! [`open`] and [`open_reader`].
//!
//! DuckDB keeps a store in the file `--db` names. ClickHouse is a server: `[store]` of the
//! configuration (`--config`, `VITALS_CONFIG`, or `./vitals.toml`) names its URL, database
//! and cluster, and `--db` is not read (the rejects file of an import is still written
//! beside its path).

use std::path::Path;

use anyhow::Result;
use vitals_backend::{Backend, BackendError, Reader};
use vitals_core::config::{Config, ConfigError};

/// The engines this build runs on (`[store] engine`).
pub const ENGINES: &[&str] = &["duckdb", "clickhouse"];

/// An engine this build runs on.
enum Engine {
    /// One embedded DuckDB file (`vitals-store`).
    DuckDb,
    /// A ClickHouse server or cluster (`vitals-clickhouse`).
    ClickHouse,
}

/// Whether the configured engine keeps its store in the `--db` file (else `[store]` names
/// a server, and `--db` is not read).
pub fn store_is_file(config: &Config) -> bool {
    matches!(engine(config), Ok(Engine::DuckDb))
}

/// The engine `config` names, or a configuration error listing the ones there are.
fn engine(config: &Config) -> Result<Engine, ConfigError> {
    match config.store.engine.as_str() {
        "duckdb" => Ok(Engine::DuckDb),
        "clickhouse" => Ok(Engine::ClickHouse),
        other => Err(ConfigError::Invalid {
            key: "store.engine".into(),
            message: format!(
                "`{other}` is not an engine this vitals runs on; supported: {}",
                ENGINES.join(", ")
            ),
        }),
    }
}

/// What a process that writes does with its backend.
#[derive(Debug, Clone, Copy)]
pub enum Workload {
    /// Writes and queries (`serve`, `token`, `annotate`).
    Mixed,
    /// Only writes, in bulk (`import`, `derive`): the engine may cap its memory and spill.
    Bulk,
}

/// Opens the store at `db` (created when missing) for writing, on the configured engine.
pub fn open(config: &Config, db: &Path, workload: Workload) -> Result<Box<dyn Backend>> {
    let path = db.display().to_string();
    match engine(config)? {
        Engine::DuckDb => {
            let store = match workload {
                Workload::Mixed => vitals_store::Store::open(&path),
                Workload::Bulk => vitals_store::Store::open_for_writing(&path),
            };
            Ok(Box::new(store.map_err(BackendError::from)?))
        }
        Engine::ClickHouse => Ok(Box::new(vitals_clickhouse::ClickHouseStore::open(
            &config.store,
        )?)),
    }
}

/// Opens the store at `db` read-only, on the configured engine, for a command that only
/// reads (never derives).
pub fn open_reader(config: &Config, db: &Path) -> Result<Box<dyn Reader>> {
    match engine(config)? {
        Engine::DuckDb => {
            if !db.exists() {
                return Err(crate::UserError(format!(
                    "no store at {}; import data first (vitals import DIR --db {0})",
                    db.display()
                ))
                .into());
            }
            let reader = vitals_store::Reader::open(&db.display().to_string())
                .map_err(BackendError::from)?;
            Ok(Box::new(reader))
        }
        Engine::ClickHouse => Ok(Box::new(vitals_clickhouse::ClickHouseReader::open(
            vitals_clickhouse::store_client(&config.store)?,
        )?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_this_build_does_not_run_is_a_configuration_error_naming_those_it_does() {
        assert_eq!(Config::load(None).unwrap().store.engine, "duckdb");
        let config = Config::parse("[store]\nengine = \"oracle\"\n", "vitals.toml").unwrap();
        for error in [
            open_reader(&config, Path::new("no-such.duckdb")).err(),
            open(&config, Path::new("no-such.duckdb"), Workload::Mixed).err(),
        ] {
            let error = error.expect("refused").to_string();
            assert!(
                error.contains("store.engine")
                    && error.contains("`oracle`")
                    && error.contains("supported: duckdb, clickhouse"),
                "{error}"
            );
        }
        assert!(!Path::new("no-such.duckdb").exists(), "nothing was created");
    }

    #[test]
    fn clickhouse_is_a_server_named_by_the_configuration_not_a_file() {
        let config = Config::parse(
            "[store]\nengine = \"clickhouse\"\nurl = \"http://127.0.0.1:1\"\n",
            "vitals.toml",
        )
        .unwrap();
        assert!(!store_is_file(&config));
        let error = open(&config, Path::new("no-such.duckdb"), Workload::Bulk)
            .err()
            .expect("no server")
            .to_string();
        assert!(error.contains("127.0.0.1:1"), "{error}");
        assert!(!Path::new("no-such.duckdb").exists(), "nothing was created");
    }
}
