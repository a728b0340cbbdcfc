//! The read seam on ClickHouse: a [`ClickHouseReader`] runs the query library's statements
//! (`vitals_query::Engine`), the operational reads (`operational.rs`) and the bookkeeping
//! reads (`admin.rs`) over the HTTP [`Client`], and never writes.
//!
//! - **No unmerged duplicates.** Records (and the writer's facts and the bookkeeping) are
//!   `ReplacingMergeTree` tables: every statement runs with the setting `final = 1`, which
//!   applies `FINAL` to each such table the statement reads (joins and subqueries included;
//!   on a `Distributed` table, on every shard). Measured on one loopback node (chdb 26.9) on
//!   3 M rows of 2 M keys in two unmerged parts, `count()` and `sum()`: `FINAL` 0.49–0.76 s,
//!   `argMax(x, _version)` grouped by key 0.95–1.22 s (raw, with duplicates, 0.05–0.20 s);
//!   merged into one part, `FINAL` 0.11–0.14 s (as the raw scan, 0.10–0.13 s) and `argMax`
//!   still 0.68–1.09 s. `FINAL` also needs no rewrite of the planner's statements.
//! - **Placeholders** (`?` outside string literals) are bound as ClickHouse string literals;
//!   answers are read as TabSeparated text. Each statement runs with `wait_end_of_query = 1`,
//!   so an error (a killed statement among them) is an HTTP error, never a truncated answer.
//! - **Interrupts** (`interrupt.rs`): each statement has a `query_id`; an interrupt kills the
//!   running ones by id on another connection and stops new ones until [`rearm`].
//! - **Side by side**: `aggregate_all` runs a query's statements on up to
//!   [`STATEMENTS_AT_ONCE`] threads (the server does the work; the threads wait on HTTP).
//! - **Data version**: the row count of `vitals_commits` (one row per commit that changed
//!   data, whichever process made it), so several servers in front of one cluster see each
//!   other's commits.
//!
//! [`rearm`]: vitals_backend::Reader::rearm

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use vitals_backend::{BackendError, DigestRun, Interrupt, SurveyLink};
use vitals_query::alerts::{AlertEvent, Delivery, SeriesState};
use vitals_query::plan::PlannedSql;
use vitals_query::{AggRow, Dialect, Engine, EngineError, FactsState, RecordRow};

use crate::client::{literal, tsv_rows};
use crate::interrupt::Interrupts;
use crate::{ClickHouse, ClickHouseError, Client};

/// The most statements of one query run at once.
const STATEMENTS_AT_ONCE: usize = 4;

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The reader was interrupted (its time budget ran out or its client left).
    #[error("the query was interrupted")]
    Interrupted,
    /// ClickHouse failed or could not be reached.
    #[error(transparent)]
    ClickHouse(#[from] ClickHouseError),
    /// An answer of another shape than the statement asks for.
    #[error("unexpected answer from ClickHouse ({what}): {detail}")]
    Answer {
        /// What was read.
        what: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// The database has no vitals schema.
    #[error("the ClickHouse database `{0}` has no vitals schema; run `vitals store init`")]
    NoSchema(String),
}

impl From<ReadError> for EngineError {
    fn from(e: ReadError) -> Self {
        EngineError(e.to_string())
    }
}

impl From<ReadError> for BackendError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::ClickHouse(e) => e.into(),
            e @ ReadError::NoSchema(_) => BackendError::user(e.to_string()),
            e => BackendError::internal(e.to_string()),
        }
    }
}

/// A read-only handle on a ClickHouse store.
pub struct ClickHouseReader {
    client: Client,
    interrupts: Arc<Interrupts>,
}

impl ClickHouseReader {
    /// A reader over `client`'s database; fails (for the user to fix) when the server cannot
    /// be reached or the database has no vitals schema.
    pub fn open(client: Client) -> Result<ClickHouseReader, BackendError> {
        let reader = ClickHouseReader::over(client);
        let found = reader.text(&format!(
            "SELECT count() FROM system.tables WHERE database = {} AND name = 'vitals_commits'",
            literal(reader.client.database())
        ))?;
        if found.trim() != "1" {
            return Err(ReadError::NoSchema(reader.client.database().to_string()).into());
        }
        Ok(reader)
    }

