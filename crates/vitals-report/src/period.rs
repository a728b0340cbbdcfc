//! The period a report covers: a calendar month (`YYYY-MM`) or an ISO week (`YYYY-Www`,
//! Monday to Sunday), in the reporting zone. The report is the same shape for both — the
//! period and the five before it, compared with the one before, its days' volume — and this
//! module holds what differs: the bounds, the labels of the periods shown, the time dimension
//! the queries bucket by, the periods with data, and the words the renderers use
//! (`month`/`week`).

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, Months, NaiveDate};
use serde::Serialize;
use vitals_core::catalogue::Catalogue;
use vitals_core::config::Config;
use vitals_query::staffing::{month_bounds, months_with_data, week_bounds};
use vitals_query::{run_query, Engine, MetricSpec, QueryRequest};

use crate::ReportError;

/// How long a report's period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    /// A calendar month.
    Month,
    /// An ISO week, Monday to Sunday.
    Week,
}

/// A report's period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// Month or week.
    pub grain: Grain,
    /// `2026-06` or `2026-W23`.
    pub label: String,
    /// Its first local day.
    pub from: NaiveDate,
    /// The first local day after it.
    pub to: NaiveDate,
}

/// The words the renderers use for a period's length.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodWords {
    /// `month` or `week`.
    pub unit: String,
    /// `Month` or `Week`.
    pub title: String,
}

impl Period {
    /// Parses `YYYY-MM` (a month) or `YYYY-Www` (an ISO week).
    pub fn parse(text: &str) -> Result<Period, ReportError> {
        let (grain, (from, to)) = if text.contains("-W") {
            (Grain::Week, week_bounds(text)?)
        } else {
            (Grain::Month, month_bounds(text)?)
        };
        Ok(Period {
            grain,
            label: text.to_string(),
            from,
            to,
        })
    }

    /// The time dimension its queries bucket by (`time:month`, `time:week`).
    pub fn dimension(&self) -> &'static str {
        match self.grain {
            Grain::Month => "time:month",
            Grain::Week => "time:week",
        }
    }

    /// The first day of the period `back` periods before this one.
    pub fn start_back(&self, back: u32) -> Result<NaiveDate, ReportError> {
        match self.grain {
            Grain::Month => self.from.checked_sub_months(Months::new(back)),
            Grain::Week => self
                .from
                .checked_sub_signed(Duration::days(7 * i64::from(back))),
        }
        .ok_or_else(|| ReportError::Internal("period out of range".into()))
    }

    /// The labels of this period and the `count − 1` before it, oldest first.
    pub fn shown(&self, count: u32) -> Result<Vec<String>, ReportError> {
        (0..count)
            .rev()
            .map(|back| self.start_back(back).map(|d| label(self.grain, d)))
            .collect()
    }

    /// For people: `June 2026`, or `week 2026-W23 (1 June – 7 June 2026)`.
    pub fn title(&self) -> String {
        match self.grain {
            Grain::Month => self.from.format("%B %Y").to_string(),
            Grain::Week => {
                let last = self.to - Duration::days(1);
                let first = if self.from.year() == last.year() {
                    self.from.format("%-d %B")
                } else {
                    self.from.format("%-d %B %Y")
                };
                format!(
                    "week {} ({first} – {})",
                    self.label,
                    last.format("%-d %B %Y")
                )
            }
        }
    }

    /// The words for its length.
    pub fn words(&self) -> PeriodWords {
        let (unit, title) = match self.grain {
            Grain::Month => ("month", "Month"),
            Grain::Week => ("week", "Week"),
        };
        PeriodWords {
            unit: unit.into(),
            title: title.into(),
        }
    }
}

/// The periods (`YYYY-MM` or `YYYY-Www`) of `grain` in which the report's metrics have data.
pub(crate) fn periods_with_data(
    engine: &dyn Engine,
    catalogue: &Catalogue,
    config: &Config,
    period: &Period,
    tz: Option<&str>,
) -> Result<BTreeSet<String>, ReportError> {
    let mut with_data = BTreeSet::new();
    for metric in ["ticket_volume", "peak_hours"] {
        match period.grain {
            Grain::Month => {
                with_data.extend(months_with_data(engine, catalogue, config, metric, tz)?)
            }
            Grain::Week => {
                let response = run_query(
                    engine,
                    catalogue,
                    config,
                    &QueryRequest {
                        metrics: vec![MetricSpec::parse(metric)],
                        by: vec![period.dimension().into()],
                        timezone: tz.map(str::to_string),
                        ..Default::default()
                    },
                )?;
                with_data.extend(
                    response
                        .results
                        .iter()
                        .filter(|r| r.metrics.iter().any(|(_, v)| v.n > 0))
                        .filter_map(|r| r.dimensions.first().and_then(|(_, v)| v.clone())),
                );
            }
        }
    }
    Ok(with_data)
}

/// The label of the period of `grain` starting on `from`.
fn label(grain: Grain, from: NaiveDate) -> String {
    match grain {
        Grain::Month => from.format("%Y-%m").to_string(),
        Grain::Week => {
            let w = from.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weeks_and_months_parse_and_step_back() {
        let w = Period::parse("2026-W01").unwrap();
        assert_eq!(
            (w.grain, w.from, w.to),
            (Grain::Week, d("2025-12-29"), d("2026-01-05"))
        );
        assert_eq!(
            w.shown(3).unwrap(),
            ["2025-W51", "2025-W52", "2026-W01"].map(String::from)
        );
        assert_eq!(
            w.title(),
            "week 2026-W01 (29 December 2025 – 4 January 2026)"
        );
        let m = Period::parse("2026-03").unwrap();
        assert_eq!(
            m.shown(2).unwrap(),
            ["2026-02", "2026-03"].map(String::from)
        );
        assert_eq!(m.title(), "March 2026");
        assert_eq!(
            Period::parse("2026-W23").unwrap().title(),
            "week 2026-W23 (1 June – 7 June 2026)"
        );
        assert!(Period::parse("2026-W60").is_err());
        assert!(Period::parse("2026-13").is_err());
    }
}
