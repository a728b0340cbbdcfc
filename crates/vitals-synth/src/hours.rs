//! The organisation's opening hours: a standard week for most teams, an extended one for the
//! second tier, fixed-date public holidays and a short New Year's Eve. Agents reply within
//! these hours, and the shipped configuration (`config.rs`) declares the same calendars, so
//! business-time metrics measure what the generator did.

use chrono::{Datelike, NaiveDate};

/// Opening hours per weekday, Monday first: `(open, close)` in whole local hours.
pub(crate) type Week = [Option<(u32, u32)>; 7];

/// The default calendar: weekdays 08–18, Friday until 16.
pub(crate) const STANDARD: Week = [
    Some((8, 18)),
    Some((8, 18)),
    Some((8, 18)),
    Some((8, 18)),
    Some((8, 16)),
    None,
    None,
];

/// The second tier's calendar: weekdays 07–21 and Saturday 10–16.
pub(crate) const EXTENDED: Week = [
    Some((7, 21)),
    Some((7, 21)),
    Some((7, 21)),
    Some((7, 21)),
    Some((7, 21)),
    Some((10, 16)),
    None,
];

/// The team that works to the extended calendar.
pub(crate) const EXTENDED_TEAM: &str = "tier2";

/// Public holidays (month, day): closed all day on both calendars.
pub(crate) const HOLIDAYS: [(u32, u32); 7] = [
    (1, 1),
    (1, 6),
    (5, 1),
    (12, 6),
    (12, 24),
    (12, 25),
    (12, 26),
];

/// New Year's Eve (month, day) closes early, at this hour.
pub(crate) const SHORT_DAY: ((u32, u32), u32) = ((12, 31), 14);

/// The week a team works to.
pub(crate) fn week_of(team: &str) -> &'static Week {
    if team == EXTENDED_TEAM {
        &EXTENDED
    } else {
        &STANDARD
    }
}

/// The hours open on `date` in `week`, holidays and the short day applied.
pub(crate) fn hours_on(week: &Week, date: NaiveDate) -> Option<(u32, u32)> {
    let md = (date.month(), date.day());
    if HOLIDAYS.contains(&md) {
        return None;
    }
    let (open, close) = week[date.weekday().num_days_from_monday() as usize]?;
    if md == SHORT_DAY.0 {
        return (open < SHORT_DAY.1).then_some((open, close.min(SHORT_DAY.1)));
    }
    Some((open, close))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holidays_close_and_new_years_eve_is_short() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(hours_on(&STANDARD, d(2026, 1, 5)), Some((8, 18))); // Monday
        assert_eq!(hours_on(&STANDARD, d(2026, 1, 9)), Some((8, 16))); // Friday
        assert_eq!(hours_on(&STANDARD, d(2026, 1, 6)), None); // Epiphany
        assert_eq!(hours_on(&STANDARD, d(2026, 1, 10)), None); // Saturday
        assert_eq!(hours_on(&EXTENDED, d(2026, 1, 10)), Some((10, 16)));
        assert_eq!(hours_on(&EXTENDED, d(2025, 12, 31)), Some((7, 14)));
        assert_eq!(week_of("tier2"), &EXTENDED);
        assert_eq!(week_of("billing"), &STANDARD);
    }
}
