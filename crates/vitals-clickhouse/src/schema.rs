//! The ClickHouse schema of a vitals store, as idempotent DDL (`CREATE … IF NOT EXISTS`, every
//! table qualified with its database).
//!
//! - **Records** (one table per canonical entity, the same columns as the DuckDB store) are
//!   `ReplacingMergeTree` tables ordered by the entity's key (events by ticket, then key:
//!   [`record_order`]) and versioned by the ingest
//!   sequence `_version` (the import id — time-based, see `write.rs` — in the high 64 bits,
//!   the record's place in it in the low 64): the last write of a key wins, and a re-import of the same records is idempotent.
//!   Unmerged duplicates are read away with `FINAL` (or `argMax` by `_version`).
//! - **Facts** (the timeline fold's tables) are `ReplacingMergeTree(_version, _deleted)`
//!   tables ordered by ticket and the row's place among its ticket's rows (`_row`): a
//!   re-derivation writes each ticket's rows under a newer `_version` and a tombstone
//!   (`_deleted = 1`) for every row the ticket no longer has, so that reads with `FINAL`
//!   (the setting `final = 1`) see exactly the latest derivation — no `DELETE`, which a
//!   `Distributed` table cannot run.
//! - **The writer's bookkeeping**: imports, the tickets each merge touched (with the server's
//!   time of the merge), and each derivation partition's watermark and calendar fingerprint.
//! - **On a cluster** each table is a local table (`…_local`) on every node, behind a
//!   `Distributed` table of the table's own name sharded by a hash of the ticket id (records
//!   without a ticket, by their key), so a ticket's records, events and facts live on one shard
//!   and derivation stays shard-local. Run the statements on every node: `ON CLUSTER` needs
//!   ClickHouse Keeper, which production clusters have and the test cluster has not.
//!
//! - **Bookkeeping** (tokens, survey links, annotations, digests, alerts, the data version):
//!   see `bookkeeping.rs`, appended at the end.
//!
//! - **Stored facts** of the catalogue (`fact_calls`, `fact_survey_responses`, …, see
//!   `stored.rs`): `ReplacingMergeTree` tables of the columns their statement gives (`EMPTY AS`
//!   the statement in ClickHouse's spelling), ordered by the record id they follow — the last
//!   row inserted for a record wins — and on a cluster sharded as that record is (by its
//!   ticket where it has one), so the facts of a ticket live on its ticket's shard.

use vitals_core::records::{ColumnType, Entity, Requirement, ENTITIES};
use vitals_store::schema::FACT_DDL;

/// Where the tables live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One server.
    Single,
    /// A cluster of shards named in the servers' `<remote_servers>`.
    Cluster {
        /// The cluster's name.
        name: String,
    },
}

/// The ClickHouse type of a canonical column (nullable unless it is part of the key).
pub(crate) fn column_type(ty: ColumnType, key: bool) -> String {
    let base = match ty {
        ColumnType::Text | ColumnType::LowerText | ColumnType::Enum(_) => "String",
        ColumnType::Timestamp => "DateTime64(6, 'UTC')",
        ColumnType::Date => "Date32",
        ColumnType::Bool => "Bool",
        ColumnType::Number => "Float64",
        ColumnType::Integer => "Int64",
    };
    if key {
        base.to_string()
    } else {
        format!("Nullable({base})")
    }
}

/// The ClickHouse type of a DuckDB fact column's type.
pub(crate) fn fact_column_type(duckdb: &str) -> String {
    let base = match duckdb {
        "VARCHAR[]" => return "Array(String)".into(),
        "TIMESTAMP" => "DateTime64(6, 'UTC')",
        "DOUBLE" => "Float64",
        "BIGINT" => "Int64",
        "BOOLEAN" => "Bool",
        "DATE" => "Date32",
        _ => "String",
    };
    format!("Nullable({base})")
}

