//! `[store]`: which engine keeps the data. The name is read here; which names a build can
//! open, and how, is decided in one place, the binary's backend factory.

use serde::Deserialize;

/// `[store]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The engine: `duckdb` (one embedded file, the default).
    pub engine: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            engine: "duckdb".into(),
        }
    }
}
