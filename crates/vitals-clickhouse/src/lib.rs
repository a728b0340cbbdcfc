//! vitals on ClickHouse: the [`ClickHouse`] SQL dialect (how the planner's statements and the
//! catalogue's fragments are spelled there), the [`schema`] of the store — records as
//! `ReplacingMergeTree` tables versioned by the ingest sequence, facts versioned by
//! derivation with tombstones, the bookkeeping ([`bookkeeping_ddl`]), and on a cluster local
//! tables behind `Distributed` tables sharded by a hash of the ticket id — and the store
//! backend: [`ClickHouseStore`] (the writer: staged merges and derivation with the DuckDB
//! store's own fold), the read seam ([`ClickHouseReader`]: statements, operational reads,
//! interrupts, the cluster's data version) and the admin part ([`ClickHouseAdmin`]), all over
//! the HTTP [`Client`].
#![deny(missing_docs)]

mod admin;
mod admin_reads;
pub mod bookkeeping;
pub mod client;
mod derive;
pub mod dialect;
mod interrupt;
mod operational;
mod optimize;
mod reader;
pub mod schema;
mod store;
mod stored;
mod tsv;
mod write;

pub use admin::{next_version, ClickHouseAdmin};
pub use bookkeeping::bookkeeping_ddl;
pub use client::{ClickHouseError, Client};
pub use dialect::ClickHouse;
pub use interrupt::Interrupter;
pub use reader::{bind, ClickHouseReader, ReadError};
pub use schema::{print_schema, schema_ddl, Layout};
pub use store::{layout, store_client, ClickHouseStore};
pub use write::ClickHouseSink;
