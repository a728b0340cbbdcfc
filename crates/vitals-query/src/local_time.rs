//! The local clock hour of an instant, by arithmetic: a zone's UTC offset is constant between
//! its transitions, so over a query's span it is a handful of runs (a year in Helsinki: three),
//! and an instant's local weekday and hour follow from `instant + offset`. Weekday × hour
//! dimensions use this instead of joining a table of every local hour of the span (8 760 rows
//! for a year, spelled out in each statement).
//!
//! The label is the local clock reading at the instant: an hour a DST change repeats counts
//! both times under its label, an hour it skips has no events, and a half-hour change (Lord
//! Howe) moves the clock by thirty minutes, not a whole hour.

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;

use crate::buckets::WEEKDAYS;
use crate::dialect::Dialect;

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const WEEK: i64 = 7 * 24 * HOUR;
/// Keeps the shifted instant positive for any date after 1779, so that integer division
/// floors (Unix time 0 was a Thursday 00:00).
const SHIFT: i64 = 10_000 * WEEK;
/// Hours from Monday 00:00 to Thursday 00:00, the weekday of Unix time 0.
const THURSDAY: i64 = 72;

/// A run of one UTC offset: from `start_us` (UTC µs) on, local = UTC + `offset_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetRun {
    /// The first instant of the run.
    pub start_us: i64,
    /// The zone's offset from UTC during the run.
    pub offset_us: i64,
}

fn offset_at(zone: Tz, us: i64) -> i64 {
    let secs = us.div_euclid(1_000_000);
    let utc = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    i64::from(
        zone.offset_from_utc_datetime(&utc.naive_utc())
            .fix()
            .local_minus_utc(),
    ) * 1_000_000
}

/// The runs of `zone`'s UTC offset over `[start_us, end_us)`, the first starting at
/// `start_us`. Transitions are found to the second (zones change on whole seconds), looking
/// every 15 minutes: two changes within 15 minutes of each other (no zone has them) would be
/// seen as one.
pub fn offset_runs(zone: Tz, start_us: i64, end_us: i64) -> Vec<OffsetRun> {
    const STEP: i64 = 15 * MINUTE;
    let mut runs = vec![OffsetRun {
        start_us,
        offset_us: offset_at(zone, start_us),
    }];
    let mut at = start_us;
    while at < end_us {
        let next = (at + STEP).min(end_us);
        let current = runs.last().map_or(0, |r| r.offset_us);
        let after = offset_at(zone, next);
        if after != current {
            // The change lies in (at, next]: the first second with the new offset.
            let (mut lo, mut hi) = (at.div_euclid(1_000_000), next.div_euclid(1_000_000));
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(zone, mid * 1_000_000) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            if hi * 1_000_000 < end_us {
                runs.push(OffsetRun {
                    start_us: hi * 1_000_000,
                    offset_us: offset_at(zone, hi * 1_000_000),
                });
            }
        }
        at = next;
    }
    runs
}

/// The local hour of the week (0 = Monday 00:00–01:00 … 167 = Sunday 23:00) of the instant
/// `us`, under `runs`: what [`hour_of_week_sql`] computes, checked against chrono in tests.
#[cfg(test)]
fn hour_of_week(us: i64, runs: &[OffsetRun]) -> i64 {
    let offset = runs
        .iter()
        .rev()
        .find(|r| r.start_us <= us)
        .or(runs.first())
        .map_or(0, |r| r.offset_us);
    ((us + offset + SHIFT) / HOUR + THURSDAY) % 168
}

/// SQL of [`hour_of_week`] for the `TIMESTAMP` (UTC) `column`.
pub fn hour_of_week_sql(dialect: &dyn Dialect, column: &str, runs: &[OffsetRun]) -> String {
    let epoch_us = dialect.epoch_us(column);
    let offset = match runs {
        [] => "0".to_string(),
        [only] => only.offset_us.to_string(),
        [first, rest @ ..] => {
            let mut case = String::from("CASE");
            let mut previous = first.offset_us;
            for run in rest {
                case.push_str(&format!(
                    " WHEN {epoch_us} < {} THEN {previous}",
                    run.start_us
                ));
                previous = run.offset_us;
            }
            case.push_str(&format!(" ELSE {previous} END"));
            case
        }
    };
    let hours = dialect.int_div(
        &format!("({epoch_us} + {offset} + {SHIFT})"),
        &HOUR.to_string(),
    );
    format!("({hours} + {THURSDAY}) % 168")
}