    /// A reader over `client` without checking the schema (the admin part's own reads).
    pub(crate) fn over(client: Client) -> ClickHouseReader {
        let client = client
            .with_setting("final", "1")
            .with_setting("wait_end_of_query", "1");
        ClickHouseReader {
            interrupts: Interrupts::new(client.clone()),
            client,
        }
    }

    /// `name` qualified with the store's database.
    pub(crate) fn table(&self, name: &str) -> String {
        self.client.table(name)
    }

    /// Runs `sql` under a query id of its own (unless the reader is stopped); its answer as
    /// text.
    pub(crate) fn text(&self, sql: &str) -> Result<String, ReadError> {
        let id = self.interrupts.start().ok_or(ReadError::Interrupted)?;
        let answer = self.client.query_bytes(sql, Some(&id));
        self.interrupts.finish(&id);
        match answer {
            Ok(body) => Ok(String::from_utf8_lossy(&body).into_owned()),
            Err(_) if self.interrupts.stopped() => Err(ReadError::Interrupted),
            Err(e) => Err(e.into()),
        }
    }

    /// The rows of `sql`'s TabSeparated answer, each with at least `columns` fields.
    pub(crate) fn rows(
        &self,
        sql: &str,
        columns: usize,
        what: &'static str,
    ) -> Result<Vec<Vec<Option<String>>>, ReadError> {
        let rows = tsv_rows(&self.text(sql)?);
        match rows.iter().find(|r| r.len() < columns) {
            Some(short) => Err(ReadError::Answer {
                what,
                detail: format!("a row of {} fields, expected {columns}", short.len()),
            }),
            None => Ok(rows),
        }
    }

    /// One planned statement with its parameters bound, as its rows.
    fn planned(
        &self,
        plan: &PlannedSql,
        columns: usize,
        what: &'static str,
    ) -> Result<Vec<Vec<Option<String>>>, ReadError> {
        self.rows(&bind(&plan.sql, &plan.params), columns, what)
    }

    fn run_aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, ReadError> {
        let rows = self.planned(plan, plan.key_columns + plan.agg_columns, "aggregates")?;
        Ok(rows
            .into_iter()
            .map(|mut row| {
                let aggs = row
                    .split_off(plan.key_columns)
                    .into_iter()
                    .take(plan.agg_columns)
                    .map(|f| number(f.as_deref()))
                    .collect();
                row.truncate(plan.key_columns);
                AggRow { keys: row, aggs }
            })
            .collect())
    }

