//! The arithmetic of `vitals why`: a metric's change between two periods split exactly over
//! the segments of one dimension, with no database and no catalogue (so every identity is a
//! unit test).
//!
//! - Ratios, means and NPS (a value `R = Σ wᵢ·rᵢ`, with `wᵢ` the segment's share of the
//!   denominator or of the observations and `rᵢ` its rate or mean): the midpoint split. A
//!   segment's rate effect is `w̄ᵢ·Δrᵢ` and its mix effect `(r̄ᵢ − R̄)·Δwᵢ` (bars are the
//!   mean of the two periods, `R̄` the mean of the two totals). Because `Σ Δwᵢ = 0`, the mix
//!   effects add up to exactly what `Σ r̄ᵢ·Δwᵢ` does, and rate plus mix adds up to the total
//!   change with no residual; measuring the mix from the overall level keeps a segment that
//!   only grew at the average rate from showing an effect. A segment absent in one period
//!   takes its other period's rate there (all of its part is mix).
//! - NPS is `100·(P − D)`: the promoter and detractor shares are each split as above, and the
//!   segment's NPS part is the promoters' part minus the detractors'.
//! - Counts and sums: a segment's part is its own count change.
//! - Quantiles: the same split over the segments' own quantiles; it explains the change of
//!   their share-weighted average, and what it does not explain of the quantile's change is
//!   the `remainder`, shown as its own line.
//!
//! Each segment's own change carries a test (`vitals_core::stats::significance`: two-proportion
//! z, Welch t, NPS z, Poisson) and the change of its share a two-proportion z test; the
//! p-values of one answer are adjusted together (Holm) so that among many segments noise is not
//! reported as a cause.

use serde::{Deserialize, Serialize};
use vitals_core::stats::{significance, Basis};

/// How a metric's change is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A proportion or ratio (percent): midpoint rate/mix.
    Ratio,
    /// A mean: midpoint rate/mix.
    Mean,
    /// Net Promoter Score, through its promoter and detractor shares.
    Nps,
    /// A count or sum: each segment's count change.
    Count,
    /// A quantile: segment quantiles with shares, plus a remainder.
    Quantile,
}

/// One period of one segment as the query answered it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Side {
    /// The segment's value (rate, mean, NPS, count or quantile).
    pub value: Option<f64>,
    /// Its denominator, observations or count.
    pub n: f64,
    /// What the value rests on (for tests).
    pub basis: Option<Basis>,
}

impl Side {
    fn present(&self) -> bool {
        self.n > 0.0 && self.value.is_some()
    }
}

/// A segment's parts of the change.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Parts {
    /// `w̄·Δr` (not for counts).
    pub rate: Option<f64>,
    /// `(r̄ − R̄)·Δw` (not for counts).
    pub mix: Option<f64>,
    /// For NPS: the promoters' part and the detractors' part (they add up to `contribution`).
    pub nps: Option<(f64, f64)>,
    /// The segment's part of the change.
    pub contribution: f64,
    /// Share of the current period (of the denominator, observations or count).
    pub share: f64,
    /// Share of the comparison period.
    pub previous_share: f64,
}

fn total(sides: &[Side]) -> f64 {
    sides.iter().filter(|s| s.present()).map(|s| s.n).sum()
}

fn shares(sides: &[Side]) -> Vec<f64> {
    let n = total(sides);
    sides
        .iter()
        .map(|s| if s.present() && n > 0.0 { s.n / n } else { 0.0 })
        .collect()
}

