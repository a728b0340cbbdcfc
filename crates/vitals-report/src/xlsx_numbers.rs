//! Number cells of the workbook: each value in the format of its metric's unit (%, `[h]:mm:ss`
//! durations, currency, NPS with a sign, whole counts without a decimal point) and each change
//! in the metric's unit with the unit written (`+40 s`, `+1.2 pt`), values converted only where
//! a spreadsheet format needs it (percentages as fractions, durations as days).

use rust_xlsxwriter::{Format, Worksheet};

use crate::ReportError;

fn num_format(unit: &str) -> &'static str {
    match unit {
        "seconds" => "[h]:mm:ss",
        "percent" => "0.0%",
        "currency" => "#,##0.00",
        "nps" => "+0.0;-0.0;0.0",
        "score" => "0.00",
        _ => "#,##0.##",
    }
}

/// The format of a value cell: the unit's, except that a whole count shows no decimal point
/// (`#,##0.##` would show 535 as "535.").
fn value_format(v: f64, unit: &str) -> &'static str {
    match num_format(unit) {
        "#,##0.##" if v.fract() == 0.0 => "#,##0",
        other => other,
    }
}

/// The format of a change cell, which stays in the metric's unit: the unit is written
/// (`+40 s`, `+1.2 pt`), since a bare "+40.0" does not say seconds.
fn change_format(v: f64, unit: &str) -> &'static str {
    match unit {
        "seconds" => "+#,##0\" s\";-#,##0\" s\";0\" s\"",
        "percent" => "+0.0\" pt\";-0.0\" pt\";0.0\" pt\"",
        "count" if v.fract() == 0.0 => "+#,##0;-#,##0;0",
        _ => "+0.0##;-0.0##;0",
    }
}

/// A value in the unit the cell's format expects.
pub fn to_cell(v: f64, unit: &str) -> f64 {
    match unit {
        "seconds" => v / 86_400.0,
        "percent" => v / 100.0,
        _ => v,
    }
}

/// A change in the metric's unit (none: an empty cell).
pub(crate) fn write_change(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    v: Option<f64>,
    unit: &str,
) -> Result<(), ReportError> {
    if let Some(v) = v {
        ws.write_number_with_format(
            row,
            col,
            v,
            &Format::new().set_num_format(change_format(v, unit)),
        )?;
    }
    Ok(())
}

/// A value in its unit's format (none: an empty cell).
pub(crate) fn write_opt(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    v: Option<f64>,
    unit: &str,
) -> Result<(), ReportError> {
    if let Some(v) = v {
        ws.write_number_with_format(
            row,
            col,
            to_cell(v, unit),
            &Format::new().set_num_format(value_format(v, unit)),
        )?;
    }
    Ok(())
}
