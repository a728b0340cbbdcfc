//! Which period each digest last sent (`vitals_digest_runs`), so the server's scheduler
//! neither skips nor repeats a period across restarts. The table is created the first time a
//! digest is recorded (`CREATE TABLE IF NOT EXISTS`); a store without it has sent nothing.

use duckdb::Connection;
use vitals_backend::DigestRun;

use crate::error::{Context, StoreError};
use crate::{Reader, Store};

const CREATE: &str = "CREATE TABLE IF NOT EXISTS vitals_digest_runs (name VARCHAR PRIMARY KEY, \
     period VARCHAR NOT NULL, sent_at TIMESTAMP NOT NULL, message_id VARCHAR NOT NULL)";

fn runs(conn: &Connection) -> Result<Vec<DigestRun>, StoreError> {
    let exists = crate::table_exists(conn, "vitals_digest_runs")?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare(
            "SELECT name, period, strftime(sent_at, '%Y-%m-%dT%H:%M:%SZ'), message_id \
             FROM vitals_digest_runs ORDER BY name",
        )
        .context(|| "reading digest runs".into())?;
    let rows = stmt
        .query_map([], |r| {
            Ok(DigestRun {
                name: r.get(0)?,
                period: r.get(1)?,
                sent_at: r.get(2)?,
                message_id: r.get(3)?,
            })
        })
        .context(|| "reading digest runs".into())?;
    rows.map(|r| r.context(|| "reading a digest run".into()))
        .collect()
}

impl Store {
    /// Records that `name` sent `period` (replacing its earlier record).
    pub fn record_digest_sent(
        &self,
        name: &str,
        period: &str,
        message_id: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute_batch(CREATE)
            .context(|| "creating the digest runs table".into())?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO vitals_digest_runs VALUES (?, ?, current_timestamp::TIMESTAMP, ?)",
                duckdb::params![name, period, message_id],
            )
            .context(|| format!("recording digest {name}'s {period}"))?;
        Ok(())
    }

    /// Every digest's last sent period, by name.
    pub fn digest_runs(&self) -> Result<Vec<DigestRun>, StoreError> {
        runs(&self.conn)
    }
}

impl Reader {
    /// Every digest's last sent period, by name (none in a store that never sent one).
    pub fn digest_runs(&self) -> Result<Vec<DigestRun>, StoreError> {
        runs(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_sent_period_is_kept_per_digest() {
        let store = Store::open_in_memory().unwrap();
        assert!(store.digest_runs().unwrap().is_empty());
        store
            .record_digest_sent("monthly", "2026-05", "<a@x>")
            .unwrap();
        store
            .record_digest_sent("tier2", "2026-05", "<b@x>")
            .unwrap();
        store
            .record_digest_sent("monthly", "2026-06", "<c@x>")
            .unwrap();
        let runs = store.digest_runs().unwrap();
        let periods: Vec<(&str, &str, &str)> = runs
            .iter()
            .map(|r| (r.name.as_str(), r.period.as_str(), r.message_id.as_str()))
            .collect();
        assert_eq!(
            periods,
            [
                ("monthly", "2026-06", "<c@x>"),
                ("tier2", "2026-05", "<b@x>")
            ]
        );
        assert!(runs[0].sent_at.ends_with('Z'));
        assert_eq!(store.reader().unwrap().digest_runs().unwrap(), runs);
    }
}
