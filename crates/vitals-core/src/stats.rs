//! Sampling statistics: 95% confidence intervals for proportions (Wilson), means (Student's
//! t) and the Net Promoter Score (multinomial variance of the promoter and detractor shares).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Wilson score interval for `successes` of `n`, in percent (0–100).
pub fn wilson_percent(successes: f64, n: f64) -> Option<Interval> {
    if n <= 0.0 {
        return None;
    }
    let p = successes / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(Interval {
        low: 100.0 * (centre - half).max(0.0),
        high: 100.0 * (centre + half).min(1.0),
    })
}

/// Student-t interval for a mean from `n` observations with sample standard deviation `sd`.
pub fn t_interval(mean: f64, sd: f64, n: f64) -> Option<Interval> {
    if n < 2.0 || !sd.is_finite() {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, n - 1.0).ok()?.inverse_cdf(0.975);
    let half = t * sd / n.sqrt();
    Some(Interval {
        low: mean - half,
        high: mean + half,
    })
}

/// NPS interval from counts: var = (p + d − (p − d)²) / n on the share scale.
pub fn nps_interval(promoters: f64, detractors: f64, n: f64) -> Option<Interval> {
    if n <= 0.0 {
        return None;
    }
    let (p, d) = (promoters / n, detractors / n);
    let score = p - d;
    let se = ((p + d - score * score) / n).max(0.0).sqrt();
    Some(Interval {
        low: 100.0 * (score - Z95 * se).max(-1.0),
        high: 100.0 * (score + Z95 * se).min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_reference() {
        // 30 of 50: Wilson 95% = [46.18%, 72.39%] (standard tables).
        let i = wilson_percent(30.0, 50.0).unwrap();
        assert!(
            (i.low - 46.18).abs() < 0.01 && (i.high - 72.39).abs() < 0.01,
            "{i:?}"
        );
        assert!(wilson_percent(0.0, 0.0).is_none());
    }

    #[test]
    fn t_interval_matches_reference() {
        // n = 10, mean 5, sd 2: t(0.975, 9) = 2.2622 → half width 1.4307.
        let i = t_interval(5.0, 2.0, 10.0).unwrap();
        assert!((i.high - 6.4307).abs() < 1e-3, "{i:?}");
        assert!(t_interval(5.0, 0.0, 1.0).is_none());
    }

    #[test]
    fn nps_interval_is_centred_on_the_score() {
        let i = nps_interval(70.0, 10.0, 100.0).unwrap();
        assert!(((i.low + i.high) / 2.0 - 60.0).abs() < 1e-9);
        // var = (0.7 + 0.1 − 0.36) / 100 = 0.0044 → se = 0.0663
        assert!((i.high - 60.0 - 100.0 * Z95 * 0.0044f64.sqrt()).abs() < 1e-9);
    }
}