/// The 168 hours of the week as rows `(weekday, hour, i)` of SQL literals.
pub fn week_hours_rows(dialect: &dyn Dialect) -> Vec<Vec<String>> {
    (0..168)
        .map(|i| {
            vec![
                dialect.string_literal(WEEKDAYS[i / 24]),
                dialect.string_literal(&format!("{:02}", i % 24)),
                i.to_string(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::DuckDb;
    use chrono::{Datelike, NaiveDate, Timelike};

    fn us(zone: Tz, y: i32, m: u32, d: u32) -> i64 {
        crate::buckets::local_midnight_us(zone, NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn a_year_in_helsinki_is_three_runs_and_kathmandu_one() {
        let hel: Tz = "Europe/Helsinki".parse().unwrap();
        let runs = offset_runs(hel, us(hel, 2026, 1, 1), us(hel, 2027, 1, 1));
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[1].offset_us, 3 * HOUR);
        // 29 March 2026, 01:00 UTC (03:00 → 04:00 local).
        assert_eq!(runs[1].start_us, 1_774_746_000_000_000);
        let ktm: Tz = "Asia/Kathmandu".parse().unwrap();
        let runs = offset_runs(ktm, us(ktm, 2026, 1, 1), us(ktm, 2027, 1, 1));
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].offset_us, 5 * HOUR + 45 * MINUTE);
    }

    #[test]
    fn a_change_in_the_last_minutes_of_the_span_is_found() {
        let hel: Tz = "Europe/Helsinki".parse().unwrap();
        let change = 1_774_746_000_000_000; // 29 March 2026, 01:00 UTC
        let runs = offset_runs(hel, change - 10 * MINUTE, change + 5 * MINUTE);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].start_us, change);
        assert_eq!(offset_runs(hel, change - 10 * MINUTE, change).len(), 1);
    }

    /// Every 5 minutes of a year, the arithmetic hour of the week equals chrono's local clock.
    #[test]
    fn hour_of_week_is_the_local_clock_in_every_kind_of_zone() {
        for name in [
            "Europe/Helsinki",
            "Australia/Lord_Howe",
            "America/Santiago",
            "Asia/Kathmandu",
            "America/St_Johns",
            "Pacific/Apia",
            "UTC",
        ] {
            let zone: Tz = name.parse().unwrap();
            let (start, end) = (us(zone, 2011, 6, 1), us(zone, 2012, 6, 1));
            let runs = offset_runs(zone, start, end);
            let mut at = start;
            while at < end {
                let local = chrono::DateTime::from_timestamp_micros(at)
                    .unwrap()
                    .with_timezone(&zone);
                let expected = i64::from(local.weekday().num_days_from_monday()) * 24
                    + i64::from(local.hour());
                assert_eq!(hour_of_week(at, &runs), expected, "{name} at {local}");
                at += 5 * MINUTE;
            }
        }
    }

    #[test]
    fn sql_names_every_transition() {
        let runs = [
            OffsetRun {
                start_us: 0,
                offset_us: 2 * HOUR,
            },
            OffsetRun {
                start_us: 100,
                offset_us: 3 * HOUR,
            },
        ];
        assert_eq!(
            hour_of_week_sql(&DuckDb, "t", &runs),
            format!(
                "((epoch_us(t) + CASE WHEN epoch_us(t) < 100 THEN {} ELSE {} END + {SHIFT}) // {HOUR} + 72) % 168",
                2 * HOUR,
                3 * HOUR
            )
        );
        let hours = DuckDb.values_table(
            "hours",
            &["weekday", "hour", "i"],
            &week_hours_rows(&DuckDb),
        );
        assert!(hours
            .starts_with("hours(weekday, hour, i) AS (VALUES ('Mon', '00', 0), ('Mon', '01', 1)"));
        assert!(hours.ends_with("('Sun', '23', 167))"));
    }
}