/// The midpoint split of `R = Σ wᵢ·rᵢ` for rates `r` read by `rate` from each side.
fn midpoint(
    current: &[Side],
    previous: &[Side],
    rate: impl Fn(&Side) -> Option<f64>,
) -> Vec<(f64, f64)> {
    let (w1, w0) = (shares(current), shares(previous));
    let rates: Vec<(f64, f64)> = current
        .iter()
        .zip(previous)
        .map(|(c, p)| {
            let (r1, r0) = (
                rate(c).filter(|_| c.present()),
                rate(p).filter(|_| p.present()),
            );
            let r1 = r1.or(r0).unwrap_or(0.0);
            (r1, r0.unwrap_or(r1))
        })
        .collect();
    let level = |w: &[f64], pick: fn(&(f64, f64)) -> f64| -> f64 {
        w.iter().zip(&rates).map(|(w, r)| w * pick(r)).sum()
    };
    let overall = 0.5 * (level(&w1, |r| r.0) + level(&w0, |r| r.1));
    rates
        .iter()
        .enumerate()
        .map(|(i, (r1, r0))| {
            let rate_effect = 0.5 * (w1[i] + w0[i]) * (r1 - r0);
            let mix_effect = (0.5 * (r1 + r0) - overall) * (w1[i] - w0[i]);
            (rate_effect, mix_effect)
        })
        .collect()
}

/// Promoter and detractor shares (percent) of an NPS side.
fn nps_shares(side: &Side) -> Option<(f64, f64)> {
    match side.basis {
        Some(Basis::Nps { p, d, n }) if n > 0.0 => Some((100.0 * p / n, 100.0 * d / n)),
        _ => None,
    }
}

/// Splits the change over segments (`current[i]` and `previous[i]` are segment i's two
/// periods). Segments partition the rows, so for every method but quantiles the parts add up
/// to the change of the totals.
pub fn decompose(method: Method, current: &[Side], previous: &[Side]) -> Vec<Parts> {
    let (w1, w0) = (shares(current), shares(previous));
    let base = |i: usize| Parts {
        share: w1[i],
        previous_share: w0[i],
        ..Default::default()
    };
    match method {
        Method::Count => current
            .iter()
            .zip(previous)
            .enumerate()
            .map(|(i, (c, p))| Parts {
                contribution: c.value.unwrap_or(0.0) - p.value.unwrap_or(0.0),
                ..base(i)
            })
            .collect(),
        Method::Ratio | Method::Mean | Method::Quantile => midpoint(current, previous, |s| s.value)
            .into_iter()
            .enumerate()
            .map(|(i, (rate, mix))| Parts {
                rate: Some(rate),
                mix: Some(mix),
                contribution: rate + mix,
                ..base(i)
            })
            .collect(),
        Method::Nps => {
            let promoters = midpoint(current, previous, |s| nps_shares(s).map(|x| x.0));
            let detractors = midpoint(current, previous, |s| nps_shares(s).map(|x| x.1));
            promoters
                .into_iter()
                .zip(detractors)
                .enumerate()
                .map(|(i, ((pr, pm), (dr, dm)))| {
                    let (rate, mix) = (pr - dr, pm - dm);
                    Parts {
                        rate: Some(rate),
                        mix: Some(mix),
                        nps: Some((pr + pm, -(dr + dm))),
                        contribution: rate + mix,
                        ..base(i)
                    }
                })
                .collect()
        }
    }
}

