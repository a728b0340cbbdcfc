//! vitals on ClickHouse: the [`ClickHouse`] SQL dialect (how the planner's statements and the
//! catalogue's fragments are spelled there), the [`schema`] of the store — records as
//! `ReplacingMergeTree` tables versioned by the ingest sequence, facts versioned by
//! derivation with tombstones, and on a cluster local tables behind `Distributed` tables
//! sharded by a hash of the ticket id — and the store backend: [`ClickHouseStore`] (the
//! writer: staged merges and derivation with the DuckDB store's own fold), its admin part and
//! its readers, all over the HTTP [`Client`].
#![deny(missing_docs)]

mod admin;
pub mod bookkeeping;
pub mod client;
mod derive;
pub mod dialect;
mod reader;
pub mod schema;
mod store;
mod tsv;
mod write;

pub use admin::ClickHouseAdmin;
pub use client::{ClickHouseError, Client};
pub use dialect::ClickHouse;
pub use reader::ClickHouseReader;
pub use schema::{print_schema, schema_ddl, Layout};
pub use store::{layout, store_client, ClickHouseStore};
pub use write::ClickHouseSink;
