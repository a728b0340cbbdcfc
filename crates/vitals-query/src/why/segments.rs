//! The segments of one dimension in a `why` answer: the change split over them, small ones
//! folded into `other`, each named (rate, mix, count, new, vanished, other) and tested; then,
//! over the whole answer, the tests adjusted together (Holm), each dimension's drivers chosen
//! and the dimensions ranked by explanatory power (see [`super::METHOD`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::decompose::{
    basis_value, change_interval, combine, decompose, holm, share_test, value_test, Method, Parts,
    Side,
};

/// What a segment's part of the change mostly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// The segment got better or worse (rate effect larger).
    Rate,
    /// The segment became a bigger or smaller share of the work (mix effect larger).
    Mix,
    /// Its own count changed (counts).
    Count,
    /// Absent in the comparison period.
    New,
    /// Absent in the period.
    Vanished,
    /// Segments below the support floor, folded.
    Other,
}

/// One period of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SegmentSide {
    /// Its value (rate, mean, NPS, count or quantile; null when absent).
    pub value: Option<f64>,
    /// Its denominator, observations or count.
    pub n: u64,
    /// Its share of the period's denominator, observations or count (0–1).
    pub share: f64,
}

/// One segment of a dimension.
#[derive(Debug, Clone, Serialize)]
pub struct WhySegment {
    /// The segment (`email`; null for rows without a value; `other` for the folded ones).
    pub value: Option<String>,
    /// What its part mostly is.
    pub kind: SegmentKind,
    /// One of the dimension's drivers.
    pub driver: bool,
    /// `w̄·Δr` (ratios, means, NPS, quantiles).
    pub rate_effect: Option<f64>,
    /// `(r̄ − R̄)·Δw` (ratios, means, NPS, quantiles).
    pub mix_effect: Option<f64>,
    /// For NPS: the part through the promoter share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promoter_effect: Option<f64>,
    /// For NPS: the part through the detractor share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detractor_effect: Option<f64>,
    /// Its part of the change: rate + mix, or the count change.
    pub contribution: f64,
    /// `contribution / change`.
    pub share_of_change: Option<f64>,
    /// Share of the change minus its share of the volume (mean of the two periods).
    pub excess: Option<f64>,
    /// The period.
    pub current: SegmentSide,
    /// The comparison period.
    pub previous: SegmentSide,
    /// Its own change (current − previous value).
    pub change: Option<f64>,
    /// 95% interval of its own change, low end.
    pub change_low: Option<f64>,
    /// 95% interval of its own change, high end.
    pub change_high: Option<f64>,
    /// The test of its kind's change (its value's, or its share's for mix, new and vanished).
    pub test: Option<String>,
    /// The test's two-sided p-value.
    pub p_value: Option<f64>,
    /// The p-value adjusted over the whole answer (Holm).
    pub p_adjusted: Option<f64>,
    /// The adjusted p < 0.05 (null without a test).
    pub significant: Option<bool>,
    /// For `other`: how many segments it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folded: Option<usize>,
}

/// One dimension of a `why` answer.
#[derive(Debug, Clone, Serialize)]
pub struct WhyDimension {
    /// The dimension (`ticket:channel`).
    pub dimension: String,
    /// Share of the change the drivers account for.
    pub explained: Option<f64>,
    /// Explanatory power: half the sum of the segments' |excess| (0–…).
    pub power: Option<f64>,
    /// How many segments drive it.
    pub segments_needed: usize,
    /// Sum of the segments' rate effects.
    pub rate_effect: Option<f64>,
    /// Sum of the segments' mix effects.
    pub mix_effect: Option<f64>,
    /// The change minus the segments' contributions: 0 up to rounding but for quantiles.
    pub remainder: f64,
    /// The segments, drivers first (largest excess first).
    pub segments: Vec<WhySegment>,
}

/// A segment's parts and sides before it is named and tested.
struct Segment {
    value: Option<String>,
    current: Side,
    previous: Side,
    parts: Parts,
    folded: usize,
}

