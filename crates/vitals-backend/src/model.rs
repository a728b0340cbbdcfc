//! The values the seams carry: a batch to commit and what committing it did, what a merge and
//! a derivation did, what a derivation is done under, and a survey link as stored.

use serde::Serialize;
use vitals_core::catalogue::{Catalogue, StoredFact, Target};
use vitals_core::config::{Config, ConfigError, DerivationRules};
use vitals_core::records::{Entity, Record};

/// What a merge did with the staged records of one entity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeCounts {
    /// Records whose key was new.
    pub inserted: u64,
    /// Records that replaced a different stored version.
    pub updated: u64,
    /// Records identical to the stored version (nothing written).
    pub unchanged: u64,
    /// Records superseded by a later record with the same key in the same import.
    pub superseded: u64,
}

impl std::ops::AddAssign for MergeCounts {
    fn add_assign(&mut self, other: MergeCounts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.superseded += other.superseded;
    }
}

/// What a derivation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Derivation {
    /// Tickets folded.
    pub tickets: u64,
    /// True when the calendars changed since the last derivation, so every ticket was re-derived.
    pub calendars_changed: bool,
    /// Stored facts rebuilt from scratch (new, or their configuration or definition changed).
    pub stored_facts_rebuilt: u64,
}

/// What a derivation is done under: the rules of the ticket fold (calendars, teams, SLA
/// policies) and the catalogue's stored facts under the same configuration.
#[derive(Debug, Clone)]
pub struct DerivationInputs {
    /// Calendars, teams and SLA policies.
    pub rules: DerivationRules,
    /// The catalogue's stored facts (`Catalogue::stored_facts`), in the catalogue's spelling.
    pub stored_facts: Vec<StoredFact>,
    /// The same stored facts in every engine's spelling (their statements are the
    /// fingerprints each backend keeps): see [`DerivationInputs::stored_facts_for`].
    pub stored_facts_by_target: Vec<(Target, Vec<StoredFact>)>,
}

impl DerivationInputs {
    /// The derivation `config` asks for, with `catalogue`'s stored facts.
    pub fn new(config: &Config, catalogue: &Catalogue) -> Result<Self, ConfigError> {
        Ok(DerivationInputs {
            rules: config.derivation_rules()?,
            stored_facts: catalogue.stored_facts(config),
            stored_facts_by_target: Target::ALL
                .iter()
                .filter_map(|t| Some((*t, catalogue.for_target(*t).ok()?.stored_facts(config))))
                .collect(),
        })
    }

    /// The stored facts with their statements in `target`'s spelling (the catalogue's own
    /// when it cannot be rendered there, which a checked catalogue always can).
    pub fn stored_facts_for(&self, target: Target) -> &[StoredFact] {
        self.stored_facts_by_target
            .iter()
            .find(|(t, _)| *t == target)
            .map_or(&self.stored_facts, |(_, f)| f)
    }
}

/// One entity's validated records in a batch to commit.
#[derive(Debug, Clone)]
pub struct EntityRecords<'r> {
    /// Their entity.
    pub entity: &'static Entity,
    /// The records, in arrival order (later records win).
    pub records: Vec<&'r Record>,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitOutcome {
    /// Records handed to the commit.
    pub records: u64,
    /// What the merges did with them.
    pub merged: MergeCounts,
    /// What the derivation after the merges did.
    pub derivation: Derivation,
}

/// A survey link as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyLink {
    /// The link's id (also the id of the survey send and of the response it receives).
    pub link_id: String,
    /// Survey name (`csat`, `nps`, `ces` or a configured one).
    pub survey: String,
    /// The ticket asked about.
    pub ticket_id: Option<String>,
    /// The customer asked.
    pub customer_id: Option<String>,
    /// The rated agent, when known.
    pub agent_id: Option<String>,
    /// When it stops being accepted (UTC µs).
    pub expires_us: i64,
    /// When it was answered (UTC µs), if it was.
    pub used_us: Option<i64>,
}

/// The last period a digest sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRun {
    /// The digest's name.
    pub name: String,
    /// The period sent (`YYYY-MM`).
    pub period: String,
    /// When, RFC 3339 in UTC.
    pub sent_at: String,
    /// The message's `Message-ID`.
    pub message_id: String,
}

/// One of `count` disjoint parts of the tickets (`vitals derive --partition index/count`): the
/// tickets whose id hashes to `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This part, `0..count`.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl Partition {
    /// Every ticket.
    pub const WHOLE: Partition = Partition { index: 0, count: 1 };

    /// `I/N` with `I < N`.
    pub fn parse(text: &str) -> Result<Partition, String> {
        let bad = || format!("`{text}` is not a partition I/N with 0 <= I < N (e.g. 0/2)");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
