//! Store tests of the write path in parts: an entity merged a million records at a time, and
//! a first import appended part by part, give the records and counts of one merge; a first
//! import abandoned or cut short leaves nothing.

use vitals_core::records::{entity, Record};

use crate::tests::ticket;
use vitals_backend::{MergeCounts, RecordColumns};

use crate::{StagedWriter, Store};

/// Stages `records` of `name` as one import, in batches of `batch` records, merging a part
/// every `part` records; returns the counts and each ticket's channel.
fn load_in_parts(
    store: &Store,
    records: &[Record],
    batch: usize,
    part: i64,
) -> (MergeCounts, Vec<(String, String)>) {
    let e = entity("tickets").unwrap();
    let import = store.begin_import("test").unwrap();
    let w = store.stage(e, import).unwrap().merging_every(part);
    write_in_parts(store, w, records, batch)
}

fn write_in_parts(
    store: &Store,
    mut w: StagedWriter<'_>,
    records: &[Record],
    batch: usize,
) -> (MergeCounts, Vec<(String, String)>) {
    let e = entity("tickets").unwrap();
    for chunk in records.chunks(batch) {
        let mut columns = RecordColumns::new(e);
        for r in chunk {
            columns.push(r).unwrap();
        }
        w.append_columns(columns).unwrap();
    }
    let counts = w.merge().unwrap();
    let mut stmt = store
        .conn
        .prepare("SELECT ticket_id, channel FROM tickets ORDER BY ticket_id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (counts, rows)
}

/// A large entity is merged in parts to bound the staging table; a key repeated across parts
/// ends as its last record and counts as one record plus superseded copies, as in one part.
#[test]
fn merging_in_parts_keeps_the_last_record_and_the_counts_of_one_merge() {
    let first = [
        ticket("a", "email"),
        ticket("b", "email"),
        ticket("c", "email"),
        ticket("a", "chat"),
        ticket("d", "email"),
        ticket("b", "email"),
    ];
    let second = [
        ticket("x", "email"),
        ticket("a", "web"),
        ticket("y", "email"),
        ticket("a", "phone"),
        ticket("z", "email"),
        ticket("c", "email"),
    ];
    let whole = Store::open_in_memory().unwrap();
    let parts = Store::open_in_memory().unwrap();
    for records in [&first[..], &second[..]] {
        let one = load_in_parts(&whole, records, 6, 1_000);
        let many = load_in_parts(&parts, records, 3, 3);
        assert_eq!(one, many);
    }
    // Re-imported: the same records in the end, and a single merge finds nothing changed.
    // In parts, `a` went to `web` (a change) in the first part and back to the stored `phone`
    // in the second: counted as an update, the one way parts count differently
    // (documented on `StagedWriter`).
    let (one, whole_rows) = load_in_parts(&whole, &second, 6, 1_000);
    let (many, rows) = load_in_parts(&parts, &second, 3, 3);
    assert_eq!(rows, whole_rows);
    assert!(rows.contains(&("a".to_string(), "phone".to_string())));
    let counts = |inserted, updated, unchanged, superseded| MergeCounts {
        inserted,
        updated,
        unchanged,
        superseded,
    };
    assert_eq!(one, counts(0, 0, 5, 1));
    assert_eq!(many, counts(0, 1, 4, 1));
}

/// A first import's bulk writer appends its parts as they are and deduplicates once at the
/// end: the same records and counts as one merge, and nothing left when the writer is dropped
/// before its merge or the process stops half-way (the next writer takes the parts out).
#[test]
fn a_first_import_in_parts_equals_one_merge_and_leaves_nothing_when_abandoned() {
    let records = [
        ticket("a", "email"),
        ticket("b", "email"),
        ticket("c", "email"),
        ticket("a", "chat"),
        ticket("d", "email"),
        ticket("b", "web"),
        ticket("e", "email"),
    ];
    let whole = Store::open_in_memory().unwrap();
    let one = load_in_parts(&whole, &records, 7, 1_000);
    let bulk = Store::open_in_memory().unwrap();
    let import = bulk.begin_import("test").unwrap();
    let tickets = entity("tickets").unwrap();
    let w = bulk.stage_bulk(tickets, import).unwrap().merging_every(3);
    assert!(w.fresh, "an empty table takes the first-import path");
    assert_eq!(write_in_parts(&bulk, w, &records, 2), one);
    assert_eq!(one.0.superseded, 2);

    let abandoned = Store::open_in_memory().unwrap();
    let import = abandoned.begin_import("test").unwrap();
    let mut w = abandoned
        .stage_bulk(tickets, import)
        .unwrap()
        .merging_every(2);
    for r in &records[..5] {
        let mut columns = RecordColumns::new(tickets);
        columns.push(r).unwrap();
        w.append_columns(columns).unwrap();
    }
    drop(w);
    assert_eq!(abandoned.count("SELECT count(*) FROM tickets").unwrap(), 0);
    // The next writer of the same table is a first import again.
    let w = abandoned.stage_bulk(tickets, import).unwrap();
    assert!(w.fresh);

    // A process that stops half-way leaves parts and the mark; the next writer takes them out.
    let mut w = w.merging_every(2);
    for r in &records[..5] {
        let mut columns = RecordColumns::new(tickets);
        columns.push(r).unwrap();
        w.append_columns(columns).unwrap();
    }
    std::mem::forget(w);
    assert_eq!(abandoned.count("SELECT count(*) FROM tickets").unwrap(), 4);
    let next = abandoned.begin_import("test").unwrap();
    let (counts, rows) = load_in_parts(&abandoned, &records[..2], 2, 1_000);
    assert_eq!(counts.inserted, 2);
    assert_eq!(rows.len(), 2, "only the next import's records: {rows:?}");
    assert!(next > import);
}

/// A first import checks its keys for repeats slice by slice (by the keys' hash) past ten
/// parts' rows: with parts of one record, 25 records are checked in three slices, and every
/// repeated key still ends as its last record, with the counts of one merge.
#[test]
fn a_first_import_checked_in_key_slices_equals_one_merge() {
    let channels = ["email", "chat", "web"];
    let records: Vec<_> = (0..25)
        .map(|i| ticket(&format!("t{}", i % 11), channels[i % 3]))
        .collect();
    let whole = Store::open_in_memory().unwrap();
    let one = load_in_parts(&whole, &records, 25, 1_000);
    assert_eq!(one.0.inserted, 11);
    assert_eq!(one.0.superseded, 14);
    let sliced = Store::open_in_memory().unwrap();
    let import = sliced.begin_import("test").unwrap();
    let w = sliced
        .stage_bulk(entity("tickets").unwrap(), import)
        .unwrap()
        .merging_every(1);
    assert!(w.fresh);
    assert_eq!(write_in_parts(&sliced, w, &records, 4), one);
}
