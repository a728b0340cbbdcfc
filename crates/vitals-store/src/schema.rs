//! DDL generated from the canonical entity table (records), the derived fact tables, and the
//! store's own bookkeeping (schema version, imports). Opening a store creates what is missing.

use vitals_core::records::{ColumnType, Entity, ENTITIES};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 5;

/// The last version that changed the layout of the ticket fact tables ([`FACT_TABLES`]): a
/// store older than this has them rebuilt and every ticket re-derived.
pub const FACT_LAYOUT_VERSION: i64 = 4;

/// The SQL type of a canonical column.
pub fn sql_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text | ColumnType::LowerText | ColumnType::Enum(_) => "VARCHAR",
        ColumnType::Timestamp => "TIMESTAMP",
        ColumnType::Date => "DATE",
        ColumnType::Bool => "BOOLEAN",
        ColumnType::Number => "DOUBLE",
        ColumnType::Integer => "BIGINT",
    }
}

/// `CREATE TABLE` for an entity's record table: its columns plus `_import` (the import that
/// last wrote the record, for incremental derivation).
pub fn record_table_ddl(entity: &Entity, table: &str, temporary: bool) -> String {
    let cols: Vec<String> = entity
        .columns
        .iter()
        .map(|c| format!("\"{}\" {}", c.name, sql_type(c.ty)))
        .collect();
    format!(
        "CREATE {}TABLE IF NOT EXISTS {table} ({}, _import BIGINT, _ord BIGINT)",
        if temporary { "TEMP " } else { "" },
        cols.join(", ")
    )
}

/// Fact tables written by the timeline fold.
pub const FACT_DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS fact_tickets (
        ticket_id VARCHAR, created_at TIMESTAMP, channel VARCHAR, category VARCHAR, priority VARCHAR,
        customer_id VARCHAR, tier VARCHAR, team VARCHAR, agent_id VARCHAR, first_reply_agent VARCHAR,
        is_complaint BOOLEAN, handle_secs DOUBLE,
        first_reply_at TIMESTAMP, frt_secs DOUBLE, frt_business_secs DOUBLE,
        first_resolved_at TIMESTAMP, first_resolution_secs DOUBLE, first_resolution_business_secs DOUBLE,
        full_resolved_at TIMESTAMP, resolution_secs DOUBLE, resolution_business_secs DOUBLE,
        is_resolved BOOLEAN, resolutions BIGINT, reopens BIGINT, replies BIGINT,
        customer_messages BIGINT, linked_calls BIGINT, interactions BIGINT, bot_messages BIGINT,
        touches BIGINT, distinct_agents BIGINT, fcr BOOLEAN, escalated_at TIMESTAMP, last_status VARCHAR,
        requester_wait_secs DOUBLE, requester_wait_business_secs DOUBLE, agent_wait_secs DOUBLE,
        agent_wait_business_secs DOUBLE, on_hold_secs DOUBLE, on_hold_business_secs DOUBLE,
        complaint_resolution_business_secs DOUBLE, solve_assignee VARCHAR, reply_agents VARCHAR[])",
    "CREATE TABLE IF NOT EXISTS fact_replies (ticket_id VARCHAR, replied_at TIMESTAMP, clock_start TIMESTAMP, agent_id VARCHAR, wait_secs DOUBLE, wait_business_secs DOUBLE)",
    "CREATE TABLE IF NOT EXISTS fact_resolved_spans (ticket_id VARCHAR, resolved_from TIMESTAMP, resolved_to TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS fact_sla (ticket_id VARCHAR, policy VARCHAR, target VARCHAR, target_secs DOUBLE,
        clock VARCHAR, at_risk DOUBLE, started_at TIMESTAMP, ended_at TIMESTAMP, ended_by VARCHAR, elapsed_secs DOUBLE,
        due_at TIMESTAMP, running_since TIMESTAMP, met BOOLEAN)",
];

/// The derived tables: dropped and rebuilt from the records when their layout changes.
pub const FACT_TABLES: &[&str] = &[
    "fact_tickets",
    "fact_replies",
    "fact_resolved_spans",
    "fact_sla",
];

/// Bookkeeping tables.
pub const META_DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS vitals_meta (key VARCHAR, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS vitals_imports (import_id BIGINT, started_at TIMESTAMP, source VARCHAR)",
    "CREATE TABLE IF NOT EXISTS vitals_touched_tickets (ticket_id VARCHAR)",
    "CREATE TABLE IF NOT EXISTS vitals_orphan_events (event_id VARCHAR, ticket_id VARCHAR)",
    "CREATE TABLE IF NOT EXISTS vitals_touched_records (entity VARCHAR, record_id VARCHAR)",
    "CREATE TABLE IF NOT EXISTS vitals_tokens (token_id VARCHAR, name VARCHAR, scopes VARCHAR, secret_hash VARCHAR, created_at TIMESTAMP, revoked_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS vitals_survey_links (link_id VARCHAR, survey VARCHAR, ticket_id VARCHAR, customer_id VARCHAR, agent_id VARCHAR, expires_at TIMESTAMP, used_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS vitals_annotations (id BIGINT, date DATE, text VARCHAR, category VARCHAR, created_at TIMESTAMP)",
];

/// Every statement that creates the store's tables.
pub fn all_ddl() -> Vec<String> {
    let mut out: Vec<String> = META_DDL.iter().map(|s| s.to_string()).collect();
    out.extend(ENTITIES.iter().map(|e| record_table_ddl(e, e.name, false)));
    out.extend(FACT_DDL.iter().map(|s| s.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_tables_follow_the_entities() {
        let e = vitals_core::records::entity("calls").unwrap();
        let ddl = record_table_ddl(e, "calls", false);
        assert!(ddl.contains("\"offered_at\" TIMESTAMP"));
        assert!(ddl.contains("\"abandoned\" BOOLEAN"));
        assert!(ddl.ends_with("_import BIGINT, _ord BIGINT)"));
    }
}