/// The columns of a fact table from its DuckDB DDL (`name TYPE, …`).
pub(crate) fn fact_columns(ddl: &str) -> (String, Vec<(String, String)>) {
    let name = ddl
        .split_whitespace()
        .nth(5)
        .map(|n| n.trim_end_matches('('))
        .unwrap_or_default()
        .to_string();
    let body = ddl
        .split_once('(')
        .map(|(_, b)| b.trim_end().trim_end_matches(')'))
        .unwrap_or_default();
    let columns = body
        .split(',')
        .filter_map(|c| {
            let mut parts = c.split_whitespace();
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect();
    (name, columns)
}

/// The table statement in `layout`: the local table (`{table}_local` on a cluster) with its
/// engine, and on a cluster the `Distributed` table in front of it sharded by `shard_key`.
pub(crate) fn table(
    database: &str,
    layout: &Layout,
    table: &str,
    columns: &[String],
    engine: &str,
    shard_key: &str,
) -> Vec<String> {
    let local = match layout {
        Layout::Single => table.to_string(),
        Layout::Cluster { .. } => format!("{table}_local"),
    };
    let mut out = vec![format!(
        "CREATE TABLE IF NOT EXISTS {database}.{local} (\n  {}\n) {engine}",
        columns.join(",\n  ")
    )];
    if let Layout::Cluster { name } = layout {
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {database}.{table} AS {database}.{local} \
             ENGINE = Distributed('{name}', '{database}', '{local}', {shard_key})"
        ));
    }
    out
}

/// The statement placing a record of `entity` on its shard: its ticket, or its key.
fn record_shard_key(entity: &Entity) -> String {
    let key = entity.key.first().copied().unwrap_or("");
    if entity.key.contains(&"ticket_id") {
        "cityHash64(ticket_id)".into()
    } else if entity.column_index("ticket_id").is_some() {
        format!("cityHash64(coalesce(ticket_id, \"{key}\"))")
    } else {
        format!("cityHash64(\"{key}\")")
    }
}

/// The columns a records table is ordered — and so deduplicated — by: the entity's key, led
/// by its ticket where every record has a ticket that is not part of its key
/// (`ticket_events`), so that a derivation reads a chunk's timelines by primary key instead of
/// scanning every event. Such a table keeps the last write of a key exactly with a tombstone
/// (`_deleted`) for a record that moved to another ticket (`write.rs`), and a bloom filter on
/// the key by which a merge finds a record's stored version.
pub(crate) fn record_order(entity: &Entity) -> Vec<&'static str> {
    if ticket_led(entity) {
        std::iter::once("ticket_id")
            .chain(entity.key.iter().copied())
            .collect()
    } else {
        entity.key.to_vec()
    }
}

/// Whether `entity`'s table is ordered by ticket ahead of its key ([`record_order`]).
pub(crate) fn ticket_led(entity: &Entity) -> bool {
    !entity.key.contains(&"ticket_id")
        && entity
            .columns
            .iter()
            .any(|c| c.name == "ticket_id" && c.requirement == Requirement::Required)
}

/// The records' table of one entity.
fn record_table(database: &str, layout: &Layout, entity: &Entity) -> Vec<String> {
    let order = record_order(entity);
    let mut columns: Vec<String> = entity
        .columns
        .iter()
        .map(|c| {
            let in_order = order.contains(&c.name);
            format!("\"{}\" {}", c.name, column_type(c.ty, in_order))
        })
        .collect();
    columns.extend([
        "_import Int64".to_string(),
        "_ord Int64".to_string(),
        "_version UInt128 MATERIALIZED bitShiftLeft(toUInt128(_import), 64) + toUInt128(_ord)"
            .to_string(),
    ]);
    let quoted: Vec<String> = order.iter().map(|k| format!("\"{k}\"")).collect();
    let engine = if ticket_led(entity) {
        let key: Vec<String> = entity.key.iter().map(|k| format!("\"{k}\"")).collect();
        columns.push("_deleted UInt8 DEFAULT 0".to_string());
        columns.push(format!(
            "INDEX _key_bloom ({}) TYPE bloom_filter GRANULARITY 1",
            key.join(", ")
        ));
        format!(
            "ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY ({})",
            quoted.join(", ")
        )
    } else {
        format!(
            "ENGINE = ReplacingMergeTree(_version) ORDER BY ({})",
            quoted.join(", ")
        )
    };
    table(
        database,
        layout,
        entity.name,
        &columns,
        &engine,
        &record_shard_key(entity),
    )
}

/// The ticket facts' tables (the timeline fold's), by name.
pub(crate) fn fact_table_names() -> Vec<String> {
    FACT_DDL.iter().map(|ddl| fact_columns(ddl).0).collect()
}

