//! The store a command names with `--db` (or `VITALS_DB`): a DuckDB file path, or a
//! ClickHouse database written `clickhouse://HOST:PORT/DATABASE` (the server's HTTP port;
//! `clickhouses://` for HTTPS). A ClickHouse target selects engine `clickhouse` with that URL
//! and database, overriding `[store]` (its `cluster` is kept), before the backend factory opens
//! anything; a file path leaves the configuration as it is. Credentials never go in the target:
//! they come from `VITALS_CLICKHOUSE_USER` / `VITALS_CLICKHOUSE_PASSWORD`, as for `[store]`.
//!
//! Commands that put files beside the store (an import's rejects, the server's warm list, the
//! report's default folder) put them in the current directory for a ClickHouse target
//! (named after the database); commands that need a file path (`demo`) refuse one ([`require_file`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use vitals_backend::{Backend, Reader};
use vitals_core::config::Config;

use crate::backend::Workload;

/// Where the store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// A DuckDB file (or whatever `[store]` names, when that is not DuckDB).
    File(PathBuf),
    /// A ClickHouse database on the server at `url` (`http://HOST:PORT`).
    ClickHouse {
        /// The server's HTTP(S) URL, without a path.
        url: String,
        /// The database vitals keeps its tables in.
        database: String,
    },
}

/// A `--db` value that names no store vitals can open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--db {given}: {reason}; write a DuckDB file path or clickhouse://HOST:PORT/DATABASE (clickhouses:// for HTTPS)")]
pub struct TargetError {
    /// The value as given.
    pub given: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The URL schemes of a ClickHouse target and the HTTP scheme each stands for.
const SCHEMES: &[(&str, &str)] = &[("clickhouse://", "http://"), ("clickhouses://", "https://")];

impl StoreTarget {
    /// Reads a `--db` value.
    pub fn parse(db: &Path) -> Result<StoreTarget, TargetError> {
        let Some(text) = db.to_str() else {
            return Ok(StoreTarget::File(db.to_path_buf()));
        };
        let error = |reason: String| TargetError {
            given: text.to_string(),
            reason,
        };
        let lower = text.to_ascii_lowercase();
        let Some((scheme, http)) = SCHEMES.iter().find(|(s, _)| lower.starts_with(s)) else {
            if let Some(at) = text.find("://") {
                return Err(error(format!(
                    "`{}` is not a store vitals can open",
                    &text[..at]
                )));
            }
            return Ok(StoreTarget::File(db.to_path_buf()));
        };
        let rest = &text[scheme.len()..];
        if rest.contains(['?', '#']) {
            return Err(error(
                "a ClickHouse target takes no query or fragment (settings go in [store])".into(),
            ));
        }
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.contains('@') {
            return Err(error(
                "credentials do not go in the target: set VITALS_CLICKHOUSE_USER and VITALS_CLICKHOUSE_PASSWORD".into(),
            ));
        }
        let (host, port) = split_host_port(authority).map_err(error)?;
        let port: u16 = match port.parse() {
            Ok(p) if p > 0 => p,
            _ => return Err(error(format!("`{port}` is not a port (1–65535)"))),
        };
        if database.is_empty() {
            return Err(error(
                "no database: name it after the port, e.g. clickhouse://127.0.0.1:8123/vitals"
                    .into(),
            ));
        }
        let identifier = database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !database.starts_with(|c: char| c.is_ascii_digit());
        if !identifier {
            return Err(error(format!(
                "`{database}` is not a database name (letters, digits and `_`, not starting with a digit)"
            )));
        }
        Ok(StoreTarget::ClickHouse {
            url: format!("{http}{host}:{port}"),
            database: database.to_string(),
        })
    }
}

/// `HOST:PORT` (an IPv6 host in brackets) split; both required.
fn split_host_port(authority: &str) -> Result<(&str, &str), String> {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => (
                &authority[..=end],
                authority[end + 1..].strip_prefix(':').unwrap_or(""),
            ),
            None => return Err(format!("`{authority}` is not HOST:PORT")),
        }
    } else {
        authority.rsplit_once(':').unwrap_or((authority, ""))
    };
    if host.is_empty() || host == "[]" || host.contains([':', ' ']) && !host.starts_with('[') {
        return Err(format!("`{authority}` names no host (HOST:PORT)"));
    }
    if port.is_empty() {
        return Err(format!(
            "`{authority}` names no port: give the server's HTTP port (HOST:8123)"
        ));
    }
    Ok((host, port))
}

