//! Renders a query response for people: a readable table (values in human units, `n`, the
//! change against the comparison period, targets with ✓/✗, colour on a terminal) and CSV
//! (every number in full, with intervals, comparison and target columns).

use vitals_core::catalogue::{Catalogue, Unit};
use vitals_core::spreadsheet::safe_cell;

use crate::response::QueryResponse;
use crate::result::{MetricValue, ResultRow};
use crate::units;

/// The metric keys of a result in first-seen order, and the dimension names.
fn columns(result: &QueryResponse) -> (Vec<String>, Vec<String>) {
    let mut dims: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for r in &result.results {
        for (d, _) in &r.dimensions {
            if !dims.contains(d) {
                dims.push(d.clone());
            }
        }
        for (k, _) in &r.metrics {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    (dims, keys)
}

/// The text of one dimension in a row; `null_text` for a null value, empty when absent.
fn dimension_cell(row: &ResultRow, dimension: &str, null_text: &str) -> String {
    match row.dimensions.iter().find(|(n, _)| n == dimension) {
        Some((_, Some(v))) => v.clone(),
        Some((_, None)) => null_text.to_string(),
        None => String::new(),
    }
}

fn unit_of(catalogue: &Catalogue, key: &str) -> Unit {
    let id = key.split(':').next().unwrap_or(key);
    catalogue.metric(id).map(|m| m.unit).unwrap_or(Unit::Count)
}

/// Which optional columns a result needs: comparisons, targets.
fn optional_columns(result: &QueryResponse) -> (bool, bool) {
    let values = || {
        result
            .results
            .iter()
            .flat_map(|r| r.metrics.iter().map(|(_, v)| v))
    };
    (
        values().any(|v| v.compare.is_some()),
        values().any(|v| v.target.is_some()),
    )
}

/// The change column's text: the change in the metric's unit, and `*` when significant.
fn change_text(v: &MetricValue, unit: Unit) -> String {
    let Some(c) = v.compare.as_ref().and_then(|c| c.change) else {
        return "—".into();
    };
    // A change of a percentage is in percentage points.
    let magnitude = match unit {
        Unit::Percent => format!("{:.1} pp", c.abs()),
        _ => units::value(Some(c.abs()), unit),
    };
    let sign = if c < 0.0 { "−" } else { "+" };
    let star = match v.compare.as_ref().and_then(|c| c.significant) {
        Some(true) => " *",
        _ => "",
    };
    format!("{sign}{magnitude}{star}")
}

/// A readable table: one column per dimension, then value and n per metric (plus the change
/// against the comparison period, and the target with ✓/✗, when there are any). Values are
/// green on target and red off target on a terminal.
pub fn to_table(catalogue: &Catalogue, result: &QueryResponse) -> String {
    use comfy_table::{Cell, Color};
    let (dims, keys) = columns(result);
    let (with_change, with_target) = optional_columns(result);
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    let mut header: Vec<String> = dims.clone();
    for k in &keys {
        header.push(k.clone());
        header.push("n".into());
        if with_change {
            header.push("change".into());
        }
        if with_target {
            header.push("target".into());
        }
    }
    table.set_header(header);
    for r in &result.results {
        let mut row: Vec<Cell> = dims
            .iter()
            .map(|d| Cell::new(dimension_cell(r, d, "(none)")))
            .collect();
        for k in &keys {
            let unit = unit_of(catalogue, k);
            match r.metrics.iter().find(|(n, _)| n == k) {
                Some((_, v)) => {
                    let mut cell = Cell::new(units::value(v.value, unit));
                    match v.target.and_then(|t| t.on_target) {
                        Some(true) => cell = cell.fg(Color::Green),
                        Some(false) => cell = cell.fg(Color::Red),
                        None => {}
                    }
                    row.push(cell);
                    row.push(Cell::new(v.n));
                    if with_change {
                        row.push(Cell::new(change_text(v, unit)));
                    }
                    if with_target {
                        let text = match v.target {
                            Some(t) => {
                                let mark = match t.on_target {
                                    Some(true) => " ✓",
                                    Some(false) => " ✗",
                                    None => "",
                                };
                                format!("{}{mark}", units::value(Some(t.value), unit))
                            }
                            None => String::new(),
                        };
                        row.push(Cell::new(text));
                    }
                }
                None => {
                    let blanks = 2 + usize::from(with_change) + usize::from(with_target);
                    row.extend((0..blanks).map(|_| Cell::new("")));
                }
            }
        }
        table.add_row(row);
    }
    let mut text = table.to_string();
    if with_change {
        text.push_str("\nchange: against the comparison period; * = significant at the 5% level");
    }
    text
}

/// CSV: dimensions, then value, n, ci_low, ci_high per metric (and, when present, the
/// comparison value, change, p-value and target with on_target). Dimension values that a
/// spreadsheet would run as formulas are written as text (`safe_cell`).
pub fn to_csv(result: &QueryResponse) -> String {
    let (dims, keys) = columns(result);
    let (with_change, with_target) = optional_columns(result);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = dims.clone();
    for k in &keys {
        header.extend([
            k.clone(),
            format!("{k}.n"),
            format!("{k}.ci_low"),
            format!("{k}.ci_high"),
        ]);
        if with_change {
            header.extend([
                format!("{k}.compare_value"),
                format!("{k}.change"),
                format!("{k}.p_value"),
            ]);
        }
        if with_target {
            header.extend([format!("{k}.target"), format!("{k}.on_target")]);
        }
    }
    let _ = w.write_record(&header);
    let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for r in &result.results {
        let mut row: Vec<String> = dims
            .iter()
            .map(|d| safe_cell(&dimension_cell(r, d, "")).into_owned())
            .collect();
        for k in &keys {
            let width = 4 + 3 * usize::from(with_change) + 2 * usize::from(with_target);
            match r.metrics.iter().find(|(n, _)| n == k) {
                Some((_, v)) => {
                    row.extend([
                        num(v.value),
                        v.n.to_string(),
                        num(v.ci.map(|c| c.low)),
                        num(v.ci.map(|c| c.high)),
                    ]);
                    if with_change {
                        let c = v.compare.as_ref();
                        row.extend([
                            num(c.and_then(|c| c.value)),
                            num(c.and_then(|c| c.change)),
                            num(c.and_then(|c| c.p_value)),
                        ]);
                    }
                    if with_target {
                        row.extend([
                            num(v.target.map(|t| t.value)),
                            v.target
                                .and_then(|t| t.on_target)
                                .map(|b| b.to_string())
                                .unwrap_or_default(),
                        ]);
                    }
                }
                None => row.extend((0..width).map(|_| String::new())),
            }
        }
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
