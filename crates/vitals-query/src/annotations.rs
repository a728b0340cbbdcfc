//! Annotations: dated notes a team keeps beside its numbers ("Product launch", "Outage"),
//! stored by the engine (`vitals annotate`, the API) and shown beside spikes in `vitals
//! spikes`, the report and the dashboard. Only the types live here; the store writes and reads
//! them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One stored annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// Stable id (assigned by the store).
    pub id: i64,
    /// The local date it concerns.
    pub date: NaiveDate,
    /// What happened.
    pub text: String,
    /// An optional category (e.g. `launch`, `outage`, or a ticket category it concerns).
    #[serde(default)]
    pub category: Option<String>,
}

/// A new annotation before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAnnotation {
    /// The local date it concerns.
    pub date: NaiveDate,
    /// What happened (not empty).
    pub text: String,
    /// An optional category.
    #[serde(default)]
    pub category: Option<String>,
}

impl NewAnnotation {
    /// Checks the annotation before it is stored: a text, a date in the years vitals answers
    /// for, and no value longer than `max_chars` (`[import] max_field_chars`).
    pub fn check(&self, max_chars: u64) -> Result<(), String> {
        if self.text.trim().is_empty() {
            return Err("an annotation needs a text".into());
        }
        crate::limits::check_date("date", self.date).map_err(|e| e.to_string())?;
        for (what, value) in [
            ("text", Some(&self.text)),
            ("category", self.category.as_ref()),
        ] {
            let chars = value.map_or(0, |v| v.chars().count()) as u64;
            if chars > max_chars {
                return Err(format!(
                    "the annotation's {what} is {chars} characters long, more than the limit of {max_chars} ([import] max_field_chars)"
                ));
            }
        }
        Ok(())
    }
}

/// The annotations on `date`.
pub fn on_date(all: &[Annotation], date: NaiveDate) -> Vec<Annotation> {
    all.iter().filter(|a| a.date == date).cloned().collect()
}