/// The configuration a command opens its store with: `config` itself for a file path, or a
/// copy whose `[store]` is the ClickHouse target's engine, URL and database (cluster kept).
pub fn apply<'c>(config: &'c Config, db: &Path) -> Result<Cow<'c, Config>, crate::UserError> {
    match StoreTarget::parse(db).map_err(|e| crate::UserError(e.to_string()))? {
        StoreTarget::File(_) => Ok(Cow::Borrowed(config)),
        StoreTarget::ClickHouse { url, database } => {
            let mut config = config.clone();
            config.store.engine = "clickhouse".into();
            config.store.url = Some(url);
            config.store.database = database;
            Ok(Cow::Owned(config))
        }
    }
}

/// Opens the store `db` names for writing ([`crate::backend::open`] with the target applied).
pub fn open(config: &Config, db: &Path, workload: Workload) -> anyhow::Result<Box<dyn Backend>> {
    crate::backend::open(&*apply(config, db)?, db, workload)
}

/// Opens the store `db` names read-only ([`crate::backend::open_reader`] with the target
/// applied).
pub fn open_reader(config: &Config, db: &Path) -> anyhow::Result<Box<dyn Reader>> {
    crate::backend::open_reader(&*apply(config, db)?, db)
}

/// Whether `db` names a ClickHouse database rather than a file.
pub fn is_clickhouse(db: &Path) -> bool {
    matches!(StoreTarget::parse(db), Ok(StoreTarget::ClickHouse { .. }))
}

/// Whether the store is a DuckDB file (by `db` and `config`'s `[store]`) where no file is (a
/// ClickHouse store is never "missing" here: the engine says whether its database exists
/// when it is opened).
pub fn missing_file(config: &Config, db: &Path) -> bool {
    !is_clickhouse(db) && crate::backend::store_is_file(config) && !db.exists()
}

/// A short name for files named after the store: the file's name, or the ClickHouse
/// database's.
pub fn stem(db: &Path) -> String {
    match StoreTarget::parse(db) {
        Ok(StoreTarget::ClickHouse { database, .. }) => database,
        _ => db
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "vitals".into()),
    }
}

