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

/// The annotations on `date`.
pub fn on_date(all: &[Annotation], date: NaiveDate) -> Vec<Annotation> {
    all.iter().filter(|a| a.date == date).cloned().collect()
}