/// Every statement that creates the store's database, records, fact tables and bookkeeping
/// (`bookkeeping.rs`), in order.
pub fn schema_ddl(database: &str, layout: &Layout) -> Vec<String> {
    let mut out = vec![format!("CREATE DATABASE IF NOT EXISTS {database}")];
    for entity in ENTITIES {
        out.extend(record_table(database, layout, entity));
    }
    for ddl in FACT_DDL {
        let (name, columns) = fact_columns(ddl);
        let columns: Vec<String> = columns
            .iter()
            .map(|(c, ty)| {
                let ty = if c == "ticket_id" {
                    "String".to_string()
                } else {
                    fact_column_type(ty)
                };
                format!("{c} {ty}")
            })
            .chain(FACT_EXTRA.iter().map(|c| c.to_string()))
            .collect();
        out.extend(table(
            database,
            layout,
            &name,
            &columns,
            "ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY (ticket_id, _row)",
            "cityHash64(ticket_id)",
        ));
    }
    out.extend(stored_fact_ddl(database, layout));
    for (name, columns, engine) in WRITER_TABLES {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let shard = if columns[0].starts_with("ticket_id") {
            "cityHash64(ticket_id)"
        } else {
            "rand()"
        };
        out.extend(table(database, layout, name, &columns, engine, shard));
    }
    out.extend(crate::bookkeeping::bookkeeping_ddl(database, layout));
    out
}

/// The tables of the catalogue's stored facts: the columns their statement (under the default
/// configuration: the configuration changes values, never columns) gives, ordered by the
/// record id, sharded as their record. The records the statements read are qualified with
/// the database ([`qualify`]).
pub(crate) fn stored_fact_ddl(database: &str, layout: &Layout) -> Vec<String> {
    let Ok(catalogue) = vitals_core::catalogue::Catalogue::builtin()
        .and_then(|c| c.for_target(vitals_core::catalogue::Target::ClickHouse))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for fact in catalogue.stored_facts(&vitals_core::config::Config::default()) {
        let Some(entity) = ENTITIES.iter().find(|e| e.name == fact.from) else {
            continue;
        };
        let local = match layout {
            Layout::Single => fact.name.clone(),
            Layout::Cluster { .. } => format!("{}_local", fact.name),
        };
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {database}.{local} ENGINE = ReplacingMergeTree ORDER BY \"{}\" EMPTY AS {}",
            fact.key,
            qualify(&fact.sql, database)
        ));
        if let Layout::Cluster { name } = layout {
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {database}.{} AS {database}.{local} \
                 ENGINE = Distributed('{name}', '{database}', '{local}', {})",
                fact.name,
                record_shard_key(entity)
            ));
        }
    }
    out
}

/// `sql` (a statement as the catalogue renders it for ClickHouse: `FROM calls AS c`) with the
/// record tables it reads after `FROM` or `JOIN` qualified with `database` (an unqualified
/// name resolves in whatever database the statement runs in, or to a file).
pub(crate) fn qualify(sql: &str, database: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut rest = sql;
    while let Some(i) = ["FROM ", "JOIN "]
        .iter()
        .filter_map(|k| rest.find(k).map(|i| i + k.len()))
        .min()
    {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        let dotted = rest[end..].starts_with('.');
        if !dotted && ENTITIES.iter().any(|e| e.name == word) {
            out.push_str(database);
            out.push('.');
        }
    }
    out.push_str(rest);
    out
}

/// The columns every fact table has after the fold's: its place among its ticket's rows, the
/// derivation that wrote it, and whether it is a tombstone.
pub const FACT_EXTRA: &[&str] = &["_row UInt32", "_version UInt64", "_deleted UInt8"];

