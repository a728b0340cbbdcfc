//! The workbook (`rust_xlsxwriter`): sheets Metrics, What moved, Ticket volume, Formulas and
//! Staffing, with
//! number formats (%, `[h]:mm:ss` durations, currency), frozen header rows, fitted columns, a
//! native line chart per volume series, and a calculator whose input cells are styled and
//! unlocked (the Formulas sheet is protected, so only inputs take typing). Formulas are
//! written with the value vitals computed as their cached result, because LibreOffice shows
//! cached values on open.
//!
//! Values are the query's, converted only where a spreadsheet format needs it: percentages
//! as fractions (72.8 % is 0.728), durations as days (`[h]:mm:ss`). Changes stay in the metric's
//! unit (seconds, points), with the unit in their format. Under each table's header a grey row names the query of every
//! column (`dimension key [breakdown=value] [n]`) for tools reading the numbers back.

use rust_xlsxwriter::{Chart, ChartType, Color, Format, FormatAlign, Workbook, Worksheet};

use crate::cells::Cells;
use crate::model::{ReportModel, Series, Table};
use crate::ReportError;

/// Sheet names.
pub const SHEETS: [&str; 5] = [
    "Metrics",
    "What moved",
    "Ticket volume",
    "Formulas",
    "Staffing",
];

pub use crate::xlsx_numbers::to_cell;
pub(crate) use crate::xlsx_numbers::{write_change, write_opt};

pub(crate) struct Styles {
    pub(crate) title: Format,
    pub(crate) header: Format,
    pub(crate) keys: Format,
    pub(crate) bold: Format,
    pub(crate) wrap: Format,
    pub(crate) input: Format,
    pub(crate) result: Format,
    pub(crate) note: Format,
}

fn styles() -> Styles {
    Styles {
        title: Format::new().set_bold().set_font_size(16),
        header: Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0xDCE6F1))
            .set_text_wrap(),
        keys: Format::new()
            .set_italic()
            .set_font_size(8)
            .set_font_color(Color::RGB(0x888888)),
        bold: Format::new().set_bold(),
        wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        input: Format::new()
            .set_unlocked()
            .set_background_color(Color::RGB(0xFFF2CC))
            .set_border(rust_xlsxwriter::FormatBorder::Thin),
        result: Format::new()
            .set_bold()
            .set_num_format("0.######")
            .set_background_color(Color::RGB(0xE2EFDA)),
        note: Format::new().set_font_color(Color::RGB(0x9C5700)),
    }
}

/// Renders the workbook.
pub fn render_xlsx(model: &ReportModel) -> Result<Vec<u8>, ReportError> {
    let st = styles();
    let mut wb = Workbook::new();
    metrics_sheet(wb.add_worksheet(), model, &st)?;
    crate::xlsx_moved::moved_sheet(wb.add_worksheet(), model, &st)?;
    volume_sheet(wb.add_worksheet(), model, &st)?;
    crate::xlsx_formulas::formulas_sheet(wb.add_worksheet(), model, &st)?;
    staffing_sheet(wb.add_worksheet(), model, &st)?;
    Ok(wb.save_to_buffer()?)
}

pub(crate) fn heading(
    ws: &mut Worksheet,
    model: &ReportModel,
    what: &str,
    st: &Styles,
) -> Result<u32, ReportError> {
    // Print (and PDF): landscape A4, each sheet one page wide so charts and tables stay whole.
    ws.set_landscape()
        .set_paper_size(9)
        .set_print_fit_to_pages(1, 0);
    let partial = if model.partial {
        format!(" — PARTIAL ({} in progress)", model.words.unit)
    } else {
        String::new()
    };
    ws.text_with_format(
        0,
        0,
        format!("{what} — {}{partial}", model.month_title),
        &st.title,
    )?;
    let team = model
        .team
        .as_deref()
        .map(|t| format!(", team {t}"))
        .unwrap_or_default();
    ws.text(
        1,
        0,
        format!(
            "{} {} in {}{team}; every number from vitals' query library.",
            model.words.title, model.month, model.timezone
        ),
    )?;
    let mut row = 2;
    for note in &model.notes {
        ws.text_with_format(row, 0, note, &st.note)?;
        row += 1;
    }
    Ok(row + 1)
}

