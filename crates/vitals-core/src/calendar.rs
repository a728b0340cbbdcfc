//! Business calendars: an IANA zone, weekly open intervals (several a day), holidays, dated
//! exceptions with other hours, and changes of the weekly hours from a date on (`valid_from`).
//! `business_secs` counts the open time between two instants, using the hours in force on each
//! local day, so a duration that starts outside hours starts counting at the next opening.
//! Whole days in between are read from a cache of cumulative open time per local day, so a
//! ticket open for months costs as little as one open for an hour.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone};
use chrono_tz::Tz;

/// Open intervals of one day, in seconds after local midnight (`24:00` = 86 400).
pub type DayHours = Vec<(u32, u32)>;

/// Monday-first weekly hours.
pub type WeekHours = [DayHours; 7];

/// A business calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// Its name in the configuration.
    pub name: String,
    /// Its zone.
    pub zone: Tz,
    /// Weekly hours in force from each date on (the first from the beginning of time).
    weeks: Vec<(NaiveDate, WeekHours)>,
    holidays: BTreeSet<NaiveDate>,
    exceptions: BTreeMap<NaiveDate, DayHours>,
    open_days: OpenDays,
}

/// Cumulative open µs per local day from `start` (`cum[i]` = open time of the days before
/// `start + i`), grown on demand. A cache: clones start empty and it takes no part in equality.
#[derive(Default)]
struct OpenDays(Mutex<Option<(NaiveDate, Vec<i64>)>>);

impl Clone for OpenDays {
    fn clone(&self) -> Self {
        OpenDays::default()
    }
}

impl PartialEq for OpenDays {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for OpenDays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpenDays")
    }
}

/// Spans of at most this many local days are walked day by day; longer ones use the cache.
const WALK_DAYS: i64 = 4;
/// The cache grows by at least this many days at a time, and never spans more than
/// `MAX_CACHED_DAYS` (beyond, durations are walked).
const GROW_DAYS: i64 = 366;
const MAX_CACHED_DAYS: i64 = 200 * 366;

