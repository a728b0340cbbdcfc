//! Time buckets in an IANA zone: day, ISO week, month, quarter and year boundaries are local
//! midnights converted to UTC instants with `chrono-tz`, so buckets are DST-correct (a
//! Helsinki day in March can be 23 hours long).

use chrono::{Datelike, Duration, LocalResult, Months, NaiveDate, TimeZone};
use chrono_tz::Tz;

/// A time grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    /// Calendar day.
    Day,
    /// ISO week (Monday first).
    Week,
    /// Calendar month.
    Month,
    /// Calendar quarter.
    Quarter,
    /// Calendar year.
    Year,
}

impl Grain {
    /// Every grain with its dimension name.
    pub const ALL: [(Grain, &'static str); 5] = [
        (Grain::Day, "time:day"),
        (Grain::Week, "time:week"),
        (Grain::Month, "time:month"),
        (Grain::Quarter, "time:quarter"),
        (Grain::Year, "time:year"),
    ];

    /// The grain of a `time:…` dimension name.
    pub fn from_dimension(name: &str) -> Option<Grain> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(g, _)| *g)
    }

    /// The dimension name.
    pub fn dimension(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(g, _)| *g == self)
            .map(|(_, n)| *n)
            .unwrap_or("time:day")
    }

    /// First local date of the bucket holding `d`.
    fn start_of(self, d: NaiveDate) -> NaiveDate {
        let first_of_month =
            |d: NaiveDate, m: u32| NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d);
        match self {
            Grain::Day => d,
            Grain::Week => d - Duration::days(d.weekday().num_days_from_monday() as i64),
            Grain::Month => first_of_month(d, d.month()),
            Grain::Quarter => first_of_month(d, (d.month0() / 3) * 3 + 1),
            Grain::Year => first_of_month(d, 1),
        }
    }

    fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => start + Duration::days(1),
            Grain::Week => start + Duration::days(7),
            Grain::Month => start + Months::new(1),
            Grain::Quarter => start + Months::new(3),
            Grain::Year => start + Months::new(12),
        }
    }

    /// The label of the bucket starting at `start` (days `2026-03-02`, ISO weeks `2026-W10`, months `2026-03`, quarters `2026-Q1`, years `2026`; README.md, "Query").
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Grain::Day => start.format("%Y-%m-%d").to_string(),
            Grain::Week => {
                let w = start.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Grain::Month => start.format("%Y-%m").to_string(),
            Grain::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
            Grain::Year => start.format("%Y").to_string(),
        }
    }
}

/// One bucket: local dates `[start_date, end_date)` and the UTC instants of their midnights.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Label, e.g. `2026-03`; empty for the single bucket of a query without a time dimension.
    pub label: String,
    /// First local date.
    pub start_date: NaiveDate,
    /// Local date after the last.
    pub end_date: NaiveDate,
    /// UTC µs of the local start.
    pub start_us: i64,
    /// UTC µs of the local end.
    pub end_us: i64,
}

/// The UTC instant of a local midnight; where midnight falls in a DST gap, the first local
/// time that exists after it (for a day the zone skipped, the next day's midnight).
pub fn local_midnight_us(zone: Tz, date: NaiveDate) -> i64 {
    let mut local = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..=96 {
        match zone.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.timestamp_micros(),
            LocalResult::Ambiguous(early, _) => return early.timestamp_micros(),
            LocalResult::None => local += Duration::minutes(30),
        }
    }
    zone.from_utc_datetime(&local).timestamp_micros()
}

/// The buckets covering local dates `[from, to)`, clipped to it. Without a grain, one bucket.
pub fn buckets(zone: Tz, grain: Option<Grain>, from: NaiveDate, to: NaiveDate) -> Vec<Bucket> {
    let make = |label: String, s: NaiveDate, e: NaiveDate| Bucket {
        label,
        start_date: s,
        end_date: e,
        start_us: local_midnight_us(zone, s),
        end_us: local_midnight_us(zone, e),
    };
    let Some(grain) = grain else {
        return if from < to {
            vec![make(String::new(), from, to)]
        } else {
            Vec::new()
        };
    };
    let mut out = Vec::new();
    let mut start = grain.start_of(from);
    while start < to {
        let next = grain.next(start);
        out.push(make(grain.label(start), start.max(from), next.min(to)));
        start = next;
    }
    out
}

pub use vitals_core::catalogue::TIME_OF_DAY;

/// Weekday labels, Monday first (ISO).
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    const HOUR: i64 = 3_600_000_000;

    #[test]
    fn helsinki_days_across_dst_changes() {
        let hel: Tz = "Europe/Helsinki".parse().unwrap();
        let b = buckets(hel, Some(Grain::Day), d("2026-03-28"), d("2026-03-31"));
        let lengths: Vec<i64> = b.iter().map(|b| (b.end_us - b.start_us) / HOUR).collect();
        assert_eq!(lengths, vec![24, 23, 24]);
        let b = buckets(hel, Some(Grain::Day), d("2026-10-25"), d("2026-10-26"));
        assert_eq!((b[0].end_us - b[0].start_us) / HOUR, 25);
        // Helsinki midnight on 1 Jan is 22:00 UTC the day before; on 1 May 21:00 UTC.
        let jan = local_midnight_us(hel, d("2026-01-01"));
        assert_eq!(
            jan,
            chrono::DateTime::parse_from_rfc3339("2025-12-31T22:00:00Z")
                .unwrap()
                .timestamp_micros()
        );
        let may = local_midnight_us(hel, d("2026-05-01"));
        assert_eq!(
            may,
            chrono::DateTime::parse_from_rfc3339("2026-04-30T21:00:00Z")
                .unwrap()
                .timestamp_micros()
        );
    }

    #[test]
    fn a_skipped_day_is_an_empty_bucket() {
        // Samoa went from 29 to 31 December 2011 (UTC−10 to UTC+14).
        let apia: Tz = "Pacific/Apia".parse().unwrap();
        let b = buckets(apia, Some(Grain::Day), d("2011-12-29"), d("2012-01-01"));
        let lengths: Vec<i64> = b.iter().map(|b| (b.end_us - b.start_us) / HOUR).collect();
        assert_eq!(lengths, vec![24, 0, 24]);
        assert!(b.windows(2).all(|w| w[0].end_us == w[1].start_us));
    }

    #[test]
    fn labels_and_clipping() {
        let utc = Tz::UTC;
        let months = buckets(utc, Some(Grain::Month), d("2026-01-15"), d("2026-03-01"));
        assert_eq!(
            months.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(),
            ["2026-01", "2026-02"]
        );
        assert_eq!(months[0].start_date, d("2026-01-15"));
        let weeks = buckets(utc, Some(Grain::Week), d("2026-01-01"), d("2026-01-13"));
        assert_eq!(
            weeks.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(),
            ["2026-W01", "2026-W02", "2026-W03"]
        );
        let q = buckets(utc, Some(Grain::Quarter), d("2026-01-01"), d("2026-05-01"));
        assert_eq!(
            q.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(),
            ["2026-Q1", "2026-Q2"]
        );
        assert_eq!(
            buckets(utc, Some(Grain::Year), d("2025-12-01"), d("2026-02-01")).len(),
            2
        );
        assert_eq!(
            buckets(utc, None, d("2026-01-01"), d("2026-02-01")).len(),
            1
        );
        // ISO week 1 of 2027 starts on Monday 2027-01-04; 2027-01-01 belongs to 2026-W53.
        assert_eq!(
            Grain::Week.label(Grain::Week.start_of(d("2027-01-01"))),
            "2026-W53"
        );
    }
}
