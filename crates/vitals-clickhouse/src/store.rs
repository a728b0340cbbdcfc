//! The ClickHouse store behind the seams of `vitals-backend`: [`ClickHouseStore`] opens from
//! `[store]` (a client of the configured server, the layout from `cluster`), checks that the
//! schema is there (`vitals store init` creates it), and is a [`Backend`]: itself the writer
//! (`write.rs`, `derive.rs`), [`ClickHouseAdmin`] its admin part, [`ClickHouseReader`] its
//! readers. Every read of records and facts runs with `final = 1`, so that unmerged versions
//! of a record and superseded or tombstoned fact rows never show.

use vitals_backend::{Admin, Backend, BackendError, Reader, Writer};
use vitals_core::config::StoreConfig;

use crate::client::literal;
use crate::{ClickHouseAdmin, ClickHouseReader, Client, Layout};

/// A vitals store on ClickHouse, opened for a process that writes.
pub struct ClickHouseStore {
    pub(crate) client: Client,
    admin: ClickHouseAdmin,
    /// Who writes (`host:pid`), as the data version's rows name it.
    pub(crate) host: String,
    /// Where the tables live.
    pub(crate) layout: Layout,
    /// The record entities the catalogue's stored facts follow: their merges note the
    /// records they changed (`vitals_touched_records`).
    pub(crate) stored_from: Vec<String>,
}

/// The layout `[store] cluster` names.
pub fn layout(store: &StoreConfig) -> Layout {
    match &store.cluster {
        Some(name) => Layout::Cluster { name: name.clone() },
        None => Layout::Single,
    }
}

/// The client `[store]` configures, reading records and facts with `final = 1`.
pub fn store_client(store: &StoreConfig) -> Result<Client, BackendError> {
    Ok(Client::from_config(store)?.with_setting("final", "1"))
}

impl ClickHouseStore {
    /// Opens the store `[store]` configures; a user error naming `vitals store init` when
    /// its schema is not there.
    pub fn open(store: &StoreConfig) -> Result<ClickHouseStore, BackendError> {
        let client = store_client(store)?;
        let tables = client.query(&format!(
            "SELECT count() FROM system.tables WHERE database = {} AND name IN ('tickets', 'vitals_touched_tickets', 'vitals_commits', 'vitals_touched_records', 'vitals_stored_facts')",
            literal(client.database())
        ))?;
        if tables.trim() != "5" {
            return Err(BackendError::user(format!(
                "no vitals schema (or one from before the stored facts) in the ClickHouse database `{}` at {}: run `vitals store init` (idempotent) first",
                client.database(),
                client.url()
            )));
        }
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let stored_from = vitals_core::catalogue::Catalogue::builtin()
            .map(|c| {
                c.stored_facts(&vitals_core::config::Config::default())
                    .into_iter()
                    .map(|f| f.from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(ClickHouseStore {
            admin: ClickHouseAdmin::new(client.clone()),
            client,
            host: format!("{host}:{}", std::process::id()),
            layout: layout(store),
            stored_from,
        })
    }

    /// Creates the schema `[store]` configures on its server, idempotently: the database,
    /// records, facts, the writer's and the bookkeeping tables. On a cluster this creates
    /// the tables of the one node configured: run it against every node (or run the DDL of
    /// `vitals store init --print` with `ON CLUSTER` where Keeper runs).
    pub fn init(store: &StoreConfig) -> Result<usize, BackendError> {
        let client = Client::from_config(store)?;
        let statements = crate::schema_ddl(&store.database, &layout(store));
        // The database does not exist yet: the first statement runs in `default`.
        let bootstrap = Client::from_config(&StoreConfig {
            database: "default".into(),
            ..store.clone()
        })?;
        for (i, statement) in statements.iter().enumerate() {
            let on = if i == 0 { &bootstrap } else { &client };
            on.execute(statement)?;
        }
        Ok(statements.len())
    }
}

impl Backend for ClickHouseStore {
    fn writer(&self) -> &dyn Writer {
        self
    }

    fn admin(&self) -> &dyn Admin {
        &self.admin
    }

    fn reader(&self) -> Result<Box<dyn Reader>, BackendError> {
        Ok(Box::new(ClickHouseReader::open(self.client.clone())?))
    }
}