/// Refuses a ClickHouse target where a command needs a file path (`what` says why).
pub fn require_file(db: &Path, what: &str) -> Result<(), crate::UserError> {
    if is_clickhouse(db) {
        return Err(crate::UserError(format!(
            "--db {}: {what} needs a DuckDB file path, not a ClickHouse database",
            db.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<StoreTarget, TargetError> {
        StoreTarget::parse(Path::new(s))
    }

    fn clickhouse(url: &str, database: &str) -> StoreTarget {
        StoreTarget::ClickHouse {
            url: url.into(),
            database: database.into(),
        }
    }

    #[test]
    fn file_paths_stay_files() {
        for s in [
            "vitals.duckdb",
            "/tmp/x/serve.duckdb",
            "../a b/c.duckdb",
            "clickhouse.duckdb",
            "dir/clickhouse:/x",
        ] {
            assert_eq!(parse(s), Ok(StoreTarget::File(s.into())), "{s}");
            assert!(!is_clickhouse(Path::new(s)));
        }
    }

    #[test]
    fn clickhouse_targets_name_url_and_database() {
        assert_eq!(
            parse("clickhouse://127.0.0.1:8123/vitals"),
            Ok(clickhouse("http://127.0.0.1:8123", "vitals"))
        );
        assert_eq!(
            parse("clickhouses://ch.example.com:8443/t_1"),
            Ok(clickhouse("https://ch.example.com:8443", "t_1"))
        );
        assert_eq!(
            parse("ClickHouse://[::1]:8123/_x"),
            Ok(clickhouse("http://[::1]:8123", "_x"))
        );
    }

    #[test]
    fn malformed_targets_are_clear_user_errors() {
        for (s, says) in [
            ("clickhouse://127.0.0.1:8123", "no database"),
            ("clickhouse://127.0.0.1:8123/", "no database"),
            ("clickhouse://127.0.0.1/vitals", "names no port"),
            ("clickhouse://:8123/vitals", "names no host"),
            ("clickhouse://127.0.0.1:0/vitals", "is not a port"),
            ("clickhouse://127.0.0.1:99999/vitals", "is not a port"),
            ("clickhouse://127.0.0.1:http/vitals", "is not a port"),
            ("clickhouse://127.0.0.1:8123/a-b", "is not a database name"),
            ("clickhouse://127.0.0.1:8123/1db", "is not a database name"),
            ("clickhouse://127.0.0.1:8123/db/x", "is not a database name"),
            (
                "clickhouse://u:p@127.0.0.1:8123/db",
                "VITALS_CLICKHOUSE_USER",
            ),
            ("clickhouse://127.0.0.1:8123/db?x=1", "no query"),
            ("postgres://127.0.0.1:5432/db", "`postgres` is not a store"),
            ("http://127.0.0.1:8123/db", "`http` is not a store"),
        ] {
            let error = parse(s).expect_err(s).to_string();
            assert!(
                error.contains(says) && error.contains(s) && error.contains("clickhouse://HOST"),
                "{s}: {error}"
            );
        }
    }

    #[test]
    fn a_clickhouse_target_overrides_the_store_section_but_keeps_the_cluster() {
        let config = Config::parse(
            "[store]\nengine = \"clickhouse\"\nurl = \"http://elsewhere:8123\"\ndatabase = \"old\"\ncluster = \"vitals\"\n",
            "vitals.toml",
        )
        .unwrap();
        let applied = apply(&config, Path::new("clickhouse://127.0.0.1:9000/fresh")).unwrap();
        assert_eq!(applied.store.engine, "clickhouse");
        assert_eq!(applied.store.url.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(applied.store.database, "fresh");
        assert_eq!(applied.store.cluster.as_deref(), Some("vitals"));

        let duckdb = Config::load(None).unwrap();
        let same = apply(&duckdb, Path::new("x.duckdb")).unwrap();
        assert!(matches!(same, Cow::Borrowed(_)));
        assert_eq!(same.store.engine, "duckdb");
        assert!(apply(&duckdb, Path::new("clickhouse://h:1")).is_err());
    }

    #[test]
    fn files_beside_a_clickhouse_store_go_in_the_current_directory() {
        let ch = Path::new("clickhouse://127.0.0.1:8123/vitals");
        assert_eq!(stem(ch), "vitals");
        let duckdb = Config::load(None).unwrap();
        assert!(!missing_file(&duckdb, ch));
        assert!(require_file(ch, "the demo").is_err());
        let file = Path::new("/tmp/nowhere-vitals/x.duckdb");
        assert_eq!(stem(file), "x.duckdb");
        assert!(missing_file(&duckdb, file));
        let clickhouse = Config::parse(
            "[store]\nengine = \"clickhouse\"\nurl = \"http://127.0.0.1:8123\"\n",
            "vitals.toml",
        )
        .unwrap();
        assert!(
            !missing_file(&clickhouse, file),
            "the configured engine is no file"
        );
        assert!(require_file(file, "the demo").is_ok());
    }
}
