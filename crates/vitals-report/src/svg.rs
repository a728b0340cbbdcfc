//! Line charts as inline SVG, drawn by the program for the HTML report: axes with labels and
//! ticks, one polyline per series, a legend, and a `<title>` on every point so hovering shows
//! its value (no script needed).

use std::fmt::Write;

use crate::model::Series;

const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" upper bound and step for a y axis from 0 to `max`.
fn axis(max: f64) -> (f64, f64) {
    let max = max.max(1.0);
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    ((max / step).ceil() * step, step)
}

/// A line chart of daily series; `days` are `YYYY-MM-DD`.
pub fn line_chart(
    title: &str,
    days: &[String],
    series: &[Series],
    y_label: &str,
    x_label: &str,
) -> String {
    let (w, h) = (920.0, 340.0);
    let (left, right, top, bottom) = (56.0, 190.0, 28.0, 48.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0, f64::max);
    let (y_max, step) = axis(max);
    let n = days.len().max(2) as f64;
    let x = |i: usize| left + plot_w * i as f64 / (n - 1.0);
    let y = |v: f64| top + plot_h * (1.0 - v / y_max);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        esc(title)
    );
    let mut tick = 0.0;
    while tick <= y_max + 1e-9 {
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end" class="tick">{label}</text>"##,
            left + plot_w,
            left - 6.0,
            y(tick) + 4.0,
            y = y(tick),
            label = if step >= 1.0 {
                format!("{tick:.0}")
            } else {
                format!("{tick:.1}")
            }
        );
        tick += step;
    }
    for (i, day) in days.iter().enumerate() {
        if days.len() <= 7 || i % 5 == 0 || i + 1 == days.len() {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
                x(i),
                top + plot_h + 16.0,
                esc(day.get(8..).unwrap_or(day))
            );
        }
    }
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{left}" y1="{top}" y2="{}" stroke="#333"/><line x1="{left}" x2="{}" y1="{0}" y2="{0}" stroke="#333"/>"##,
        top + plot_h,
        left + plot_w
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle" class="axis">{}</text><text transform="translate(14 {}) rotate(-90)" text-anchor="middle" class="axis">{}</text>"#,
        left + plot_w / 2.0,
        h - 8.0,
        esc(x_label),
        top + plot_h / 2.0,
        esc(y_label)
    );
    for (k, series) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let points: Vec<String> = series
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{}"/>"#,
            points.join(" ")
        );
        for (i, v) in series.values.iter().enumerate() {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.6" fill="{colour}"><title>{} {}: {v}</title></circle>"#,
                x(i),
                y(*v),
                esc(&series.name),
                esc(days.get(i).map(String::as_str).unwrap_or(""))
            );
        }
        let ly = top + 14.0 * k as f64 + 6.0;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{:.1}" width="12" height="4" fill="{colour}"/><text x="{}" y="{:.1}" class="legend">{} ({})</text>"#,
            left + plot_w + 12.0,
            ly - 4.0,
            left + plot_w + 30.0,
            ly + 1.0,
            esc(&series.name),
            series.total
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_have_axes_points_and_hover_values() {
        let days: Vec<String> = (1..=3).map(|d| format!("2026-03-0{d}")).collect();
        let series = vec![Series {
            name: "billing <b>".into(),
            values: vec![1.0, 4.0, 2.0],
            total: 7.0,
        }];
        let svg = line_chart(
            "Tickets",
            &days,
            &series,
            "Tickets per day",
            "Day of month (2026-03)",
        );
        assert!(svg.contains("<title>billing &lt;b&gt; 2026-03-02: 4</title>"));
        assert!(svg.contains("Day of month (2026-03)"));
        assert_eq!(axis(37.0), (40.0, 10.0));
        assert_eq!(axis(0.0), (1.0, 0.2));
    }
}
