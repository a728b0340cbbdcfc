//! Human formatting of values by unit: durations as "2 h 14 min", percentages, counts,
//! money — the one place every surface takes its number formats from.

use vitals_core::catalogue::Unit;

/// A duration in seconds the way a person reads it. Whole seconds first (ties to even, as
/// the seconds were always printed), so 239.6 s reads "4 min 0 s", never "3 min 60 s".
pub fn duration(secs: f64) -> String {
    let s = secs.abs().round_ties_even();
    let sign = if secs < 0.0 { "-" } else { "" };
    let text = if s < 60.0 {
        format!("{s:.0} s")
    } else if s < 3600.0 {
        let m = (s / 60.0).floor();
        format!("{m:.0} min {:.0} s", s - m * 60.0)
    } else if s < 86_400.0 {
        let h = (s / 3600.0).floor();
        format!("{h:.0} h {:.0} min", ((s - h * 3600.0) / 60.0).floor())
    } else {
        let d = (s / 86_400.0).floor();
        format!("{d:.0} d {:.0} h", ((s - d * 86_400.0) / 3600.0).floor())
    };
    format!("{sign}{text}")
}

/// A value in its unit.
pub fn value(v: Option<f64>, unit: Unit) -> String {
    let Some(v) = v else { return "—".into() };
    match unit {
        Unit::Seconds => duration(v),
        Unit::Percent => format!("{v:.1} %"),
        Unit::Count => {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        }
        Unit::Score => format!("{v:.2}"),
        Unit::Nps => format!("{v:+.1}"),
        Unit::Currency => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(duration(42.0), "42 s");
        assert_eq!(duration(8040.0), "2 h 14 min");
        assert_eq!(duration(172_800.0), "2 d 0 h");
        // Rounding never leaves 60 of a unit behind.
        assert_eq!(duration(239.6), "4 min 0 s");
        assert_eq!(duration(59.6), "1 min 0 s");
        assert_eq!(duration(42.5), "42 s");
        assert_eq!(duration(-239.6), "-4 min 0 s");
        assert_eq!(value(Some(65.0), Unit::Nps), "+65.0");
        assert_eq!(value(None, Unit::Percent), "—");
    }
}
