//! vitals-synth: generates a realistic support organisation in the canonical format
//! (the canonical format of README.md, "Import"; `vitals-core`'s `records/schema.rs`) — every entity: tickets and their timelines (channels, teams with their
//! own hours, bots, escalations, transfers, waits on hold, reopens, unanswered tickets),
//! calls, CSAT / CES / NPS / ESAT surveys, customers, orders, costs, quality reviews,
//! feedback, social mentions, referrals, programme engagement, self-service sessions and
//! agents — deterministically for a seed, together with the configuration that fits it
//! (`configuration`: calendars with holidays, SLA policies, targets, rubrics, engagement
//! weights). Used by `vitals demo` and by the benchmarks (`vitals generate`).
#![deny(missing_docs)]

mod config;
mod customers;
mod hours;
mod org;
mod social;
mod timeline;
mod writer;

use std::path::Path;

use chrono::NaiveDate;
use chrono_tz::Tz;

pub use config::configuration;
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
    gen.write_voice_of_customer(&mut out)?;
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
            "quality_reviews",
            "feedback",
            "social_mentions",
            "referrals",
            "engagement",
            "self_service",
            "agents",
        ] {
            assert_eq!(read(a.path(), name), read(b.path(), name), "{name}");
        }
        assert_eq!(configuration(&opts), configuration(&opts));
        assert_ne!(
            read(a.path(), "ticket_events"),
            read(c.path(), "ticket_events")
        );
        assert_eq!(counts.tickets, 300);
        assert!(counts.ticket_events > 300 * 4, "{counts:?}");
        assert!(counts.calls > 0 && counts.survey_responses > 0 && counts.customers > 0);
    }

    #[test]
    fn every_entity_and_survey_has_rows() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SynthOptions {
            tickets: 600,
            months: 3,
            ..Default::default()
        };
        let counts = generate(&opts, dir.path()).unwrap();
        let c = &counts;
        for (name, n) in [
            ("tickets", c.tickets),
            ("ticket_events", c.ticket_events),
            ("calls", c.calls),
            ("survey_responses", c.survey_responses),
            ("surveys_sent", c.surveys_sent),
            ("customers", c.customers),
            ("orders", c.orders),
            ("costs", c.costs),
            ("agents", c.agents),
            ("quality_reviews", c.quality_reviews),
            ("self_service", c.self_service),
            ("feedback", c.feedback),
            ("social_mentions", c.social_mentions),
            ("referrals", c.referrals),
            ("engagement", c.engagement),
        ] {
            assert!(n > 0, "{name}: no rows");
            let lines = read(dir.path(), name).lines().count() as u64;
            assert_eq!(lines, n + 1, "{name}: rows written vs counted");
        }
        let responses = read(dir.path(), "survey_responses");
        for survey in ["csat", "ces", "nps", "esat"] {
            assert!(
                responses.contains(&format!(",{survey},")),
                "no {survey} responses"
            );
        }
        let events = read(dir.path(), "ticket_events");
        for kind in [",escalate,", ",on_hold", ",note,", ",bot,"] {
            assert!(events.contains(kind), "no {kind} events");
        }
        let sessions = read(dir.path(), "self_service");
        for kind in ["help_center", "bot", "ivr"] {
            assert!(sessions.contains(kind), "no {kind} sessions");
        }
        let reviews = read(dir.path(), "quality_reviews");
        assert!(reviews.contains(",v1,") && reviews.contains(",v2,"));
        let config = configuration(&opts);
        for section in [
            "[calendars.default]",
            "[calendars.extended]",
            "holidays = [\"2025-01-01\"",
            "[teams.tier2]",
            "[[sla]]",
            "[targets]",
            "[quality.rubrics.v1]",
            "[quality.rubrics.v2]",
            "[engagement.weights]",
        ] {
            assert!(config.contains(section), "{section} missing:\n{config}");
        }
    }
}