    fn run_side_by_side(&self, plans: &[&PlannedSql]) -> Result<Vec<Vec<AggRow>>, ReadError> {
        let at_once = STATEMENTS_AT_ONCE.min(plans.len());
        if at_once <= 1 {
            return plans.iter().map(|plan| self.run_aggregate(plan)).collect();
        }
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(plan) = plans.get(i) else {
                    return done;
                };
                done.push((i, self.run_aggregate(plan)));
            }
        };
        let mut done = std::thread::scope(|scope| {
            let running: Vec<_> = (1..at_once).map(|_| scope.spawn(work)).collect();
            let mut done = work();
            for handle in running {
                match handle.join() {
                    Ok(theirs) => done.extend(theirs),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            done
        });
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, answer)| answer).collect()
    }

    /// Which of `names` are tables of the store's database.
    pub(crate) fn existing(&self, names: &[&str]) -> Result<Vec<String>, ReadError> {
        let list: Vec<String> = names.iter().map(|n| literal(n)).collect();
        let rows = self.rows(
            &format!(
                "SELECT name FROM system.tables WHERE database = {} AND name IN ({})",
                literal(self.client.database()),
                list.join(", ")
            ),
            1,
            "the store's tables",
        )?;
        Ok(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
    }

    /// The derivation state from the writer's bookkeeping (`derive.rs`): each partition's
    /// latest row of `vitals_derivations` (`I/N`: the tickets whose `cityHash64(ticket_id) %
    /// N = I`) with its watermark and fingerprint. A touched ticket
    /// (`vitals_touched_tickets`) is pending when its `seq` is past the watermark of every
    /// partition that holds it (the greatest of them). The fingerprint is that of the newest
    /// complete partitioning (every `I/N` of one `N`), when its partitions agree, else none
    /// (so the facts read as stale). The stored facts' statements are read from
    /// `vitals_stored_facts (name, statement, at)` when the writer keeps one; a table that
    /// does not exist reads as empty.
    fn read_facts_state(&self) -> Result<FactsState, ReadError> {
        let exists = self.existing(&[
            "vitals_touched_tickets",
            "vitals_derivations",
            "vitals_stored_facts",
        ])?;
        let has = |name: &str| exists.iter().any(|e| e == name);
        let partitions = if has("vitals_derivations") {
            let rows = self.rows(
                &format!(
                    "SELECT partition, argMax(watermark, at), argMax(fingerprint, at), \
                     toUnixTimestamp64Micro(max(at)) FROM {} GROUP BY partition",
                    self.table("vitals_derivations")
                ),
                4,
                "the derivations",
            )?;
            rows.into_iter()
                .filter_map(|r| {
                    let (index, count) = r[0].as_deref()?.split_once('/')?;
                    Some(Derived {
                        index: index.parse().ok()?,
                        count: count.parse().ok()?,
                        watermark: r[1].as_deref()?.parse().ok()?,
                        fingerprint: r[2].clone()?,
                        at: r[3].as_deref()?.parse().ok()?,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let pending = if has("vitals_touched_tickets") {
            let covered: Vec<String> = partitions
                .iter()
                .filter(|p| p.count > 0)
                .map(|p| {
                    format!(
                        "if(cityHash64(ticket_id) % {} = {}, {}, 0)",
                        p.count, p.index, p.watermark
                    )
                })
                .chain(["toUInt64(0)".to_string(), "toUInt64(0)".to_string()])
                .collect();
            // `seq > floor` lets the primary key (`seq, ticket_id`) skip the touches every
            // partition is past, instead of reading all of them.
            let text = self.text(&format!(
                "SELECT count(DISTINCT ticket_id) FROM {} WHERE seq > {} AND seq > greatest({})",
                self.table("vitals_touched_tickets"),
                pending_floor(&partitions),
                covered.join(", ")
            ))?;
            text.trim().parse().unwrap_or(0)
        } else {
            0
        };
        let has_tickets = self.text(&format!(
            "SELECT count() FROM (SELECT 1 FROM {} LIMIT 1)",
            self.table("tickets")
        ))?;
        let stored_facts = if has("vitals_stored_facts") {
            let rows = self.rows(
                &format!(
                    "SELECT name, argMax(statement, at) FROM {} GROUP BY name",
                    self.table("vitals_stored_facts")
                ),
                2,
                "the stored facts",
            )?;
            rows.into_iter()
                .filter_map(|r| Some((r[0].clone()?, r[1].clone()?)))
                .collect()
        } else {
            Default::default()
        };
        Ok(FactsState {
            pending_tickets: pending,
            fingerprint: fingerprint(&partitions),
            has_tickets: has_tickets.trim() == "1",
            stored_facts,
        })
    }
}

/// One partition's latest derivation.
struct Derived {
    index: u64,
    count: u64,
    watermark: u64,
    fingerprint: String,
    at: i64,
}

/// A watermark every ticket's touches at or below are derived by: the greatest, over the
/// complete partitionings (every `I/N` of one `N`, which together cover every ticket), of the
/// smallest watermark among their partitions; 0 when no partitioning is complete.
fn pending_floor(partitions: &[Derived]) -> u64 {
    partitionings(partitions)
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .filter_map(|(n, parts)| {
            (0..n)
                .map(|i| {
                    parts
                        .iter()
                        .filter(|p| p.index == i)
                        .map(|p| p.watermark)
                        .max()
                })
                .collect::<Option<Vec<u64>>>()
                .and_then(|marks| marks.into_iter().min())
        })
        .max()
        .unwrap_or(0)
}

/// The partitions grouped by partitioning (their `N`), by increasing `N`.
fn partitionings(partitions: &[Derived]) -> Vec<(u64, Vec<&Derived>)> {
    let mut counts: Vec<u64> = partitions.iter().map(|p| p.count).collect();
    counts.sort_unstable();
    counts.dedup();
    counts
        .into_iter()
        .map(|n| (n, partitions.iter().filter(|p| p.count == n).collect()))
        .collect()
}

/// The fingerprint the facts were derived under: the newest complete partitioning's (the
/// one whose oldest partition is newest), when its partitions agree.
fn fingerprint(partitions: &[Derived]) -> Option<String> {
    partitionings(partitions)
        .into_iter()
        .filter_map(|(n, parts)| {
            let complete = (0..n).all(|i| parts.iter().any(|p| p.index == i));
            let oldest = parts.iter().map(|p| p.at).min()?;
            complete.then_some((oldest, parts))
        })
        .max_by_key(|(oldest, _)| *oldest)
        .and_then(|(_, parts)| {
            let first = &parts[0].fingerprint;
            parts
                .iter()
                .all(|p| p.fingerprint == *first)
                .then(|| first.clone())
        })
}

/// The statement with its `?` placeholders (outside string literals and quoted names) bound
/// to `params` as ClickHouse string literals.
pub fn bind(sql: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut params = params.iter();
    let mut quote: Option<char> = None;
    let mut chars = sql.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        match (quote, c) {
            (Some(_), '\\') => out.extend(chars.next()),
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '?') => {
                if let Some(p) = params.next() {
                    out.pop();
                    out.push_str(&ClickHouse.string_literal(p));
                }
            }
            _ => {}
        }
    }
    out
}

/// A TabSeparated number (`nan` reads as none, as NULL does).
fn number(field: Option<&str>) -> Option<f64> {
    field
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|x| !x.is_nan())
}

impl Engine for ClickHouseReader {
    fn dialect(&self) -> &dyn Dialect {
        &ClickHouse
    }

    fn aggregate(&self, plan: &PlannedSql) -> Result<Vec<AggRow>, EngineError> {
        Ok(self.run_aggregate(plan)?)
    }

    fn aggregate_all(&self, plans: &[&PlannedSql]) -> Result<Vec<Vec<AggRow>>, EngineError> {
        Ok(self.run_side_by_side(plans)?)
    }

    fn extent(&self, sql: &str) -> Result<Option<(i64, i64)>, EngineError> {
        let rows = self.rows(sql, 2, "the data's extent")?;
        Ok(rows.first().and_then(|r| {
            number(r[0].as_deref())
                .zip(number(r[1].as_deref()))
                .map(|(a, b)| (a as i64, b as i64))
        }))
    }

    fn facts_state(&self) -> Result<FactsState, EngineError> {
        Ok(self.read_facts_state()?)
    }

    fn records(&self, plan: &PlannedSql) -> Result<Vec<RecordRow>, EngineError> {
        let rows = self.planned(plan, 5, "drill-down records")?;
        Ok(rows
            .into_iter()
            .map(|r| RecordRow {
                id: r[0].clone(),
                ticket: r[1].clone(),
                at_us: number(r[2].as_deref()).map(|x| x as i64),
                value: number(r[3].as_deref()),
                counted: r[4].as_deref().map(|c| c == "true" || c == "1"),
            })
            .collect())
    }
}

impl vitals_backend::Reader for ClickHouseReader {
    fn try_clone(&self) -> Result<Box<dyn vitals_backend::Reader>, BackendError> {
        Ok(Box::new(ClickHouseReader {
            client: self.client.clone(),
            interrupts: Interrupts::new(self.client.clone()),
        }))
    }

    fn interrupter(&self) -> Box<dyn Interrupt> {
        Box::new(self.interrupts.interrupter())
    }

    fn rearm(&self) {
        self.interrupts.rearm()
    }

    fn survey_link(&self, link_id: &str) -> Result<Option<SurveyLink>, BackendError> {
        Ok(self.find_survey_link(link_id)?)
    }

    fn digest_runs(&self) -> Result<Vec<DigestRun>, BackendError> {
        Ok(self.read_digest_runs()?)
    }

    fn alert_states(&self) -> Result<Vec<SeriesState>, BackendError> {
        Ok(self.read_alert_states()?)
    }

    fn alert_events(&self, limit: u32) -> Result<Vec<AlertEvent>, BackendError> {
        Ok(self.read_alert_events(limit)?)
    }

    fn alert_deliveries(&self, limit: u32) -> Result<Vec<Delivery>, BackendError> {
        Ok(self.read_deliveries(None, limit)?)
    }

    fn due_deliveries(&self, now_us: i64, limit: u32) -> Result<Vec<Delivery>, BackendError> {
        Ok(self.read_deliveries(Some(now_us), limit)?)
    }

    fn data_version(&self) -> Result<Option<u64>, BackendError> {
        let count = self.text(&format!(
            "SELECT count() FROM {}",
            self.table("vitals_commits")
        ))?;
        count.trim().parse().map(Some).map_err(|_| {
            BackendError::internal(format!(
                "ClickHouse: a count of commits of `{}`",
                count.trim()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_bound_outside_literals_and_names_only() {
        let sql = r#"SELECT '?', 'it\'s ?', "a?" FROM t WHERE x = ? AND y = ?"#;
        let bound = bind(sql, &["o'k".into(), "b\\c".into()]);
        assert_eq!(
            bound,
            r#"SELECT '?', 'it\'s ?', "a?" FROM t WHERE x = 'o\'k' AND y = 'b\\c'"#
        );
        assert_eq!(bind("SELECT ?", &[]), "SELECT ?");
    }

    #[test]
    fn the_fingerprint_is_the_newest_complete_partitionings() {
        let part = |index, count, fingerprint: &str, at| Derived {
            index,
            count,
            watermark: 0,
            fingerprint: fingerprint.into(),
            at,
        };
        assert_eq!(fingerprint(&[]), None);
        let whole = part(0, 1, "old", 1);
        assert_eq!(fingerprint(&[part(0, 1, "old", 1)]).as_deref(), Some("old"));
        // Half of a new partitioning is not complete: the whole one still answers.
        let half = [part(0, 1, "old", 1), part(0, 2, "new", 5)];
        assert_eq!(fingerprint(&half).as_deref(), Some("old"));
        let both = [whole, part(0, 2, "new", 5), part(1, 2, "new", 6)];
        assert_eq!(fingerprint(&both).as_deref(), Some("new"));
        let mixed = [part(0, 2, "new", 5), part(1, 2, "old", 6)];
        assert_eq!(fingerprint(&mixed), None);
    }

    #[test]
    fn the_pending_floor_is_a_watermark_every_ticket_is_past() {
        let part = |index, count, watermark| Derived {
            index,
            count,
            watermark,
            fingerprint: String::new(),
            at: 0,
        };
        assert_eq!(pending_floor(&[]), 0);
        // Half a partitioning covers only half the tickets.
        assert_eq!(pending_floor(&[part(0, 2, 50)]), 0);
        assert_eq!(pending_floor(&[part(0, 2, 50), part(1, 2, 30)]), 30);
        // A whole derivation since, past both halves.
        let later = [part(0, 2, 50), part(1, 2, 30), part(0, 1, 70)];
        assert_eq!(pending_floor(&later), 70);
        let earlier = [part(0, 2, 50), part(1, 2, 30), part(0, 1, 10)];
        assert_eq!(pending_floor(&earlier), 30);
    }

    #[test]
    fn numbers_read_nan_and_null_as_none() {
        assert_eq!(number(Some("1.5")), Some(1.5));
        assert_eq!(number(Some("nan")), None);
        assert_eq!(number(None), None);
        assert_eq!(number(Some("inf")), Some(f64::INFINITY));
    }

    #[test]
    fn an_unreachable_server_is_the_users_to_fix() {
        let error = ClickHouseReader::open(Client::new("http://127.0.0.1:1", "vitals", None))
            .err()
            .unwrap();
        assert!(error.is_user_error(), "{error}");
    }
}