impl Segment {
    /// Segments folded into `other`: parts summed, bases combined.
    fn combined(method: Method, members: &[Segment]) -> Segment {
        let sum = |f: fn(&Parts) -> Option<f64>| -> Option<f64> {
            members.iter().map(|m| f(&m.parts)).sum()
        };
        let side = |pick: fn(&Segment) -> Side| -> Side {
            let all: Vec<Side> = members.iter().map(pick).collect();
            let basis = combine(&all);
            Side {
                value: match method {
                    Method::Quantile => None,
                    _ => basis.as_ref().and_then(basis_value),
                },
                n: all.iter().map(|s| s.n).sum(),
                basis,
            }
        };
        Segment {
            value: Some("other".into()),
            current: side(|m| m.current),
            previous: side(|m| m.previous),
            parts: Parts {
                rate: sum(|p| p.rate),
                mix: sum(|p| p.mix),
                nps: members
                    .iter()
                    .map(|m| m.parts.nps)
                    .try_fold((0.0, 0.0), |acc, x| x.map(|(p, d)| (acc.0 + p, acc.1 + d))),
                contribution: members.iter().map(|m| m.parts.contribution).sum(),
                share: members.iter().map(|m| m.parts.share).sum(),
                previous_share: members.iter().map(|m| m.parts.previous_share).sum(),
            },
            folded: members.len(),
        }
    }
}

fn side(s: &Side, share: f64) -> SegmentSide {
    SegmentSide {
        value: s.value.filter(|_| s.n > 0.0),
        n: s.n as u64,
        share,
    }
}

/// Names, tests and measures one segment; `totals` are the two periods' denominators.
fn segment(method: Method, s: Segment, change: f64, totals: (f64, f64)) -> WhySegment {
    let Parts {
        rate,
        mix,
        nps,
        contribution,
        share,
        previous_share,
    } = s.parts;
    let rate_larger = rate.unwrap_or(0.0).abs() >= mix.unwrap_or(0.0).abs();
    let kind = if s.folded > 0 {
        SegmentKind::Other
    } else if s.previous.n <= 0.0 && s.current.n > 0.0 {
        SegmentKind::New
    } else if s.current.n <= 0.0 && s.previous.n > 0.0 {
        SegmentKind::Vanished
    } else if method == Method::Count {
        SegmentKind::Count
    } else if rate_larger {
        SegmentKind::Rate
    } else {
        SegmentKind::Mix
    };
    let own_test = method == Method::Count
        || matches!(kind, SegmentKind::Rate)
        || (kind == SegmentKind::Other && rate_larger);
    let test = if own_test {
        value_test(s.current.basis.as_ref(), s.previous.basis.as_ref())
    } else {
        share_test(s.current.n, totals.0, s.previous.n, totals.1)
    };
    let both = s.current.n > 0.0 && s.previous.n > 0.0;
    let own_change = s
        .current
        .value
        .zip(s.previous.value)
        .filter(|_| both)
        .map(|(a, b)| a - b);
    let interval = match (s.current.basis, s.previous.basis) {
        (Some(a), Some(b)) if both => change_interval(&a, &b),
        _ => None,
    };
    let share_of_change = (change != 0.0).then(|| contribution / change);
    WhySegment {
        value: s.value,
        kind,
        driver: false,
        rate_effect: rate,
        mix_effect: mix,
        promoter_effect: nps.map(|x| x.0),
        detractor_effect: nps.map(|x| x.1),
        contribution,
        share_of_change,
        excess: share_of_change.map(|c| c - 0.5 * (share + previous_share)),
        current: side(&s.current, share),
        previous: side(&s.previous, previous_share),
        change: own_change,
        change_low: interval.map(|i| i.0),
        change_high: interval.map(|i| i.1),
        test: test.as_ref().map(|t| t.0.clone()),
        p_value: test.map(|t| t.1),
        p_adjusted: None,
        significant: None,
        folded: (s.folded > 0).then_some(s.folded),
    }
}

