//! Store tests: merge semantics (last write wins, idempotent re-imports, reconciled counts)
//! and incremental fact derivation.

use vitals_backend::MergeCounts;
use vitals_core::config::DerivationRules;
use vitals_core::records::{entity, Record, Value};

use super::*;

fn t(s: &str) -> Value {
    Value::Text(s.into())
}
fn at(minute: i64) -> Value {
    Value::Timestamp(1_767_225_600_000_000 + minute * 60_000_000)
}

pub(crate) fn ticket(id: &str, channel: &str) -> Record {
    let mut r = vec![Value::Null; entity("tickets").unwrap().columns.len()];
    r[0] = t(id);
    r[1] = at(0);
    r[2] = t(channel);
    r
}

fn event(
    id: &str,
    ticket: &str,
    minute: i64,
    kind: &str,
    role: &str,
    status: Option<&str>,
) -> Record {
    let e = entity("ticket_events").unwrap();
    let mut r = vec![Value::Null; e.columns.len()];
    r[0] = t(id);
    r[1] = t(ticket);
    r[2] = at(minute);
    r[3] = t(kind);
    r[4] = t(role);
    r[5] = t("a1");
    if let Some(s) = status {
        r[e.column_index("status").unwrap()] = t(s);
    }
    r
}

/// A record of entity `name` with the given cells (the others null).
pub(crate) fn record(name: &str, cells: &[(&str, Value)]) -> Record {
    let e = entity(name).unwrap();
    let mut r = vec![Value::Null; e.columns.len()];
    for (column, value) in cells {
        r[e.column_index(column).unwrap()] = value.clone();
    }
    r
}

/// Stages and merges `records` of entity `name` as one import.
pub(crate) fn load(store: &Store, name: &str, records: &[Record]) -> MergeCounts {
    let e = entity(name).unwrap();
    let import = store.begin_import("test").unwrap();
    let mut w = store.stage(e, import).unwrap();
    for r in records {
        w.append(r).unwrap();
    }
    w.merge().unwrap()
}

