//! The budget of one query: the dates a request may name, the longest period, the most time
//! buckets and the most result rows (`[limits]` in the configuration). Checked before any work
//! is done where it can be (dates, span, buckets) and as soon as the rows are known otherwise,
//! on every surface, so no request can make the engine or the server hold unbounded work. The
//! error names the limit, its configuration key and how to narrow the query.

use chrono::{Datelike, NaiveDate};
use vitals_core::config::QueryLimits;

use crate::error::QueryError;

/// The first year a request may name.
pub const EARLIEST_YEAR: i32 = 1900;
/// The last year a request may name.
pub const LATEST_YEAR: i32 = 2199;

/// A date of a request (`what` names it: `from`, `to`, `month`…) within
/// [`EARLIEST_YEAR`]–[`LATEST_YEAR`].
pub fn check_date(what: &str, date: NaiveDate) -> Result<NaiveDate, QueryError> {
    if (EARLIEST_YEAR..=LATEST_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(QueryError::InvalidPeriod(format!(
            "`{what}` {date} is outside the years {EARLIEST_YEAR}–{LATEST_YEAR} that vitals answers for"
        )))
    }
}

/// The period `[from, to)` is at most `max_span_days` long.
pub fn check_span(limits: &QueryLimits, from: NaiveDate, to: NaiveDate) -> Result<(), QueryError> {
    let days = (to - from).num_days();
    if days > i64::from(limits.max_span_days) {
        return Err(QueryError::LimitExceeded {
            limit: "limits.max_span_days",
            message: format!(
                "the period {from} – {to} is {days} days long, more than the limit of {} days \
                 ([limits] max_span_days); give a shorter period with from/to",
                limits.max_span_days
            ),
        });
    }
    Ok(())
}

/// A query has at most `max_buckets` time buckets.
pub fn check_buckets(limits: &QueryLimits, buckets: usize, grain: &str) -> Result<(), QueryError> {
    if buckets > limits.max_buckets as usize {
        return Err(QueryError::LimitExceeded {
            limit: "limits.max_buckets",
            message: format!(
                "the query has {buckets} {grain} buckets, more than the limit of {} \
                 ([limits] max_buckets); use a coarser time grain or a shorter period",
                limits.max_buckets
            ),
        });
    }
    Ok(())
}

/// A query answers at most `max_result_rows` rows.
pub fn check_rows(limits: &QueryLimits, rows: usize) -> Result<(), QueryError> {
    if rows > limits.max_result_rows as usize {
        return Err(QueryError::LimitExceeded {
            limit: "limits.max_result_rows",
            message: format!(
                "the answer has {rows} rows, more than the limit of {} ([limits] max_result_rows); \
                 break it down by fewer dimensions, filter it, or use a coarser time grain",
                limits.max_result_rows
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn dates_outside_the_years_vitals_answers_for_are_refused() {
        assert!(check_date("from", d("2026-03-01")).is_ok());
        let far = NaiveDate::from_ymd_opt(-262_143, 1, 1).unwrap();
        let e = check_date("from", far).unwrap_err();
        assert_eq!(e.code(), "invalid_period");
        assert!(e.to_string().contains("1900–2199"), "{e}");
        assert!(check_date("to", d("2200-01-01")).is_err());
    }

    #[test]
    fn each_limit_names_its_key_and_how_to_narrow() {
        let limits = QueryLimits {
            max_span_days: 366,
            max_buckets: 10,
            max_result_rows: 5,
            query_timeout_secs: 0.0,
        };
        assert!(check_span(&limits, d("2026-01-01"), d("2027-01-01")).is_ok());
        let e = check_span(&limits, d("2026-01-01"), d("2028-01-01")).unwrap_err();
        assert_eq!(e.code(), "limit_exceeded");
        assert!(e.to_string().contains("max_span_days") && e.to_string().contains("shorter"));
        assert!(check_buckets(&limits, 10, "day").is_ok());
        let e = check_buckets(&limits, 11, "day").unwrap_err();
        assert!(e.to_string().contains("max_buckets") && e.to_string().contains("coarser"));
        let e = check_rows(&limits, 6).unwrap_err();
        assert!(e.to_string().contains("max_result_rows"), "{e}");
    }
}