fn metrics_sheet(ws: &mut Worksheet, model: &ReportModel, st: &Styles) -> Result<(), ReportError> {
    ws.set_name(SHEETS[0])?;
    let top = heading(ws, model, "Metrics", st)?;
    let mut header: Vec<String> = vec![
        "Group".into(),
        "Metric".into(),
        "Key".into(),
        "Breakdown".into(),
    ];
    let month_col = header.len() as u16;
    for (i, m) in model.months.iter().enumerate() {
        let partial = model.partial && i + 1 == model.months.len();
        header.push(if partial {
            format!("{m} (partial)")
        } else {
            m.clone()
        });
    }
    header.extend(
        [
            "Target",
            "On target",
            "Change (unit: s, pt, …)",
            "Change %",
            "p",
            "Significant",
            "n",
            "95% low",
            "95% high",
            "Low sample",
            "Scope",
        ]
        .map(String::from),
    );
    for (c, h) in header.iter().enumerate() {
        ws.text_with_format(top, c as u16, h, &st.header)?;
    }
    ws.set_freeze_panes(top + 1, 2)?;
    let mut row = top + 1;
    let after = month_col + model.months.len() as u16;
    for g in &model.groups {
        for r in &g.rows {
            ws.text(row, 0, &g.title)?;
            let label = if r.low_sample {
                format!("{} ⚠", r.label)
            } else {
                r.label.clone()
            };
            ws.text(row, 1, label)?;
            ws.text(row, 2, &r.key)?;
            if let Some((d, v)) = &r.breakdown {
                ws.text(row, 3, format!("{d}={v}"))?;
            }
            for (i, v) in r.values.iter().enumerate() {
                write_opt(ws, row, month_col + i as u16, *v, &r.unit)?;
            }
            write_opt(ws, row, after, r.target, &r.unit)?;
            if let Some(on) = r.on_target {
                ws.text(row, after + 1, if on { "on" } else { "off" })?;
            }
            write_change(ws, row, after + 2, r.change, &r.unit)?;
            if let Some(c) = r.change_pct {
                ws.write_number_with_format(
                    row,
                    after + 3,
                    c / 100.0,
                    &Format::new().set_num_format("+0.0%;-0.0%;0.0%"),
                )?;
            }
            if let Some(p) = r.p_value {
                ws.write_number_with_format(
                    row,
                    after + 4,
                    p,
                    &Format::new().set_num_format("0.000"),
                )?;
            }
            if let Some(s) = r.significant {
                ws.text(row, after + 5, if s { "yes" } else { "no" })?;
            }
            ws.write_number(row, after + 6, r.n as f64)?;
            if let Some((lo, hi)) = r.ci {
                write_opt(ws, row, after + 7, Some(lo), &r.unit)?;
                write_opt(ws, row, after + 8, Some(hi), &r.unit)?;
            }
            if r.low_sample {
                ws.text(row, after + 9, "low sample")?;
            }
            if r.organisation_wide {
                ws.text(row, after + 10, "organisation-wide")?;
            }
            row += 1;
        }
    }
    row += 2;
    row = ranked_table(ws, row, "Teams, ranked by tickets", &model.teams, st)?;
    ranked_table(
        ws,
        row + 2,
        "Agents by team, ranked by tickets (each team's median of its agents first)",
        &model.agents,
        st,
    )?;
    ws.set_column_width(0, 14)?;
    ws.set_column_width(1, 34)?;
    ws.set_column_width(2, 26)?;
    ws.set_column_width(3, 20)?;
    for c in month_col..after + 11 {
        ws.set_column_width(c, 12)?;
    }
    Ok(())
}

fn ranked_table(
    ws: &mut Worksheet,
    top: u32,
    title: &str,
    t: &Table,
    st: &Styles,
) -> Result<u32, ReportError> {
    ws.text_with_format(top, 0, title, &st.bold)?;
    ws.text_with_format(top + 1, 0, "Rank", &st.header)?;
    ws.text_with_format(top + 1, 1, &t.dimension, &st.header)?;
    ws.text_with_format(top + 1, 2, "Team", &st.header)?;
    for (i, c) in t.columns.iter().enumerate() {
        let col = 3 + i as u16;
        ws.text_with_format(top + 1, col, &c.label, &st.header)?;
        let mut key = format!("{} {}", c.dimension, c.key);
        if let Some((d, v)) = &c.breakdown {
            key.push_str(&format!(" {d}={v}"));
        }
        if c.part == "n" {
            key.push_str(" n");
        }
        ws.text_with_format(top + 2, col, key, &st.keys)?;
    }
    let mut row = top + 3;
    for r in &t.rows {
        let italic = r.kind == "distribution";
        if let Some(rank) = r.rank {
            ws.write_number(row, 0, rank as f64)?;
        }
        if italic {
            ws.text_with_format(row, 1, &r.name, &Format::new().set_italic())?;
        } else {
            ws.text(row, 1, &r.name)?;
        }
        if let Some(team) = &r.team {
            ws.text(row, 2, team)?;
        }
        for (i, (v, c)) in r.values.iter().zip(&t.columns).enumerate() {
            write_opt(ws, row, 3 + i as u16, *v, &c.unit)?;
        }
        row += 1;
    }
    Ok(row)
}