/// The bases of several segments as one (for the folded "other" segment); `None` when they
/// cannot be combined.
pub fn combine(sides: &[Side]) -> Option<Basis> {
    let bases: Vec<Basis> = sides
        .iter()
        .filter(|s| s.n > 0.0)
        .map(|s| s.basis)
        .collect::<Option<_>>()?;
    let first = *bases.first()?;
    match first {
        Basis::Proportion { .. } => {
            let (mut k, mut n) = (0.0, 0.0);
            for b in &bases {
                let Basis::Proportion { k: bk, n: bn } = b else {
                    return None;
                };
                (k, n) = (k + bk, n + bn);
            }
            Some(Basis::Proportion { k, n })
        }
        Basis::Nps { .. } => {
            let (mut p, mut d, mut n) = (0.0, 0.0, 0.0);
            for b in &bases {
                let Basis::Nps {
                    p: bp,
                    d: bd,
                    n: bn,
                } = b
                else {
                    return None;
                };
                (p, d, n) = (p + bp, d + bd, n + bn);
            }
            Some(Basis::Nps { p, d, n })
        }
        Basis::Count(_) => {
            let mut c = 0.0;
            for b in &bases {
                let Basis::Count(bc) = b else { return None };
                c += bc;
            }
            Some(Basis::Count(c))
        }
        Basis::Mean { .. } => {
            let mut parts = Vec::new();
            for b in &bases {
                let Basis::Mean { mean, sd, n } = *b else {
                    return None;
                };
                parts.push((mean, sd, n));
            }
            let n: f64 = parts.iter().map(|p| p.2).sum();
            let mean = parts.iter().map(|p| p.0 * p.2).sum::<f64>() / n;
            // Pooled: within-segment sums of squares plus between-segment ones.
            let ss: f64 = parts
                .iter()
                .map(|&(m, sd, k)| {
                    let within = if k > 1.0 && sd.is_finite() {
                        (k - 1.0) * sd * sd
                    } else {
                        0.0
                    };
                    within + k * (m - mean) * (m - mean)
                })
                .sum();
            let sd = if n > 1.0 {
                (ss / (n - 1.0)).sqrt()
            } else {
                f64::NAN
            };
            Some(Basis::Mean { mean, sd, n })
        }
    }
}

/// The value of a combined basis in the metric's unit (percent for proportions and NPS).
pub fn basis_value(basis: &Basis) -> Option<f64> {
    match *basis {
        Basis::Proportion { k, n } => (n > 0.0).then(|| 100.0 * k / n),
        Basis::Nps { p, d, n } => (n > 0.0).then(|| 100.0 * (p - d) / n),
        Basis::Mean { mean, .. } => mean.is_finite().then_some(mean),
        Basis::Count(c) => Some(c),
    }
}

/// 1.96: the two-sided 95% normal quantile.
const Z95: f64 = 1.959_963_984_540_054;

/// A 95% normal-approximation interval of the segment's own change (current − previous), in
/// the metric's unit.
pub fn change_interval(current: &Basis, previous: &Basis) -> Option<(f64, f64)> {
    let (diff, var) = match (*current, *previous) {
        (Basis::Proportion { k: k1, n: n1 }, Basis::Proportion { k: k0, n: n0 }) => {
            if n1 <= 0.0 || n0 <= 0.0 {
                return None;
            }
            let (p1, p0) = (k1 / n1, k0 / n0);
            let var = p1 * (1.0 - p1) / n1 + p0 * (1.0 - p0) / n0;
            (100.0 * (p1 - p0), 1e4 * var)
        }
        (
            Basis::Nps {
                p: p1,
                d: d1,
                n: n1,
            },
            Basis::Nps {
                p: p0,
                d: d0,
                n: n0,
            },
        ) => {
            if n1 <= 0.0 || n0 <= 0.0 {
                return None;
            }
            let var = |p: f64, d: f64, n: f64| {
                let (p, d) = (p / n, d / n);
                ((p + d - (p - d) * (p - d)) / n).max(0.0)
            };
            let diff = (p1 - d1) / n1 - (p0 - d0) / n0;
            (100.0 * diff, 1e4 * (var(p1, d1, n1) + var(p0, d0, n0)))
        }
        (
            Basis::Mean {
                mean: m1,
                sd: s1,
                n: n1,
            },
            Basis::Mean {
                mean: m0,
                sd: s0,
                n: n0,
            },
        ) => {
            if n1 < 2.0 || n0 < 2.0 || !s1.is_finite() || !s0.is_finite() {
                return None;
            }
            (m1 - m0, s1 * s1 / n1 + s0 * s0 / n0)
        }
        (Basis::Count(a), Basis::Count(b)) => (a - b, a + b),
        _ => return None,
    };
    let half = Z95 * var.sqrt();
    Some((diff - half, diff + half))
}

