//! `[store]`: which engine keeps the data, and where a server engine is reached. The names
//! are read here; which engines a build can open, and how, is decided in one place, the
//! binary's backend factory. Credentials never come from the file: a server engine's user
//! and password are read from the environment (`VITALS_CLICKHOUSE_USER`,
//! `VITALS_CLICKHOUSE_PASSWORD`).

use serde::Deserialize;

use super::ConfigError;

/// `[store]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The engine: `duckdb` (one embedded file, the default) or `clickhouse`.
    pub engine: String,
    /// A ClickHouse server's HTTP URL (`http://host:8123`); required by `clickhouse`.
    pub url: Option<String>,
    /// The ClickHouse database vitals keeps its tables in.
    pub database: String,
    /// The ClickHouse cluster (a name in the servers' `<remote_servers>`): tables are local
    /// tables on every node behind `Distributed` tables sharded by ticket.
    pub cluster: Option<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            engine: "duckdb".into(),
            url: None,
            database: "vitals".into(),
            cluster: None,
        }
    }
}

impl StoreConfig {
    /// Checks what can be checked without the engine: a server engine's URL and names.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: format!("store.{key}"),
            message,
        };
        let identifier = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        if !identifier(&self.database) {
            return Err(invalid(
                "database",
                format!(
                    "`{}` is not a database name (letters, digits and `_`)",
                    self.database
                ),
            ));
        }
        if let Some(cluster) = &self.cluster {
            if !identifier(cluster) {
                return Err(invalid(
                    "cluster",
                    format!("`{cluster}` is not a cluster name (letters, digits and `_`)"),
                ));
            }
        }
        if let Some(url) = &self.url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    "url",
                    format!("`{url}` is not an HTTP URL (http://host:8123)"),
                ));
            }
        }
        if self.engine == "clickhouse" && self.url.is_none() {
            return Err(invalid(
                "url",
                "engine = \"clickhouse\" needs the server's HTTP URL, e.g. url = \"http://127.0.0.1:8123\"".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn a_clickhouse_store_needs_a_url_and_plain_names() {
        let ok = Config::parse(
            "[store]\nengine = \"clickhouse\"\nurl = \"http://127.0.0.1:8123\"\ncluster = \"vitals\"\n",
            "vitals.toml",
        )
        .unwrap();
        assert_eq!(ok.store.database, "vitals");
        assert_eq!(ok.store.cluster.as_deref(), Some("vitals"));
        for (toml, key) in [
            ("engine = \"clickhouse\"", "store.url"),
            ("url = \"127.0.0.1:8123\"", "store.url"),
            ("database = \"a;b\"", "store.database"),
            ("cluster = \"\"", "store.cluster"),
        ] {
            let error = Config::parse(&format!("[store]\n{toml}\n"), "vitals.toml")
                .unwrap_err()
                .to_string();
            assert!(error.contains(key), "{toml}: {error}");
        }
    }
}
