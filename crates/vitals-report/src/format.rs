//! Numbers for people, as the report shows them: durations as h:mm (the workbook's `[h]:mm`
//! format shows the same), percentages with one decimal, NPS with a sign.

use vitals_core::catalogue::Unit;

/// The catalogue unit's name (`seconds`, `percent`, …).
pub fn unit_name(unit: Unit) -> String {
    serde_json::to_value(unit)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A duration in seconds as `h:mm` (minutes rounded; hours may exceed 24).
pub fn hmm(secs: f64) -> String {
    let sign = if secs < 0.0 { "-" } else { "" };
    let minutes = (secs.abs() / 60.0).round() as u64;
    format!("{sign}{}:{:02}", minutes / 60, minutes % 60)
}

/// A value in its unit (by name), `—` when there is none.
pub fn value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else { return "—".into() };
    match unit {
        "seconds" => hmm(v),
        "percent" => format!("{v:.1} %"),
        "nps" => format!("{v:+.1}"),
        "count" if v.fract() == 0.0 => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

/// A change in the metric's unit, signed.
pub fn change(v: Option<f64>, unit: &str) -> String {
    match v {
        None => String::new(),
        Some(c) if unit == "seconds" => format!("{}{}", if c >= 0.0 { "+" } else { "" }, hmm(c)),
        Some(c) if unit == "percent" => format!("{c:+.1} pt"),
        Some(c) if unit == "count" && c.fract() == 0.0 => format!("{c:+.0}"),
        Some(c) => format!("{c:+.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_h_mm() {
        assert_eq!(hmm(3198.0), "0:53");
        assert_eq!(hmm(33_420.0), "9:17");
        assert_eq!(hmm(93_600.0), "26:00");
        assert_eq!(value(Some(72.81), "percent"), "72.8 %");
        assert_eq!(value(Some(41.0), "nps"), "+41.0");
        assert_eq!(change(Some(-120.0), "seconds"), "-0:02");
    }
}