/// The test of a segment's own change: the value's (rate kinds) through the bases.
pub fn value_test(current: Option<&Basis>, previous: Option<&Basis>) -> Option<(String, f64)> {
    let s = significance(current?, previous?)?;
    Some((s.test.to_string(), s.p_value))
}

/// The test of the change of a segment's share: `k1` of `n1` against `k0` of `n0`.
pub fn share_test(k1: f64, n1: f64, k0: f64, n0: f64) -> Option<(String, f64)> {
    value_test(
        Some(&Basis::Proportion { k: k1, n: n1 }),
        Some(&Basis::Proportion { k: k0, n: n0 }),
    )
}

/// Holm's step-down adjustment of p-values (each at most 1), in the order given.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(k: f64, n: f64) -> Side {
        Side {
            value: (n > 0.0).then(|| 100.0 * k / n),
            n,
            basis: (n > 0.0).then_some(Basis::Proportion { k, n }),
        }
    }

    fn mean(m: f64, sd: f64, n: f64) -> Side {
        Side {
            value: (n > 0.0).then_some(m),
            n,
            basis: (n > 0.0).then_some(Basis::Mean { mean: m, sd, n }),
        }
    }

    fn nps(p: f64, d: f64, n: f64) -> Side {
        Side {
            value: (n > 0.0).then(|| 100.0 * (p - d) / n),
            n,
            basis: (n > 0.0).then_some(Basis::Nps { p, d, n }),
        }
    }

    fn count(c: f64) -> Side {
        Side {
            value: Some(c),
            n: c,
            basis: Some(Basis::Count(c)),
        }
    }

    /// The total of segments as one: the value the query without a breakdown answers.
    fn whole(sides: &[Side]) -> f64 {
        basis_value(&combine(sides).unwrap()).unwrap()
    }

    fn assert_identity(method: Method, current: &[Side], previous: &[Side]) {
        let parts = decompose(method, current, previous);
        let sum: f64 = parts.iter().map(|p| p.contribution).sum();
        let change = whole(current) - whole(previous);
        assert!(
            (sum - change).abs() < 1e-9,
            "{method:?}: parts {sum} vs change {change}"
        );
        for p in &parts {
            if let (Some(r), Some(m)) = (p.rate, p.mix) {
                assert!((r + m - p.contribution).abs() < 1e-12);
            }
            if let Some((pr, de)) = p.nps {
                assert!((pr + de - p.contribution).abs() < 1e-9);
            }
        }
    }

    /// A deterministic stream of numbers in [0, 1).
    fn stream(seed: u64) -> impl FnMut() -> f64 {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn parts_add_up_to_the_change_for_every_kind() {
        for seed in 1..200 {
            let mut r = stream(seed);
            let segments = 1 + (r() * 9.0) as usize;
            let mut side = |kind: u8, present: bool| -> Side {
                let n = if present {
                    (1.0 + r() * 500.0).floor()
                } else {
                    0.0
                };
                match kind {
                    0 => prop((r() * n).floor(), n),
                    1 => mean(r() * 1e5, r() * 1e4, n),
                    2 => {
                        let p = (r() * n).floor();
                        nps(p, (r() * (n - p)).floor(), n)
                    }
                    _ => count(n),
                }
            };
            for (kind, method) in [
                (0, Method::Ratio),
                (1, Method::Mean),
                (2, Method::Nps),
                (3, Method::Count),
            ] {
                // Some segments are new (absent before) or vanished (absent now).
                let current: Vec<Side> = (0..segments).map(|i| side(kind, i != 1)).collect();
                let previous: Vec<Side> = (0..segments)
                    .map(|i| side(kind, i != 2 || segments < 3))
                    .collect();
                assert_identity(method, &current, &previous);
            }
        }
    }

    #[test]
    fn rate_and_mix_split_as_the_formula_says() {
        // Email 90% of 600 → 90% of 300; phone 60% of 200 → 60% of 500; chat 85% of 200.
        let previous = [prop(540.0, 600.0), prop(120.0, 200.0), prop(170.0, 200.0)];
        let current = [prop(270.0, 300.0), prop(300.0, 500.0), prop(170.0, 200.0)];
        let parts = decompose(Method::Ratio, &current, &previous);
        // Totals 83% → 74%: the whole −9 points is mix; no segment's rate moved.
        assert!(parts.iter().all(|p| p.rate.unwrap().abs() < 1e-12));
        // Phone: (60 − 78.5)·(+0.3) = −5.55; email: (90 − 78.5)·(−0.3) = −3.45; chat 0.
        assert!((parts[1].mix.unwrap() + 5.55).abs() < 1e-9);
        assert!((parts[0].mix.unwrap() + 3.45).abs() < 1e-9);
        assert!(parts[2].mix.unwrap().abs() < 1e-12);
        // A rate change in a fixed mix: w̄·Δr.
        let parts = decompose(
            Method::Ratio,
            &[prop(50.0, 100.0), prop(90.0, 100.0)],
            &[prop(90.0, 100.0), prop(90.0, 100.0)],
        );
        assert!((parts[0].rate.unwrap() + 20.0).abs() < 1e-9);
        assert_eq!(parts[0].mix, Some(0.0));
    }

    #[test]
    fn new_and_vanished_segments_are_all_mix() {
        let parts = decompose(
            Method::Mean,
            &[mean(10.0, 1.0, 50.0), mean(30.0, 1.0, 50.0)],
            &[mean(10.0, 1.0, 100.0), mean(0.0, 0.0, 0.0)],
        );
        assert_eq!(parts[1].rate, Some(0.0));
        // Total 10 → 20; the new segment at 30 against the level 15: (30 − 15)·0.5 = 7.5.
        assert!((parts[1].mix.unwrap() - 7.5).abs() < 1e-12);
        assert!((parts[0].contribution + parts[1].contribution - 10.0).abs() < 1e-12);
    }

    #[test]
    fn combined_bases_equal_the_whole() {
        let a = mean(10.0, 2.0, 30.0);
        let b = mean(14.0, 3.0, 10.0);
        let Some(Basis::Mean { mean: m, sd, n }) = combine(&[a, b]) else {
            panic!("a mean");
        };
        assert_eq!(n, 40.0);
        assert!((m - 11.0).abs() < 1e-12);
        // Σ(k−1)sd² + Σk(m−M)² = 29·4 + 9·9 + 30·1 + 10·9 = 317 over 39.
        assert!((sd - (317.0f64 / 39.0).sqrt()).abs() < 1e-12);
        assert_eq!(
            combine(&[prop(3.0, 10.0), prop(1.0, 5.0)]),
            Some(Basis::Proportion { k: 4.0, n: 15.0 })
        );
        assert_eq!(combine(&[count(3.0), count(0.0)]), Some(Basis::Count(3.0)));
    }

    #[test]
    fn holm_adjusts_step_down() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.2]);
        for (a, b) in adjusted.iter().zip([0.04, 0.09, 0.09, 0.2]) {
            assert!((a - b).abs() < 1e-12, "{adjusted:?}");
        }
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn change_intervals_cover_the_difference() {
        let (lo, hi) = change_interval(
            &Basis::Proportion { k: 50.0, n: 100.0 },
            &Basis::Proportion { k: 90.0, n: 100.0 },
        )
        .unwrap();
        assert!(lo < -40.0 && -40.0 < hi && hi < 0.0);
        let (lo, hi) = change_interval(&Basis::Count(200.0), &Basis::Count(100.0)).unwrap();
        assert!((hi - lo - 2.0 * Z95 * 300f64.sqrt()).abs() < 1e-9);
    }
}
