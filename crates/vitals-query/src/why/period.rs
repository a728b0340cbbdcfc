//! The periods of a `why` answer: what the period explained is compared with ([`Versus`]:
//! the period just before, the same dates a year earlier, or a range), and the default
//! period, the latest complete month of the data.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::compare::{comparison_period, CompareMode};
use crate::error::QueryError;
use crate::limits::check_date;

/// What a period is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Versus {
    /// The same number of months (or days) just before.
    Previous,
    /// The same dates a year earlier.
    SameLastYear,
    /// A period given as `FROM..TO` (TO exclusive).
    Range(NaiveDate, NaiveDate),
}

impl Versus {
    /// Parses `previous`, `same-last-year` or `YYYY-MM-DD..YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Versus, QueryError> {
        match text {
            "previous" => Ok(Versus::Previous),
            "same-last-year" => Ok(Versus::SameLastYear),
            _ => {
                let bad = || {
                    QueryError::InvalidPeriod(format!(
                        "vs `{text}` should be previous, same-last-year or FROM..TO (YYYY-MM-DD..YYYY-MM-DD, TO exclusive)"
                    ))
                };
                let (f, t) = text.split_once("..").ok_or_else(bad)?;
                let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad());
                Ok(Versus::Range(date(f)?, date(t)?))
            }
        }
    }

    /// The mode's name: `previous`, `same-last-year` or `range`.
    pub fn mode(&self) -> &'static str {
        match self {
            Versus::Previous => "previous",
            Versus::SameLastYear => "same-last-year",
            Versus::Range(..) => "range",
        }
    }
}

impl TryFrom<String> for Versus {
    type Error = String;
    fn try_from(text: String) -> Result<Versus, String> {
        Versus::parse(&text).map_err(|e| e.to_string())
    }
}

impl From<Versus> for String {
    fn from(v: Versus) -> String {
        match v {
            Versus::Range(f, t) => format!("{f}..{t}"),
            other => other.mode().to_string(),
        }
    }
}

/// The month of `date` moved by `months` (negative: back).
fn months_from(date: NaiveDate, months: i32) -> Option<NaiveDate> {
    if months >= 0 {
        date.checked_add_months(Months::new(months.unsigned_abs()))
    } else {
        date.checked_sub_months(Months::new(months.unsigned_abs()))
    }
}

/// The comparison period of `[from, to)`.
pub(super) fn compared(
    vs: Versus,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), QueryError> {
    let whole_months = from.day() == 1 && to.day() == 1;
    let (cf, ct) = match vs {
        Versus::Range(f, t) => (f, t),
        Versus::SameLastYear => comparison_period(CompareMode::Yoy, None, from, to),
        Versus::Previous if whole_months => {
            let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
            let back = months_from(from, -months)
                .ok_or_else(|| QueryError::InvalidPeriod(format!("no period before {from}")))?;
            (back, from)
        }
        Versus::Previous => comparison_period(CompareMode::Previous, None, from, to),
    };
    check_date("vs from", cf)?;
    check_date("vs to", ct)?;
    if cf >= ct {
        return Err(QueryError::InvalidPeriod(format!(
            "the comparison period {cf}..{ct} is empty or reversed (TO is exclusive)"
        )));
    }
    Ok((cf, ct))
}

/// The latest complete month of the data: the month before the one holding the day after the
/// data's last, unless that day is the 1st.
pub(super) fn latest_complete_month(data_to: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let end = data_to.with_day(1)?;
    Some((months_from(end, -1)?, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn periods_default_and_compare() {
        assert_eq!(
            latest_complete_month(d("2026-04-01")),
            Some((d("2026-03-01"), d("2026-04-01")))
        );
        assert_eq!(
            latest_complete_month(d("2026-03-31")),
            Some((d("2026-02-01"), d("2026-03-01")))
        );
        let p = |vs, f, t| compared(vs, d(f), d(t)).unwrap();
        assert_eq!(
            p(Versus::Previous, "2026-03-01", "2026-04-01"),
            (d("2026-02-01"), d("2026-03-01"))
        );
        assert_eq!(
            p(Versus::Previous, "2026-01-01", "2026-04-01"),
            (d("2025-10-01"), d("2026-01-01"))
        );
        assert_eq!(
            p(Versus::Previous, "2026-03-10", "2026-03-17"),
            (d("2026-03-03"), d("2026-03-10"))
        );
        assert_eq!(
            p(Versus::SameLastYear, "2026-03-01", "2026-04-01"),
            (d("2025-03-01"), d("2025-04-01"))
        );
        assert_eq!(
            Versus::parse("2025-01-01..2025-02-01").unwrap(),
            Versus::Range(d("2025-01-01"), d("2025-02-01"))
        );
        assert!(Versus::parse("lastweek").is_err());
        assert!(compared(
            Versus::Range(d("2025-02-01"), d("2025-01-01")),
            d("2026-03-01"),
            d("2026-04-01")
        )
        .is_err());
    }
}