/// The writer's own tables: (name, columns, engine).
const WRITER_TABLES: &[(&str, &[&str], &str)] = &[
    (
        "vitals_imports",
        &[
            "import_id Int64",
            "started_at DateTime64(6, 'UTC')",
            "source String",
            "host String",
        ],
        "ENGINE = MergeTree ORDER BY import_id",
    ),
    (
        "vitals_touched_tickets",
        &[
            "ticket_id String",
            "seq UInt64 DEFAULT toUnixTimestamp64Micro(now64(6))",
        ],
        "ENGINE = MergeTree ORDER BY (seq, ticket_id)",
    ),
    (
        "vitals_touched_records",
        &[
            "entity String",
            "record_id String",
            "seq UInt64 DEFAULT toUnixTimestamp64Micro(now64(6))",
        ],
        "ENGINE = MergeTree ORDER BY (entity, seq)",
    ),
    (
        "vitals_stored_facts",
        &[
            "name String",
            "statement String",
            "watermark UInt64",
            "late_window_rows UInt64",
            "at DateTime64(6, 'UTC')",
        ],
        "ENGINE = MergeTree ORDER BY (name, at)",
    ),
    (
        "vitals_derivations",
        &[
            "partition String",
            "watermark UInt64",
            "late_window_rows UInt64",
            "fingerprint String",
            "at DateTime64(6, 'UTC')",
        ],
        "ENGINE = MergeTree ORDER BY (partition, at)",
    ),
];

/// The schema as a script to read or run (`vitals store init --print`): each statement ended
/// by `;`, with a note on where to run it.
pub fn print_schema(database: &str, layout: &Layout) -> String {
    let note = match layout {
        Layout::Single => "-- vitals schema for one ClickHouse server\n".to_string(),
        Layout::Cluster { name } => format!(
            "-- vitals schema for the cluster `{name}`: run on every node (or add ON CLUSTER {name} where Keeper runs)\n"
        ),
    };
    let statements: Vec<String> = schema_ddl(database, layout)
        .into_iter()
        .map(|s| format!("{s};\n"))
        .collect();
    format!("{note}{}", statements.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_qualified_idempotent_and_sharded_by_ticket() {
        let single = schema_ddl("vitals", &Layout::Single);
        assert!(single.iter().all(|s| s.contains("IF NOT EXISTS vitals")));
        let tickets = single
            .iter()
            .find(|s| s.contains("vitals.tickets ("))
            .unwrap();
        assert!(tickets.contains("ReplacingMergeTree(_version) ORDER BY (\"ticket_id\")"));
        // Events are read by ticket: ordered by it, with tombstones for a moved event and a
        // bloom filter on the key for the merge's lookup.
        let events = single
            .iter()
            .find(|s| s.contains("vitals.ticket_events ("))
            .unwrap();
        assert!(events.contains("\"ticket_id\" String,"), "{events}");
        assert!(events.contains("INDEX _key_bloom (\"event_id\") TYPE bloom_filter"));
        assert!(events.contains(
            "ReplacingMergeTree(_version, _deleted) ORDER BY (\"ticket_id\", \"event_id\")"
        ));
        let call_records = single
            .iter()
            .find(|s| s.contains("vitals.calls ("))
            .unwrap();
        assert!(call_records.contains("ReplacingMergeTree(_version) ORDER BY (\"call_id\")"));
        let facts = single
            .iter()
            .find(|s| s.contains("vitals.fact_tickets ("))
            .unwrap();
        assert!(facts.contains("reply_agents Array(String)"), "{facts}");
        assert!(facts.contains("ReplacingMergeTree(_version, _deleted) ORDER BY (ticket_id, _row)"));
        let cluster = schema_ddl(
            "vitals",
            &Layout::Cluster {
                name: "vitals".into(),
            },
        );
        assert_eq!(cluster.len(), 2 * single.len() - 1, "{cluster:#?}");
        assert!(single.last().unwrap().contains("vitals.vitals_commits"));
        assert!(cluster.iter().any(|s| s.contains(
            "vitals.fact_tickets AS vitals.fact_tickets_local ENGINE = Distributed('vitals', 'vitals', 'fact_tickets_local', cityHash64(ticket_id))"
        )));
        // An event lands on its ticket's shard (the same hash of the same text).
        assert!(cluster.iter().any(
            |s| s.contains("'ticket_events_local', cityHash64(coalesce(ticket_id, \"event_id\")))")
        ));
        assert!(print_schema("vitals", &Layout::Single).contains(";\n"));
        let calls = single
            .iter()
            .find(|s| s.contains("vitals.fact_calls "))
            .unwrap();
        assert!(calls.contains("FROM vitals.calls AS c"), "{calls}");
        assert_eq!(
            qualify("SELECT * FROM survey_responses AS r LEFT JOIN survey_rules AS sr ON x FROM db.calls", "v"),
            "SELECT * FROM v.survey_responses AS r LEFT JOIN survey_rules AS sr ON x FROM db.calls"
        );
    }
}
