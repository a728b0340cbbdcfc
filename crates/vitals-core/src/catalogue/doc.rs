//! The public, documented form of a metric — what `vitals explain`, `vitals catalogue --json`,
//! the API's catalogue endpoints, the report's formulas sheet and the dashboard show: every
//! field of the definition under the catalogue's own snake_case names, plus what follows from
//! it (dimensions, stats, the interval method, the named source articles).

use serde::Serialize;

use super::{Calculation, Catalogue, Metric, TIME_OF_DAY};

/// The source articles by number, named as a reader would find them: title (in English, with
/// the language it was read in), author or publisher as the article names them, and date.
pub const SOURCES: &[(&str, &str)] = &[
    (
        "000",
        "Kimberly Parker, “14 customer service metrics to track (free report template)”, \
         a social-media marketing blog (read in Finnish)",
    ),
    (
        "001",
        "LiveAgent, “Top 16 customer service metrics to measure in 2025” (read in Slovenian)",
    ),
    (
        "002",
        "Nextiva, “The top 17 customer service metrics you need to track”, 18 February 2024 \
         (read in Thai)",
    ),
    (
        "003",
        "Stella Inabo, “18 important customer service metrics to measure in 2021”, a \
         social-media software guide, updated 10 February 2022 (read in Chinese)",
    ),
    (
        "004",
        "eDesk, “12 customer service KPIs to track your support goals”, 14 September 2021 \
         (read in Japanese)",
    ),
];

/// Time grains every metric can be bucketed by.
pub const TIME_GRAINS: [&str; 5] = [
    "time:day",
    "time:week",
    "time:month",
    "time:quarter",
    "time:year",
];

/// One metric as documented.
#[derive(Debug, Clone, Serialize)]
pub struct MetricDoc<'c> {
    /// The definition, every field.
    #[serde(flatten)]
    pub metric: &'c Metric,
    /// Entity dimensions it can be broken down and filtered by.
    pub dimensions: Vec<String>,
    /// Time dimensions: the grains, and the local time of day where it applies.
    pub time_dimensions: Vec<String>,
    /// Stats it takes (`mean`, `median`, `p1…p99`, and business variants).
    pub stats: Vec<String>,
    /// How its 95% interval is computed.
    pub interval: &'static str,
    /// The source articles, named.
    pub source_articles: Vec<String>,
}

/// How a calculation's interval is computed, in words.
pub fn interval_method(calc: Calculation) -> &'static str {
    match calc {
        Calculation::Proportion
        | Calculation::Share
        | Calculation::RepeatPurchase
        | Calculation::Retention
        | Calculation::Churn => "95% Wilson score interval",
        Calculation::Nps => "95%, multinomial variance of promoter and detractor shares",
        Calculation::Distribution => "95% Student-t interval for the mean",
        Calculation::Composite | Calculation::Spread => {
            "none (a composite across rates or agents); n is the customers or agents it rests on"
        }
        Calculation::Count | Calculation::Backlog | Calculation::CostRatio => {
            "none (a count or a cost ratio)"
        }
    }
}

impl Catalogue {
    /// The documented form of a metric.
    pub fn doc<'c>(&'c self, m: &'c Metric) -> MetricDoc<'c> {
        let mut time_dimensions: Vec<String> = TIME_GRAINS.iter().map(|s| s.to_string()).collect();
        if m.calculation.is_row_wise() && !m.is_per_bucket() {
            time_dimensions.extend(TIME_OF_DAY.iter().map(|s| s.to_string()));
        }
        let mut stats = Vec::new();
        if m.has_distribution() {
            stats.extend(["mean", "median", "p1…p99"].map(String::from));
            if m.business_value.is_some() {
                stats.extend(
                    ["business_mean", "business_median", "business_p1…p99"].map(String::from),
                );
            }
        }
        MetricDoc {
            metric: m,
            dimensions: self.dimensions_of(m).keys().cloned().collect(),
            time_dimensions,
            stats,
            interval: interval_method(m.calculation),
            source_articles: m
                .sources
                .iter()
                .map(|s| {
                    SOURCES
                        .iter()
                        .find(|(n, _)| n == s)
                        .map(|(_, l)| l.to_string())
                        .unwrap_or_else(|| s.clone())
                })
                .collect(),
        }
    }

    /// Every headline value's key, in catalogue order.
    pub fn headline_keys(&self) -> Vec<String> {
        self.metrics
            .iter()
            .flat_map(Metric::headline_keys)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_use_the_catalogues_own_names() {
        let c = Catalogue::builtin().unwrap();
        let m = c.metric("cost_per_resolution").unwrap();
        let json = serde_json::to_value(c.doc(m)).unwrap();
        assert_eq!(json["calculation"], "cost_ratio");
        assert_eq!(json["direction"], "lower_is_better");
        assert_eq!(json["group"], "resolution");
        assert_eq!(json["family"], "tickets");
        let frt = serde_json::to_value(c.doc(c.metric("first_response_time").unwrap())).unwrap();
        assert!(frt["time_dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "time:hour"));
        assert!(frt["stats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "business_median"));
        assert!(c
            .headline_keys()
            .contains(&"first_response_time:p90".to_string()));
    }
}
