//! Survey links' bookkeeping: each link the server signs is a row (its survey, the ticket or
//! customer it asks about, when it expires, when it was answered), so a link is answered at
//! most once; and the key the links are signed with, kept in the store's metadata.

use vitals_backend::tokens::random_hex;
use vitals_backend::SurveyLink;

use crate::error::{Context, StoreError};
use crate::{Reader, Store};

impl Store {
    /// The key survey links are signed with (created on first use, then kept).
    pub fn survey_link_key(&self) -> Result<String, StoreError> {
        if let Some(key) = self.meta("survey_link_key")? {
            return Ok(key);
        }
        let key = random_hex(32);
        self.set_meta("survey_link_key", &key)?;
        Ok(key)
    }

    /// Records a new link.
    pub fn add_survey_link(&self, link: &SurveyLink) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO vitals_survey_links VALUES (?, ?, ?, ?, ?, make_timestamp(?), NULL)",
                duckdb::params![
                    link.link_id,
                    link.survey,
                    link.ticket_id,
                    link.customer_id,
                    link.agent_id,
                    link.expires_us
                ],
            )
            .context(|| "recording a survey link".into())?;
        Ok(())
    }

    /// The link with this id, if any.
    pub fn survey_link(&self, link_id: &str) -> Result<Option<SurveyLink>, StoreError> {
        find(&self.conn, link_id)
    }

    /// Marks the link answered; false when it was already (a second answer stores nothing).
    pub fn use_survey_link(&self, link_id: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE vitals_survey_links SET used_at = current_timestamp WHERE link_id = ? AND used_at IS NULL",
                [link_id],
            )
            .context(|| "marking a survey link answered".into())?;
        Ok(n > 0)
    }
}

impl Reader {
    /// The link with this id, if any: showing a survey page reads, only its answer writes.
    pub fn survey_link(&self, link_id: &str) -> Result<Option<SurveyLink>, StoreError> {
        find(&self.conn, link_id)
    }
}

fn find(conn: &duckdb::Connection, link_id: &str) -> Result<Option<SurveyLink>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT link_id, survey, ticket_id, customer_id, agent_id, epoch_us(expires_at), epoch_us(used_at) \
             FROM vitals_survey_links WHERE link_id = ?",
        )
        .context(|| "reading a survey link".into())?;
    let mut rows = stmt
        .query_map([link_id], |r| {
            Ok(SurveyLink {
                link_id: r.get(0)?,
                survey: r.get(1)?,
                ticket_id: r.get(2)?,
                customer_id: r.get(3)?,
                agent_id: r.get(4)?,
                expires_us: r.get(5)?,
                used_us: r.get(6)?,
            })
        })
        .context(|| "reading a survey link".into())?;
    rows.next()
        .transpose()
        .context(|| "reading a survey link".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_answered_once_and_the_key_is_kept() {
        let store = Store::open_in_memory().unwrap();
        let key = store.survey_link_key().unwrap();
        assert_eq!(key.len(), 64);
        assert_eq!(store.survey_link_key().unwrap(), key);
        let link = SurveyLink {
            link_id: "L1".into(),
            survey: "csat".into(),
            ticket_id: Some("T1".into()),
            customer_id: None,
            agent_id: None,
            expires_us: 1_800_000_000_000_000,
            used_us: None,
        };
        store.add_survey_link(&link).unwrap();
        assert_eq!(store.survey_link("L1").unwrap(), Some(link));
        assert!(store.use_survey_link("L1").unwrap());
        assert!(!store.use_survey_link("L1").unwrap());
        assert!(store.survey_link("L1").unwrap().unwrap().used_us.is_some());
        assert_eq!(store.survey_link("nope").unwrap(), None);
        let reader = store.reader().unwrap();
        assert!(reader.survey_link("L1").unwrap().unwrap().used_us.is_some());
    }
}
