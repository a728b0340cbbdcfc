//! vitals on ClickHouse. For now the pieces the query library and a future store backend
//! share: the [`ClickHouse`] SQL dialect (how the planner's statements and the catalogue's
//! fragments are spelled there) and the [`schema`] of the store — records as
//! `ReplacingMergeTree` tables versioned by the ingest sequence, facts ordered by ticket, and on
//! a cluster local tables behind `Distributed` tables sharded by a hash of the ticket id.
#![deny(missing_docs)]

pub mod client;
pub mod dialect;
pub mod schema;

pub use client::{ClickHouseError, Client};
pub use dialect::ClickHouse;
pub use schema::{print_schema, schema_ddl, Layout};
