//! Business calendars: an IANA zone, weekly open intervals (several a day), holidays, dated
//! exceptions with other hours, and changes of the weekly hours from a date on (`valid_from`).
//! `business_secs` counts the open time between two instants, using the hours in force on each
//! local day, so a duration that starts outside hours starts counting at the next opening.

use std::collections::{BTreeMap, BTreeSet};

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
}

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
        }
    }

    /// Closes a whole day.
    pub fn add_holiday(&mut self, date: NaiveDate) {
        self.holidays.insert(date);
    }

    /// Gives a day other hours (an empty list closes it).
    pub fn add_exception(&mut self, date: NaiveDate, hours: DayHours) {
        self.exceptions.insert(date, normalise(hours));
    }

    /// From `valid_from` on, the named days get new hours; days not named keep theirs.
    pub fn add_change(&mut self, valid_from: NaiveDate, days: &[(usize, DayHours)]) {
        let mut week = self.week_on(valid_from).clone();
        for (day, hours) in days {
            week[*day] = normalise(hours.clone());
        }
        self.weeks.push((valid_from, week));
        self.weeks.sort_by_key(|(d, _)| *d);
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
        total_us as f64 / 1e6
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
}
