//! PLACEHOLDER (branch `ch-writer`): the bookkeeping tables belong to the read side
//! (`ch-reader`), whose version of this file replaces this one at merge. Only the cluster's
//! data version, `vitals_commits`, is created here, with the columns the writer inserts.

use crate::Layout;

/// The bookkeeping tables' DDL (placeholder: only `vitals_commits`).
pub fn bookkeeping_ddl(database: &str, layout: &Layout) -> Vec<String> {
    let columns = "at DateTime64(6, 'UTC'), host String, records UInt64";
    match layout {
        Layout::Single => vec![format!(
            "CREATE TABLE IF NOT EXISTS {database}.vitals_commits ({columns}) ENGINE = MergeTree ORDER BY at"
        )],
        Layout::Cluster { name } => vec![
            format!("CREATE TABLE IF NOT EXISTS {database}.vitals_commits_local ({columns}) ENGINE = MergeTree ORDER BY at"),
            format!("CREATE TABLE IF NOT EXISTS {database}.vitals_commits AS {database}.vitals_commits_local ENGINE = Distributed('{name}', '{database}', 'vitals_commits_local', rand())"),
        ],
    }
}
