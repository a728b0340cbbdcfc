//! vitals-synth: generates a realistic support organisation in the canonical format
//! (data-format.md) — channels, teams, agents, bots, transfers, reopens, unanswered tickets,
//! surveys, calls, customers, orders and costs — deterministically for a seed. Used by
//! `vitals demo` and by the benchmarks (`vitals generate`).
#![deny(missing_docs)]

mod org;
mod timeline;
mod writer;

use std::path::Path;

use chrono::NaiveDate;
use chrono_tz::Tz;

pub use writer::Counts;

/// A generation failure (only I/O can fail).
#[derive(Debug, thiserror::Error)]
#[error("writing {path}: {source}")]
pub struct SynthError {
    /// The file.
    pub path: String,
    /// Why.
    pub source: std::io::Error,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Random seed: the same seed gives the same files.
    pub seed: u64,
    /// First day (local).
    pub start: NaiveDate,
    /// Number of months.
    pub months: u32,
    /// Number of tickets.
    pub tickets: u64,
    /// The organisation's zone (business hours, timestamps' offsets).
    pub zone: Tz,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 42,
            start: NaiveDate::from_ymd_opt(2025, 12, 1).expect("valid date"),
            months: 7,
            tickets: 12_000,
            zone: chrono_tz::Europe::Helsinki,
        }
    }
}

/// Generates the data set into `dir` (one CSV per entity) and returns the row counts.
pub fn generate(options: &SynthOptions, dir: &Path) -> Result<Counts, SynthError> {
    std::fs::create_dir_all(dir).map_err(|source| SynthError {
        path: dir.display().to_string(),
        source,
    })?;
    let mut out = writer::Writers::create(dir)?;
    let mut gen = org::Organisation::new(options);
    gen.write_static(&mut out)?;
    for i in 0..options.tickets {
        timeline::ticket(&mut gen, &mut out, i)?;
    }
    gen.write_calls_without_tickets(&mut out)?;
    gen.write_customer_activity(&mut out)?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(format!("{name}.csv"))).unwrap()
    }

    #[test]
    fn same_seed_same_files_other_seed_other_files() {
        let opts = SynthOptions {
            tickets: 300,
            months: 2,
            ..Default::default()
        };
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let counts = generate(&opts, a.path()).unwrap();
        generate(&opts, b.path()).unwrap();
        generate(
            &SynthOptions {
                seed: 7,
                ..opts.clone()
            },
            c.path(),
        )
        .unwrap();
        for name in [
            "tickets",
            "ticket_events",
            "calls",
            "survey_responses",
            "customers",
            "orders",
            "costs",
        ] {
            assert_eq!(read(a.path(), name), read(b.path(), name), "{name}");
        }
        assert_ne!(
            read(a.path(), "ticket_events"),
            read(c.path(), "ticket_events")
        );
        assert_eq!(counts.tickets, 300);
        assert!(counts.ticket_events > 300 * 4, "{counts:?}");
        assert!(counts.calls > 0 && counts.survey_responses > 0 && counts.customers > 0);
    }
}
