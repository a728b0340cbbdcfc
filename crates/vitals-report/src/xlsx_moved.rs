//! The workbook's "What moved" sheet: for each headline metric whose change against the
//! previous month (or week) is significant, its change said in plain words, then a table of the
//! dimensions that explain it and their driving segments — rate and mix effects, contribution,
//! the segment's value and n in both months, significance — in the metric's unit's formats
//! (the numbers of [`crate::moved`], i.e. `vitals why`'s).

use rust_xlsxwriter::Worksheet;

use crate::cells::Cells;
use crate::model::ReportModel;
use crate::xlsx::{heading, write_change, write_opt, Styles, SHEETS};
use crate::ReportError;

/// The table's columns for a report whose period is a `unit` (`month`, `week`).
fn columns(unit: &str, title: &str) -> [String; 12] {
    [
        "Dimension".into(),
        "Share of the change".into(),
        "Segment".into(),
        "What moved".into(),
        "Rate effect".into(),
        "Mix effect".into(),
        "Contribution".into(),
        format!("This {unit}"),
        "n".into(),
        format!("{title} before"),
        "n".into(),
        "Significant".into(),
    ]
}

/// Writes the sheet.
pub(crate) fn moved_sheet(
    ws: &mut Worksheet,
    model: &ReportModel,
    st: &Styles,
) -> Result<(), ReportError> {
    ws.set_name(SHEETS[1])?;
    let mut row = heading(ws, model, "What moved", st)?;
    let (unit, title) = (&model.words.unit, &model.words.title);
    ws.text(
        row,
        0,
        format!("Headline metrics whose change against the previous {unit} is significant, split over the segments that drove it (vitals why; method: vitals explain why). Rate: the segment's own value changed; mix: its share of the work changed. Changes are in the metric's unit (s, pt, …)."),
    )?;
    row += 2;
    if model.what_moved.is_empty() {
        ws.text(
            row,
            0,
            format!("No headline metric changed significantly against the previous {unit}."),
        )?;
    }
    for m in &model.what_moved {
        ws.text_with_format(row, 0, &m.label, &st.bold)?;
        ws.text(row, 1, &m.key)?;
        write_change(ws, row, 2, m.change, &m.unit)?;
        row += 1;
        ws.text(row, 0, &m.summary)?;
        row += 1;
        if !m.dimensions.is_empty() {
            for (c, h) in columns(unit, title).iter().enumerate() {
                ws.text_with_format(row, c as u16, h.as_str(), &st.header)?;
            }
            row += 1;
        }
        for d in &m.dimensions {
            for s in &d.segments {
                ws.text(row, 0, &d.name)?;
                write_opt(ws, row, 1, d.explained.map(|e| 100.0 * e), "percent")?;
                ws.text(row, 2, &s.value)?;
                ws.text(row, 3, &s.kind)?;
                write_change(ws, row, 4, s.rate_effect, &m.unit)?;
                write_change(ws, row, 5, s.mix_effect, &m.unit)?;
                write_change(ws, row, 6, Some(s.contribution), &m.unit)?;
                write_opt(ws, row, 7, s.current, &m.unit)?;
                ws.write_number(row, 8, s.current_n as f64)?;
                write_opt(ws, row, 9, s.previous, &m.unit)?;
                ws.write_number(row, 10, s.previous_n as f64)?;
                ws.text(
                    row,
                    11,
                    match s.significant {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "no test",
                    },
                )?;
                row += 1;
            }
        }
        row += 1;
    }
    ws.set_column_width(0, 30)?;
    ws.set_column_width(1, 22)?;
    for c in 2..12 {
        ws.set_column_width(c, 14)?;
    }
    Ok(())
}