fn series_block(
    ws: &mut Worksheet,
    top: u32,
    col: u16,
    what: &str,
    days: &[String],
    series: &[Series],
    st: &Styles,
) -> Result<(), ReportError> {
    ws.text_with_format(top, col, "Day", &st.header)?;
    for (k, s) in series.iter().enumerate() {
        ws.text_with_format(top, col + 1 + k as u16, &s.name, &st.header)?;
        ws.text_with_format(
            top + 1,
            col + 1 + k as u16,
            format!("time:day ticket:{what}"),
            &st.keys,
        )?;
    }
    for (i, d) in days.iter().enumerate() {
        let row = top + 2 + i as u32;
        ws.text(row, col, d)?;
        for (k, s) in series.iter().enumerate() {
            ws.write_number(row, col + 1 + k as u16, s.values[i])?;
        }
    }
    Ok(())
}

fn chart(sheet: &str, title: &str, top: u32, col: u16, days: usize, series: &[Series]) -> Chart {
    let mut chart = Chart::new(ChartType::Line);
    let (first, last) = (top + 2, top + 1 + days as u32);
    for (k, s) in series.iter().enumerate() {
        let c = col + 1 + k as u16;
        chart
            .add_series()
            .set_categories((sheet, first, col, last, col))
            .set_values((sheet, first, c, last, c))
            .set_name(s.name.as_str());
    }
    chart.title().set_name(title);
    chart.x_axis().set_name("Day");
    chart.y_axis().set_name("Tickets per day");
    chart.set_width(900).set_height(360);
    chart
}

/// A volume chart at `row`, drawing the series written at `data` (top row, first column); a
/// month without tickets (a team with none, say) gets a line saying so, since a chart must
/// have a series.
fn place_chart(
    ws: &mut Worksheet,
    row: u32,
    title: &str,
    data: (u32, u16),
    days: usize,
    series: &[Series],
    unit: &str,
) -> Result<(), ReportError> {
    if series.is_empty() || days == 0 {
        ws.text(row, 0, format!("{title}: no tickets this {unit}."))?;
        return Ok(());
    }
    let (top, col) = data;
    ws.insert_chart(row, 0, &chart(SHEETS[1], title, top, col, days, series))?;
    Ok(())
}