/// Day names as written in the configuration, Monday first.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Parses `"09:00-17:00"` into seconds after midnight.
pub fn parse_interval(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{text}`: expected HH:MM-HH:MM (e.g. 09:00-17:00)");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let secs = |t: &str| -> Result<u32, String> {
        let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m >= 60 || h > 24 || (h == 24 && m > 0) {
            return Err(bad());
        }
        Ok(h * 3600 + m * 60)
    };
    let (s, e) = (secs(a)?, secs(b)?);
    if s >= e {
        return Err(format!("`{text}`: the interval must end after it starts"));
    }
    Ok((s, e))
}

impl Calendar {
    /// A calendar with weekly hours and no holidays.
    pub fn new(name: &str, zone: Tz, week: WeekHours) -> Calendar {
        Calendar {
            name: name.to_string(),
            zone,
            weeks: vec![(NaiveDate::MIN, normalise_week(week))],
            holidays: BTreeSet::new(),
            exceptions: BTreeMap::new(),
            open_days: OpenDays::default(),
        }
    }

    /// Closes a whole day.
    pub fn add_holiday(&mut self, date: NaiveDate) {
        self.holidays.insert(date);
        self.open_days = OpenDays::default();
    }

    /// Gives a day other hours (an empty list closes it).
    pub fn add_exception(&mut self, date: NaiveDate, hours: DayHours) {
        self.exceptions.insert(date, normalise(hours));
        self.open_days = OpenDays::default();
    }

    /// From `valid_from` on, the named days get new hours; days not named keep theirs.
    pub fn add_change(&mut self, valid_from: NaiveDate, days: &[(usize, DayHours)]) {
        let mut week = self.week_on(valid_from).clone();
        for (day, hours) in days {
            week[*day] = normalise(hours.clone());
        }
        self.weeks.push((valid_from, week));
        self.weeks.sort_by_key(|(d, _)| *d);
        self.open_days = OpenDays::default();
    }

    fn week_on(&self, date: NaiveDate) -> &WeekHours {
        let i = self.weeks.partition_point(|(from, _)| *from <= date);
        &self.weeks[i.saturating_sub(1)].1
    }

    /// The open intervals of a local date.
    pub fn hours_on(&self, date: NaiveDate) -> &[(u32, u32)] {
        if let Some(h) = self.exceptions.get(&date) {
            return h;
        }
        if self.holidays.contains(&date) {
            return &[];
        }
        &self.week_on(date)[date.weekday().num_days_from_monday() as usize]
    }

    /// The UTC µs of a local time (a time in a DST gap moves to the gap's end).
    fn instant(&self, date: NaiveDate, secs: u32) -> i64 {
        let mut local =
            date.and_hms_opt(0, 0, 0).expect("midnight") + Duration::seconds(secs as i64);
        for _ in 0..8 {
            match self.zone.from_local_datetime(&local) {
                LocalResult::Single(t) => return t.timestamp_micros(),
                LocalResult::Ambiguous(t, _) => return t.timestamp_micros(),
                LocalResult::None => local += Duration::minutes(30),
            }
        }
        self.zone.from_utc_datetime(&local).timestamp_micros()
    }

    /// Open seconds between two instants (0 when `to` is not after `from`).
    pub fn business_secs(&self, from_us: i64, to_us: i64) -> f64 {
        if to_us <= from_us {
            return 0.0;
        }
        let local_date = |us: i64| {
            DateTime::from_timestamp_micros(us)
                .unwrap_or_default()
                .with_timezone(&self.zone)
                .date_naive()
        };
        let (first, last) = (local_date(from_us), local_date(to_us));
        let days = (last - first).num_days();
        let total_us = if days <= WALK_DAYS {
            self.open_us_between(first, last, from_us, to_us)
        } else {
            // Partial first and last days, and the whole days between them from the cache.
            let whole = self
                .open_before(last)
                .zip(self.open_before(first + Duration::days(1)))
                .map(|(a, b)| a - b);
            match whole {
                Some(whole) => {
                    self.open_us_between(first, first, from_us, to_us)
                        + whole
                        + self.open_us_between(last, last, from_us, to_us)
                }
                None => self.open_us_between(first, last, from_us, to_us),
            }
        };
        total_us as f64 / 1e6
    }

    /// Open µs within `[from_us, to_us)` on the local days `first..=last`, day by day.
    fn open_us_between(&self, first: NaiveDate, last: NaiveDate, from_us: i64, to_us: i64) -> i64 {
        let mut total_us: i64 = 0;
        let mut day = first;
        while day <= last {
            for &(s, e) in self.hours_on(day) {
                let (open, close) = (self.instant(day, s), self.instant(day, e));
                let (a, b) = (open.max(from_us), close.min(to_us));
                if b > a {
                    total_us += b - a;
                }
            }
            day += Duration::days(1);
        }
        total_us
    }

    /// Open µs of one whole local day (its real length: DST days count what the clock shows).
    fn day_open_us(&self, day: NaiveDate) -> i64 {
        self.hours_on(day)
            .iter()
            .map(|&(s, e)| self.instant(day, e) - self.instant(day, s))
            .sum()
    }

    /// Open µs of the days before `day`, counted from the first day the cache was built for
    /// (negative before it; only differences mean anything); `None` when the cache would grow
    /// past its bound.
    fn open_before(&self, day: NaiveDate) -> Option<i64> {
        let mut guard = self.open_days.0.lock().unwrap_or_else(|e| e.into_inner());
        let (start, cum) = guard.get_or_insert_with(|| (day, vec![0]));
        if day < *start {
            let new_start = day - Duration::days(GROW_DAYS);
            let end = *start + Duration::days(cum.len() as i64 - 1);
            if (end - new_start).num_days() > MAX_CACHED_DAYS {
                return None;
            }
            let mut prefix = vec![0i64];
            let mut d = new_start;
            while d < *start {
                let last = *prefix.last().unwrap_or(&0);
                prefix.push(last + self.day_open_us(d));
                d += Duration::days(1);
            }
            // Values stay relative to the first day ever cached: earlier days count down.
            let shift = *prefix.last().unwrap_or(&0);
            for p in prefix.iter_mut() {
                *p -= shift;
            }
            prefix.extend(cum.iter().skip(1));
            *start = new_start;
            *cum = prefix;
        }
        let index = (day - *start).num_days();
        if index >= cum.len() as i64 {
            let target = index + GROW_DAYS;
            if target > MAX_CACHED_DAYS {
                return None;
            }
            let mut d = *start + Duration::days(cum.len() as i64 - 1);
            while (cum.len() as i64) <= target {
                let last = *cum.last().unwrap_or(&0);
                cum.push(last + self.day_open_us(d));
                d += Duration::days(1);
            }
        }
        cum.get(index as usize).copied()
    }

    /// The instant at which `secs` open seconds have passed since `from_us` (the inverse of
    /// `business_secs`); `None` when the calendar has no open hours within ten years.
    pub fn add_business_secs(&self, from_us: i64, secs: f64) -> Option<i64> {
        let mut left_us = (secs * 1e6).round() as i64;
        let mut day = DateTime::from_timestamp_micros(from_us)?
            .with_timezone(&self.zone)
            .date_naive();
        for _ in 0..3660 {
            for &(s, e) in self.hours_on(day) {
                let (open, close) = (self.instant(day, s).max(from_us), self.instant(day, e));
                if close <= open {
                    continue;
                }
                if left_us <= close - open {
                    return Some(open + left_us);
                }
                left_us -= close - open;
            }
            day += Duration::days(1);
        }
        None
    }
}

fn normalise(mut hours: DayHours) -> DayHours {
    hours.sort_unstable();
    let mut out: DayHours = Vec::with_capacity(hours.len());
    for (s, e) in hours {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn normalise_week(week: WeekHours) -> WeekHours {
    week.map(normalise)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }
    fn hours(list: &[&str]) -> DayHours {
        list.iter().map(|t| parse_interval(t).unwrap()).collect()
    }
    fn helsinki() -> Calendar {
        let mut week: WeekHours = Default::default();
        week[0] = hours(&["09:00-12:00", "13:00-17:00"]);
        for day in &mut week[1..5] {
            *day = hours(&["09:00-17:00"]);
        }
        Calendar::new("default", "Europe/Helsinki".parse().unwrap(), week)
    }

    #[test]
    fn split_shifts_and_starts_outside_hours() {
        let c = helsinki();
        // Monday 2026-01-05: 08:00 → 14:00 local = 3 h (09–12) + 1 h (13–14).
        assert_eq!(
            c.business_secs(
                at("2026-01-05T08:00:00+02:00"),
                at("2026-01-05T14:00:00+02:00")
            ),
            4.0 * 3600.0
        );
        // Friday 16:30 → Monday 09:30: 30 min Friday + 30 min Monday.
        assert_eq!(
            c.business_secs(
                at("2026-01-09T16:30:00+02:00"),
                at("2026-01-12T09:30:00+02:00")
            ),
            3600.0
        );
        // Saturday to Saturday: a whole week of hours (7 + 4 × 8 = 39 h).
        assert_eq!(
            c.business_secs(
                at("2026-01-10T12:00:00+02:00"),
                at("2026-01-17T12:00:00+02:00")
            ),
            39.0 * 3600.0
        );
        assert_eq!(
            c.business_secs(
                at("2026-01-10T12:00:00+02:00"),
                at("2026-01-10T13:00:00+02:00")
            ),
            0.0
        );
    }

    #[test]
    fn holidays_exceptions_and_changes() {
        let mut c = helsinki();
        c.add_holiday(d("2026-01-06"));
        c.add_exception(d("2026-01-07"), hours(&["09:00-12:00"]));
        // Mon 5 Jan 17:00 → Thu 8 Jan 10:00: Tue closed, Wed 3 h, Thu 1 h.
        assert_eq!(
            c.business_secs(
                at("2026-01-05T17:00:00+02:00"),
                at("2026-01-08T10:00:00+02:00")
            ),
            4.0 * 3600.0
        );
        c.add_change(d("2026-03-02"), &[(0, hours(&["08:00-16:00"]))]);
        assert_eq!(
            c.hours_on(d("2026-02-23")),
            &hours(&["09:00-12:00", "13:00-17:00"])[..]
        );
        assert_eq!(c.hours_on(d("2026-03-02")), &hours(&["08:00-16:00"])[..]);
        assert_eq!(
            c.hours_on(d("2026-03-03")),
            &hours(&["09:00-17:00"])[..],
            "days not named keep their hours"
        );
    }

    #[test]
    fn dst_days_count_real_elapsed_open_time() {
        let mut week: WeekHours = Default::default();
        week[6] = hours(&["00:00-24:00"]);
        let c = Calendar::new("sun", "Europe/Helsinki".parse().unwrap(), week);
        // Sunday 29 March 2026 has 23 hours in Helsinki; Sunday 25 October has 25.
        assert_eq!(
            c.business_secs(at("2026-03-28T00:00:00Z"), at("2026-03-30T00:00:00Z")),
            23.0 * 3600.0
        );
        assert_eq!(
            c.business_secs(at("2026-10-24T00:00:00Z"), at("2026-10-27T00:00:00Z")),
            25.0 * 3600.0
        );
    }

    #[test]
    fn intervals_parse_strictly() {
        assert_eq!(parse_interval("09:00-17:30"), Ok((32400, 63000)));
        assert_eq!(parse_interval("00:00-24:00"), Ok((0, 86400)));
        assert!(parse_interval("17:00-09:00").is_err());
        assert!(parse_interval("9-5").is_err());
        assert!(parse_interval("09:60-10:00").is_err());
    }

    #[test]
    fn long_spans_from_the_cache_equal_walking_day_by_day() {
        let mut c = helsinki();
        c.add_holiday(d("2026-01-06"));
        c.add_exception(d("2026-04-30"), hours(&["09:00-12:00"]));
        c.add_change(d("2026-03-02"), &[(0, hours(&["08:00-16:00"]))]);
        let mut sunday = helsinki();
        sunday.add_change(d("2025-01-01"), &[(6, hours(&["00:00-24:00"]))]);
        let start = at("2025-09-01T06:17:00Z");
        let mut seed: u64 = 11;
        for _ in 0..400 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let from = start + ((seed >> 20) % (500 * 86_400)) as i64 * 1_000_000;
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let to = from + ((seed >> 20) % (400 * 86_400)) as i64 * 1_000_000;
            for cal in [&c, &sunday] {
                let (first, last) = (
                    DateTime::from_timestamp_micros(from)
                        .unwrap()
                        .with_timezone(&cal.zone)
                        .date_naive(),
                    DateTime::from_timestamp_micros(to)
                        .unwrap()
                        .with_timezone(&cal.zone)
                        .date_naive(),
                );
                let walked = cal.open_us_between(first, last, from, to) as f64 / 1e6;
                assert_eq!(cal.business_secs(from, to), walked, "{from} → {to}");
            }
        }
        // A span past the cache's bound is walked, not refused.
        let far = at("2226-01-01T00:00:00Z");
        assert!(c.business_secs(at("2026-01-05T00:00:00Z"), far) > 0.0);
    }
}
