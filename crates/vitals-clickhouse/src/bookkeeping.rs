//! The bookkeeping tables of a ClickHouse store, as idempotent DDL: what the admin part
//! (`admin.rs`) writes — tokens, survey links and their key, annotations, digest runs, alert
//! state, history and outbox — and the cluster's data version, `vitals_commits`.
//!
//! ClickHouse has no cheap row updates, so every table a row of which changes is a
//! `ReplacingMergeTree` keyed by the row's identity and versioned by `_version` (a
//! microsecond clock that never repeats within a process, `admin::next_version`): a change
//! is an insert of the row's new version, and reads see the latest one with `FINAL` (every
//! read runs with the setting `final = 1`). An annotation is deleted by inserting a version
//! with `deleted = 1` (`ReplacingMergeTree(_version, deleted)`: `FINAL` drops it). Tables
//! rows of which never change (`vitals_alert_events`, `vitals_commits`) are plain
//! `MergeTree`s.
//!
//! `vitals_commits (at, host, records)` gets one row per commit that changed data (the writer
//! inserts it); its row count is the cluster's data version, which every `vitals serve` in
//! front of the cluster polls, so a commit through any of them empties every result cache.
//!
//! **On a cluster** (`Layout::Cluster`) each table is a local table on every node behind a
//! `Distributed` table of the table's own name, sharded by a hash of the row's identity, so
//! every version of a row lands on one shard (where `FINAL` can replace it) and every server
//! sees every row without Keeper. A production cluster with replicas makes the local tables
//! `ReplicatedReplacingMergeTree` / `ReplicatedMergeTree` (`ON CLUSTER`, with Keeper), so a
//! shard's bookkeeping survives the loss of one replica; the statements are otherwise the same.

use crate::schema::{table, Layout};

/// DateTime64 in microseconds, UTC.
const INSTANT: &str = "DateTime64(6, 'UTC')";

/// One bookkeeping table: its name, columns, engine and sharding key.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, &'static str)],
    engine: &'static str,
    shard_key: &'static str,
}

const TABLES: &[Table] = &[
    Table {
        name: "vitals_tokens",
        columns: &[
            ("token_id", "String"),
            ("name", "String"),
            ("scopes", "String"),
            ("secret_hash", "String"),
            ("created_at", INSTANT),
            ("revoked_at", "Nullable(DateTime64(6, 'UTC'))"),
            ("_version", "UInt64"),
        ],
        engine: "ENGINE = ReplacingMergeTree(_version) ORDER BY token_id",
        shard_key: "cityHash64(token_id)",
    },
    Table {
        name: "vitals_keys",
        columns: &[
            ("name", "String"),
            ("value", "String"),
            ("_version", "UInt64"),
        ],
        engine: "ENGINE = ReplacingMergeTree(_version) ORDER BY name",
        shard_key: "cityHash64(name)",
    },
    Table {
        name: "vitals_survey_links",
        columns: &[
            ("link_id", "String"),
            ("survey", "String"),
            ("ticket_id", "Nullable(String)"),
            ("customer_id", "Nullable(String)"),
            ("agent_id", "Nullable(String)"),
            ("expires_at", INSTANT),
            ("used_at", "Nullable(DateTime64(6, 'UTC'))"),
            ("_version", "UInt64"),
        ],
        engine: "ENGINE = ReplacingMergeTree(_version) ORDER BY link_id",
        shard_key: "cityHash64(link_id)",
    },
    Table {
        name: "vitals_annotations",
        columns: &[
            ("id", "Int64"),
            ("date", "Date32"),
            ("text", "String"),
            ("category", "Nullable(String)"),
            ("created_at", INSTANT),
            ("deleted", "UInt8"),
            ("_version", "UInt64"),
        ],
        engine: "ENGINE = ReplacingMergeTree(_version, deleted) ORDER BY id",
        shard_key: "cityHash64(id)",
    },
    Table {
        name: "vitals_digest_runs",
        columns: &[
            ("name", "String"),
            ("period", "String"),
            ("sent_at", INSTANT),
            ("message_id", "String"),
            ("_version", "UInt64"),
        ],
        engine: "ENGINE = ReplacingMergeTree(_version) ORDER BY name",
        shard_key: "cityHash64(name)",
    },
    Table {
        name: "vitals_alert_state",
        columns: &[
            ("rule", "String"),
            ("series", "String"),
            ("state", "String"),
            ("consecutive", "UInt32"),
            ("since_us", "Nullable(Int64)"),
            ("last_sent_us", "Nullable(Int64)"),
            ("fingerprint", "String"),
            ("value", "Nullable(Float64)"),
            ("summary", "String"),
            ("evaluated_us", "Int64"),
            ("_version", "UInt64"),
        ],
        engine: "ENGINE = ReplacingMergeTree(_version) ORDER BY (rule, series)",
        shard_key: "cityHash64(rule, series)",
    },
    Table {
        name: "vitals_alert_events",
        columns: &[
            ("id", "Int64"),
            ("rule", "String"),
            ("series", "String"),
            ("kind", "String"),
            ("at_us", "Int64"),
            ("value", "Nullable(Float64)"),
            ("summary", "String"),
            ("key", "String"),
        ],
        engine: "ENGINE = MergeTree ORDER BY id",
        shard_key: "cityHash64(id)",
    },
    Table {
        name: "vitals_alert_outbox",
        columns: &[
            ("key", "String"),
            ("channel", "UInt32"),
            ("kind", "String"),
            ("url", "String"),
            ("body", "String"),
            ("rule", "String"),
            ("series", "String"),
            ("attempts", "UInt32"),
            ("next_attempt_us", "Int64"),
            ("delivered_us", "Nullable(Int64)"),
            ("last_error", "Nullable(String)"),
            ("_version", "UInt64"),
        ],
        engine: "ENGINE = ReplacingMergeTree(_version) ORDER BY (key, channel)",
        shard_key: "cityHash64(key, channel)",
    },
    Table {
        name: "vitals_commits",
        columns: &[("at", INSTANT), ("host", "String"), ("records", "UInt64")],
        engine: "ENGINE = MergeTree ORDER BY at",
        shard_key: "rand()",
    },
];

/// The statements creating the bookkeeping tables in `database` (which must exist), in
/// `layout`; each is idempotent.
pub fn bookkeeping_ddl(database: &str, layout: &Layout) -> Vec<String> {
    TABLES
        .iter()
        .flat_map(|t| {
            let columns: Vec<String> = t
                .columns
                .iter()
                .map(|(name, ty)| format!("{name} {ty}"))
                .collect();
            table(database, layout, t.name, &columns, t.engine, t.shard_key)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookkeeping_is_replaced_by_version_and_sharded_by_identity() {
        let single = bookkeeping_ddl("vitals", &Layout::Single);
        assert_eq!(single.len(), TABLES.len());
        assert!(single.iter().all(|s| s.contains("IF NOT EXISTS vitals.")));
        assert!(single.iter().any(|s| s.contains(
            "vitals.vitals_commits (\n  at DateTime64(6, 'UTC'),\n  host String,\n  records UInt64\n)"
        )));
        let cluster = bookkeeping_ddl(
            "vitals",
            &Layout::Cluster {
                name: "vitals".into(),
            },
        );
        assert_eq!(cluster.len(), 2 * TABLES.len());
        assert!(cluster.iter().any(|s| s.contains(
            "vitals.vitals_survey_links AS vitals.vitals_survey_links_local ENGINE = Distributed('vitals', 'vitals', 'vitals_survey_links_local', cityHash64(link_id))"
        )));
    }
}