fn frt(store: &Store, id: &str) -> Option<f64> {
    store
        .conn
        .query_row(
            "SELECT frt_secs FROM fact_tickets WHERE ticket_id = ?",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn merge_is_last_write_wins_and_idempotent() {
    let store = Store::open_in_memory().unwrap();
    let c = load(
        &store,
        "tickets",
        &[
            ticket("t1", "email"),
            ticket("t2", "chat"),
            ticket("t1", "phone"),
        ],
    );
    assert_eq!(
        c,
        MergeCounts {
            inserted: 2,
            updated: 0,
            unchanged: 0,
            superseded: 1
        }
    );
    let channel: String = store
        .conn
        .query_row(
            "SELECT channel FROM tickets WHERE ticket_id = 't1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(channel, "phone", "the later line wins");

    let c = load(
        &store,
        "tickets",
        &[ticket("t1", "phone"), ticket("t2", "chat")],
    );
    assert_eq!(
        c,
        MergeCounts {
            inserted: 0,
            updated: 0,
            unchanged: 2,
            superseded: 0
        }
    );
    let c = load(&store, "tickets", &[ticket("t2", "web")]);
    assert_eq!(
        c,
        MergeCounts {
            inserted: 0,
            updated: 1,
            unchanged: 0,
            superseded: 0
        }
    );
    assert_eq!(store.record_count("tickets").unwrap(), 2);
}

#[test]
fn facts_are_derived_for_touched_tickets_only() {
    let store = Store::open_in_memory().unwrap();
    load(
        &store,
        "tickets",
        &[ticket("t1", "email"), ticket("t2", "chat")],
    );
    load(
        &store,
        "ticket_events",
        &[
            event("e1", "t1", 0, "message", "customer", None),
            event("e2", "t1", 30, "message", "agent", None),
            event("e3", "t1", 40, "status", "agent", Some("solved")),
        ],
    );
    assert_eq!(
        store
            .derive_touched(&DerivationRules::default(), &[])
            .unwrap()
            .tickets,
        2
    );
    assert_eq!(frt(&store, "t1"), Some(1800.0));
    assert_eq!(frt(&store, "t2"), None);
    assert_eq!(store.count("SELECT count(*) FROM fact_replies").unwrap(), 1);
    // The catalogue's reply entity relies on it: every reply has its ticket's facts.
    assert_eq!(
        store
            .count("SELECT count(*) FROM fact_replies r ANTI JOIN fact_tickets t USING (ticket_id)")
            .unwrap(),
        0
    );

    // Nothing changed: nothing to derive.
    load(
        &store,
        "ticket_events",
        &[event("e2", "t1", 30, "message", "agent", None)],
    );
    assert_eq!(
        store
            .derive_touched(&DerivationRules::default(), &[])
            .unwrap()
            .tickets,
        0
    );

    // An earlier reply arrives for t2 only.
    load(
        &store,
        "ticket_events",
        &[event("e9", "t2", 5, "message", "agent", None)],
    );
    assert_eq!(
        store
            .derive_touched(&DerivationRules::default(), &[])
            .unwrap()
            .tickets,
        1
    );
    assert_eq!(frt(&store, "t2"), Some(300.0));
    assert_eq!(store.count("SELECT count(*) FROM fact_tickets").unwrap(), 2);
    assert_eq!(store.count("SELECT count(*) FROM fact_replies").unwrap(), 2);
}

/// Every fact row, in a stable order.
fn all_facts(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for table in [
        "fact_tickets",
        "fact_replies",
        "fact_resolved_spans",
        "fact_sla",
    ] {
        let mut stmt = store
            .conn
            .prepare(&format!(
                "SELECT CAST(columns(*) AS VARCHAR) FROM {table} ORDER BY ALL"
            ))
            .unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                let width = r.as_ref().column_count();
                Ok((0..width)
                    .map(|i| format!("{:?}", r.get::<_, Option<String>>(i).ok().flatten()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        out.push(format!("{table}: {}", rows.len()));
        out.extend(rows);
    }
    out
}

#[test]
fn derivation_in_small_passes_and_chunks_writes_the_same_facts() {
    let fill = |store: &Store| {
        let tickets: Vec<Record> = (0..7).map(|i| ticket(&format!("t{i}"), "email")).collect();
        load(store, "tickets", &tickets);
        let mut events = Vec::new();
        for i in 0..7 {
            let t = format!("t{i}");
            events.push(event(&format!("{t}a"), &t, 0, "message", "customer", None));
            events.push(event(
                &format!("{t}b"),
                &t,
                10 + i,
                "message",
                "agent",
                None,
            ));
            events.push(event(
                &format!("{t}c"),
                &t,
                40,
                "status",
                "agent",
                Some("solved"),
            ));
        }
        load(store, "ticket_events", &events);
    };
    let whole = Store::open_in_memory().unwrap();
    fill(&whole);
    whole
        .derive_touched(&DerivationRules::default(), &[])
        .unwrap();
    let batched = Store::open_in_memory().unwrap();
    fill(&batched);
    let derived = batched
        .derive_tickets(
            &DerivationRules::default(),
            crate::derive::Batches { pass: 3, chunk: 2 },
        )
        .unwrap();
    assert_eq!(derived.tickets, 7);
    assert_eq!(all_facts(&batched), all_facts(&whole));
    // The invariant backlog from deltas relies on: a ticket has at most one open span, its
    // last, exactly when it is resolved, and `full_resolved_at` is that span's start.
    assert_eq!(
        batched
            .count(
                "SELECT count(*) FROM fact_tickets t LEFT JOIN fact_resolved_spans sp
                   ON sp.ticket_id = t.ticket_id AND sp.resolved_to IS NULL
                 WHERE coalesce(t.is_resolved, false) <> (sp.ticket_id IS NOT NULL)
                    OR (sp.ticket_id IS NOT NULL AND sp.resolved_from IS DISTINCT FROM t.full_resolved_at)
                    OR EXISTS (SELECT 1 FROM fact_resolved_spans later WHERE later.ticket_id = t.ticket_id
                               AND later.resolved_from > sp.resolved_from)"
            )
            .unwrap(),
        0
    );
    assert_eq!(frt(&batched, "t6"), Some(960.0));
}

#[test]
fn orphan_events_are_counted_and_folded_when_their_ticket_arrives() {
    let store = Store::open_in_memory().unwrap();
    load(
        &store,
        "ticket_events",
        &[event("e1", "t9", 10, "message", "agent", None)],
    );
    assert_eq!(store.orphan_event_count().unwrap(), 1);
    store
        .derive_touched(&DerivationRules::default(), &[])
        .unwrap();
    assert_eq!(store.count("SELECT count(*) FROM fact_tickets").unwrap(), 0);
    load(&store, "tickets", &[ticket("t9", "email")]);
    assert_eq!(store.orphan_event_count().unwrap(), 0);
    store
        .derive_touched(&DerivationRules::default(), &[])
        .unwrap();
    assert_eq!(frt(&store, "t9"), Some(600.0));
}

#[test]
fn orphan_events_follow_every_merge() {
    let store = Store::open_in_memory().unwrap();
    load(&store, "tickets", &[ticket("t1", "email")]);
    // A first import of events (the bulk path) and later batches (the merging path).
    load(
        &store,
        "ticket_events",
        &[
            event("e1", "t1", 10, "message", "agent", None),
            event("e2", "t8", 10, "message", "agent", None),
        ],
    );
    assert_eq!(store.orphan_event_count().unwrap(), 1);
    load(
        &store,
        "ticket_events",
        &[
            event("e3", "t9", 10, "message", "agent", None),
            event("e4", "t9", 20, "message", "agent", None),
        ],
    );
    assert_eq!(store.orphan_event_count().unwrap(), 3);
    // An event moved to a stored ticket is no orphan any more; one moved away is.
    load(
        &store,
        "ticket_events",
        &[
            event("e2", "t1", 10, "message", "agent", None),
            event("e1", "t7", 10, "message", "agent", None),
        ],
    );
    assert_eq!(store.orphan_event_count().unwrap(), 3);
    load(
        &store,
        "tickets",
        &[ticket("t9", "chat"), ticket("t7", "chat")],
    );
    assert_eq!(store.orphan_event_count().unwrap(), 0);
    let full = store
        .count("SELECT count(*) FROM ticket_events e WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.ticket_id = e.ticket_id)")
        .unwrap();
    assert_eq!(full, 0);
}

#[test]
fn a_version_4_store_is_migrated_without_rederiving_its_tickets() {
    let store = Store::open_in_memory().unwrap();
    load(&store, "tickets", &[ticket("t1", "email")]);
    load(
        &store,
        "ticket_events",
        &[
            event("e1", "t1", 10, "message", "agent", None),
            event("e2", "t8", 10, "message", "agent", None),
        ],
    );
    store
        .derive_touched(&DerivationRules::default(), &[])
        .unwrap();
    // As version 4 left it: no list of orphan events.
    store
        .conn
        .execute_batch("DELETE FROM vitals_orphan_events")
        .unwrap();
    store.migrate(4).unwrap();
    assert_eq!(store.orphan_event_count().unwrap(), 1);
    assert_eq!(
        store.meta("schema_version").unwrap().as_deref(),
        Some(schema::SCHEMA_VERSION.to_string().as_str())
    );
    assert_eq!(
        store
            .count("SELECT count(*) FROM vitals_touched_tickets")
            .unwrap(),
        0
    );
    assert_eq!(frt(&store, "t1"), Some(600.0));
    // Version 4 stored no facts: the next derivation builds them, and derives no ticket.
    let config = vitals_core::config::Config::default();
    let stored = vitals_core::catalogue::Catalogue::builtin()
        .unwrap()
        .stored_facts(&config);
    let derivation = store
        .derive_touched(&DerivationRules::default(), &stored)
        .unwrap();
    assert_eq!(
        (derivation.tickets, derivation.stored_facts_rebuilt),
        (0, 4)
    );
    let state = store.reader().unwrap().facts_state().unwrap();
    assert_eq!(state.stored_facts.len(), 4);
}

/// The fold thread receives timelines in engine-sized batches (2 048 rows): a ticket whose
/// events span several batches is still folded once, from all its events.
#[test]
fn a_timeline_longer_than_one_read_batch_is_folded_as_one_ticket() {
    let store = Store::open_in_memory().unwrap();
    load(
        &store,
        "tickets",
        &[
            ticket("a", "email"),
            ticket("long", "email"),
            ticket("z", "chat"),
        ],
    );
    let mut events = vec![event("a1", "a", 0, "message", "customer", None)];
    for i in 0..2_500 {
        let role = if i % 2 == 0 { "customer" } else { "agent" };
        events.push(event(
            &format!("long{i:05}"),
            "long",
            i,
            "message",
            role,
            None,
        ));
    }
    events.push(event("z1", "z", 0, "message", "customer", None));
    load(&store, "ticket_events", &events);
    let derived = store
        .derive_touched(&DerivationRules::default(), &[])
        .unwrap();
    assert_eq!(derived.tickets, 3);
    let (rows, replies): (i64, i64) = store
        .conn
        .query_row(
            "SELECT count(*), sum(replies) FROM fact_tickets WHERE ticket_id = 'long'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, replies), (1, 1_250));
    let waits: i64 = store
        .conn
        .query_row(
            "SELECT count(*) FROM fact_replies WHERE ticket_id = 'long'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(waits, 1_250);
    assert_eq!(frt(&store, "long"), Some(60.0));
}
