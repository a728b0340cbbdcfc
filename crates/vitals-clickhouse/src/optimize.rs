//! Merging a store's row versions on ClickHouse. Reads run with `final = 1`, which merges the
//! versions of each row while it reads: cheap while a table's parts hold disjoint tickets (an
//! import derives in ticket order), dear once most rows have several versions in overlapping
//! parts — after a derivation of every ticket (a calendar or SLA policy changed), until the
//! server's background merges catch up. Measured on 1 M tickets after three full
//! re-derivations (`fact_tickets` 2.56 M rows in 8 parts for 1 M tickets), the benchmark
//! queries over ticket facts took 1.5–2.3× as long as after `OPTIMIZE TABLE … FINAL` (25 s
//! for the four fact tables). Merging changes no number: it only does now what the server
//! does eventually.

use vitals_backend::BackendError;
use vitals_core::config::StoreConfig;

use crate::client::literal;
use crate::schema::{fact_table_names, Layout};
use crate::{ClickHouseStore, Client};

impl ClickHouseStore {
    /// After a derivation of every ticket on one server: the ticket facts' versions merged,
    /// so that reads stop paying for them. (On a cluster each node merges its own tables:
    /// `vitals store optimize` against every node, or the background merges.)
    pub(crate) fn merge_fact_versions(&self) -> Result<(), BackendError> {
        if self.layout != Layout::Single {
            return Ok(());
        }
        for name in fact_table_names() {
            self.client
                .execute(&format!("OPTIMIZE TABLE {} FINAL", self.table(&name)))?;
        }
        Ok(())
    }

    /// `vitals store optimize`: every `ReplacingMergeTree` table of the database on the node
    /// `[store]` names (on a cluster its local tables) merged into one part each; the tables'
    /// names.
    pub fn optimize(store: &StoreConfig) -> Result<Vec<String>, BackendError> {
        let client = Client::from_config(store)?;
        let names = client.query(&format!(
            "SELECT name FROM system.tables WHERE database = {} AND engine LIKE 'Replacing%' ORDER BY name",
            literal(client.database())
        ))?;
        let names: Vec<String> = names.lines().map(str::to_string).collect();
        for name in &names {
            client.execute(&format!("OPTIMIZE TABLE {} FINAL", client.table(name)))?;
        }
        Ok(names)
    }
}
