//! Sampling statistics: 95% confidence intervals for proportions (Wilson), means (Student's
//! t) and the Net Promoter Score (multinomial variance of the promoter and detractor shares),
//! and the tests that say whether a change between two periods is significant: the
//! two-proportion z test, the NPS difference over its variance, Welch's t test for means and a
//! conditional z test for counts.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

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

/// What a value rests on, for comparing it with another period's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// `k` of `n`.
    Proportion {
        /// Successes.
        k: f64,
        /// Trials.
        n: f64,
    },
    /// Promoters, detractors, responses.
    Nps {
        /// Promoters.
        p: f64,
        /// Detractors.
        d: f64,
        /// Responses.
        n: f64,
    },
    /// A sample mean.
    Mean {
        /// Mean.
        mean: f64,
        /// Sample standard deviation.
        sd: f64,
        /// Observations.
        n: f64,
    },
    /// A count of events (Poisson).
    Count(f64),
}

/// A test of the difference between two periods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Significance {
    /// The test: `two_proportion_z`, `nps_difference_z`, `welch_t`, `poisson_z`.
    pub test: &'static str,
    /// Two-sided p-value.
    pub p_value: f64,
}

impl Significance {
    /// Significant at the 5% level.
    pub fn significant(&self) -> bool {
        self.p_value < 0.05
    }
}

fn two_sided_normal(z: f64) -> Option<f64> {
    let normal = Normal::new(0.0, 1.0).ok()?;
    z.is_finite().then(|| 2.0 * (1.0 - normal.cdf(z.abs())))
}

/// Tests the difference between `current` and `previous` (of the same kind).
pub fn significance(current: &Basis, previous: &Basis) -> Option<Significance> {
    let (test, p_value) = match (*current, *previous) {
        (Basis::Proportion { k: k1, n: n1 }, Basis::Proportion { k: k2, n: n2 }) => {
            if n1 <= 0.0 || n2 <= 0.0 {
                return None;
            }
            let pooled = (k1 + k2) / (n1 + n2);
            let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
            let diff = k1 / n1 - k2 / n2;
            let p = if se > 0.0 {
                two_sided_normal(diff / se)?
            } else {
                1.0
            };
            ("two_proportion_z", p)
        }
        (
            Basis::Nps {
                p: p1,
                d: d1,
                n: n1,
            },
            Basis::Nps {
                p: p2,
                d: d2,
                n: n2,
            },
        ) => {
            if n1 <= 0.0 || n2 <= 0.0 {
                return None;
            }
            let var = |p: f64, d: f64, n: f64| {
                let (p, d) = (p / n, d / n);
                ((p + d - (p - d) * (p - d)) / n).max(0.0)
            };
            let se = (var(p1, d1, n1) + var(p2, d2, n2)).sqrt();
            let diff = (p1 - d1) / n1 - (p2 - d2) / n2;
            let p = if se > 0.0 {
                two_sided_normal(diff / se)?
            } else if diff == 0.0 {
                1.0
            } else {
                0.0
            };
            ("nps_difference_z", p)
        }
        (
            Basis::Mean {
                mean: m1,
                sd: s1,
                n: n1,
            },
            Basis::Mean {
                mean: m2,
                sd: s2,
                n: n2,
            },
        ) => {
            if n1 < 2.0 || n2 < 2.0 || !s1.is_finite() || !s2.is_finite() {
                return None;
            }
            let (v1, v2) = (s1 * s1 / n1, s2 * s2 / n2);
            let se = (v1 + v2).sqrt();
            if se <= 0.0 {
                return Some(Significance {
                    test: "welch_t",
                    p_value: if m1 == m2 { 1.0 } else { 0.0 },
                });
            }
            let t = (m1 - m2) / se;
            let df = (v1 + v2).powi(2) / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0));
            let dist = StudentsT::new(0.0, 1.0, df).ok()?;
            ("welch_t", 2.0 * (1.0 - dist.cdf(t.abs())))
        }
        (Basis::Count(a), Basis::Count(b)) => {
            if a + b <= 0.0 {
                return None;
            }
            ("poisson_z", two_sided_normal((a - b) / (a + b).sqrt())?)
        }
        _ => return None,
    };
    Some(Significance { test, p_value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significance_tests_match_references() {
        // 60/100 vs 45/100: pooled 0.525, z = 0.15 / √(0.525·0.475·0.02) = 2.1239 → p = 0.0337.
        let s = significance(
            &Basis::Proportion { k: 60.0, n: 100.0 },
            &Basis::Proportion { k: 45.0, n: 100.0 },
        )
        .unwrap();
        assert!((s.p_value - 0.0337).abs() < 1e-3, "{s:?}");
        assert!(s.significant());
        // Welch: means 10 vs 12, sd 2 and 3, n 20 and 25: t = −2.6786, df ≈ 41.74,
        // p ≈ 0.0105 (R: t.test with var.equal = FALSE).
        let w = significance(
            &Basis::Mean {
                mean: 10.0,
                sd: 2.0,
                n: 20.0,
            },
            &Basis::Mean {
                mean: 12.0,
                sd: 3.0,
                n: 25.0,
            },
        )
        .unwrap();
        assert!((w.p_value - 0.0105).abs() < 1e-3, "{w:?}");
        // NPS 60 (70/10 of 100) vs 40 (55/15 of 100): se = √(0.0044 + 0.0054) → z = 2.0203.
        let n = significance(
            &Basis::Nps {
                p: 70.0,
                d: 10.0,
                n: 100.0,
            },
            &Basis::Nps {
                p: 55.0,
                d: 15.0,
                n: 100.0,
            },
        )
        .unwrap();
        assert!((n.p_value - 0.0434).abs() < 1e-3, "{n:?}");
        // Counts 130 vs 100: z = 30 / √230 = 1.978 → p = 0.0479.
        let c = significance(&Basis::Count(130.0), &Basis::Count(100.0)).unwrap();
        assert!((c.p_value - 0.0479).abs() < 1e-3, "{c:?}");
        assert!(significance(&Basis::Count(0.0), &Basis::Count(0.0)).is_none());
        assert!(significance(&Basis::Count(1.0), &Basis::Proportion { k: 1.0, n: 2.0 }).is_none());
    }

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
