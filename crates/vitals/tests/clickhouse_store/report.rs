//! The monthly report on ClickHouse against DuckDB's, for `clickhouse_store.rs`: made on both
//! engines from the same data, and every number of the ClickHouse report is one of DuckDB's
//! (a metric ClickHouse cannot compute is left out and named).

use std::collections::BTreeMap;
use std::path::Path;

use super::{query, vitals};

/// Every number of a cell.
fn numbers_in(html: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let text: String = html
        .split('<')
        .filter_map(|part| part.split_once('>').map(|(_, t)| t))
        .collect::<Vec<_>>()
        .join(" ");
    for word in text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')) {
        if word.chars().any(|c| c.is_ascii_digit()) {
            *out.entry(word.to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// The exact values of the report's cells (`data-value="…"`).
fn values_in(html: &str) -> Vec<f64> {
    html.split("data-value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect()
}

/// The numbers one unit of the last digit away from a shown number (`71.88`: `71.87` and
/// `71.89`), written as the report writes them (thousands separators aside).
fn neighbours(shown: &str) -> Vec<String> {
    let plain = shown.replace(',', "");
    let Ok(value) = plain.parse::<f64>() else {
        return Vec::new();
    };
    let decimals = plain.split_once('.').map_or(0, |(_, d)| d.len());
    let unit = 10f64.powi(-(decimals as i32));
    [value - unit, value + unit]
        .iter()
        .map(|v| format!("{v:.decimals$}"))
        .collect()
}

/// The monthly report of the data's last full month on ClickHouse: made (a metric the engine
/// cannot compute is left out and named, not a failed report), and every number in it is a
/// number of DuckDB's report of the same month.
pub fn assert_reports_agree(dir: &Path, duck_db: &Path, duck_config: &Path, config: &str) {
    let months: Vec<String> = query(
        duck_config.to_str().unwrap(),
        Some(duck_db.to_str().unwrap()),
        true,
    )["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["dimensions"]["time:month"].as_str().map(String::from))
        .filter(|m| m.as_str() < "2026-07")
        .collect();
    let month = &months[months.len() - 2];
    let now = [("VITALS_NOW", "2026-07-01T00:00:00Z")];
    let (duck_out, ch_out) = (dir.join("report-duckdb"), dir.join("report-clickhouse"));
    let duck_args = [
        "--config",
        duck_config.to_str().unwrap(),
        "report",
        "--month",
        month,
        "--format",
        "html",
        "--db",
        duck_db.to_str().unwrap(),
        "--out",
        duck_out.to_str().unwrap(),
    ];
    let ch_args = [
        "--config",
        config,
        "report",
        "--month",
        month,
        "--format",
        "html",
        "--out",
        ch_out.to_str().unwrap(),
    ];
    for args in [&duck_args[..], &ch_args[..]] {
        let out = vitals(args, &now);
        assert!(
            out.status.success(),
            "vitals {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let html = |folder: &Path| {
        let entry = std::fs::read_dir(folder)
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.path().extension().is_some_and(|x| x == "html"))
            .expect("an HTML report");
        std::fs::read_to_string(entry.path()).unwrap()
    };
    let (duck_html, ch_html) = (html(&duck_out), html(&ch_out));
    assert!(
        ch_html.contains("not computed on clickhouse") && ch_html.contains("clv_simple"),
        "the report names what it left out"
    );
    let duck_numbers = numbers_in(&duck_html);
    let ch_numbers = numbers_in(&ch_html);
    // A shown number may round the other way where the engines' sums differ in the 15th digit
    // (a value at a rounding tie: 71.875 shown as 71.87 or 71.88): such a number is accepted
    // when DuckDB shows its neighbour (one unit of the last digit away) more often than
    // ClickHouse does — and every cell's exact value agrees within 1e-9 (below).
    let surplus = |n: &str| {
        let count = |m: &BTreeMap<String, usize>| m.get(n).copied().unwrap_or(0);
        count(&duck_numbers) > count(&ch_numbers)
    };
    let missing: Vec<_> = ch_numbers
        .iter()
        .filter(|(n, count)| duck_numbers.get(*n).is_none_or(|d| d < count))
        .filter(|(n, _)| !neighbours(n).iter().any(|m| surplus(m)))
        .collect();
    let (duck_values, ch_values) = (values_in(&duck_html), values_in(&ch_html));
    let mut unmatched = duck_values.clone();
    let astray: Vec<f64> = ch_values
        .iter()
        .copied()
        .filter(|v| {
            match unmatched
                .iter()
                .position(|d| (d - v).abs() <= 1e-9 * d.abs().max(v.abs()))
            {
                Some(i) => {
                    unmatched.swap_remove(i);
                    false
                }
                None => true,
            }
        })
        .collect();
    assert!(
        astray.is_empty() && ch_values.len() > 50,
        "exact cell values of the ClickHouse report that DuckDB's lacks (of {}): {astray:?}",
        ch_values.len()
    );
    assert!(
        missing.is_empty(),
        "numbers of the ClickHouse report that DuckDB's lacks: {missing:?}"
    );
    assert!(
        ch_numbers.len() > 50,
        "too few numbers: {}",
        ch_numbers.len()
    );
}
