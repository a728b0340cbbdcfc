//! Erlang C staffing: how many agents an interval needs to answer a share of its calls within
//! a threshold, from the calls offered in the interval and their average handle time; and the
//! staffing table of a month (`vitals staffing`, the report's Staffing sheet, the API) for its
//! busiest weekday × hour cells.
//!
//! Erlang C (M/M/N queue, callers wait): traffic `A = calls × AHT / interval` Erlangs; the
//! probability a call waits `C(N, A) = N·B / (N − A·(1 − B))` with `B` the Erlang B loss
//! probability (computed by its stable recurrence `B(k) = A·B(k−1) / (k + A·B(k−1))`), and the
//! service level `SL = 1 − C(N, A) · e^(−(N − A) · T / AHT)`. The agents needed are the smallest
//! `N > A` whose service level reaches the target. Reference: 100 calls in 30 minutes, AHT 180 s,
//! 80 % within 20 s → 10 Erlangs, 14 agents (SL 0.888; 13 agents give 0.796).

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;

use crate::engine::Engine;
use crate::error::QueryError;
use crate::request::{MetricSpec, QueryRequest};
use crate::run::run_query;

/// The probability that a call waits (Erlang C) with `agents` agents and `traffic` Erlangs;
/// 1 when the agents cannot keep up (`agents ≤ traffic`).
pub fn erlang_c(agents: u32, traffic: f64) -> f64 {
    let n = f64::from(agents);
    if traffic <= 0.0 {
        return 0.0;
    }
    if n <= traffic {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=agents {
        b = traffic * b / (f64::from(k) + traffic * b);
    }
    n * b / (n - traffic * (1.0 - b))
}

/// The share (0–1) of calls answered within `threshold_secs` with `agents` agents, `calls`
/// offered per `interval_secs` and `aht_secs` average handle time.
pub fn service_level(
    agents: u32,
    calls: f64,
    aht_secs: f64,
    interval_secs: f64,
    threshold_secs: f64,
) -> f64 {
    let traffic = calls * aht_secs / interval_secs;
    if traffic <= 0.0 {
        return 1.0;
    }
    let n = f64::from(agents);
    if n <= traffic {
        return 0.0;
    }
    1.0 - erlang_c(agents, traffic) * (-(n - traffic) * threshold_secs / aht_secs).exp()
}

/// The fewest agents whose service level reaches `target` (0–1); `None` when the inputs are
/// not positive or no staffing up to 100 000 agents reaches the target.
pub fn agents_needed(
    calls: f64,
    aht_secs: f64,
    interval_secs: f64,
    threshold_secs: f64,
    target: f64,
) -> Option<u32> {
    if !(calls >= 0.0 && aht_secs > 0.0 && interval_secs > 0.0 && target < 1.0) {
        return None;
    }
    if calls == 0.0 {
        return Some(0);
    }
    let traffic = calls * aht_secs / interval_secs;
    let first = traffic.floor() as u32 + 1;
    (first..first.saturating_add(100_000))
        .find(|&n| service_level(n, calls, aht_secs, interval_secs, threshold_secs) >= target)
}

/// What `staffing` is asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffingRequest {
    /// The month, `YYYY-MM` (the data's last month when absent).
    #[serde(default)]
    pub month: Option<String>,
    /// IANA zone of weekdays and hours (the reporting zone when absent).
    #[serde(default)]
    pub timezone: Option<String>,
    /// How many of the busiest cells (default 10).
    #[serde(default)]
    pub top: Option<usize>,
}

/// One weekday × hour cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffingCell {
    /// `Mon` … `Sun`, local.
    pub weekday: String,
    /// Local hour `00`–`23`.
    pub hour: String,
    /// Calls offered in this cell over the whole month.
    pub offered_total: u64,
    /// How many times the weekday occurs in the month.
    pub occurrences: u32,
    /// Offered calls per hour on such a day (`offered_total / occurrences`).
    pub offered_per_hour: f64,
    /// Mean handle time of the cell's handled calls (the month's when the cell has none).
    pub aht_secs: Option<f64>,
    /// Traffic in Erlangs.
    pub erlangs: Option<f64>,
    /// Agents Erlang C needs for the target.
    pub agents_needed: Option<u32>,
    /// The service level those agents reach (0–1).
    pub expected_service_level: Option<f64>,
}

/// The staffing table of a month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffingReport {
    /// The month, `YYYY-MM` (the ISO week `YYYY-Www` in a weekly report).
    pub month: String,
    /// The zone of weekdays and hours.
    pub timezone: String,
    /// Service-level threshold (`calls.service_level_secs`).
    pub threshold_secs: f64,
    /// Service-level target (0–1): `[targets] service_level`, else 0.8.
    pub target: f64,
    /// Where the target came from.
    pub target_source: String,
    /// Interval length (one hour).
    pub interval_secs: f64,
    /// The month's AHT of handled calls (seconds).
    pub month_aht_secs: Option<f64>,
    /// The busiest cells, busiest first.
    pub cells: Vec<StaffingCell>,
}