/// The change split over one dimension's segments (`segments`: each value's two periods).
pub(super) fn dimension(
    method: Method,
    name: &str,
    change: f64,
    segments: BTreeMap<Option<String>, (Side, Side)>,
    min_support: f64,
) -> WhyDimension {
    let (labels, pairs): (Vec<Option<String>>, Vec<(Side, Side)>) = segments.into_iter().unzip();
    let (current, previous): (Vec<Side>, Vec<Side>) = pairs.into_iter().unzip();
    let parts = decompose(method, &current, &previous);
    let totals = (
        current.iter().map(|s| s.n).sum::<f64>(),
        previous.iter().map(|s| s.n).sum::<f64>(),
    );
    let (small, mut list): (Vec<Segment>, Vec<Segment>) = labels
        .into_iter()
        .zip(current.into_iter().zip(previous))
        .zip(parts)
        .map(|((value, (current, previous)), parts)| Segment {
            value,
            current,
            previous,
            parts,
            folded: 0,
        })
        .partition(|s| s.current.n.max(s.previous.n) < min_support);
    if small.len() >= 2 {
        list.push(Segment::combined(method, &small));
    } else {
        list.extend(small);
    }
    let explained_sum: f64 = list.iter().map(|s| s.parts.contribution).sum();
    let sum =
        |f: fn(&Parts) -> Option<f64>| -> Option<f64> { list.iter().map(|s| f(&s.parts)).sum() };
    let (rate_effect, mix_effect) = (sum(|p| p.rate), sum(|p| p.mix));
    let mut segments: Vec<WhySegment> = list
        .into_iter()
        .map(|s| segment(method, s, change, totals))
        .collect();
    segments.sort_by(|a, b| {
        let excess = |s: &WhySegment| s.excess.unwrap_or(f64::NEG_INFINITY);
        excess(b)
            .total_cmp(&excess(a))
            .then(b.contribution.abs().total_cmp(&a.contribution.abs()))
            .then_with(|| a.value.cmp(&b.value))
    });
    WhyDimension {
        dimension: name.to_string(),
        explained: None,
        power: (change != 0.0).then(|| {
            0.5 * segments
                .iter()
                .filter_map(|s| s.excess)
                .map(f64::abs)
                .sum::<f64>()
        }),
        segments_needed: 0,
        rate_effect,
        mix_effect,
        remainder: change - explained_sum,
        segments,
    }
}

/// Adjusts every test of the answer together (Holm), picks each dimension's drivers (its
/// segments of largest positive excess, until they hold 80% of its power, that are significant
/// or, untested, have `min_support` rows in both periods) and ranks the dimensions: those with
/// drivers first, by power, then fewest drivers.
pub(super) fn judge(dimensions: &mut [WhyDimension], min_support: u64) {
    let tested: Vec<(usize, usize, f64)> = dimensions
        .iter()
        .enumerate()
        .flat_map(|(d, dim)| {
            dim.segments
                .iter()
                .enumerate()
                .filter_map(move |(s, seg)| seg.p_value.map(|p| (d, s, p)))
        })
        .collect();
    let adjusted = holm(&tested.iter().map(|t| t.2).collect::<Vec<_>>());
    for ((d, s, _), p) in tested.into_iter().zip(adjusted) {
        let seg = &mut dimensions[d].segments[s];
        seg.p_adjusted = Some(p);
        seg.significant = Some(p < 0.05);
    }
    for dim in dimensions.iter_mut() {
        let Some(power) = dim.power else { continue };
        let mut held = 0.0;
        let mut explained = 0.0;
        for seg in dim.segments.iter_mut() {
            let excess = seg.excess.unwrap_or(0.0);
            if excess <= 0.0 || held >= 0.8 * power {
                break;
            }
            let supported = seg.current.n.min(seg.previous.n) >= min_support;
            if seg.significant == Some(false) || (seg.significant.is_none() && !supported) {
                continue;
            }
            seg.driver = true;
            held += excess;
            explained += seg.share_of_change.unwrap_or(0.0);
            dim.segments_needed += 1;
        }
        dim.explained = Some(explained);
    }
    dimensions.sort_by(|a, b| {
        (a.segments_needed == 0)
            .cmp(&(b.segments_needed == 0))
            .then(
                b.power
                    .unwrap_or(f64::NEG_INFINITY)
                    .partial_cmp(&a.power.unwrap_or(f64::NEG_INFINITY))
                    .unwrap_or(Ordering::Equal),
            )
            .then(a.segments_needed.cmp(&b.segments_needed))
            .then_with(|| a.dimension.cmp(&b.dimension))
    });
}