fn volume_sheet(ws: &mut Worksheet, model: &ReportModel, st: &Styles) -> Result<(), ReportError> {
    ws.set_name(SHEETS[2])?;
    let v = &model.volume;
    let top = heading(ws, model, "Ticket volume", st)?;
    // Charts first (what a reader looks at), the data they draw below and to the right.
    let data_top = top + 40;
    let channel_col = 2 + v.categories.len() as u16;
    series_block(ws, data_top, 0, "category", &v.days, &v.categories, st)?;
    series_block(
        ws,
        data_top,
        channel_col,
        "channel",
        &v.days,
        &v.channels,
        st,
    )?;
    place_chart(
        ws,
        top,
        "Tickets per category per day",
        (data_top, 0),
        v.days.len(),
        &v.categories,
        &model.words.unit,
    )?;
    place_chart(
        ws,
        top + 19,
        "Tickets per channel per day",
        (data_top, channel_col),
        v.days.len(),
        &v.channels,
        &model.words.unit,
    )?;
    let side = 14u16;
    let mut row = top;
    let unit = &model.words.unit;
    ws.text_with_format(
        row,
        side,
        format!("Categories that rose most against the previous {unit}"),
        &st.bold,
    )?;
    row += 1;
    let previous = format!("Previous {unit}");
    for (c, h) in [
        "Category",
        "Tickets",
        previous.as_str(),
        "Change",
        "Change %",
        "Significant",
    ]
    .iter()
    .enumerate()
    {
        ws.text_with_format(row, side + c as u16, *h, &st.header)?;
    }
    row += 1;
    for r in &v.risers {
        ws.text(row, side, &r.name)?;
        ws.write_number(row, side + 1, r.count)?;
        write_opt(ws, row, side + 2, r.previous, "count")?;
        write_opt(ws, row, side + 3, r.change, "count")?;
        if let Some(p) = r.change_pct {
            ws.write_number_with_format(
                row,
                side + 4,
                p / 100.0,
                &Format::new().set_num_format("+0.0%"),
            )?;
        }
        if let Some(s) = r.significant {
            ws.text(row, side + 5, if s { "yes" } else { "no" })?;
        }
        row += 1;
    }
    row += 2;
    ws.text_with_format(
        row,
        side,
        "Spikes: days far above the usual level for their weekday (method on the Formulas sheet)",
        &st.bold,
    )?;
    row += 1;
    for (c, h) in [
        "Date",
        "Series",
        "Tickets",
        "Expected",
        "Excess",
        "Ratio",
        "Annotation",
    ]
    .iter()
    .enumerate()
    {
        ws.text_with_format(row, side + c as u16, *h, &st.header)?;
    }
    row += 1;
    for s in v.spikes.iter().chain(&v.category_spikes) {
        ws.text(row, side, s.date.to_string())?;
        ws.text(row, side + 1, s.value.as_deref().unwrap_or("all tickets"))?;
        ws.write_number(row, side + 2, s.count)?;
        ws.write_number(row, side + 3, s.expected)?;
        ws.write_number(row, side + 4, s.excess)?;
        if let Some(r) = s.ratio {
            ws.write_number_with_format(
                row,
                side + 5,
                r,
                &Format::new().set_num_format("0.0\"×\""),
            )?;
        }
        let notes: Vec<String> = s.annotations.iter().map(|a| a.text.clone()).collect();
        ws.text(row, side + 6, notes.join("; "))?;
        row += 1;
    }
    if v.spikes.is_empty() && v.category_spikes.is_empty() {
        ws.text(row, side, format!("No spikes this {unit}."))?;
    }
    ws.set_column_width(0, 11)?;
    ws.set_column_width(channel_col, 11)?;
    ws.set_column_width(side, 16)?;
    ws.set_column_width(side + 1, 16)?;
    ws.set_column_width(side + 6, 30)?;
    Ok(())
}

fn staffing_sheet(ws: &mut Worksheet, model: &ReportModel, st: &Styles) -> Result<(), ReportError> {
    ws.set_name(SHEETS[4])?;
    let s = &model.staffing;
    let mut row = heading(ws, model, "Staffing", st)?;
    let unit = &model.words.unit;
    ws.text(row, 0, format!(
        "Erlang C for the {unit}'s busiest weekday × hour cells: {:.0} % of calls answered within {} s ({}), one-hour intervals; offered calls per hour are the {unit}'s calls in the cell divided by the days of that weekday.",
        s.target * 100.0, s.threshold_secs, s.target_source
    ))?;
    row += 2;
    let offered = format!("Offered ({unit})");
    for (c, h) in [
        "Weekday",
        "Hour",
        offered.as_str(),
        "Days",
        "Offered per hour",
        "AHT",
        "Erlangs",
        "Agents needed",
        "Expected service level",
    ]
    .iter()
    .enumerate()
    {
        ws.text_with_format(row, c as u16, *h, &st.header)?;
    }
    ws.set_freeze_panes(row + 1, 0)?;
    row += 1;
    for c in &s.cells {
        ws.text(row, 0, &c.weekday)?;
        ws.text(row, 1, format!("{}:00", c.hour))?;
        ws.write_number(row, 2, c.offered_total as f64)?;
        ws.write_number(row, 3, f64::from(c.occurrences))?;
        ws.write_number_with_format(
            row,
            4,
            c.offered_per_hour,
            &Format::new().set_num_format("0.00"),
        )?;
        if let Some(a) = c.aht_secs {
            ws.write_number_with_format(
                row,
                5,
                a / 86_400.0,
                &Format::new().set_num_format("[h]:mm:ss"),
            )?;
        }
        write_opt(ws, row, 6, c.erlangs, "score")?;
        if let Some(n) = c.agents_needed {
            ws.write_number(row, 7, f64::from(n))?;
        }
        write_opt(
            ws,
            row,
            8,
            c.expected_service_level.map(|x| x * 100.0),
            "percent",
        )?;
        row += 1;
    }
    if s.cells.is_empty() {
        ws.text(row, 0, format!("No calls this {unit}."))?;
    }
    ws.set_column_width(0, 12)?;
    for c in 2..9 {
        ws.set_column_width(c, 14)?;
    }
    Ok(())
}
