//! Annotations in the store: the one writer adds and deletes them, readers list them. The
//! table (`vitals_annotations`) is bookkeeping created with the store's other meta tables; a
//! store written before it existed reads as having none.

use chrono::NaiveDate;
use duckdb::Connection;
use vitals_query::{Annotation, NewAnnotation};

use crate::error::{Context, StoreError};
use crate::{Reader, Store};

/// Every annotation, by date then id; none when the table does not exist yet.
fn list(conn: &Connection) -> Result<Vec<Annotation>, StoreError> {
    let exists = crate::table_exists(conn, "vitals_annotations")?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare(
            "SELECT id, strftime(date, '%Y-%m-%d'), text, category FROM vitals_annotations ORDER BY date, id",
        )
        .context(|| "reading annotations".into())?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .context(|| "reading annotations".into())?;
    let mut out = Vec::new();
    for row in rows {
        let (id, date, text, category) = row.context(|| "reading an annotation".into())?;
        if let Ok(date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
            out.push(Annotation {
                id,
                date,
                text,
                category,
            });
        }
    }
    Ok(out)
}

impl Store {
    /// Stores an annotation and returns it with its id.
    pub fn add_annotation(&self, new: &NewAnnotation) -> Result<Annotation, StoreError> {
        let id: i64 = self
            .conn
            .query_row(
                "SELECT coalesce(max(id), 0) + 1 FROM vitals_annotations",
                [],
                |r| r.get(0),
            )
            .context(|| "numbering the annotation".into())?;
        self.conn
            .execute(
                "INSERT INTO vitals_annotations VALUES (?, CAST(? AS DATE), ?, ?, current_timestamp)",
                duckdb::params![id, new.date.to_string(), new.text, new.category],
            )
            .context(|| "storing the annotation".into())?;
        Ok(Annotation {
            id,
            date: new.date,
            text: new.text.clone(),
            category: new.category.clone(),
        })
    }

    /// Deletes an annotation; whether it existed.
    pub fn delete_annotation(&self, id: i64) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM vitals_annotations WHERE id = ?", [id])
            .context(|| "deleting the annotation".into())?;
        Ok(n > 0)
    }

    /// Every annotation, by date then id.
    pub fn annotations(&self) -> Result<Vec<Annotation>, StoreError> {
        list(&self.conn)
    }
}

impl Reader {
    /// Every annotation, by date then id (none in a store written before annotations).
    pub fn annotations(&self) -> Result<Vec<Annotation>, StoreError> {
        list(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_added_listed_and_deleted() {
        let store = Store::open_in_memory().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 3, 14).unwrap();
        let a = store
            .add_annotation(&NewAnnotation {
                date,
                text: "Product launch".into(),
                category: Some("launch".into()),
            })
            .unwrap();
        let b = store
            .add_annotation(&NewAnnotation {
                date: date - chrono::Duration::days(1),
                text: "Outage".into(),
                category: None,
            })
            .unwrap();
        assert_eq!((a.id, b.id), (1, 2));
        let listed = store.reader().unwrap().annotations().unwrap();
        assert_eq!(listed, vec![b.clone(), a.clone()]);
        assert!(store.delete_annotation(2).unwrap());
        assert!(!store.delete_annotation(2).unwrap());
        assert_eq!(store.annotations().unwrap(), vec![a]);
    }

    #[test]
    fn a_store_without_the_table_has_none() {
        let store = Store::open_in_memory().unwrap();
        store
            .conn
            .execute_batch("DROP TABLE vitals_annotations")
            .unwrap();
        assert!(store.reader().unwrap().annotations().unwrap().is_empty());
    }
}