/// Parses `YYYY-MM` into the month's first day and the first day of the next month.
pub fn month_bounds(month: &str) -> Result<(NaiveDate, NaiveDate), QueryError> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|_| QueryError::InvalidPeriod(format!("month `{month}` is not YYYY-MM")))?;
    let first = crate::limits::check_date("month", first)?;
    let next = first
        .checked_add_months(Months::new(1))
        .ok_or_else(|| QueryError::InvalidPeriod(format!("month `{month}` is out of range")))?;
    Ok((first, next))
}

/// Parses an ISO week `YYYY-Www` into its Monday and the Monday after.
pub fn week_bounds(week: &str) -> Result<(NaiveDate, NaiveDate), QueryError> {
    let bad = || QueryError::InvalidPeriod(format!("week `{week}` is not YYYY-Www (ISO week)"));
    let (year, number) = week.split_once("-W").ok_or_else(bad)?;
    if year.len() != 4 || number.len() != 2 {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    let number: u32 = number.parse().map_err(|_| bad())?;
    let monday = NaiveDate::from_isoywd_opt(year, number, chrono::Weekday::Mon).ok_or_else(bad)?;
    let monday = crate::limits::check_date("week", monday)?;
    Ok((monday, monday + chrono::Duration::days(7)))
}

/// The months (`YYYY-MM`) in which `metric` has data, oldest first.
pub fn months_with_data(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    metric: &str,
    timezone: Option<&str>,
) -> Result<Vec<String>, QueryError> {
    let response = run_query(
        engine,
        catalogue,
        config,
        &QueryRequest {
            metrics: vec![MetricSpec::parse(metric)],
            by: vec!["time:month".into()],
            timezone: timezone.map(str::to_string),
            ..Default::default()
        },
    )?;
    Ok(response
        .results
        .iter()
        .filter(|r| r.metrics.iter().any(|(_, v)| v.n > 0))
        .filter_map(|r| r.dimensions.first().and_then(|(_, v)| v.clone()))
        .collect())
}

fn weekday_occurrences(from: NaiveDate, to: NaiveDate, weekday: &str) -> u32 {
    from.iter_days()
        .take_while(|d| *d < to)
        .filter(|d| d.weekday().to_string() == weekday)
        .count() as u32
}

/// The staffing table of a month's busiest weekday × hour cells.
pub fn staffing(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &StaffingRequest,
) -> Result<StaffingReport, QueryError> {
    let month = match &request.month {
        Some(m) => m.clone(),
        None => months_with_data(
            engine,
            catalogue,
            config,
            "peak_hours",
            request.timezone.as_deref(),
        )?
        .pop()
        .ok_or_else(|| QueryError::InvalidPeriod("no calls in the store".into()))?,
    };
    let (from, to) = month_bounds(&month)?;
    staffing_between(engine, catalogue, config, request, &month, from, to)
}

/// The staffing table of the local days `[from, to)` (a month, or a week of the weekly
/// report), labelled `label`; `request`'s month is not read.
pub fn staffing_between(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    request: &StaffingRequest,
    label: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<StaffingReport, QueryError> {
    let query = |metric: &str, by: Vec<String>| {
        run_query(
            engine,
            catalogue,
            config,
            &QueryRequest {
                metrics: vec![MetricSpec::parse(metric)],
                by,
                from: Some(from),
                to: Some(to),
                timezone: request.timezone.clone(),
                ..Default::default()
            },
        )
    };
    let cells_by = vec!["time:weekday".to_string(), "time:hour".to_string()];
    let offered = query("peak_hours", Vec::new())?;
    let aht = query("average_handle_time_calls", cells_by)?;
    let month_aht = query("average_handle_time_calls", Vec::new())?
        .results
        .first()
        .and_then(|r| r.metrics.first())
        .and_then(|(_, v)| v.value);
    let (target, target_source) = service_level_target(config)?;
    let threshold = config.calls.service_level_secs;
    let interval = 3600.0;
    let dim = |r: &crate::result::ResultRow, name: &str| {
        r.dimensions
            .iter()
            .find(|(d, _)| d == name)
            .and_then(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut cells: Vec<StaffingCell> = offered
        .results
        .iter()
        .filter_map(|r| {
            let total = r.metrics.first()?.1.value? as u64;
            (total > 0).then(|| (dim(r, "time:weekday"), dim(r, "time:hour"), total))
        })
        .map(|(weekday, hour, total)| {
            let occurrences = weekday_occurrences(from, to, &weekday).max(1);
            let per_hour = total as f64 / f64::from(occurrences);
            let cell_aht = aht
                .results
                .iter()
                .find(|r| dim(r, "time:weekday") == weekday && dim(r, "time:hour") == hour)
                .and_then(|r| r.metrics.first())
                .and_then(|(_, v)| v.value)
                .or(month_aht);
            let agents =
                cell_aht.and_then(|a| agents_needed(per_hour, a, interval, threshold, target));
            StaffingCell {
                offered_total: total,
                occurrences,
                offered_per_hour: per_hour,
                erlangs: cell_aht.map(|a| per_hour * a / interval),
                expected_service_level: agents
                    .zip(cell_aht)
                    .map(|(n, a)| service_level(n, per_hour, a, interval, threshold)),
                aht_secs: cell_aht,
                agents_needed: agents,
                weekday,
                hour,
            }
        })
        .collect();
    cells.sort_by(|a, b| {
        b.offered_per_hour
            .total_cmp(&a.offered_per_hour)
            .then_with(|| (&a.weekday, &a.hour).cmp(&(&b.weekday, &b.hour)))
    });
    cells.truncate(request.top.unwrap_or(10));
    Ok(StaffingReport {
        month: label.to_string(),
        timezone: offered.query.timezone,
        threshold_secs: threshold,
        target,
        target_source,
        interval_secs: interval,
        month_aht_secs: month_aht,
        cells,
    })
}

/// The service-level target (0–1): the organisation-wide `[targets] service_level`, else 80 %.
pub fn service_level_target(config: &Config) -> Result<(f64, String), QueryError> {
    let targets = config
        .targets()
        .map_err(|e| QueryError::Config(e.to_string()))?;
    Ok(targets
        .iter()
        .find(|t| t.scope.is_none() && (t.key == "service_level" || t.key == "service_level:mean"))
        .map(|t| (t.value / 100.0, "[targets] service_level".to_string()))
        .unwrap_or((0.8, "default 80 % (no [targets] service_level)".to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_reproduces_published_values() {
        // 100 calls / 30 min, AHT 180 s → 10 Erlangs; 80 % in 20 s → 14 agents.
        assert_eq!(agents_needed(100.0, 180.0, 1800.0, 20.0, 0.8), Some(14));
        // The published table for 10 Erlangs, AHT 180 s, 20 s: P(wait) 68.2, 44.9, 28.5, 17.4 %
        // and service level 39.0, 64.0, 79.6, 88.8 % with 11…14 agents.
        let c = |n| erlang_c(n, 10.0);
        assert!((c(11) - 0.6821).abs() < 1e-3, "{}", c(11));
        assert!((c(12) - 0.4494).abs() < 1e-3, "{}", c(12));
        assert!((c(13) - 0.2853).abs() < 1e-3, "{}", c(13));
        assert!((c(14) - 0.1741).abs() < 1e-3, "{}", c(14));
        let sl = |n| service_level(n, 100.0, 180.0, 1800.0, 20.0);
        assert!((sl(13) - 0.7956).abs() < 1e-3, "{}", sl(13));
        assert!((sl(14) - 0.8884).abs() < 1e-3, "{}", sl(14));
        // 90 % in 20 s needs one more.
        assert_eq!(agents_needed(100.0, 180.0, 1800.0, 20.0, 0.9), Some(15));
    }

    #[test]
    fn edge_cases_have_answers() {
        assert_eq!(agents_needed(0.0, 180.0, 3600.0, 20.0, 0.8), Some(0));
        assert_eq!(agents_needed(10.0, 0.0, 3600.0, 20.0, 0.8), None);
        assert_eq!(erlang_c(5, 5.0), 1.0);
        // Large traffic stays finite (the recurrence never overflows).
        let n = agents_needed(20_000.0, 300.0, 3600.0, 20.0, 0.8).unwrap();
        assert!(n > 1667 && n < 1760, "{n}");
        assert_eq!(month_bounds("2026-12").unwrap().1.to_string(), "2027-01-01");
        assert!(month_bounds("2026-13").is_err());
        let (monday, next) = week_bounds("2026-W23").unwrap();
        assert_eq!(
            (monday.to_string(), next.to_string()),
            ("2026-06-01".into(), "2026-06-08".into())
        );
        assert_eq!(week_bounds("2026-W01").unwrap().0.to_string(), "2025-12-29");
        for bad in ["2026-W54", "2026-23", "2026-W5", "26-W05"] {
            assert!(week_bounds(bad).is_err(), "{bad}");
        }
    }
}
