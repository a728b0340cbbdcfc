//! Stored facts: tables the writer keeps from the catalogue's SQL (survey responses with their
//! top box, quality reviews with their scores, mentions with their sentiment, calls with their
//! waits), so queries read them instead of recomputing them.
//!
//! Each table is rebuilt when the statement that defines it under the configuration (its
//! fingerprint, kept in `vitals_meta`) differs from the one it was built by — survey rules or
//! rubric weights changed, or a new version changed the definition — or when a bulk import
//! wrote its records wholesale. Otherwise only the rows of the records each merge noted in
//! `vitals_touched_records` are deleted by key and recomputed, which costs the batch.

use std::collections::BTreeMap;

use vitals_core::catalogue::StoredFact;

use crate::error::{Context, StoreError};
use crate::Store;

/// The `vitals_meta` key prefix under which each stored fact's fingerprint is kept.
pub(crate) const META_PREFIX: &str = "stored_fact:";

/// Changed records noted by one merge beyond which its entity counts as written wholesale (a
/// rebuild of the facts that follow it is then cheaper than recomputing by key).
pub(crate) const WHOLESALE: u64 = 100_000;

/// What to do with one stored fact.
enum Work<'f> {
    Rebuild(&'f StoredFact),
    Update(&'f StoredFact),
}

impl Store {
    /// Brings every stored fact up to date with the records and with its statement under the
    /// configuration; returns how many were rebuilt from scratch.
    pub(crate) fn derive_stored_facts(&self, facts: &[StoredFact]) -> Result<u64, StoreError> {
        // Per entity: whether any record id was noted, and whether it was written wholesale.
        let touched: BTreeMap<String, (bool, bool)> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT entity, count(record_id) > 0, bool_or(record_id IS NULL)
                     FROM vitals_touched_records GROUP BY entity",
                )
                .context(|| "reading the touched records".into())?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
                .context(|| "reading the touched records".into())?;
            rows.collect::<Result<_, _>>()
                .context(|| "reading the touched records".into())?
        };
        let mut work = Vec::new();
        for fact in facts {
            let built = self.meta(&format!("{META_PREFIX}{}", fact.name))?;
            match (
                built.as_deref() == Some(fact.sql.as_str()),
                touched.get(&fact.from),
            ) {
                (false, _) | (true, Some((_, true))) => work.push(Work::Rebuild(fact)),
                (true, Some((true, false))) => work.push(Work::Update(fact)),
                _ => {}
            }
        }
        if work.is_empty() && touched.is_empty() {
            return Ok(0);
        }
        let exec =
            |sql: &str, what: &str| self.conn.execute_batch(sql).context(|| what.to_string());
        exec("BEGIN TRANSACTION", "starting the stored facts")?;
        let result = (|| {
            let mut rebuilt = 0;
            for w in &work {
                match w {
                    Work::Rebuild(f) => {
                        exec(
                            &format!("CREATE OR REPLACE TABLE {} AS {}", f.name, f.sql),
                            &format!("building {}", f.name),
                        )?;
                        self.set_meta(&format!("{META_PREFIX}{}", f.name), &f.sql)?;
                        rebuilt += 1;
                    }
                    Work::Update(f) => {
                        let ids = format!(
                            "SELECT record_id FROM vitals_touched_records WHERE entity = '{}'",
                            f.from
                        );
                        exec(
                            &format!(
                                "DELETE FROM {name} WHERE \"{key}\" IN ({ids});
                                 INSERT INTO {name} SELECT * FROM ({sql}) WHERE \"{key}\" IN ({ids})",
                                name = f.name,
                                key = f.key,
                                sql = f.sql
                            ),
                            &format!("updating {}", f.name),
                        )?;
                    }
                }
            }
            exec(
                "DELETE FROM vitals_touched_records",
                "clearing the touched records",
            )?;
            Ok(rebuilt)
        })();
        match result {
            Ok(rebuilt) => {
                exec("COMMIT", "committing the stored facts")?;
                Ok(rebuilt)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}
