//! Numbers for people, as the report shows them: durations with their units written (`40 s`,
//! `7 min 12 s`, `9 h 17 min`, `2 d 3 h`; the workbook's `[h]:mm:ss` format shows the same
//! instant to the second), percentages with one decimal, NPS with a sign, whole counts
//! without decimals. The spaces inside one value are no-break spaces, so a table never
//! splits "33.6 %" or "7 min 12 s" over two lines (it may break between values, e.g. in an
//! interval).

/// The no-break space that joins the parts of one value.
const NBSP: char = '\u{a0}';

use vitals_core::catalogue::Unit;

/// The catalogue unit's name (`seconds`, `percent`, …).
pub fn unit_name(unit: Unit) -> String {
    serde_json::to_value(unit)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A duration in seconds, in its two largest units: `40 s`, `7 min 12 s`, `9 h 17 min`,
/// `2 d 3 h` (the smaller unit rounded, carried into the larger when it rounds up).
pub fn duration(secs: f64) -> String {
    let sign = if secs < 0.0 { "-" } else { "" };
    let s = secs.abs();
    let pair = |whole: u64, unit: u64, big: &str, small: &str| {
        let (a, b) = (whole / unit, whole % unit);
        if b == 0 {
            format!("{sign}{a}{NBSP}{big}")
        } else {
            format!("{sign}{a}{NBSP}{big}{NBSP}{b}{NBSP}{small}")
        }
    };
    if s < 59.5 {
        format!("{sign}{}{NBSP}s", s.round())
    } else if s < 3600.0 - 0.5 {
        pair(s.round() as u64, 60, "min", "s")
    } else if s < 86_400.0 - 30.0 {
        pair((s / 60.0).round() as u64, 60, "h", "min")
    } else {
        pair((s / 3600.0).round() as u64, 24, "d", "h")
    }
}

/// A value in its unit (by name), `—` when there is none.
pub fn value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else { return "—".into() };
    match unit {
        "seconds" => duration(v),
        "percent" => format!("{v:.1}{NBSP}%"),
        "nps" => format!("{v:+.1}"),
        "count" if v.fract() == 0.0 => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

/// A change in the metric's unit, signed.
pub fn change(v: Option<f64>, unit: &str) -> String {
    match v {
        None => String::new(),
        Some(c) if unit == "seconds" => {
            format!("{}{}", if c >= 0.0 { "+" } else { "" }, duration(c))
        }
        Some(c) if unit == "percent" => format!("{c:+.1}{NBSP}pt"),
        Some(c) if unit == "count" && c.fract() == 0.0 => format!("{c:+.0}"),
        Some(c) => format!("{c:+.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_name_their_units() {
        let duration = |v: f64| duration(v).replace(NBSP, " ");
        let value = |v: Option<f64>, u: &str| value(v, u).replace(NBSP, " ");
        let change = |v: Option<f64>, u: &str| change(v, u).replace(NBSP, " ");
        assert_eq!(duration(40.0), "40 s");
        assert_eq!(duration(432.4), "7 min 12 s");
        assert_eq!(duration(3198.0), "53 min 18 s");
        assert_eq!(duration(3599.8), "1 h");
        assert_eq!(duration(33_420.0), "9 h 17 min");
        assert_eq!(duration(93_600.0), "1 d 2 h");
        assert_eq!(duration(86_399.0), "1 d");
        assert_eq!(value(Some(535.0), "count"), "535");
        assert_eq!(value(Some(72.81), "percent"), "72.8 %");
        assert_eq!(value(Some(41.0), "nps"), "+41.0");
        assert_eq!(change(Some(-120.0), "seconds"), "-2 min");
    }
}
